package server

import (
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
)

// restored is the state rebuilt from a dataDir at startup.
type restored struct {
	tree     *tree.Tree
	sessions map[jute.SessionID]int32 // id → timeout
	lastZxid jute.Zxid
	took     time.Duration // to load the snapshot and replay the log
	// snapLoadTook is the time to load the snapshot, replayTook the
	// time to replay the log after it.
	snapLoadTook, replayTook time.Duration
	replayed                 int
	// recent is the tail of the replayed log, oldest first (at most
	// recentTxns), for a leader's DIFF syncs.
	recent []*jute.Txn
	// digest is the loaded snapshot's digest trailer, to be checked
	// (checkSnapshotDigest), or nil.
	digest *digestCheck
}

// recentTxns is how much of the replayed log a restore keeps for DIFF
// syncs (ZooKeeper's commitLogCount default).
const recentTxns = 500

// dataDirs returns the snapshot and log directories (version-2 under
// dataDir and dataLogDir).
func (s *Server) dataDirs() (snapDir, logDir string) {
	logRoot := s.cfg.DataLogDir
	if logRoot == "" {
		logRoot = s.cfg.DataDir
	}
	return filepath.Join(s.cfg.DataDir, storage.VersionDir), filepath.Join(logRoot, storage.VersionDir)
}

// restore loads the newest valid snapshot and replays the log after it
// (storage-and-quorum.md §1.3).
func (s *Server) restore(fs storage.FS) (*restored, error) {
	start := time.Now()
	snapDir, logDir := s.dataDirs()
	r, err := s.loadSnapshot(fs, snapDir)
	if err != nil {
		return nil, err
	}
	r.snapLoadTook = time.Since(start)
	res, err := storage.Replay(fs, logDir, r.lastZxid, true, func(txn *jute.Txn) error {
		r.tree.Apply(txn)
		if r.recent = append(r.recent, txn); len(r.recent) > 2*recentTxns {
			r.recent = slices.Clone(r.recent[len(r.recent)-recentTxns:])
		}
		switch rec := txn.Record.(type) {
		case *jute.CreateSessionTxn:
			r.sessions[txn.Header.ClientID] = rec.Timeout
		case *jute.CloseSessionTxn, nil:
			if txn.Header.Type == jute.OpCloseSession {
				delete(r.sessions, txn.Header.ClientID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("restore from %s: %w", logDir, err)
	}
	for _, torn := range res.Truncated {
		s.log.Warn("cut a partial transaction off the end of a log segment (an append that never completed, never acknowledged)",
			"file", torn.File, "offset", torn.Offset, "reason", torn.Reason)
	}
	r.lastZxid = res.LastZxid
	r.tree.SetLastZxid(res.LastZxid)
	r.replayed = res.Applied
	r.took = time.Since(start)
	r.replayTook = r.took - r.snapLoadTook
	return r, nil
}

// recordRestore records the startup metrics of a restore. As in
// ZooKeeper, the snapshot load is recorded even when there was none, the
// log replay only when it replayed something.
func (s *Server) recordRestore(r *restored) {
	now := time.Now()
	m := s.zkMetrics
	m.dbInit.Observe(r.took.Milliseconds(), now)
	m.snapLoadTime.Observe(r.snapLoadTook.Milliseconds(), now)
	if r.replayed > 0 {
		m.txnsLoaded.Observe(int64(r.replayed), now)
		m.txnsLoadTime.Observe(r.replayTook.Milliseconds(), now)
	}
}

package server

import (
	"fmt"
	"path/filepath"
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
	took     time.Duration
	replayed int
}

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
	res, err := storage.Replay(fs, logDir, r.lastZxid, true, func(txn *jute.Txn) error {
		r.tree.Apply(txn)
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
	return r, nil
}

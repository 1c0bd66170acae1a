package server

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
)

// loadSnapshot returns the state in the newest valid snapshot, or an
// empty tree when there is none.
func (s *Server) loadSnapshot(fs storage.FS, snapDir string) (*restored, error) {
	l, err := storage.LoadNewestSnapshot(fs, snapDir, storage.LoadOptions{
		ExtendedTypes: s.cfg.ExtendedTypesEnabled(), MaxBuffer: s.cfg.JuteMaxBuffer() + s.cfg.JuteMaxBufferExtraSize(),
		DeferDigest: true,
	})
	for _, skip := range l.Skipped {
		s.log.Warn("skipping snapshot", "file", skip.File, "offset", skip.Offset, "err", skip.Err)
	}
	r := &restored{sessions: make(map[jute.SessionID]int32)}
	switch {
	case errors.Is(err, storage.ErrNoSnapshot):
		r.tree = tree.New()
		return r, nil
	case err != nil:
		return nil, err
	}
	s.log.Info("loaded snapshot", "file", l.File, "zxid", l.Zxid, "znodes", l.Tree.NodeCount())
	r.tree = l.Tree
	if l.Info.DigestExact {
		// Checked once the server is on its way (checkSnapshotDigest),
		// on the tree as loaded: frozen before the log replays onto it.
		r.digest = &digestCheck{view: l.Tree.Freeze(), want: l.Info.Digest, file: l.File}
	}
	r.lastZxid = l.Zxid
	for _, st := range l.Sessions {
		r.sessions[st.ID] = st.Timeout
	}
	return r, nil
}

// digestCheck is a loaded snapshot's digest trailer still to be checked
// against the tree it loaded.
type digestCheck struct {
	view *tree.View // the tree as loaded, before the replay
	want int64      // the trailer's digest
	file string
}

// checkSnapshotDigest compares the digest of the tree a snapshot loaded
// with the snapshot's trailer on a goroutine of its own, so that the
// digest (a CRC of every node) does not delay serving. As in ZooKeeper,
// a mismatch is only logged and counted (digest_mismatches_count).
func (s *Server) checkSnapshotDigest(d *digestCheck) {
	s.snapWG.Go(func() {
		defer s.background()()
		got := d.view.Digest()
		if got != d.want {
			s.log.Warn("snapshot digest does not match its trailer", "file", d.file,
				"trailer", fmt.Sprintf("%x", uint64(d.want)), "computed", fmt.Sprintf("%x", uint64(got)))
		}
		s.inbox.push(event{kind: evQuery, query: func() {
			if got != d.want {
				s.zkMetrics.digestMismatches++
			}
			d.view.Release()
		}})
	})
}

// sessionTimeouts lists the live sessions for a snapshot.
func sessionTimeouts(m map[jute.SessionID]int32) []tree.SessionTimeout {
	out := make([]tree.SessionTimeout, 0, len(m))
	for id, to := range m {
		out = append(out, tree.SessionTimeout{ID: id, Timeout: to})
	}
	slices.SortFunc(out, func(a, b tree.SessionTimeout) int { return int(a.ID - b.ID) })
	return out
}

// startupSnapshot decides how the restored state gets its snapshot, as
// ZooKeeper takes one at every start. With no snapshot on disk at all (a
// fresh dataDir) it writes one at once, so that the directory is always
// one Apache ZooKeeper can start from; when transactions were replayed on
// top of an existing snapshot it asks for a background snapshot instead, so
// that a large tree does not delay serving (the log holds everything
// meanwhile). Nothing is written when the newest snapshot is current.
func (s *Server) startupSnapshot(r *restored) (background bool, err error) {
	snapDir, _ := s.dataDirs()
	files, err := storage.ListSnapshots(s.fs, snapDir)
	if err != nil {
		return false, err
	}
	if len(files) > 0 {
		return r.replayed > 0, nil
	}
	c, err := storage.ParseCompression(s.cfg.SnapshotCompression())
	if err != nil {
		return false, err
	}
	start := time.Now()
	path, err := storage.WriteSnapshot(s.fs, snapDir, r.tree, sessionTimeouts(r.sessions), c)
	if err != nil {
		return false, fmt.Errorf("startup snapshot: %w", err)
	}
	took := time.Since(start)
	s.snapshotMS.add(took.Milliseconds())
	s.log.Info("wrote snapshot", "file", path, "took", took)
	return false, nil
}

// backgroundSnapshot is a snapshot being written by its own goroutine
// from a frozen view of the tree, while the core goes on (a consistent
// snapshot of the tree after the view's zxid, which ZooKeeper reads like
// its own fuzzy ones).
type backgroundSnapshot struct {
	abort chan struct{} // closed to discard the file
	done  atomic.Bool   // set by the writer goroutine when it has finished
}

// startSnapshot begins a background snapshot after a log roll. Like
// ZooKeeper, it skips this roll's snapshot while the previous one is
// still being written.
func (s *Server) startSnapshot() {
	if b := s.snap; b != nil {
		if !b.done.Load() {
			s.log.Warn("a snapshot is still being written; skipping this one")
			return
		}
		s.snap = nil
	}
	snapDir, _ := s.dataDirs()
	c, err := storage.ParseCompression(s.cfg.SnapshotCompression())
	if err != nil {
		s.log.Error("snapshot", "err", err)
		return
	}
	sessions := make(map[jute.SessionID]int32)
	for _, sess := range s.sessions.All() {
		sessions[sess.ID] = sess.Timeout
	}
	v := s.tree.Freeze()
	file, err := storage.CreateSnapshot(s.fs, snapDir, v.Zxid(), c)
	if err != nil {
		v.Release()
		s.log.Error("snapshot", "err", err)
		return
	}
	b := &backgroundSnapshot{abort: make(chan struct{})}
	s.snap = b
	list := sessionTimeouts(sessions)
	start := time.Now()
	s.snapWG.Go(func() {
		defer s.background()()
		defer b.done.Store(true)
		nodes, err := v.WriteSnapshot(yieldingWriter{w: file, abort: b.abort}, list, tree.WriteOptions{})
		s.releaseView(v)
		if err != nil {
			file.Abort()
			if !errors.Is(err, errSnapshotAborted) {
				s.log.Error("snapshot failed", "zxid", v.Zxid(), "err", err)
			}
			return
		}
		if err := file.Commit(); err != nil {
			s.log.Error("snapshot failed", "zxid", v.Zxid(), "err", err)
			return
		}
		took := time.Since(start)
		s.snapshotMS.add(took.Milliseconds())
		s.log.Info("wrote snapshot", "file", file.Path(), "zxid", v.Zxid(), "nodes", nodes, "took", took)
	})
}

// releaseView hands a view back to the core, which owns the tree.
func (s *Server) releaseView(v *tree.View) {
	s.inbox.push(event{kind: evQuery, query: v.Release})
}

// errSnapshotAborted ends a snapshot discarded at shutdown.
var errSnapshotAborted = errors.New("snapshot aborted")

// yieldingWriter passes a snapshot's bytes on, failing once abort is
// closed. Before each part it lets other goroutines run, so that with one
// CPU (GOMAXPROCS=1) the core is never kept waiting for a scheduler
// time slice behind the snapshot encoder.
type yieldingWriter struct {
	w     io.Writer
	abort <-chan struct{}
}

func (y yieldingWriter) Write(b []byte) (int, error) {
	select {
	case <-y.abort:
		return 0, errSnapshotAborted
	default:
	}
	runtime.Gosched()
	return y.w.Write(b)
}

// abortSnapshot discards a background snapshot at shutdown (or when the
// state is replaced): its writer stops at its next write.
func (s *Server) abortSnapshot() {
	if b := s.snap; b != nil {
		s.snap = nil
		close(b.abort)
	}
}

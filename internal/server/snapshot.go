package server

import (
	"errors"
	"fmt"
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
	if l.Info.DigestMismatch {
		s.log.Warn("snapshot digest does not match its trailer", "file", l.File)
		r.digestMismatch = true
	}
	s.log.Info("loaded snapshot", "file", l.File, "zxid", l.Zxid, "znodes", l.Tree.NodeCount())
	r.tree = l.Tree
	r.lastZxid = l.Zxid
	for _, st := range l.Sessions {
		r.sessions[st.ID] = st.Timeout
	}
	return r, nil
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

// snapshotStepNodes bounds how much of a background snapshot the core
// encodes per turn (about a millisecond), so that requests never wait long
// behind it.
const snapshotStepNodes = 500

// snapshotDuty is the share of the core's time a background snapshot may
// take while requests are waiting; when the server is idle it takes all.
const snapshotDuty = 0.3

// snapshotMayStep reports whether the core should encode more of the
// background snapshot now: always when nothing else is waiting, otherwise
// only while the snapshot has used less than its duty share of the time
// since it started, so that a snapshot under heavy load slows down instead
// of starving requests.
func (s *Server) snapshotMayStep(busy bool) bool {
	b := s.snap
	if !busy {
		return true
	}
	return b.busy < time.Duration(snapshotDuty*float64(time.Since(b.start)))
}

// backgroundSnapshot is a snapshot in progress: the core encodes it in
// steps between requests (a fuzzy snapshot, as ZooKeeper's), and a writer
// goroutine puts the bytes on disk.
type backgroundSnapshot struct {
	w      *tree.SnapshotWriter
	chunks chan []byte   // encoded parts on their way to the writer
	abort  chan struct{} // closed to discard the file
	// queued counts the bytes in chunks (and held); the core encodes no
	// more while it is above snapshotQueueLimit, so a slow disk slows the
	// snapshot, never requests, and memory stays bounded.
	queued atomic.Int64
	held   []byte        // a part the channel had no room for
	busy   time.Duration // core time spent encoding so far
	result chan error
	start  time.Time
	file   *storage.PendingSnapshot
}

// startSnapshot begins a background snapshot after a log roll.
func (s *Server) startSnapshot() {
	if s.snap != nil {
		s.log.Warn("a snapshot is still being written; skipping this one")
		return
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
	w := s.tree.NewSnapshot(sessionTimeouts(sessions))
	file, err := storage.CreateSnapshot(s.fs, snapDir, w.Zxid(), c)
	if err != nil {
		s.log.Error("snapshot", "err", err)
		return
	}
	b := &backgroundSnapshot{w: w, chunks: make(chan []byte, 64), abort: make(chan struct{}), result: make(chan error, 1), start: time.Now(), file: file}
	s.snap = b
	s.snapWG.Go(func() { b.result <- writeChunks(file, b.chunks, b.abort, s.snapshotWriterProgress(b)) })
}

// writeChunks writes a snapshot's bytes and commits or aborts the file.
func writeChunks(file *storage.PendingSnapshot, chunks <-chan []byte, abort <-chan struct{}, wrote func(int)) error {
	var err error
	for {
		select {
		case <-abort:
			file.Abort()
			return errors.New("snapshot aborted at shutdown")
		case c, ok := <-chunks:
			if !ok {
				if err != nil {
					file.Abort()
					return err
				}
				return file.Commit()
			}
			if err == nil {
				_, err = file.Write(c)
			}
			wrote(len(c))
		}
	}
}

// snapshotQueueLimit bounds the encoded snapshot bytes waiting for the
// writer goroutine.
const snapshotQueueLimit = 16 << 20

// snapshotWriterProgress returns the writer's callback: it accounts for a
// written part and wakes the core, which may be waiting for room.
func (s *Server) snapshotWriterProgress(b *backgroundSnapshot) func(int) {
	return func(n int) {
		b.queued.Add(-int64(n))
		s.inbox.wake()
	}
}

// stepSnapshot encodes the next part of a background snapshot without
// ever waiting for the disk. It reports whether it can go on at once; when
// the writer is behind it returns false and the writer wakes the core.
func (s *Server) stepSnapshot() bool {
	b := s.snap
	if b == nil {
		return false
	}
	if b.held != nil {
		select {
		case b.chunks <- b.held:
			b.held = nil
		default:
			return false
		}
	}
	if b.queued.Load() > snapshotQueueLimit {
		return false
	}
	enc := jute.NewEncoder(make([]byte, 0, 64<<10))
	began := time.Now()
	done := b.w.Step(enc, snapshotStepNodes)
	b.busy += time.Since(began)
	part := enc.Bytes()
	b.queued.Add(int64(len(part)))
	select {
	case b.chunks <- part:
	default:
		b.held = part
		if !done {
			return false
		}
	}
	if !done {
		return true
	}
	if b.held != nil {
		return false // finish once the last part is handed over
	}
	close(b.chunks)
	s.snap = nil
	s.snapWG.Go(func() {
		if err := <-b.result; err != nil {
			s.log.Error("snapshot failed", "zxid", b.w.Zxid(), "err", err)
			return
		}
		s.snapshotMS.add(time.Since(b.start).Milliseconds())
		skipped, dangling := b.w.Fuzzy()
		s.log.Info("wrote snapshot", "zxid", b.w.Zxid(), "nodes", b.w.Nodes(), "took", time.Since(b.start),
			"left_for_replay", skipped, "dangling_acl", dangling)
	})
	return false
}

// abortSnapshot stops a background snapshot at shutdown.
func (s *Server) abortSnapshot() {
	if b := s.snap; b != nil {
		s.snap = nil
		close(b.abort)
	}
}

package server

import (
	"errors"
	"fmt"
	"slices"
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

// writeStartupSnapshot snapshots the restored state, as ZooKeeper does at
// startup, unless a snapshot of exactly this zxid is already there.
func (s *Server) writeStartupSnapshot(r *restored) error {
	snapDir, _ := s.dataDirs()
	files, err := storage.ListSnapshots(s.fs, snapDir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.Zxid == r.lastZxid && r.replayed == 0 {
			return nil
		}
	}
	c, err := storage.ParseCompression(s.cfg.SnapshotCompression())
	if err != nil {
		return err
	}
	start := time.Now()
	path, err := storage.WriteSnapshot(s.fs, snapDir, r.tree, sessionTimeouts(r.sessions), c)
	if err != nil {
		return fmt.Errorf("startup snapshot: %w", err)
	}
	s.log.Info("wrote snapshot", "file", path, "took", time.Since(start))
	return nil
}

// snapshotStepNodes bounds how much of a background snapshot the core
// encodes per turn, so that requests never wait long behind it.
const snapshotStepNodes = 2000

// backgroundSnapshot is a snapshot in progress: the core encodes it in
// steps between requests (a fuzzy snapshot, as ZooKeeper's), and a writer
// goroutine puts the bytes on disk.
type backgroundSnapshot struct {
	w      *tree.SnapshotWriter
	chunks chan []byte   // bounded: a slow disk slows the snapshot, not memory
	abort  chan struct{} // closed to discard the file
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
	s.snapWG.Go(func() { b.result <- writeChunks(file, b.chunks, b.abort) })
}

// writeChunks writes a snapshot's bytes and commits or aborts the file.
func writeChunks(file *storage.PendingSnapshot, chunks <-chan []byte, abort <-chan struct{}) error {
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
		}
	}
}

// stepSnapshot encodes the next part of a background snapshot; it reports
// whether more remains.
func (s *Server) stepSnapshot() bool {
	b := s.snap
	if b == nil {
		return false
	}
	enc := jute.NewEncoder(make([]byte, 0, 64<<10))
	done := b.w.Step(enc, snapshotStepNodes)
	b.chunks <- enc.Bytes()
	if !done {
		return true
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

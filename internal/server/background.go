package server

import (
	"runtime"
	"sync"
)

// background readies the calling goroutine for background work: it
// lowers its thread's priority (lowerPriority) and, with
// Options.SpareProc, lends the process a second P until done is called.
func (s *Server) background() (done func()) {
	lowerPriority()
	if !s.spareProc {
		return func() {}
	}
	return borrowProc()
}

// spareProc counts the goroutines that borrowed a P (GOMAXPROCS is the
// process's, so all servers in it share the count) and whether borrowing
// raised GOMAXPROCS from 1.
var spareProc struct {
	sync.Mutex
	users  int
	raised bool
}

// borrowProc raises GOMAXPROCS from 1 to 2 while at least one caller
// has not called its done. The last done gives the runtime back its
// default (and with it its own updates when the CPU limit changes).
// A process with more than one P is left alone.
func borrowProc() (done func()) {
	spareProc.Lock()
	defer spareProc.Unlock()
	if spareProc.users == 0 && runtime.GOMAXPROCS(0) == 1 {
		runtime.GOMAXPROCS(2)
		spareProc.raised = true
	}
	spareProc.users++
	var once sync.Once
	return func() {
		once.Do(func() {
			spareProc.Lock()
			defer spareProc.Unlock()
			if spareProc.users--; spareProc.users == 0 && spareProc.raised {
				spareProc.raised = false
				runtime.SetDefaultGOMAXPROCS()
			}
		})
	}
}

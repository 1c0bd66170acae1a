// Package procs decides how many Ps (GOMAXPROCS) a zkd server process runs
// with.
//
// zkd handles every request on one core goroutine, and where the
// transaction log syncs without blocking a thread (io_uring), a process
// on two CPUs does the same work for far less CPU with one P than with
// two, and more of it: setData at 128 sessions took 19 µs of server CPU
// per request with one P against 34 µs with two and ran 1.4 times as
// fast, and pipelined getData with a CPU to spare ran 1.6 times as fast
// (docs/benchmarks.md, "Sixth pass"). A second P only adds thread
// switches between the core and the connections.
//
// So a managed process (Manage) runs with one P where Go would give it
// two, and Borrow lends it a second one while low-priority background
// work runs: a snapshot written on a thread of lowered priority only
// yields to the core's thread if each holds a P. A process that is not
// managed keeps what it has, except that Borrow still lends a process of
// one P a second. Machines with more CPUs keep Go's default: one P has not
// been measured against more there.
package procs

import (
	"runtime"
	"sync"
)

// state is the process's: GOMAXPROCS belongs to the process, not to a
// server.
var state struct {
	sync.Mutex
	managed   bool // Manage lowered GOMAXPROCS: one P unless borrowed
	borrowers int  // callers of Borrow that have not called done
	raised    bool // unmanaged: Borrow raised GOMAXPROCS from 1
}

// maxManagedProcs is the largest default GOMAXPROCS that Manage lowers
// to one: the CPU count it was measured on.
const maxManagedProcs = 2

// Manage puts the process under this package's rule where the runtime's
// default is two Ps: one P, two while borrowed. The caller must have
// checked that the operator did not set GOMAXPROCS and that the log's
// syncs do not block a thread. It returns the runtime's default and
// whether it manages the process.
func Manage() (defaultProcs int, managed bool) {
	state.Lock()
	defer state.Unlock()
	runtime.SetDefaultGOMAXPROCS()
	defaultProcs = runtime.GOMAXPROCS(0)
	state.managed = defaultProcs > 1 && defaultProcs <= maxManagedProcs
	applyLocked()
	return defaultProcs, state.managed
}

// Borrow lends the process a second P until done is called (done may be
// called more than once): to a managed process always, to one that is not
// managed only if it has one P. The last done takes it back.
func Borrow() (done func()) {
	state.Lock()
	defer state.Unlock()
	state.borrowers++
	applyLocked()
	var once sync.Once
	return func() {
		once.Do(func() {
			state.Lock()
			defer state.Unlock()
			state.borrowers--
			applyLocked()
		})
	}
}

// applyLocked sets GOMAXPROCS from the state.
func applyLocked() {
	if !state.managed {
		switch {
		case state.borrowers > 0 && !state.raised && runtime.GOMAXPROCS(0) == 1:
			runtime.GOMAXPROCS(2)
			state.raised = true
		case state.borrowers == 0 && state.raised:
			state.raised = false
			runtime.SetDefaultGOMAXPROCS()
		}
		return
	}
	want := 1
	if state.borrowers > 0 {
		want = 2
	}
	if runtime.GOMAXPROCS(0) != want {
		runtime.GOMAXPROCS(want)
	}
}

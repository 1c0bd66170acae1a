package testcluster

import (
	"os/exec"
	"runtime"
	"sync"
)

// The kernel sends a child's death signal (SysProcAttr.Pdeathsig, see
// childProcAttr) when the *thread* that forked it exits, not the process.
// Go ends an OS thread whenever a goroutine that locked it returns (the
// server's snapshot and digest goroutines lower their thread's priority
// that way), and a child forked from such a thread was killed with it:
// a KDC died a second into a test, on a busy machine. So every child is
// forked from one thread that lives as long as the test binary.
var spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// StartChild starts cmd (cmd.Start) from the test binary's spawning
// thread, so that a death signal in cmd.SysProcAttr fires only when the
// test binary itself dies. Tests that start their own children with
// Pdeathsig must use it too.
func StartChild(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnRequest)
		// It serves for the life of the test binary: its thread must
		// outlive every child, so nothing stops it.
		go func() {
			runtime.LockOSThread()
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawner.reqs <- spawnRequest{cmd: cmd, done: done}
	return <-done
}

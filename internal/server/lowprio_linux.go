package server

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// snapshotNice is the nice value of the threads that write snapshots:
// when they compete with the core for a CPU, Linux gives them about a
// tenth of it; when the CPU is otherwise idle, all of it.
const snapshotNice = 10

// lowerPriority binds the calling goroutine to its OS thread for the rest
// of its life and lowers that thread's scheduling priority, so that
// writing a snapshot takes what CPU requests leave. The runtime ends the
// thread when the goroutine exits, so the priority never outlives it. A
// failure (a kernel that refuses) leaves the priority as it was.
func lowerPriority() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), snapshotNice)
}

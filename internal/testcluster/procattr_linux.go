package testcluster

import "syscall"

// childProcAttr puts a child process in its own process group, so that
// signals sent to the group reach everything it started, and has the kernel
// kill the child if the test binary dies without running its cleanups (a
// panic, or go test's -timeout). Grandchildren, such as the java that
// zkCli.sh runs, are not covered by the latter.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

//go:build !linux

package testcluster

import "syscall"

// childProcAttr puts a child process in its own process group, so that
// signals to the group reach everything it started.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

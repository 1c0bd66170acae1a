package testcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestChildOutlivesTheThreadThatAskedForIt starts a child with a death
// signal from a goroutine that locks its thread and returns, so that Go
// ends the thread: the child lives on, because StartChild forked it from
// the spawning thread.
func TestChildOutlivesTheThreadThatAskedForIt(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = childProcAttr()
	started := make(chan int)
	go func() {
		// Locked and never unlocked, the goroutine's thread ends with it;
		// but Go never ends the process's main thread. If this is the
		// main thread, it stays locked to this goroutine until the test
		// is done, so that the goroutine started here gets another one.
		runtime.LockOSThread()
		if syscall.Gettid() != os.Getpid() {
			started <- startFromThisThread(t, cmd)
			return
		}
		defer runtime.UnlockOSThread()
		inner := make(chan int)
		go func() {
			runtime.LockOSThread()
			inner <- startFromThisThread(t, cmd)
		}()
		started <- <-inner
	}()
	tid := <-started
	if tid == 0 {
		return // StartChild failed
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	// Wait for the asking thread to be gone.
	task := fmt.Sprintf("/proc/self/task/%d", tid)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d still exists 10 s after its goroutine returned", tid)
		}
		time.Sleep(5 * time.Millisecond) // polling /proc: nothing signals a thread's end
	}
	// The kernel sends a death signal while the thread exits, before its
	// /proc entry goes: had the child been given one, it would now be
	// dead or have SIGKILL pending.
	select {
	case <-exited:
		t.Fatalf("the child died with the thread that asked for it: %v", waitErr)
	default:
	}
	if why := killedOrDying(cmd.Process.Pid); why != "" {
		t.Fatalf("the child got the death signal of the thread that asked for it: %s", why)
	}
}

// killedOrDying says why process pid is dead or about to die of SIGKILL,
// from /proc/pid/status, or returns "" if it is neither.
func killedOrDying(pid int) string {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	const sigkill = uint64(1) << (syscall.SIGKILL - 1)
	for line := range strings.Lines(string(status)) {
		key, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		value = strings.TrimSpace(value)
		switch key {
		case "State":
			if strings.HasPrefix(value, "Z") || strings.HasPrefix(value, "X") {
				return "state " + value
			}
		case "SigPnd", "ShdPnd":
			mask, err := strconv.ParseUint(value, 16, 64)
			if err != nil {
				return fmt.Sprintf("%s %q: %v", key, value, err)
			}
			if mask&sigkill != 0 {
				return "SIGKILL pending (" + key + ")"
			}
		}
	}
	return ""
}

// startFromThisThread starts cmd with StartChild and returns the calling
// thread's id, or 0 if the start failed.
func startFromThisThread(t *testing.T, cmd *exec.Cmd) int {
	if err := StartChild(cmd); err != nil {
		t.Error(err)
		return 0
	}
	return syscall.Gettid()
}

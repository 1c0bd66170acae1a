package server

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLowerPriorityLowersOnlyItsOwnThread lowers a goroutine's thread and
// reads the nice values of that thread and of the test's own from /proc.
func TestLowerPriorityLowersOnlyItsOwnThread(t *testing.T) {
	nice := func(tid int) int {
		t.Helper()
		b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		// Fields after the command (which may hold spaces) start after ")".
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		n, err := strconv.Atoi(f[16]) // field 19 of stat, nice
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	got := make(chan int)
	go func() {
		lowerPriority()
		tid := unix.Gettid()
		got <- tid
		<-got
	}()
	tid := <-got
	if n := nice(tid); n != snapshotNice {
		t.Errorf("snapshot thread nice %d, want %d", n, snapshotNice)
	}
	if n := nice(unix.Gettid()); n == snapshotNice {
		t.Errorf("the test's own thread got nice %d too", n)
	}
	got <- 0
}

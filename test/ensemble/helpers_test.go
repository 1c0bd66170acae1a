package ensemble

import (
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// logSize returns how long m's log is now, to read what it logs after.
func logSize(t *testing.T, m *testcluster.Member) int64 {
	t.Helper()
	fi, err := os.Stat(m.LogPath)
	if err != nil {
		t.Fatalf("zk%d log: %v", m.ID, err)
	}
	return fi.Size()
}

// logAfter returns what m logged after offset off.
func logAfter(t *testing.T, m *testcluster.Member, off int64) string {
	t.Helper()
	f, err := os.Open(m.LogPath)
	if err != nil {
		t.Fatalf("zk%d log: %v", m.ID, err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		t.Fatalf("zk%d log: %v", m.ID, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("zk%d log: %v", m.ID, err)
	}
	return string(b)
}

// syncModeRE finds how a learner was synchronized in its log.
var syncModeRE = regexp.MustCompile(`synchronizing with the leader".*? mode=(\w+)`)

// syncModes returns the sync modes (DIFF, TRUNC, SNAP) m logged after
// off, in order.
func syncModes(t *testing.T, m *testcluster.Member, off int64) []string {
	t.Helper()
	var modes []string
	for _, sm := range syncModeRE.FindAllStringSubmatch(logAfter(t, m, off), -1) {
		modes = append(modes, sm[1])
	}
	return modes
}

// waitLog waits until m logs a line holding every one of parts after off.
func waitLog(t *testing.T, m *testcluster.Member, off int64, timeout time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, line := range strings.Split(logAfter(t, m, off), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("zk%d logged no line with %q within %v\n%s", m.ID, parts, timeout, m.LogTail())
		}
		<-tick.C
	}
}

// waitNotLeading waits until m no longer answers "srvr" as a leader: it
// is looking for a leader (not serving) or follows.
func waitNotLeading(t *testing.T, m *testcluster.Member, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		mode, err := m.Mode(t)
		if errors.Is(err, testcluster.ErrNotServing) || (err == nil && mode != "leader") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("zk%d still answers mode %q (err %v) %v after losing its quorum\n%s", m.ID, mode, err, timeout, m.LogTail())
		}
		<-tick.C
	}
}

// followers returns the members other than leader.
func followers(e *testcluster.Ensemble, leader *testcluster.Member) []*testcluster.Member {
	var out []*testcluster.Member
	for _, m := range e.Servers() {
		if m != leader {
			out = append(out, m)
		}
	}
	return out
}

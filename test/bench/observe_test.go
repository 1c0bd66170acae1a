package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// fsyncEvents are the perf tracepoints fsyncCounter counts: ZooKeeper
// (FileChannel.force(false)) syncs its log with fdatasync, zkd with one
// io_uring_enter per fdatasync where it has an io_uring (it uses the ring
// for nothing else) and with fdatasync where not; both fsync their
// snapshots.
const fsyncEvents = "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_io_uring_enter"

// perfUsable reports whether perf can count syscall tracepoints here (it
// needs the perf binary, tracefs and the privilege to attach).
var perfUsable = sync.OnceValue(func() error {
	if _, err := exec.LookPath("perf"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "perf", "stat", "-x", ",", "-e", fsyncEvents, "--", "true").CombinedOutput()
	if err != nil {
		return fmt.Errorf("perf stat -e %s: %v: %s", fsyncEvents, err, bytes.TrimSpace(out))
	}
	return nil
})

// fsyncCounter counts one process's syncs (fsyncEvents) with
// "perf stat -I", from the moment startFsyncCount returns until stop.
type fsyncCounter struct {
	cmd    *exec.Cmd
	out    string       // perf's CSV output
	stderr bytes.Buffer // perf's complaints
	done   chan struct{}
	err    error // cmd.Wait's, once done is closed
}

// startFsyncCount attaches perf to pid and returns once perf has printed
// its first interval, so that the counters are known to be running. The
// caller must call stop.
func startFsyncCount(tb testing.TB, pid int) (*fsyncCounter, error) {
	if err := perfUsable(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(tb.TempDir(), "perf-*.csv")
	if err != nil {
		return nil, err
	}
	f.Close()
	c := &fsyncCounter{out: f.Name(), done: make(chan struct{})}
	c.cmd = exec.Command("perf", "stat", "-I", "100", "-x", ",", "-o", c.out, "-e", fsyncEvents, "-p", strconv.Itoa(pid))
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start perf: %w", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, _ := os.ReadFile(c.out); bytes.Contains(b, []byte("syscalls:")) {
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("perf exited before counting: %v: %s", c.err, bytes.TrimSpace(c.stderr.Bytes()))
		case <-deadline:
			_, _ = c.stop()
			return nil, errors.New("perf printed nothing within 10s")
		case <-tick.C:
		}
	}
}

// stop ends perf (SIGINT makes it print the last, partial interval) and
// returns the calls counted over all intervals.
func (c *fsyncCounter) stop() (int64, error) {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	b, err := os.ReadFile(c.out)
	if err != nil {
		return 0, err
	}
	return sumPerfIntervals(string(b))
}

// sumPerfIntervals adds up the counts in the CSV that "perf stat -I -x ,"
// writes: "time,count,unit,event,..." per event and interval, where an
// interval without events counts "<not counted>".
func sumPerfIntervals(csv string) (int64, error) {
	var sum int64
	seen := false
	for line := range strings.Lines(csv) {
		fields := strings.Split(strings.TrimSpace(line), ",")
		if len(fields) < 4 || !strings.HasPrefix(fields[3], "syscalls:") {
			continue
		}
		seen = true
		if fields[1] == "<not counted>" || fields[1] == "<not supported>" {
			continue
		}
		n, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("perf output %q: %w", strings.TrimSpace(line), err)
		}
		sum += n
	}
	if !seen {
		return 0, errors.New("perf output has no counts")
	}
	return sum, nil
}

// mntr returns the server's "mntr" answer as a map from key to value.
func mntr(addr string) (map[string]string, error) {
	out, err := testcluster.FourLetter(addr, "mntr")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for line := range strings.Lines(out) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "\t"); ok {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("mntr to %s answered %q", addr, out)
	}
	return m, nil
}

// mntrInt returns an integer from a mntr answer; a key that is missing or
// not an integer reads as -1.
func mntrInt(m map[string]string, key string) int64 {
	n, err := strconv.ParseInt(m[key], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// newestSnapshot returns the path and size of the snapshot file with the
// highest zxid in dataDir/version-2 (ZooKeeper's naming, which zkd shares:
// snapshot.<hex zxid>[.gz|.snappy]).
func newestSnapshot(dataDir string) (string, int64, error) {
	snaps, err := snapshotFiles(dataDir)
	if err != nil {
		return "", 0, err
	}
	var best string
	var bestZxid uint64
	for name, zxid := range snaps {
		if best == "" || zxid > bestZxid {
			best, bestZxid = name, zxid
		}
	}
	if best == "" {
		return "", 0, fmt.Errorf("no snapshot in %s", filepath.Join(dataDir, "version-2"))
	}
	fi, err := os.Stat(filepath.Join(dataDir, "version-2", best))
	if err != nil {
		return "", 0, err
	}
	return best, fi.Size(), nil
}

// snapshotFiles returns the complete snapshot files in dataDir/version-2,
// by name, with their zxids; none if the directory does not exist yet.
func snapshotFiles(dataDir string) (map[string]uint64, error) {
	entries, err := os.ReadDir(filepath.Join(dataDir, "version-2"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	snaps := map[string]uint64{}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "snapshot.")
		if !ok || strings.HasSuffix(rest, ".tmp") {
			continue
		}
		hex, _, _ := strings.Cut(rest, ".")
		if zxid, err := strconv.ParseUint(hex, 16, 64); err == nil {
			snaps[e.Name()] = zxid
		}
	}
	return snaps, nil
}

func TestSumPerfIntervalsAddsEveryIntervalOfBothEvents(t *testing.T) {
	csv := `# started on Mon Nov 23 19:00:00 2026

     0.100,3,,syscalls:sys_enter_fsync,100,100.00,,
     0.100,<not counted>,,syscalls:sys_enter_fdatasync,0,100.00,,
     0.200,<not counted>,,syscalls:sys_enter_fsync,0,100.00,,
     0.200,5,,syscalls:sys_enter_fdatasync,100,100.00,,
     0.250,2,,syscalls:sys_enter_fsync,50,100.00,,
`
	got, err := sumPerfIntervals(csv)
	if err != nil || got != 10 {
		t.Fatalf("sumPerfIntervals = %d, %v; want 10", got, err)
	}
	if _, err := sumPerfIntervals("# started on Mon\n\n"); err == nil {
		t.Errorf("sumPerfIntervals of output without counts succeeded")
	}
}

func TestNewestSnapshotPicksTheHighestZxid(t *testing.T) {
	dir := t.TempDir()
	v2 := filepath.Join(dir, "version-2")
	if err := os.Mkdir(v2, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{
		"snapshot.ff":          1,
		"snapshot.1000.gz":     2,
		"snapshot.2000.tmp":    3,
		"log.3000":             4,
		"snapshot.a00.snappy":  5,
		"snapshot.notanumber":  6,
		"acceptedEpoch":        7,
		"snapshot.100.unknown": 8,
	} {
		if err := os.WriteFile(filepath.Join(v2, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	name, size, err := newestSnapshot(dir)
	if err != nil || name != "snapshot.1000.gz" || size != 2 {
		t.Fatalf("newestSnapshot = %s, %d, %v; want snapshot.1000.gz, 2", name, size, err)
	}
}

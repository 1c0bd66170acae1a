package bench

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testcluster does not expose its servers' PIDs, so the benchmark finds each
// server by the port it listens on: the socket's inode from /proc/net/tcp
// and tcp6 (a JVM may listen on an IPv6 socket even for 127.0.0.1), then the
// process holding that inode among the file descriptors in /proc.

// listenerPID returns the PID of the process listening on the TCP port.
func listenerPID(port int) (int, error) {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := listeningInodes(table, port, inodes); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no socket listens on port %d", port)
	}
	procs, err := filepath.Glob("/proc/[0-9]*/fd/*")
	if err != nil {
		return 0, err
	}
	for _, fd := range procs {
		link, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue // gone, or not ours to read
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			pid, err := strconv.Atoi(strings.Split(fd, "/")[2])
			if err != nil {
				return 0, fmt.Errorf("parse pid in %s: %w", fd, err)
			}
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no process of ours holds the socket listening on port %d", port)
}

// listeningInodes adds to inodes the inode of every socket in the
// /proc/net/tcp-format table that listens on port.
func listeningInodes(table string, port int, inodes map[string]bool) error {
	f, err := os.Open(table)
	if err != nil {
		return err
	}
	defer f.Close()
	const listen = "0A" // TCP_LISTEN
	wantPort := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		if strings.HasSuffix(fields[1], wantPort) && fields[3] == listen {
			inodes[fields[9]] = true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	return nil
}

// memory is a process's resident set size now and at its peak.
type memory struct{ rss, peak int64 } // bytes

// processMemory reads VmRSS and VmHWM from /proc/<pid>/status.
func processMemory(pid int) (memory, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return memory{}, err
	}
	var m memory
	for line := range strings.Lines(string(b)) {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("%s: %s: %w", path, key, err)
		}
		if key == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.peak = kb << 10
		}
	}
	if m.rss == 0 {
		return memory{}, fmt.Errorf("%s: no VmRSS", path)
	}
	return m, nil
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat. It is 100 on
// every Linux architecture Go supports.
const userHZ = 100

// processCPU returns the CPU time, user and system, that the process's
// threads have used, from /proc/<pid>/stat (10ms resolution).
func processCPU(pid int) (time.Duration, error) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("%s: %d fields after the command name", path, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

func TestListenerPIDFindsTheListeningProcess(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	pid, err := listenerPID(port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("listenerPID(%d) = %d, %v; want this process, %d", port, pid, err, os.Getpid())
	}
}

func TestProcessMemoryAndCPUOfThisProcess(t *testing.T) {
	m, err := processMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.rss < 1<<20 || m.peak < m.rss {
		t.Errorf("memory = %+v, want an RSS of at least 1 MiB and a peak no lower", m)
	}
	// Burn a little CPU so that the reading is non-zero at 10ms resolution.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	cpu, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if cpu <= 0 {
		t.Errorf("processCPU = %v after busy work", cpu)
	}
}

// writeCalls returns the bytes process pid has passed to write calls so
// far ("wchar" in /proc/pid/io).
func writeCalls(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "wchar:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/io has no wchar line", pid)
}

// quiesce waits until none of the processes has written for a second
// nor used more than 2 % of a CPU over it (a snapshot still being written
// after its run ends, a JVM's compiler catching up), then has the kernel
// write every dirty page out (sync(2)), so that one server's leftover
// work does not land in the next server's run. It gives up waiting after
// a minute, and says so in the benchmark's log.
func quiesce(tb testing.TB, pids ...int) {
	tb.Helper()
	const still, poll, limit = time.Second, 100 * time.Millisecond, time.Minute
	const busy = still / 50
	type mark struct {
		written int64
		cpu     time.Duration
	}
	read := func() []mark {
		marks := make([]mark, len(pids))
		for i, pid := range pids {
			var err error
			if marks[i].written, err = writeCalls(pid); err != nil {
				tb.Fatalf("quiesce: %v", err)
			}
			if marks[i].cpu, err = processCPU(pid); err != nil {
				tb.Fatalf("quiesce: %v", err)
			}
		}
		return marks
	}
	since, from := time.Now(), read()
	for start := time.Now(); time.Since(since) < still; time.Sleep(poll) {
		if time.Since(start) >= limit {
			tb.Logf("quiesce: processes %v still busy after %v; running anyway", pids, limit)
			break
		}
		now := read()
		for i := range now {
			if now[i].written != from[i].written || now[i].cpu-from[i].cpu > busy {
				since, from = time.Now(), now
				break
			}
		}
	}
	syscall.Sync()
}

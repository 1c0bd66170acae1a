package testcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// recordingTB notes what a helper asked of the test instead of stopping it.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()                      {}
func (r *recordingTB) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recordingTB) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

func TestMissingToolsSkipUnlessInteropIsRequired(t *testing.T) {
	tests := []struct {
		name, env          string
		wantSkip, wantFail bool
	}{
		{"without the variable the test is skipped", "", true, false},
		{"with the variable set to 1 the test fails", "1", false, true},
		{"any other value skips", "yes", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(RequireInteropEnv, tt.env)
			r := &recordingTB{TB: t}
			skipOrFail(r, "no %s", "java")
			if (r.skipped != "") != tt.wantSkip || (r.failed != "") != tt.wantFail {
				t.Errorf("skipped %q, failed %q; want skip %v, fail %v", r.skipped, r.failed, tt.wantSkip, tt.wantFail)
			}
			if msg := r.skipped + r.failed; !strings.Contains(msg, "no java") {
				t.Errorf("message %q does not give the reason", msg)
			}
		})
	}
}

func TestRequireInteropRejectsUnknownTools(t *testing.T) {
	r := &recordingTB{TB: t}
	RequireInterop(r, "jav")
	if !strings.Contains(r.failed, `unknown tool "jav"`) {
		t.Errorf("RequireInterop(\"jav\") failed with %q, want it to name the unknown tool", r.failed)
	}
}

func TestFreePortCanBeBoundOnLoopback(t *testing.T) {
	port := FreePort(t)
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d, want a TCP port", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on the port FreePort returned: %v", err)
	}
	l.Close()
}

// fakeFourLetterServer answers one connection: it reads the four-letter word,
// checks it, writes answer and closes. It returns the address to dial.
func fakeFourLetterServer(t *testing.T, wantWord, answer string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		word := make([]byte, 4)
		if _, err := io.ReadFull(c, word); err != nil || string(word) != wantWord {
			return
		}
		_, _ = io.WriteString(c, answer)
	}()
	return l.Addr().String()
}

func TestFourLetterReturnsTheWholeAnswer(t *testing.T) {
	answer := "Zookeeper version: x\nMode: standalone\n" + strings.Repeat("line\n", 2000)
	addr := fakeFourLetterServer(t, "srvr", answer)
	got, err := FourLetter(addr, "srvr")
	if err != nil {
		t.Fatalf("FourLetter: %v", err)
	}
	if got != answer {
		t.Fatalf("FourLetter returned %d bytes, want %d", len(got), len(answer))
	}
}

func TestFourLetterFailsWhenNothingListens(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	if _, err := FourLetter(addr, "ruok"); err == nil {
		t.Fatalf("FourLetter to %s with nothing listening succeeded", addr)
	}
}

func TestCleanZkCliStdoutKeepsOnlyWhatTheCommandPrinted(t *testing.T) {
	const banner = "Connecting to 127.0.0.1:2181\n"
	const watcher = "\nWATCHER::\n"
	const connected = "\nWatchedEvent state:SyncConnected type:None path:null\n"
	tests := []struct {
		name, in, want string
	}{
		{"the banner and connection notice are removed",
			banner + watcher + connected + "[zookeeper]\n", "[zookeeper]\n"},
		{"a notice printed in the middle of the command's output is removed",
			banner + "cZxid = 0x2\n" + watcher + "ctime = x\n" + connected + "mZxid = 0x2\n",
			"cZxid = 0x2\nctime = x\nmZxid = 0x2\n"},
		{"blank lines the command printed are kept",
			banner + watcher + connected + "\n\nx\n", "\n\nx\n"},
		{"notifications of node events are kept without their header",
			banner + watcher + connected + "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDeleted path:/a\n",
			"\nWatchedEvent state:SyncConnected type:NodeDeleted path:/a\n"},
		{"a disconnection notice is removed",
			"x\n\nWATCHER::\n\nWatchedEvent state:Disconnected type:None path:null\n", "x\n"},
		{"output without a trailing newline is kept",
			banner + watcher + connected + "null", "null"},
		{"a 'Connecting to' line that is not first is kept",
			"a\nConnecting to b\n", "a\nConnecting to b\n"},
		{"empty output stays empty", "", ""},
		{"the JVM's own warnings are removed",
			banner + "[0.001s][warning][perf,memops] Cannot use file /tmp/hsperfdata_root/8547 because it is locked by another process (errno = 11)\n[a]\n",
			"[a]\n"},
		{"a line that only looks like one is kept",
			"[0.001s] not a JVM log line\n", "[0.001s] not a JVM log line\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CleanZkCliStdout(tt.in); got != tt.want {
				t.Errorf("CleanZkCliStdout(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCleanZkCliStderrRemovesOnlySlf4jAndJVMWarnings(t *testing.T) {
	in := "SLF4J: Failed to load class \"org.slf4j.impl.StaticLoggerBinder\".\n" +
		"SLF4J: Defaulting to no-operation (NOP) logger implementation\n" +
		"[0.002s][warning][perf,memops] Cannot use file /tmp/hsperfdata_root/1 because it is locked by another process (errno = 11)\n" +
		"Node does not exist: /a\n"
	if got, want := CleanZkCliStderr(in), "Node does not exist: /a\n"; got != want {
		t.Errorf("CleanZkCliStderr = %q, want %q", got, want)
	}
}

func TestPackageAbsentTellsMissingFromBroken(t *testing.T) {
	tests := []struct {
		name, out string
		want      bool
	}{
		{"an empty directory is absent", "no Go files in /work/main/cmd/zkd", true},
		{"a missing directory is absent",
			`no required module provides package github.com/zkd/zkd/cmd/zkd; to add it:`, true},
		{"a compile error is not absent", "cmd/zkd/main.go:3:1: syntax error: non-declaration statement", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := packageAbsent(tt.out); got != tt.want {
				t.Errorf("packageAbsent(%q) = %v, want %v", tt.out, got, tt.want)
			}
		})
	}
}

func TestWriteConfigWritesKeysThenExtraLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zoo.cfg")
	err := writeConfig(path, [][2]string{{"tickTime", "2000"}, {"clientPort", "1"}}, []string{"maxSessionTimeout=9000"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "tickTime=2000\nclientPort=1\nmaxSessionTimeout=9000\n"; got != want {
		t.Errorf("zoo.cfg = %q, want %q", got, want)
	}
}

func TestFileTailKeepsTheLastLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("1\n2\n3\n4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := fileTail(path, 2)
	if !strings.Contains(got, "\n3\n4\n") || strings.Contains(got, "2\n") {
		t.Errorf("fileTail(2) = %q, want the lines 3 and 4 only", got)
	}
}

func TestApacheZooKeeperStartsAnswersAndStops(t *testing.T) {
	zk := StartApacheZK(t, ApacheOptions{ExtraConfig: []string{"maxClientCnxns=10"}})
	got, err := FourLetter(zk.Addr, "srvr")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "Mode: standalone") {
		t.Errorf("srvr = %q, want a standalone server", got)
	}
	conf, err := FourLetter(zk.Addr, "conf")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(conf, "maxClientCnxns=10") {
		t.Errorf("conf = %q, want the extra config line maxClientCnxns=10 applied", conf)
	}
	zk.Stop()
	if _, err := FourLetter(zk.Addr, "ruok"); err == nil {
		t.Errorf("server still answers after Stop")
	}
	zk.Stop() // a second Stop is harmless
}

func TestApacheZooKeeperCanBeKilled(t *testing.T) {
	zk := StartApacheZK(t, ApacheOptions{JVMFlags: []string{"-Dzookeeper.extendedTypesEnabled=true"}})
	zk.Kill()
	if _, err := FourLetter(zk.Addr, "ruok"); err == nil {
		t.Errorf("server still answers after Kill")
	}
	if err := zk.srv.err; err == nil {
		t.Errorf("a killed server reported a clean exit")
	}
}

func TestZkCliRunsOneCommandPerSession(t *testing.T) {
	RequireInterop(t, NeedZkCli)
	zk := StartApacheZK(t, ApacheOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	start := time.Now()
	out, errOut, err := ZkCli(ctx, zk.Addr, "create", "/zkcli", "hello")
	t.Logf("one zkCli run took %v", time.Since(start))
	// zkCli reports a successful create on stderr.
	if err != nil || out != "" || errOut != "Created /zkcli\n" {
		t.Fatalf("create: stdout %q, stderr %q, err %v; want \"Created /zkcli\\n\" on stderr only", out, errOut, err)
	}
	out, errOut, err = ZkCli(ctx, zk.Addr, "get", "/zkcli")
	if err != nil || out != "hello\n" || errOut != "" {
		t.Fatalf("get: stdout %q, stderr %q, err %v; want \"hello\\n\" only", out, errOut, err)
	}
	out, errOut, err = ZkCli(ctx, zk.Addr, "get", "/missing")
	if ExitCode(err) != 1 || out != "" || errOut != "Node does not exist: /missing\n" {
		t.Fatalf("get missing: stdout %q, stderr %q, err %v; want exit 1 and the error on stderr", out, errOut, err)
	}
}

func TestZkCliGivesUpWhenTheContextEnds(t *testing.T) {
	RequireInterop(t, NeedZkCli)
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t)) // nothing listens: zkCli keeps retrying
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, _, err := ZkCli(ctx, addr, "ls", "/")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ZkCli against a dead address: err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("ZkCli took %v to give up after a 2s deadline", d)
	}
}

func TestPythonReturnsStdoutAndReportsFailure(t *testing.T) {
	RequireInterop(t, NeedKazoo)
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.py")
	bad := filepath.Join(dir, "bad.py")
	if err := os.WriteFile(ok, []byte("import sys, kazoo.client\nprint('args', sys.argv[1:])\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("import sys\nsys.stderr.write('boom\\n')\nsys.exit(3)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := Python(ctx, ok, "a", "b")
	if err != nil || out != "args ['a', 'b']\n" {
		t.Fatalf("Python(ok.py) = %q, %v", out, err)
	}
	_, err = Python(ctx, bad)
	if ExitCode(err) != 3 || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Python(bad.py) error = %v, want exit status 3 and the script's stderr", err)
	}
}

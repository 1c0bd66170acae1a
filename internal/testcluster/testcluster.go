// Package testcluster runs real zkd and Apache ZooKeeper processes for tests.
//
// Every process it starts listens on a loopback port reserved for the test
// (see reservePorts), keeps its files in the test's temporary directory,
// logs to a file whose tail is quoted when something fails, and is stopped
// by PID (its whole process group) when the test ends. Waits poll a condition under a deadline; none
// sleeps for a fixed time hoping the other side is ready.
//
// Apache ZooKeeper comes from the Debian packages zookeeper and
// libzookeeper-java (3.8), and kazoo from python3-kazoo, run by Debian's
// /usr/bin/python3. When one of them is missing, tests that need it skip,
// unless ZKD_REQUIRE_INTEROP=1 is set, in which case they fail: CI sets it so
// that a broken environment cannot pass as a green run.
package testcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Where the Debian packages put Apache ZooKeeper, its command-line client and
// the Python interpreter that has kazoo.
const (
	// ZooKeeperJar is Apache ZooKeeper's server and client jar; its manifest
	// names the dependency jars, so it is a complete classpath on its own.
	ZooKeeperJar = "/usr/share/java/zookeeper.jar"
	// CClientShell is the shell of ZooKeeper's C client (Debian package
	// zookeeper-bin), built on libzookeeper_mt.
	CClientShell = "/usr/lib/zookeeper/bin/cli_mt"
	// ZkCliScript is Apache ZooKeeper's command-line client.
	ZkCliScript = "/usr/share/zookeeper/bin/zkCli.sh"
	// Python3 is Debian's interpreter, which sees python3-kazoo (a python3
	// earlier on PATH, such as a pyenv one, may not).
	Python3 = "/usr/bin/python3"

	// Log bindings that turn Apache ZooKeeper's slf4j logging into log4j
	// lines on stdout, which StartApacheZK sends to a file. Without them
	// slf4j falls back to a no-op logger and the server says nothing.
	slf4jLog4jJar = "/usr/share/java/slf4j-log4j12.jar"
	log4jJar      = "/usr/share/java/log4j-1.2.jar"
	// nettyCodecJar holds the Netty classes ZooKeeper's TLS code needs
	// (its SslHandler and port-unification detection extend
	// ByteToMessageDecoder) but which Debian's zookeeper.jar manifest
	// leaves off its Class-Path: without it a Debian ZooKeeper cannot
	// serve TLS on the client port nor accept TLS quorum connections.
	nettyCodecJar = "/usr/share/java/netty-codec.jar"
	// servletAPIJar holds javax.servlet, which ZooKeeper's Jetty
	// AdminServer needs and Debian's manifest also leaves out: without it
	// a Debian ZooKeeper runs without its AdminServer.
	servletAPIJar = "/usr/share/java/servlet-api.jar"
)

// RequireInteropEnv names the environment variable that turns a missing
// interop tool from a skip into a failure when it is set to "1".
const RequireInteropEnv = "ZKD_REQUIRE_INTEROP"

// Names of the tools RequireInterop can check for.
const (
	NeedJava            = "java"      // a java executable on PATH
	NeedApacheZooKeeper = "zookeeper" // ZooKeeperJar
	NeedZkCli           = "zkcli"     // ZkCliScript (it also needs Java)
	NeedKazoo           = "kazoo"     // Python3 able to import kazoo
	NeedCClient         = "cclient"   // CClientShell
	NeedKerberos        = "kerberos"  // MIT Kerberos: Krb5KDC, Kdb5Util, KadminLocal, Kinit
)

// startTimeout bounds how long a server may take from exec to answering
// "ruok" with "imok".
const startTimeout = 30 * time.Second

// stopTimeout is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopTimeout = 10 * time.Second

// RequireInterop makes sure each named tool (NeedJava, NeedApacheZooKeeper,
// NeedZkCli, NeedKazoo, NeedCClient, NeedKerberos) is installed. If one is not, it skips the test with the reason, or,
// when ZKD_REQUIRE_INTEROP=1, fails it. An unknown name fails the test.
func RequireInterop(t testing.TB, what ...string) {
	t.Helper()
	var missing []string
	for _, w := range what {
		var err error
		switch w {
		case NeedJava:
			_, err = exec.LookPath("java")
		case NeedApacheZooKeeper:
			err = fileExists(ZooKeeperJar)
		case NeedZkCli:
			if _, err = exec.LookPath("java"); err == nil {
				err = fileExists(ZkCliScript)
			}
		case NeedKazoo:
			err = kazooImportable()
		case NeedCClient:
			err = fileExists(CClientShell)
		case NeedKerberos:
			for _, tool := range []string{Krb5KDC, Kdb5Util, KadminLocal, Kinit} {
				if err = fileExists(tool); err != nil {
					break
				}
			}
		default:
			t.Fatalf("RequireInterop: unknown tool %q (want one of %q, %q, %q, %q, %q, %q)",
				w, NeedJava, NeedApacheZooKeeper, NeedZkCli, NeedKazoo, NeedCClient, NeedKerberos)
		}
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s: %v", w, err))
		}
	}
	if len(missing) > 0 {
		skipOrFail(t, "interop tools missing (Debian: apt-get install zookeeper zookeeper-bin python3-kazoo krb5-kdc krb5-admin-server krb5-user):\n\t%s",
			strings.Join(missing, "\n\t"))
	}
}

// skipOrFail skips the test with the message, or fails it when
// ZKD_REQUIRE_INTEROP=1.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(RequireInteropEnv) == "1" {
		t.Fatalf(format+"\n(failing instead of skipping because "+RequireInteropEnv+"=1)", args...)
		return
	}
	t.Skipf(format, args...)
}

func fileExists(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

// kazooImportable reports whether Python3 can import kazoo. The answer is
// computed once per test process.
var kazooImportable = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Python3, "-c", "import kazoo.client")
	cmd.Env = pythonEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s cannot import kazoo: %v: %s", Python3, err, strings.TrimSpace(string(out)))
	}
	return nil
})

// FreePort returns a TCP port on 127.0.0.1 that is free and stays reserved
// for this test until it ends: other test processes of this module do not
// pick it, and the kernel does not hand it out unasked (see reservePorts).
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts is FreePort for n distinct ports.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, release := reservePorts(t, n)
	release()
	return ports
}

// FourLetter sends a four-letter command such as "ruok", "srvr" or "mntr" to
// the server at addr and returns its whole answer. It gives up after five
// seconds.
func FourLetter(addr, word string) (string, error) {
	return fourLetter(addr, word, 5*time.Second)
}

// fourLetter is FourLetter with a deadline of timeout for the whole
// exchange.
func fourLetter(addr, word string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("four-letter %q to %s: %w", word, addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return "", fmt.Errorf("four-letter %q to %s: %w", word, addr, err)
	}
	if _, err := io.WriteString(conn, word); err != nil {
		return "", fmt.Errorf("four-letter %q to %s: send: %w", word, addr, err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return string(b), fmt.Errorf("four-letter %q to %s: read: %w", word, addr, err)
	}
	return string(b), nil
}

// server is one running server process, started in its own process group so
// that signals reach everything it spawned.
type server struct {
	t       testing.TB
	name    string // "Apache ZooKeeper" or "zkd", for messages
	cmd     *exec.Cmd
	logPath string

	done chan struct{} // closed when cmd.Wait has returned
	err  error         // cmd.Wait's result, readable once done is closed

	mu       sync.Mutex // guards stopping
	stopping bool       // Stop or Kill was called: an exit is expected
}

// startServer starts cmd with stdout and stderr going to logPath (appended
// to, so a retry keeps the earlier attempt's lines).
func startServer(t testing.TB, name string, cmd *exec.Cmd, logPath string) (*server, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childProcAttr()
	if err := StartChild(cmd); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, strings.Join(cmd.Args, " "), err)
	}
	s := &server{t: t, name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		f.Close()
		close(s.done)
	}()
	return s, nil
}

// exited reports whether the process has ended.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the server's process group unless it has already
// exited (after which its PID may belong to someone else).
func (s *server) signal(sig syscall.Signal) {
	if !s.exited() {
		_ = syscall.Kill(-s.cmd.Process.Pid, sig)
	}
}

// stop ends the process: SIGTERM, and SIGKILL if it is still running after
// stopTimeout. It returns once the process has been reaped. A process
// stopped with SIGSTOP is continued so that it sees the SIGTERM.
func (s *server) stop() {
	s.markStopping()
	s.signal(syscall.SIGTERM)
	s.signal(syscall.SIGCONT)
	select {
	case <-s.done:
		return
	case <-time.After(stopTimeout):
	}
	s.t.Logf("%s (pid %d) ignored SIGTERM for %v; sending SIGKILL", s.name, s.cmd.Process.Pid, stopTimeout)
	s.kill()
}

// kill sends SIGKILL and waits for the process to be reaped.
func (s *server) kill() {
	s.markStopping()
	s.signal(syscall.SIGKILL)
	<-s.done
}

func (s *server) markStopping() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
}

// cleanup stops the server at the end of the test. It fails the test if the
// server had died on its own before anyone asked it to stop, or if the race
// detector (see StartZkd) reported a data race in it.
func (s *server) cleanup() {
	s.mu.Lock()
	expected := s.stopping
	s.mu.Unlock()
	if !expected && s.exited() {
		s.t.Errorf("%s (pid %d) exited during the test: %v\n%s", s.name, s.cmd.Process.Pid, s.err, s.logTail())
	}
	s.stop()
	if b, _ := os.ReadFile(s.logPath); strings.Contains(string(b), "WARNING: DATA RACE") {
		s.t.Errorf("%s (pid %d) reported a data race; see %s\n%s", s.name, s.cmd.Process.Pid, s.logPath, s.logTail())
	}
}

// logTail returns the last lines of the server's log, for failure messages.
func (s *server) logTail() string {
	return fileTail(s.logPath, 60)
}

// waitReady polls until ready returns nil, the process exits, or
// startTimeout passes, and returns the reason it stopped waiting.
func (s *server) waitReady(ready func() error) error {
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = ready(); last == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before it was ready: %v", s.name, s.err)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %w", s.name, startTimeout, last)
		}
	}
}

// servesDataDir checks that the server answering at addr is the one just
// started, by the dataDir its "conf" reports: a port FreePort returned may
// be taken by another test process's server before ours binds it, and
// that server would pass the readiness check in our server's place (ours
// then exits, failing to bind, and launch retries on another port).
func servesDataDir(addr, dataDir string) error {
	conf, err := fourLetter(addr, "conf", probeTimeout)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(conf, "\n") {
		if line == "dataDir="+dataDir || line == "dataDir="+filepath.Join(dataDir, "version-2") {
			return nil
		}
	}
	return fmt.Errorf("the server at %s is not ours: its conf does not name dataDir %s", addr, dataDir)
}

// probeTimeout bounds one readiness probe. It is short because a server
// that is still starting may accept a connection and never answer it; the
// next probe, on a new connection, gets the answer.
const probeTimeout = 500 * time.Millisecond

// answersRuok is a readiness check: the server answers "ruok" with "imok".
func answersRuok(addr string) error {
	got, err := fourLetter(addr, "ruok", probeTimeout)
	if err != nil {
		return err
	}
	if got != "imok" {
		return fmt.Errorf("ruok answered %q, want \"imok\"", got)
	}
	return nil
}

// portInUse reports whether a server's log says it could not bind its port,
// which happens when another process took the port FreePort handed out.
func portInUse(logPath string) bool {
	b, _ := os.ReadFile(logPath)
	return strings.Contains(strings.ToLower(string(b)), "address already in use")
}

// fileTail returns the last n lines of the file at path, labelled with the
// path.
func fileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- last %d lines of %s ---\n%s\n--- end of log ---", len(lines), path, strings.Join(lines, "\n"))
}

// writeConfig writes a zoo.cfg: one "key=value" line per entry, then extra
// lines as given.
func writeConfig(path string, kv [][2]string, extra []string) error {
	var b strings.Builder
	for _, e := range kv {
		fmt.Fprintf(&b, "%s=%s\n", e[0], e[1])
	}
	for _, l := range extra {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// runOneShot runs a short-lived command made by exec.CommandContext(ctx, ...)
// in its own process group:
// when ctx ends, the whole group is killed, and Wait gives up on its output
// pipes five seconds later. It returns stdout and stderr in full.
func runOneShot(ctx context.Context, cmd *exec.Cmd) (stdout, stderr string, err error) {
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = childProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err = StartChild(cmd); err == nil {
		err = cmd.Wait()
	}
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%s: %w (%v)", cmd.Path, ctx.Err(), err)
	}
	return out.String(), errb.String(), err
}

// ExitCode returns the exit status carried by an error from ZkCli or Python:
// 0 for nil, and -1 when the command did not start or was killed by a signal.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// launch writes dir/zoo.cfg for a standalone server on a free loopback
// port (tickTime 2000, dataDir, no AdminServer, every four-letter word,
// then extra lines) and starts command(cfg), returning once ready answers.
// If the port was taken in the meantime it retries on another one.
func launch(t testing.TB, name, dir, dataDir, logPath string, extra []string, command func(cfg string) *exec.Cmd, ready func(addr string) error) (*server, int, string) {
	t.Helper()
	cfg := filepath.Join(dir, "zoo.cfg")
	// The server's dataDir, for the identity check: a dataDir line in
	// extra wins, as later lines do in zoo.cfg.
	servedDataDir := dataDir
	for _, line := range extra {
		if v, ok := strings.CutPrefix(line, "dataDir="); ok {
			servedDataDir = v
		}
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		port := FreePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		err := writeConfig(cfg, [][2]string{
			{"tickTime", "2000"},
			{"clientPort", strconv.Itoa(port)},
			{"clientPortAddress", "127.0.0.1"},
			{"dataDir", dataDir},
			{"admin.enableServer", "false"},
			{"4lw.commands.whitelist", "*"},
		}, extra)
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		cmd := command(cfg)
		srv, err := startServer(t, name, cmd, logPath)
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		err = srv.waitReady(func() error {
			if err := ready(addr); err != nil {
				return err
			}
			return servesDataDir(addr, servedDataDir)
		})
		if err == nil {
			t.Cleanup(srv.cleanup)
			return srv, port, addr
		}
		srv.kill()
		if attempt < attempts && portInUse(logPath) {
			t.Logf("start %s: port %d was taken; retrying with another", name, port)
			continue
		}
		t.Fatalf("start %s on %s (%s): %v\n%s", name, addr, strings.Join(cmd.Args, " "), err, srv.logTail())
	}
}

// pinned returns the command that runs name with args, under
// "taskset -c cpus" when cpus is not empty. taskset sets the CPU affinity
// and then executes the program in its own place, so the server keeps the
// process ID that the test started.
func pinned(cpus, name string, args ...string) *exec.Cmd {
	if cpus == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("taskset", append([]string{"-c", cpus, name}, args...)...)
}

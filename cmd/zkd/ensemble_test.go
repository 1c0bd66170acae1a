//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/testcluster"
)

// runAsZkdEnv makes the test binary run zkd's main instead of the tests,
// so that `zkd ensemble` tests can run the command, and the servers it
// starts (os.Executable() server zoo.cfg), without building zkd again.
const runAsZkdEnv = "ZKD_TEST_RUN_AS_ZKD"

func TestMain(m *testing.M) {
	if os.Getenv(runAsZkdEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestEnsembleWritesConfigsThatLoadBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ens")
	plan, err := planEnsemble(dir, ensembleOptions{n: 3, clientBase: 12181, quorumBase: 12888, electBase: 13888})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.write(); err != nil {
		t.Fatal(err)
	}
	if got, want := plan.connectString(), "127.0.0.1:12181,127.0.0.1:12182,127.0.0.1:12183"; got != want {
		t.Errorf("connect string %q, want %q", got, want)
	}
	for i := 1; i <= 3; i++ {
		path := filepath.Join(dir, "zk"+strconv.Itoa(i), "zoo.cfg")
		cfg, warnings, err := config.Load(path)
		if err != nil {
			t.Fatalf("load %s: %v", path, err)
		}
		if len(warnings) > 0 {
			t.Errorf("%s: warnings %v", path, warnings)
		}
		if err := cfg.LoadMyID(); err != nil {
			t.Fatalf("%s: myid: %v", path, err)
		}
		wantData := filepath.Join(dir, "zk"+strconv.Itoa(i), "data")
		if cfg.MyID != int64(i) || cfg.DataDir != wantData || cfg.Standalone() ||
			cfg.ClientPort != 12180+i || cfg.ClientPortAddress != "127.0.0.1" ||
			cfg.TickTime != 2000 || cfg.InitLimit != 10 || cfg.SyncLimit != 5 {
			t.Errorf("%s: myid %d, dataDir %s, standalone %v, client %s:%d, ticks %d/%d/%d", path,
				cfg.MyID, cfg.DataDir, cfg.Standalone(), cfg.ClientPortAddress, cfg.ClientPort, cfg.TickTime, cfg.InitLimit, cfg.SyncLimit)
		}
		if cfg.Props["zookeeper.4lw.commands.whitelist"] != "*" || cfg.Props["zookeeper.admin.enableServer"] != "false" {
			t.Errorf("%s: properties %v", path, cfg.Props)
		}
		if len(cfg.Servers) != 3 {
			t.Fatalf("%s: %d servers, want 3", path, len(cfg.Servers))
		}
		for j, s := range cfg.Servers {
			want := config.Server{
				ID:           int64(j + 1),
				QuorumAddr:   "127.0.0.1:" + strconv.Itoa(12888+j),
				ElectionAddr: "127.0.0.1:" + strconv.Itoa(13888+j),
				Role:         config.RoleParticipant,
				ClientAddr:   "127.0.0.1:" + strconv.Itoa(12181+j),
			}
			if s.ID != want.ID || s.QuorumAddr != want.QuorumAddr || s.ElectionAddr != want.ElectionAddr || s.Role != want.Role || s.ClientAddr != want.ClientAddr {
				t.Errorf("%s: server %+v, want %+v", path, s, want)
			}
		}
	}
}

func TestEnsembleReusesADirectoryWithoutTouchingIt(t *testing.T) {
	dir := t.TempDir()
	plan, err := planEnsemble(dir, ensembleOptions{n: 2, clientBase: 12181, quorumBase: 12888, electBase: 13888})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.write(); err != nil {
		t.Fatal(err)
	}
	// What a server wrote, and an edited config, must survive a re-run.
	marker := filepath.Join(dir, "zk2", "data", "version-2", "log.1")
	os.MkdirAll(filepath.Dir(marker), 0o755)
	os.WriteFile(marker, []byte("data"), 0o644)
	cfgPath := filepath.Join(dir, "zk1", "zoo.cfg")
	edited, _ := os.ReadFile(cfgPath)
	edited = append(edited, "maxClientCnxns=7\n"...)
	os.WriteFile(cfgPath, edited, 0o644)

	again, err := planEnsemble(dir, ensembleOptions{n: 3, clientBase: 22181, quorumBase: 22888, electBase: 23888})
	if err != nil {
		t.Fatal(err)
	}
	if !again.reused || len(again.members) != 2 {
		t.Fatalf("reused %v with %d members, want the 2 already there", again.reused, len(again.members))
	}
	if m := again.members[1]; m.clientPort != 12182 || m.quorumPort != 12889 || m.ePort != 13889 {
		t.Errorf("zk2 reused with ports %d/%d/%d, want those in its zoo.cfg", m.clientPort, m.quorumPort, m.ePort)
	}
	if b, _ := os.ReadFile(marker); string(b) != "data" {
		t.Errorf("zk2's data changed: %q", b)
	}
	if b, _ := os.ReadFile(cfgPath); !bytes.Equal(b, edited) {
		t.Errorf("zk1's zoo.cfg changed:\n%s", b)
	}
	if _, err := planEnsemble(dir, ensembleOptions{n: 3, nSet: true}); err == nil || !strings.Contains(err.Error(), "holds a 2-server ensemble, not 3") {
		t.Errorf("asking for 3 servers in a 2-server directory: %v", err)
	}
}

func TestEnsembleRefusesPortsThatCollide(t *testing.T) {
	tests := []struct {
		name string
		opts ensembleOptions
		want string
	}{
		{"client ports running into quorum ports", ensembleOptions{n: 3, clientBase: 2000, quorumBase: 2002, electBase: 3000}, "port 2002 would be both the quorum port of zk1 and the client port of zk3"},
		{"ports past 65535", ensembleOptions{n: 3, clientBase: 65534, quorumBase: 2000, electBase: 3000}, "client port of zk3 would be 65536"},
		{"no servers", ensembleOptions{n: 0, clientBase: 2181, quorumBase: 2888, electBase: 3888}, "want 1 to 255 servers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := planEnsemble(t.TempDir(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestEnsembleRefusesATakenPortAndWritesNothing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	dir := filepath.Join(t.TempDir(), "ens")
	// zk2's election port is the taken one.
	_, stderr, err := runCmd(t, "ensemble", "-n", "2",
		"-client-port", strconv.Itoa(taken-20), "-quorum-port", strconv.Itoa(taken-10), "-election-port", strconv.Itoa(taken-1), dir)
	// Another process may hold one of the other ports too; then that one
	// is named.
	refusal := regexp.MustCompile(`port (\d+) \(the (client|quorum|election) port of zk[12]\) is already in use on 127\.0\.0\.1: choose other ports with -client-port`)
	m := refusal.FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Fatalf("err %v, want a refusal naming the taken port\nstderr: %s", err, stderr)
	}
	if want := "port " + strconv.Itoa(taken) + " (the election port of zk2)"; m[1] == strconv.Itoa(taken) && !strings.Contains(m[0], want) {
		t.Errorf("err %v, want it to say %q", err, want)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused ensemble left %s behind (%v)", dir, err)
	}
}

func TestPrefixWriterPrefixesEveryLine(t *testing.T) {
	var b bytes.Buffer
	w := &prefixWriter{out: &lockedWriter{w: &b}, prefix: "zk1| "}
	w.Write([]byte("one\ntw"))
	w.Write([]byte("o\nthr"))
	w.flush()
	if got, want := b.String(), "zk1| one\nzk1| two\nzk1| thr\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// syncBuffer is a bytes.Buffer safe for a process to write while a test
// reads it.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ensembleProc is a `zkd ensemble` process run by a test.
type ensembleProc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{} // closed when cmd.Wait returns
	err            error         // cmd.Wait's result, once done is closed
	dir            string
	clientBase     int
}

// startEnsembleProc runs `zkd ensemble -n n` (this test binary acting as
// zkd) on ports testcluster.FreePortRun reserves, trying other ports when
// the command refuses them as taken, and returns once
// it has started its servers. Its cleanup kills the command's process
// group, which holds the servers too.
func startEnsembleProc(t *testing.T, n int) *ensembleProc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		base := testcluster.FreePortRun(t, 3*n)
		p := &ensembleProc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{}),
			dir: filepath.Join(t.TempDir(), "ens"), clientBase: base}
		p.cmd = exec.Command(os.Args[0], "ensemble", "-n", strconv.Itoa(n),
			"-client-port", strconv.Itoa(base), "-quorum-port", strconv.Itoa(base+n), "-election-port", strconv.Itoa(base+2*n), p.dir)
		p.cmd.Env = append(os.Environ(), runAsZkdEnv+"=1")
		p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.err = p.cmd.Wait(); close(p.done) }()
		pgid := p.cmd.Process.Pid
		t.Cleanup(func() {
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		})
		waitFor(t, 30*time.Second, "zkd ensemble to start its servers or exit", func() bool {
			return strings.Contains(p.stdout.String(), "connect string: ") || p.exited()
		})
		if p.exited() && strings.Contains(p.stderr.String(), "already in use") && attempt < 5 {
			continue
		}
		if p.exited() && !strings.Contains(p.stdout.String(), "connect string: ") {
			t.Fatalf("zkd ensemble exited: %v\nstderr:\n%s", p.err, p.stderr)
		}
		return p
	}
}

func (p *ensembleProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// serverPIDs returns the PIDs of the servers the command reports starting.
func (p *ensembleProc) serverPIDs(t *testing.T) []int {
	t.Helper()
	var pids []int
	for _, m := range regexp.MustCompile(`(?m)^zk\d+: started, pid (\d+): `).FindAllStringSubmatch(p.stderr.String(), -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// stop sends SIGTERM to the command alone and checks that it exits with
// status 0 within 30 seconds, having stopped every server it started.
func (p *ensembleProc) stop(t *testing.T) {
	t.Helper()
	pids := p.serverPIDs(t)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("zkd ensemble still running 30s after SIGTERM\nstderr:\n%s", p.stderr)
	}
	if p.err != nil || !strings.Contains(p.stderr.String(), "all servers stopped") {
		t.Errorf("zkd ensemble after SIGTERM: %v\nstderr:\n%s", p.err, p.stderr)
	}
	// The command waited for its servers, so their PIDs are gone.
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("server pid %d still exists after zkd ensemble exited (kill 0: %v)", pid, err)
		}
	}
}

// waitFor polls cond every 20ms until it holds, failing the test after
// timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEnsembleOfOneServesUntilSignalled(t *testing.T) {
	p := startEnsembleProc(t, 1)
	addr := "127.0.0.1:" + strconv.Itoa(p.clientBase)
	if !strings.Contains(p.stdout.String(), "connect string: "+addr+"\n") || !strings.Contains(p.stdout.String(), "zkd status "+addr) {
		t.Errorf("stdout lacks the connect string or the status hint:\n%s", p.stdout)
	}
	waitFor(t, 30*time.Second, "zk1 to answer ruok", func() bool {
		got, err := testcluster.FourLetter(addr, "ruok")
		return err == nil && got == "imok"
	})
	if pids := p.serverPIDs(t); len(pids) != 1 {
		t.Fatalf("server PIDs %v, want one\nstderr:\n%s", pids, p.stderr)
	}
	p.stop(t)
	if !strings.Contains(p.stderr.String(), "\nzk1| ") {
		t.Errorf("the server's log lines are not prefixed with zk1|:\n%s", p.stderr)
	}
}

func TestEnsembleOfThreeServesUntilSignalled(t *testing.T) {
	p := startEnsembleProc(t, 3)
	waitFor(t, 60*time.Second, "every server to serve, or zkd ensemble to exit", func() bool {
		if p.exited() {
			return true
		}
		for i := 0; i < 3; i++ {
			got, err := testcluster.FourLetter("127.0.0.1:"+strconv.Itoa(p.clientBase+i), "srvr")
			if err != nil || !(strings.Contains(got, "Mode: leader") || strings.Contains(got, "Mode: follower")) {
				return false
			}
		}
		return true
	})
	if p.exited() {
		if line := notSupportedLine(p.stderr.String()); line != "" {
			t.Skipf("zkd does not run ensembles yet; its servers said %q", line)
		}
		t.Fatalf("zkd ensemble exited: %v\nstderr:\n%s", p.err, p.stderr)
	}
	if pids := p.serverPIDs(t); len(pids) != 3 {
		t.Fatalf("server PIDs %v, want three\nstderr:\n%s", pids, p.stderr)
	}
	p.stop(t)
	for i := 1; i <= 3; i++ {
		if !strings.Contains(p.stderr.String(), "\nzk"+strconv.Itoa(i)+"| ") {
			t.Errorf("no log line prefixed with zk%d|:\n%s", i, p.stderr)
		}
	}
}

// notSupportedLine returns the first line of out saying that ensemble
// mode is not supported yet, or "".
func notSupportedLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "not supported yet") && strings.Contains(l, "ensemble") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

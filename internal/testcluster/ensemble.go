package testcluster

import (
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

// Kind is the server implementation an ensemble member runs.
type Kind int

const (
	// KindZkd runs "zkd server zoo.cfg" with the binary ZkdBinary builds.
	KindZkd Kind = iota + 1
	// KindApache runs Apache ZooKeeper 3.8's QuorumPeerMain on zoo.cfg.
	KindApache
)

// String returns "zkd" or "Apache ZooKeeper".
func (k Kind) String() string {
	switch k {
	case KindZkd:
		return "zkd"
	case KindApache:
		return "Apache ZooKeeper"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// EnsembleOptions describes the ensemble StartEnsemble runs.
type EnsembleOptions struct {
	// Members are the voting servers, one Kind each; they get ids 1 to
	// len(Members) in order. At least one is required.
	Members []Kind
	// Observers are non-voting servers; they get the ids after the voters'.
	Observers []Kind
	// TickTime is zoo.cfg's tickTime in milliseconds; 2000 when zero.
	// Tests that elect and fail over often use small values such as 200.
	TickTime int
	// InitLimit and SyncLimit are zoo.cfg's initLimit and syncLimit in
	// ticks; 10 and 5 when zero.
	InitLimit, SyncLimit int
	// ExtraConfig lines are appended to every member's zoo.cfg.
	ExtraConfig []string
	// MemberConfig, when set, returns lines appended to member id's
	// zoo.cfg after ExtraConfig, such as the member's own key store.
	MemberConfig func(id int) []string
	// JVMFlags are passed to java, before the main class, for Apache
	// members.
	JVMFlags []string
	// ZkdFlags follow the config path on zkd members' command line, such
	// as "-Dzookeeper.snapCount=100".
	ZkdFlags []string
	// Proxied routes every server-to-server connection through a Proxy:
	// in member i's zoo.cfg, the server.j line (j ≠ i) names the ports of
	// two proxies that forward to j's real quorum and election ports, one
	// pair of proxies for each ordered pair (i, j). Disconnect, Isolate
	// and Links act on them. Member i's own line names its real ports, so
	// the members' server.N lines differ only in the ports of others.
	Proxied bool
	// StartTimeout bounds StartEnsemble from the first exec to a leader
	// with every member serving; 90 seconds when zero.
	StartTimeout time.Duration
	// PeerHost, when set, is written instead of 127.0.0.1 as the host of
	// the quorum and election addresses in the server.N lines, such as
	// "localhost" for Kerberos between servers (ZooKeeper checks a
	// server's principal against those host names). It must resolve to
	// 127.0.0.1, where the ports were picked free; Member's addresses stay
	// 127.0.0.1.
	PeerHost string
}

// Ensemble is a replicated ensemble of zkd and Apache ZooKeeper servers
// running as child processes of the test, on loopback ports, stopped by
// PID when the test ends.
type Ensemble struct {
	t       testing.TB
	opts    EnsembleOptions
	dir     string
	members []*Member
	log4j   string // log4j.properties for Apache members
	zkdBin  string // zkd binary for Zkd members

	// links holds the proxies of a Proxied ensemble by (from, to) member
	// id: the ones through which from reaches to. Nil otherwise.
	links map[[2]int]*linkProxies

	mu  sync.Mutex      // guards cut
	cut map[[2]int]bool // unordered pairs {low, high} Disconnect cut
}

// linkProxies are the two proxies through which one server reaches
// another.
type linkProxies struct {
	quorum, election *Proxy
}

// Member is one server of an Ensemble. Its fields do not change after
// StartEnsemble; its methods are safe for concurrent use.
type Member struct {
	ID       int    // the server id: its server.N line and myid
	Kind     Kind   // what it runs
	Observer bool   // whether it is a non-voting observer
	Addr     string // "127.0.0.1:port", for clients
	// QuorumAddr and ElectionAddr are the "127.0.0.1:port" addresses
	// the server listens on for followers and for leader election (in a
	// Proxied ensemble the others reach them through proxies).
	QuorumAddr, ElectionAddr string
	DataDir                  string // holds myid and version-2
	ConfigPath               string // the member's zoo.cfg
	LogPath                  string // the server's stdout and stderr, over all its runs

	e *Ensemble

	mu        sync.Mutex // guards the fields below
	srv       *server    // the current (or last) process
	logOffset int64      // size of LogPath when srv started
	paused    bool
}

// ErrNotServing is returned by Member.Mode when the server answers that it
// is not serving requests: it is electing a leader or syncing with one.
var ErrNotServing = errors.New("not currently serving requests")

// modeTimeout bounds one "srvr" exchange of Mode.
const modeTimeout = 2 * time.Second

// StartEnsemble writes a zoo.cfg and a myid for each member, starts them
// all, and returns once every member is serving (its "srvr" answers with a
// Mode of leader, follower or observer, and its "conf" names its own
// dataDir) and exactly one of them is the leader.
//
// Every member's zoo.cfg has tickTime, initLimit, syncLimit, dataDir,
// clientPort and clientPortAddress=127.0.0.1, admin.enableServer=false,
// 4lw.commands.whitelist=*, peerType=observer for observers, one line
//
//	server.N=127.0.0.1:quorumPort:electionPort[:observer];127.0.0.1:clientPort
//
// per member (with opts.PeerHost, if set, for the first 127.0.0.1), then
// opts.ExtraConfig. Ports are picked free up front; if
// another process takes one before a member binds it, the whole ensemble
// is started again on new ports (up to three times).
//
// A test with Apache members skips (or fails, see RequireInterop) without
// Java and ZooKeeper. A test with zkd members skips while "zkd server"
// refuses ensemble configurations, which StartEnsemble recognises from a
// member exiting with "not supported yet" in its output. Otherwise a
// member that exits or an ensemble that does not elect a leader within
// opts.StartTimeout fails the test with the logs' tails.
func StartEnsemble(t testing.TB, opts EnsembleOptions) *Ensemble {
	t.Helper()
	if len(opts.Members) == 0 {
		t.Fatalf("StartEnsemble: no Members")
	}
	if opts.TickTime == 0 {
		opts.TickTime = 2000
	}
	if opts.InitLimit == 0 {
		opts.InitLimit = 10
	}
	if opts.SyncLimit == 0 {
		opts.SyncLimit = 5
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 90 * time.Second
	}
	kinds := append(append([]Kind(nil), opts.Members...), opts.Observers...)
	e := &Ensemble{t: t, opts: opts, dir: t.TempDir(), cut: make(map[[2]int]bool)}
	for _, k := range kinds {
		switch k {
		case KindApache:
			if e.log4j == "" {
				RequireInterop(t, NeedJava, NeedApacheZooKeeper)
				e.log4j = filepath.Join(e.dir, "log4j.properties")
				if err := os.WriteFile(e.log4j, []byte(log4jConfig), 0o644); err != nil {
					t.Fatalf("StartEnsemble: %v", err)
				}
			}
		case KindZkd:
			if e.zkdBin == "" {
				e.zkdBin = ZkdBinary(t)
			}
		default:
			t.Fatalf("StartEnsemble: unknown member kind %v", k)
		}
	}
	for i, k := range kinds {
		id := i + 1
		dir := filepath.Join(e.dir, "zk"+strconv.Itoa(id))
		e.members = append(e.members, &Member{
			ID:         id,
			Kind:       k,
			Observer:   i >= len(opts.Members),
			DataDir:    filepath.Join(dir, "data"),
			ConfigPath: filepath.Join(dir, "zoo.cfg"),
			LogPath:    filepath.Join(dir, "server.log"),
			e:          e,
		})
	}
	t.Cleanup(e.cleanup)

	const attempts = 3
	for attempt := 1; ; attempt++ {
		err := e.startAttempt()
		if err == nil {
			return e
		}
		var unsupported *unsupportedError
		if errors.As(err, &unsupported) {
			e.killAll()
			t.Skipf("zkd does not run ensembles yet: zk%d exited saying %q", unsupported.id, unsupported.line)
		}
		e.killAll()
		var taken *portTakenError
		if errors.As(err, &taken) && attempt < attempts {
			t.Logf("StartEnsemble: %v; starting again on other ports", err)
			e.closeProxies()
			continue
		}
		t.Fatalf("StartEnsemble: %v\n%s", err, e.logTails())
	}
}

// unsupportedError is a zkd member exiting because zkd does not run
// ensembles yet.
type unsupportedError struct {
	id   int
	line string
}

func (e *unsupportedError) Error() string {
	return fmt.Sprintf("zk%d: %s", e.id, e.line)
}

// portTakenError is a member failing to bind a port another process took
// after FreePort picked it: rare since ports are reserved (see
// reservePorts), but a process that is not a test may bind any port.
type portTakenError struct{ id int }

func (e *portTakenError) Error() string {
	return fmt.Sprintf("zk%d could not bind a port (address already in use)", e.id)
}

// startAttempt picks ports, writes every member's files, starts every
// member and waits for a leader.
func (e *Ensemble) startAttempt() error {
	ports, release := reservePorts(e.t, 3*len(e.members))
	for i, m := range e.members {
		m.Addr = "127.0.0.1:" + strconv.Itoa(ports[3*i])
		m.QuorumAddr = "127.0.0.1:" + strconv.Itoa(ports[3*i+1])
		m.ElectionAddr = "127.0.0.1:" + strconv.Itoa(ports[3*i+2])
	}
	if e.opts.Proxied {
		// The proxies take their ports while the members' are still held:
		// otherwise a proxy could get a port just picked for a member, and
		// the member's zoo.cfg would name it twice ("address ... is also
		// used by server.N"; 2 of 40 runs of a partition test).
		if err := e.startProxies(); err != nil {
			release()
			return err
		}
	}
	release()
	if err := e.writeFiles(); err != nil {
		return err
	}
	for _, m := range e.members {
		if err := m.start(); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(e.opts.StartTimeout)
	verified := make(map[int]bool) // members whose conf named their dataDir
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, m := range e.members {
			if err := m.startFailure(); err != nil {
				return err
			}
		}
		leaders, waiting := 0, ""
		for _, m := range e.members {
			mode, err := m.mode()
			if err == nil && !verified[m.ID] && isMemberMode(mode) {
				if err = servesDataDir(m.Addr, m.DataDir); err == nil {
					verified[m.ID] = true
				}
			}
			switch {
			case err != nil:
				waiting = fmt.Sprintf("zk%d: %v", m.ID, err)
			case !isMemberMode(mode):
				waiting = fmt.Sprintf("zk%d is in mode %q", m.ID, mode)
			case mode == "leader":
				leaders++
			}
		}
		if waiting == "" && leaders == 1 {
			return nil
		}
		if waiting == "" {
			waiting = fmt.Sprintf("%d leaders", leaders)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no leader with every member serving after %v (still waiting on %s)", e.opts.StartTimeout, waiting)
		}
		<-tick.C
	}
}

// writeFiles gives every member an empty dataDir holding its myid, and its
// zoo.cfg. A retry starts from empty data: the failed attempt may have
// written epoch files for a membership on other ports.
func (e *Ensemble) writeFiles() error {
	for _, m := range e.members {
		if err := os.RemoveAll(m.DataDir); err != nil {
			return err
		}
		if err := os.MkdirAll(m.DataDir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(m.DataDir, "myid"), []byte(strconv.Itoa(m.ID)+"\n"), 0o644); err != nil {
			return err
		}
		if err := writeConfig(m.ConfigPath, e.configKeys(m), e.configExtra(m)); err != nil {
			return err
		}
	}
	return nil
}

// isMemberMode reports whether mode is one a serving ensemble member
// reports.
func isMemberMode(mode string) bool {
	return mode == "leader" || mode == "follower" || mode == "observer"
}

// startProxies starts, for each ordered pair of members, the proxies
// through which the first reaches the second.
func (e *Ensemble) startProxies() error {
	e.links = make(map[[2]int]*linkProxies)
	for _, from := range e.members {
		for _, to := range e.members {
			if from == to {
				continue
			}
			q, err := NewProxy(to.QuorumAddr)
			if err != nil {
				return fmt.Errorf("start proxy: %w", err)
			}
			el, err := NewProxy(to.ElectionAddr)
			if err != nil {
				q.Close()
				return fmt.Errorf("start proxy: %w", err)
			}
			e.links[[2]int{from.ID, to.ID}] = &linkProxies{quorum: q, election: el}
		}
	}
	return nil
}

// closeProxies closes every proxy of a Proxied ensemble.
func (e *Ensemble) closeProxies() {
	for _, l := range e.links {
		l.quorum.Close()
		l.election.Close()
	}
	e.links = nil
}

// configKeys returns the key=value lines of m's zoo.cfg before its
// server.N lines.
func (e *Ensemble) configKeys(m *Member) [][2]string {
	_, port, _ := net.SplitHostPort(m.Addr)
	kv := [][2]string{
		{"tickTime", strconv.Itoa(e.opts.TickTime)},
		{"initLimit", strconv.Itoa(e.opts.InitLimit)},
		{"syncLimit", strconv.Itoa(e.opts.SyncLimit)},
		{"dataDir", m.DataDir},
		{"clientPort", port},
		{"clientPortAddress", "127.0.0.1"},
		{"admin.enableServer", "false"},
		{"4lw.commands.whitelist", "*"},
	}
	if m.Observer {
		kv = append(kv, [2]string{"peerType", "observer"})
	}
	return kv
}

// configExtra returns the server.N lines of self's zoo.cfg, then
// ExtraConfig.
func (e *Ensemble) configExtra(self *Member) []string {
	var lines []string
	for _, m := range e.members {
		q, el := m.QuorumAddr, m.ElectionAddr
		if l := e.links[[2]int{self.ID, m.ID}]; l != nil {
			q, el = l.quorum.Addr(), l.election.Addr()
		}
		if h := e.opts.PeerHost; h != "" {
			q, el = withHost(q, h), withHost(el, h)
		}
		lines = append(lines, serverLine(m.ID, q, el, m.Observer, m.Addr))
	}
	lines = append(lines, e.opts.ExtraConfig...)
	if e.opts.MemberConfig != nil {
		lines = append(lines, e.opts.MemberConfig(self.ID)...)
	}
	return lines
}

// withHost is addr ("host:port") with its host replaced.
func withHost(addr, host string) string {
	_, port, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, port)
}

// serverLine formats one server.N line from "host:port" addresses.
func serverLine(id int, quorum, election string, observer bool, client string) string {
	_, qport, _ := net.SplitHostPort(quorum)
	_, eport, _ := net.SplitHostPort(election)
	host, _, _ := net.SplitHostPort(quorum)
	line := fmt.Sprintf("server.%d=%s:%s:%s", id, host, qport, eport)
	if observer {
		line += ":observer"
	}
	return line + ";" + client
}

// command returns the command that runs m.
func (m *Member) command() *exec.Cmd {
	if m.Kind == KindZkd {
		return exec.Command(m.e.zkdBin, append([]string{"server", m.ConfigPath}, m.e.opts.ZkdFlags...)...)
	}
	args := []string{
		"-Xmx256m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Djava.awt.headless=true",
		"-Dlog4j.configuration=file:" + m.e.log4j,
	}
	args = append(args, m.e.opts.JVMFlags...)
	args = append(args, "-cp", apacheClasspath(), "org.apache.zookeeper.server.quorum.QuorumPeerMain", m.ConfigPath)
	return exec.Command("java", args...)
}

// name is how messages refer to m.
func (m *Member) name() string { return fmt.Sprintf("zk%d (%v)", m.ID, m.Kind) }

// start runs m's process, appending to its log.
func (m *Member) start() error {
	var off int64
	if fi, err := os.Stat(m.LogPath); err == nil {
		off = fi.Size()
	}
	srv, err := startServer(m.e.t, m.name(), m.command(), m.LogPath)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.srv, m.logOffset, m.paused = srv, off, false
	m.mu.Unlock()
	return nil
}

// current returns m's process and whether it is paused.
func (m *Member) current() (*server, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.srv, m.paused
}

// logSince returns what m's current process has logged.
func (m *Member) logSince() string {
	m.mu.Lock()
	off := m.logOffset
	m.mu.Unlock()
	f, err := os.Open(m.LogPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// startFailure returns why m cannot come up: zkd refusing ensembles, a
// port taken, or the process having exited. It returns nil while m may
// still come up.
func (m *Member) startFailure() error {
	srv, _ := m.current()
	log := m.logSince()
	if strings.Contains(strings.ToLower(log), "address already in use") {
		return &portTakenError{id: m.ID}
	}
	if !srv.exited() {
		return nil
	}
	if m.Kind == KindZkd {
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "not supported yet") && strings.Contains(strings.ToLower(line), "ensemble") {
				return &unsupportedError{id: m.ID, line: strings.TrimSpace(line)}
			}
		}
	}
	return fmt.Errorf("%s exited before the ensemble was up: %v", m.name(), srv.err)
}

// killAll kills every member's process, as expected exits.
func (e *Ensemble) killAll() {
	for _, m := range e.members {
		if srv, _ := m.current(); srv != nil {
			srv.kill()
		}
	}
}

// cleanup stops every member at the end of the test, all at once, and
// fails the test for a member that died on its own or reported a data
// race.
func (e *Ensemble) cleanup() {
	var wg sync.WaitGroup
	for _, m := range e.members {
		if srv, _ := m.current(); srv != nil {
			wg.Go(srv.cleanup)
		}
	}
	wg.Wait()
	e.closeProxies()
}

// logTails returns the last lines of every member's log.
func (e *Ensemble) logTails() string {
	var b strings.Builder
	for _, m := range e.members {
		fmt.Fprintf(&b, "%s:\n%s\n", m.name(), fileTail(m.LogPath, 30))
	}
	return b.String()
}

// Servers returns the members, ordered by id (voters, then observers).
func (e *Ensemble) Servers() []*Member { return append([]*Member(nil), e.members...) }

// Server returns the member with the given id, or nil if there is none.
func (e *Ensemble) Server(id int) *Member {
	if id < 1 || id > len(e.members) {
		return nil
	}
	return e.members[id-1]
}

// ConnectString returns every member's client address, comma-separated,
// for a client's connect string.
func (e *Ensemble) ConnectString() string {
	addrs := make([]string, len(e.members))
	for i, m := range e.members {
		addrs[i] = m.Addr
	}
	return strings.Join(addrs, ",")
}

// Dir returns the directory holding every member's files (zkN/zoo.cfg,
// zkN/data, zkN/server.log).
func (e *Ensemble) Dir() string { return e.dir }

// WaitForLeader waits until exactly one live member reports Mode "leader"
// and every other live member "follower" or "observer", and returns the
// leader. Members that are killed, stopped, paused or isolated (see
// Isolate) are not live and are not asked. It fails the test, with each
// member's mode and log tail, when timeout passes first.
func (e *Ensemble) WaitForLeader(t testing.TB, timeout time.Duration) *Member {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var leader *Member
		var status []string
		ok := true
		for _, m := range e.members {
			if !e.live(m) {
				status = append(status, fmt.Sprintf("zk%d: not live", m.ID))
				continue
			}
			mode, err := m.mode()
			switch {
			case err != nil:
				ok = false
				status = append(status, fmt.Sprintf("zk%d: %v", m.ID, err))
				continue
			case mode == "leader" && leader == nil:
				leader = m
			case mode == "leader" || !isMemberMode(mode):
				ok = false
			}
			status = append(status, fmt.Sprintf("zk%d: %s", m.ID, mode))
		}
		if ok && leader != nil {
			return leader
		}
		if time.Now().After(deadline) {
			t.Fatalf("WaitForLeader: no single leader after %v:\n\t%s\n%s", timeout, strings.Join(status, "\n\t"), e.logTails())
			return nil
		}
		<-tick.C
	}
}

// live reports whether m's process runs, is not paused and is not
// isolated.
func (e *Ensemble) live(m *Member) bool {
	srv, paused := m.current()
	return srv != nil && !srv.exited() && !paused && !e.isolated(m.ID)
}

// Mode returns the mode the member's "srvr" reports: "leader",
// "follower", "observer" (or "standalone"). It returns an error wrapping
// ErrNotServing while the member is electing or syncing, and another
// error when the process is not running or does not answer within two
// seconds. t is only marked as a helper.
func (m *Member) Mode(t testing.TB) (string, error) {
	t.Helper()
	return m.mode()
}

func (m *Member) mode() (string, error) {
	if srv, _ := m.current(); srv == nil || srv.exited() {
		return "", fmt.Errorf("zk%d is not running", m.ID)
	}
	out, err := fourLetter(m.Addr, "srvr", modeTimeout)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Mode: "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	if strings.Contains(out, "not currently serving requests") {
		return "", fmt.Errorf("zk%d: %w", m.ID, ErrNotServing)
	}
	return "", fmt.Errorf("zk%d: srvr answered %q without a Mode line", m.ID, out)
}

// Kill ends the member's process with SIGKILL, as a crash would, and
// returns once it is gone.
func (m *Member) Kill() {
	srv, _ := m.current()
	srv.kill()
}

// Stop ends the member's process with SIGTERM (SIGKILL after ten seconds)
// and returns once it is gone. A paused member is resumed so that it sees
// the SIGTERM.
func (m *Member) Stop() {
	srv, _ := m.current()
	srv.stop()
}

// Pause stops the member's process with SIGSTOP: it keeps its sockets but
// neither reads nor writes, as a long garbage-collection pause or a hung
// machine would.
func (m *Member) Pause() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.srv.signal(syscall.SIGSTOP)
	m.paused = true
}

// Resume continues a paused member's process with SIGCONT.
func (m *Member) Resume() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.srv.signal(syscall.SIGCONT)
	m.paused = false
}

// Running reports whether the member's process is running (paused or
// not).
func (m *Member) Running() bool {
	srv, _ := m.current()
	return srv != nil && !srv.exited()
}

// Restart stops the member if it is running (as Stop does) and starts it
// again with the same zoo.cfg, ports and dataDir. It returns once the new
// process answers "ruok", which a server does while it is still looking
// for a leader; WaitForLeader waits for it to join. It fails the test if
// the process exits or does not answer within 30 seconds.
func (m *Member) Restart(t testing.TB) {
	t.Helper()
	if srv, _ := m.current(); srv != nil {
		srv.stop()
	}
	if err := m.start(); err != nil {
		t.Fatalf("restart zk%d: %v", m.ID, err)
	}
	srv, _ := m.current()
	err := srv.waitReady(func() error {
		if err := m.startFailure(); err != nil {
			return err
		}
		return answersRuok(m.Addr)
	})
	if err != nil {
		t.Fatalf("restart %s: %v\n%s", m.name(), err, fileTail(m.LogPath, 60))
	}
}

// LogTail returns the last lines of the member's log, labelled with its
// path.
func (m *Member) LogTail() string { return fileTail(m.LogPath, 60) }

// Links returns the proxies through which member from reaches member to:
// the one in front of to's quorum port and the one in front of its
// election port. Both are nil unless the ensemble is Proxied. Connections
// that from opens to to go through them in the direction ToServer.
func (e *Ensemble) Links(from, to int) (quorum, election *Proxy) {
	l := e.links[[2]int{from, to}]
	if l == nil {
		return nil, nil
	}
	return l.quorum, l.election
}

// Disconnect cuts the links between members a and b in both directions:
// their connections through the proxies are closed and new ones refused
// until Reconnect or Heal. It fails the test unless the ensemble is
// Proxied.
func (e *Ensemble) Disconnect(t testing.TB, a, b int) {
	t.Helper()
	e.setLinks(t, a, b, true)
}

// Reconnect undoes Disconnect(a, b).
func (e *Ensemble) Reconnect(t testing.TB, a, b int) {
	t.Helper()
	e.setLinks(t, a, b, false)
}

// Isolate disconnects member id from every other member; WaitForLeader
// then leaves it out. Heal or Reconnect bring it back.
func (e *Ensemble) Isolate(t testing.TB, id int) {
	t.Helper()
	for _, m := range e.members {
		if m.ID != id {
			e.setLinks(t, id, m.ID, true)
		}
	}
}

// Heal reconnects every pair of members that Disconnect or Isolate cut.
func (e *Ensemble) Heal(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	var pairs [][2]int
	for p := range e.cut {
		pairs = append(pairs, p)
	}
	e.mu.Unlock()
	for _, p := range pairs {
		e.setLinks(t, p[0], p[1], false)
	}
}

// setLinks cuts (down) or restores the four proxies between a and b.
func (e *Ensemble) setLinks(t testing.TB, a, b int, down bool) {
	t.Helper()
	if !e.opts.Proxied {
		t.Fatalf("links between zk%d and zk%d: the ensemble was not started with Proxied", a, b)
	}
	if e.Server(a) == nil || e.Server(b) == nil || a == b {
		t.Fatalf("links between zk%d and zk%d: no such pair of members", a, b)
	}
	for _, pair := range [][2]int{{a, b}, {b, a}} {
		l := e.links[pair]
		for _, p := range []*Proxy{l.quorum, l.election} {
			p.SetDown(down)
			if down {
				p.Cut()
			}
		}
	}
	key := [2]int{min(a, b), max(a, b)}
	e.mu.Lock()
	if down {
		e.cut[key] = true
	} else {
		delete(e.cut, key)
	}
	e.mu.Unlock()
}

// isolated reports whether every link of member id is cut.
func (e *Ensemble) isolated(id int) bool {
	if !e.opts.Proxied || len(e.members) < 2 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.members {
		if m.ID != id && !e.cut[[2]int{min(id, m.ID), max(id, m.ID)}] {
			return false
		}
	}
	return true
}

// RaceEnabled reports whether the zkd binaries ZkdBinary builds run with
// the race detector (the tests were built with -race), which makes zkd
// several times slower: tests with tight initLimit or syncLimit budgets
// may need more.
func RaceEnabled() bool { return raceEnabled }

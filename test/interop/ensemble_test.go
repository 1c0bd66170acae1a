package interop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkd/zkd/internal/testcluster"
)

// The tests in this file run zkd in the same ensemble as Apache ZooKeeper
// 3.8 servers (storage-and-quorum.md §4, §5): as a follower of a Java
// leader, as the leader of Java followers and as an observer of a Java
// ensemble. With fresh data dirs fast leader election picks the highest
// sid, so the order of Members decides who leads.

const (
	ensembleTick    = 200 // ms; small so that elections and syncs are quick
	electionTimeout = 45 * time.Second
	// manyTxns is more than the leader's in-memory committed log (500
	// proposals, §5.4), so a learner that missed them needs a SNAP.
	manyTxns = 600
)

const (
	zkd    = testcluster.KindZkd
	apache = testcluster.KindApache
)

func startMixed(t *testing.T, members []testcluster.Kind, observers ...testcluster.Kind) *testcluster.Ensemble {
	t.Helper()
	return startMixedWith(t, testcluster.EnsembleOptions{Members: members, Observers: observers})
}

// startMixedWith is startMixed with further options (zoo.cfg lines, flags).
func startMixedWith(t *testing.T, opts testcluster.EnsembleOptions) *testcluster.Ensemble {
	t.Helper()
	// A zkd leader reads the tail of its txn log before it answers
	// learners; under the race detector that took 8 s with ~700 txns on
	// disk, beyond the default initLimit of 10 ticks (2 s), after which
	// Java followers give up on it.
	opts.InitLimit = 10
	if testcluster.RaceEnabled() {
		opts.InitLimit = 75
	}
	opts.TickTime = ensembleTick
	opts.StartTimeout = electionTimeout
	e := testcluster.StartEnsemble(t, opts)
	keepEnsembleLogs(t, e)
	return e
}

// keepEnsembleLogs copies every member's log to $ZKD_ENSEMBLE_LOGS/<test>
// when the test ends, for looking at both sides of a failure.
func keepEnsembleLogs(t *testing.T, e *testcluster.Ensemble) {
	dst := os.Getenv("ZKD_ENSEMBLE_LOGS")
	if dst == "" {
		return
	}
	t.Cleanup(func() {
		dir := filepath.Join(dst, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Logf("keep logs: %v", err)
			return
		}
		for _, m := range e.Servers() {
			if b, err := os.ReadFile(m.LogPath); err == nil {
				_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("zk%d.log", m.ID)), b, 0o644)
			}
		}
	})
}

// movingClient is a go-zookeeper session whose server the test chooses:
// it dials only the current target, and move closes the connection so
// that the client reconnects, with the same session, to another server.
type movingClient struct {
	*zk.Conn
	events <-chan zk.Event

	mu     sync.Mutex // guards target and conn
	target string
	conn   net.Conn
}

func (m *movingClient) Init([]string) error { return nil }
func (m *movingClient) Len() int            { return 1 }
func (m *movingClient) Connected()          {}
func (m *movingClient) Next() (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.target, false
}

func (m *movingClient) dial(network, _ string, timeout time.Duration) (net.Conn, error) {
	m.mu.Lock()
	target := m.target
	m.mu.Unlock()
	c, err := net.DialTimeout(network, target, timeout)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if target != m.target {
		c.Close()
		return nil, errors.New("target moved while dialling")
	}
	m.conn = c
	return c, nil
}

// connectMoving opens a session on the server at addr.
func connectMoving(t *testing.T, addr string) *movingClient {
	t.Helper()
	m := &movingClient{target: addr}
	c, events, err := zk.Connect([]string{addr}, 10*time.Second,
		zk.WithHostProvider(m), zk.WithDialer(m.dial), zk.WithLogInfo(false), zk.WithLogger(silent{}))
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	m.Conn, m.events = c, events
	t.Cleanup(c.Close)
	m.waitConnected(t, addr)
	return m
}

// waitConnected waits until the session is established on addr.
func (m *movingClient) waitConnected(t *testing.T, addr string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if m.State() == zk.StateHasSession && m.Server() == addr {
			return
		}
		select {
		case ev := <-m.events:
			if ev.State == zk.StateExpired {
				t.Fatalf("session 0x%x expired while connecting to %s", m.SessionID(), addr)
			}
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("session 0x%x not re-established on %s within 30s (state %v, server %s)", m.SessionID(), addr, m.State(), m.Server())
		}
	}
}

// move reconnects the session to the server at addr.
func (m *movingClient) move(t *testing.T, addr string) {
	t.Helper()
	id := m.SessionID()
	m.mu.Lock()
	m.target = addr
	if m.conn != nil {
		m.conn.Close()
	}
	m.mu.Unlock()
	m.waitConnected(t, addr)
	if got := m.SessionID(); got != id {
		t.Fatalf("moving to %s replaced session 0x%x with 0x%x", addr, id, got)
	}
}

// connectTo opens a session on one server; it is closed when the test
// ends (or earlier by the caller).
func connectTo(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(silent{}))
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	waitSession(t, events)
	return c
}

var openACL = zk.WorldACL(zk.PermAll)

// writeThrough creates path with data through the server m.
func writeThrough(t *testing.T, m *testcluster.Member, path, data string) {
	t.Helper()
	c := connectTo(t, m.Addr)
	defer c.Close()
	if _, err := c.Create(path, []byte(data), 0, openACL); err != nil {
		t.Fatalf("create %s through zk%d (%v): %v", path, m.ID, m.Kind, err)
	}
}

// writeMany creates n children of parent through the server m, as n
// transactions, several in flight at a time.
func writeMany(t *testing.T, m *testcluster.Member, parent string, n int) {
	t.Helper()
	c := connectTo(t, m.Addr)
	defer c.Close()
	if _, err := c.Create(parent, nil, 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("create %s through zk%d: %v", parent, m.ID, err)
	}
	const workers = 8
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if _, err := c.Create(fmt.Sprintf("%s/c%04d", parent, i), []byte("x"), 0, openACL); err != nil {
					errs <- fmt.Errorf("create %s/c%04d: %w", parent, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("through zk%d: %v", m.ID, err)
	}
}

// checkEverywhere reads every path through every live member (after a
// sync, so that followers have caught up) and requires the given data;
// for a value of the form "#children=N" it requires N children instead.
func checkEverywhere(t *testing.T, e *testcluster.Ensemble, want map[string]string) {
	t.Helper()
	for _, m := range e.Servers() {
		if !m.Running() {
			continue
		}
		c := connectTo(t, m.Addr)
		if _, err := c.Sync("/"); err != nil {
			t.Errorf("sync through zk%d (%v): %v", m.ID, m.Kind, err)
		}
		for path, data := range want {
			if n, ok := strings.CutPrefix(data, "#children="); ok {
				kids, _, err := c.Children(path)
				if err != nil || strconv.Itoa(len(kids)) != n {
					t.Errorf("zk%d (%v): %s has %d children (err %v), want %s", m.ID, m.Kind, path, len(kids), err, n)
				}
				continue
			}
			got, _, err := c.Get(path)
			if err != nil || string(got) != data {
				t.Errorf("zk%d (%v): get %s = %q, %v; want %q", m.ID, m.Kind, path, got, err, data)
			}
		}
		c.Close()
	}
}

// replicateThroughEveryMember writes one znode through each live member
// and reads them all back through each, adding them to want.
func replicateThroughEveryMember(t *testing.T, e *testcluster.Ensemble, prefix string, want map[string]string) {
	t.Helper()
	for _, m := range e.Servers() {
		if !m.Running() {
			continue
		}
		path := fmt.Sprintf("%s-via-zk%d", prefix, m.ID)
		writeThrough(t, m, path, m.Kind.String())
		want[path] = m.Kind.String()
	}
	checkEverywhere(t, e, want)
}

// requireRoles waits for a leader and requires the given mode of every
// listed member.
func requireRoles(t *testing.T, e *testcluster.Ensemble, modes map[int]string) *testcluster.Member {
	t.Helper()
	leader := e.WaitForLeader(t, electionTimeout)
	for id, want := range modes {
		m := e.Server(id)
		got, err := m.Mode(t)
		if err != nil || got != want {
			t.Fatalf("zk%d (%v) mode = %q, %v; want %q", id, m.Kind, got, err, want)
		}
	}
	return leader
}

// logMark remembers how much of a member's log exists, to search only
// what it writes afterwards.
type logMark struct {
	m   *testcluster.Member
	off int64
}

func markLog(m *testcluster.Member) logMark {
	var off int64
	if fi, err := os.Stat(m.LogPath); err == nil {
		off = fi.Size()
	}
	return logMark{m, off}
}

// since returns what the member logged after the mark.
func (l logMark) since() string {
	b, err := os.ReadFile(l.m.LogPath)
	if err != nil || int64(len(b)) < l.off {
		return ""
	}
	return string(b[l.off:])
}

// requireLogged requires that the member logged a line holding every one
// of parts since the mark.
func (l logMark) requireLogged(t *testing.T, what string, parts ...string) {
	t.Helper()
	for _, line := range strings.Split(l.since(), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return
		}
	}
	t.Errorf("zk%d (%v) did not log %s (a line with %q); it logged:\n%s", l.m.ID, l.m.Kind, what, parts, tail(l.since(), 40))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Sync-mode log lines: zkd learners log "synchronizing with the leader"
// with mode=DIFF|SNAP|TRUNC and a zkd leader "synchronizing learner" with
// the mode and sid; Java learners log "Getting a diff from the leader" or
// "Getting a snapshot from leader".
var (
	zkdSynced        = func(mode string) []string { return []string{"synchronizing with the leader", "mode=" + mode} }
	apacheDiff       = []string{"Getting a diff from the leader"}
	apacheSnap       = []string{"Getting a snapshot from leader"}
	zkdSyncedLearner = func(mode string) []string { return []string{"synchronizing learner", "mode=" + mode} }
)

// rejoin restarts m and waits until it serves in the ensemble again.
func rejoin(t *testing.T, e *testcluster.Ensemble, m *testcluster.Member) {
	t.Helper()
	m.Restart(t)
	e.WaitForLeader(t, electionTimeout)
}

// sessionsSurviveMoves checks that a session created on from keeps its
// ephemeral node and can write after it moves to each of to, in order.
func sessionsSurviveMoves(t *testing.T, e *testcluster.Ensemble, name string, from *testcluster.Member, to ...*testcluster.Member) {
	t.Helper()
	t.Run(name, func(t *testing.T) { sessionMoves(t, e, name, from, to...) })
}

func sessionMoves(t *testing.T, e *testcluster.Ensemble, name string, from *testcluster.Member, to ...*testcluster.Member) {
	c := connectMoving(t, from.Addr)
	eph := "/" + name + "-ephemeral"
	if _, err := c.Create(eph, []byte("owner"), zk.FlagEphemeral, openACL); err != nil {
		t.Fatalf("%s: create ephemeral on zk%d: %v", name, from.ID, err)
	}
	for i, m := range to {
		c.move(t, m.Addr)
		if _, err := c.Sync("/"); err != nil {
			t.Fatalf("%s: sync after moving to zk%d (%v): %v", name, m.ID, m.Kind, err)
		}
		if data, stat, err := c.Get(eph); err != nil || string(data) != "owner" || stat.EphemeralOwner != c.SessionID() {
			t.Fatalf("%s: on zk%d (%v) get %s = %q, %+v, %v", name, m.ID, m.Kind, eph, data, stat, err)
		}
		// A write after the move: the leader must see this server as the
		// session's owner (REVALIDATE, §5.9), or it answers SESSIONMOVED.
		p := fmt.Sprintf("/%s-write-%d-zk%d", name, i, m.ID)
		if _, err := c.Create(p, nil, 0, openACL); err != nil {
			t.Fatalf("%s: create %s after moving to zk%d (%v): %v", name, p, m.ID, m.Kind, err)
		}
		if _, err := c.Set(eph, []byte("owner"), -1); err != nil {
			t.Fatalf("%s: set %s after moving to zk%d (%v): %v", name, eph, m.ID, m.Kind, err)
		}
	}
	c.Close()
	// Closing the session removes its ephemeral everywhere.
	for _, m := range e.Servers() {
		if !m.Running() {
			continue
		}
		r := connectTo(t, m.Addr)
		waitFor(t, fmt.Sprintf("%s gone on zk%d", eph, m.ID), func() bool {
			if _, err := r.Sync("/"); err != nil {
				return false
			}
			ok, _, err := r.Exists(eph)
			return err == nil && !ok
		})
		r.Close()
	}
}

// requireNoApacheComplaints fails the test for lines in the Java members'
// logs that show a protocol disagreement with zkd: exceptions in a
// LearnerHandler or the learner, digest mismatches, and the ACK-order
// warning of the leader's sync-limit check.
func requireNoApacheComplaints(t *testing.T, e *testcluster.Ensemble) {
	t.Helper()
	bad := []string{"NullPointerException", "Digest mismatch", "digest mismatch", "received before ACK for",
		"Unexpected exception causing shutdown", "UNMATCHED_TXN_COMMIT", "Got unexpected packet", "Unhandled"}
	for _, m := range e.Servers() {
		if m.Kind != apache {
			continue
		}
		b, err := os.ReadFile(m.LogPath)
		if err != nil {
			t.Errorf("read zk%d log: %v", m.ID, err)
			continue
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			for _, w := range bad {
				if strings.Contains(line, w) {
					t.Errorf("zk%d (Java) logged %q:\n%s", m.ID, w, strings.Join(lines[i:min(i+4, len(lines))], "\n"))
				}
			}
		}
	}
}

// ephemeralOn creates an ephemeral node from a new session on m and
// returns the session, for a test that kills m and waits for the leader
// to expire the session (§6.2).
func ephemeralOn(t *testing.T, m *testcluster.Member, path string) *zk.Conn {
	t.Helper()
	c := connectTo(t, m.Addr)
	if _, err := c.Create(path, nil, zk.FlagEphemeral, openACL); err != nil {
		t.Fatalf("create %s on zk%d: %v", path, m.ID, err)
	}
	return c
}

// waitGone waits until path no longer exists as seen through m.
func waitGone(t *testing.T, m *testcluster.Member, path string) {
	t.Helper()
	c := connectTo(t, m.Addr)
	defer c.Close()
	waitFor(t, fmt.Sprintf("%s removed, seen through zk%d", path, m.ID), func() bool {
		ok, _, err := c.Exists(path)
		return err == nil && !ok
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// keepEphemeral creates an ephemeral node from a session on m that stays
// open for the rest of the test, and returns a check that the node is
// still there: it is, only if the leader heard of the session's activity
// (PING touches from learners, §5.6) for longer than its timeout.
func keepEphemeral(t *testing.T, m *testcluster.Member, path string) func(e *testcluster.Ensemble) {
	t.Helper()
	c := connectTo(t, m.Addr)
	if _, err := c.Create(path, []byte("alive"), zk.FlagEphemeral, openACL); err != nil {
		t.Fatalf("create %s on zk%d: %v", path, m.ID, err)
	}
	return func(e *testcluster.Ensemble) {
		t.Helper()
		checkEverywhere(t, e, map[string]string{path: "alive"})
	}
}

// sessionTimeout is the longest session timeout the servers grant with
// ensembleTick (maxSessionTimeout = 20 ticks).
const sessionTimeout = 20 * ensembleTick * time.Millisecond

// aliveAfter checks the node keepEphemeral created once its session has
// outlived two session timeouts.
func aliveAfter(t *testing.T, e *testcluster.Ensemble, created time.Time, path string) {
	t.Helper()
	if d := time.Until(created.Add(2 * sessionTimeout)); d > 0 {
		time.Sleep(d) // the point is to outlive the session timeout
	}
	checkEverywhere(t, e, map[string]string{path: "alive"})
}

func TestZkdFollowsAnApacheLeader(t *testing.T) {
	e := startMixed(t, []testcluster.Kind{zkd, apache, apache})
	// Java starts slower than zkd, so zk1 and zk2 may elect zk2 before
	// zk3 is up; either way the leader is a Java server.
	z := e.Server(1)
	jl := requireRoles(t, e, map[int]string{1: "follower"})
	jf := e.Server(5 - jl.ID) // the Java follower
	if jl.Kind != apache {
		t.Fatalf("leader is zk%d (%v), want a Java server", jl.ID, jl.Kind)
	}

	// A session on the zkd follower lives only if zkd reports its
	// activity to the Java leader in PING replies.
	created := time.Now()
	keepEphemeral(t, z, "/alive-on-zkd")
	want := map[string]string{}
	replicateThroughEveryMember(t, e, "/start", want)

	sessionsSurviveMoves(t, e, "zkd-session", z, jf, jl)
	sessionsSurviveMoves(t, e, "java-follower-session", jf, z)
	sessionsSurviveMoves(t, e, "java-leader-session", jl, z)
	aliveAfter(t, e, created, "/alive-on-zkd")

	// A few transactions behind: the Java leader sends a DIFF. The
	// session zkd served dies with it; the Java leader expires it.
	ephemeralOn(t, z, "/ephemeral-of-a-dead-zkd")
	z.Kill()
	writeMany(t, jl, "/diff", 10)
	waitGone(t, jl, "/ephemeral-of-a-dead-zkd")
	mark := markLog(z)
	rejoin(t, e, z)
	mark.requireLogged(t, "a DIFF sync", zkdSynced("DIFF")...)
	want["/diff"] = "#children=10"
	checkEverywhere(t, e, want)

	// More transactions behind than the leader's committed log: the Java
	// leader reads the older ones from its txn log files when they are
	// small next to its snapshot (a DIFF), else it sends a SNAP (§5.4).
	z.Kill()
	writeMany(t, jf, "/snap", manyTxns)
	mark = markLog(z)
	rejoin(t, e, z)
	if !strings.Contains(mark.since(), "mode=DIFF") {
		mark.requireLogged(t, "a DIFF or SNAP sync", zkdSynced("SNAP")...)
	}
	want["/snap"] = fmt.Sprintf("#children=%d", manyTxns)
	checkEverywhere(t, e, want)

	// An empty data dir: a SNAP from zxid 0.
	z.Kill()
	if err := os.RemoveAll(filepath.Join(z.DataDir, "version-2")); err != nil {
		t.Fatal(err)
	}
	writeThrough(t, jl, "/after-wipe", "x")
	want["/after-wipe"] = "x"
	mark = markLog(z)
	rejoin(t, e, z)
	mark.requireLogged(t, "a SNAP sync", zkdSynced("SNAP")...)
	replicateThroughEveryMember(t, e, "/rejoined", want)
	// What zkd saved of the Java leader's snapshot loads again.
	z.Kill()
	mark = markLog(z)
	rejoin(t, e, z)
	mark.requireLogged(t, "a DIFF sync", zkdSynced("DIFF")...)
	checkEverywhere(t, e, want)

	// The Java leader dies: the remaining Java server and zkd elect the
	// Java one (higher sid, same zxid) and keep serving.
	jl.Kill()
	requireRoles(t, e, map[int]string{1: "follower", jf.ID: "leader"})
	replicateThroughEveryMember(t, e, "/without-the-first-leader", want)
	rejoin(t, e, jl)
	requireRoles(t, e, map[int]string{1: "follower", jf.ID: "leader", jl.ID: "follower"})
	replicateThroughEveryMember(t, e, "/first-leader-back", want)
	requireNoApacheComplaints(t, e)
}

func TestApacheFollowsAZkdLeader(t *testing.T) {
	e := startMixed(t, []testcluster.Kind{apache, apache, zkd})
	j1, j2, z := e.Server(1), e.Server(2), e.Server(3)
	requireRoles(t, e, map[int]string{1: "follower", 2: "follower", 3: "leader"})

	// A session on a Java follower lives only if the zkd leader takes
	// the follower's PING touches.
	created := time.Now()
	keepEphemeral(t, j1, "/alive-on-java")
	want := map[string]string{}
	replicateThroughEveryMember(t, e, "/start", want)

	sessionsSurviveMoves(t, e, "zkd-leader-session", z, j1, j2)
	sessionsSurviveMoves(t, e, "java-follower-session", j1, z, j2)
	aliveAfter(t, e, created, "/alive-on-java")

	// A Java follower a few transactions behind: DIFF from zkd. The
	// session it served dies with it; the zkd leader expires it.
	ephemeralOn(t, j2, "/ephemeral-of-a-dead-java")
	j2.Kill()
	writeMany(t, z, "/diff", 10)
	waitGone(t, z, "/ephemeral-of-a-dead-java")
	mark, leaderMark := markLog(j2), markLog(z)
	rejoin(t, e, j2)
	mark.requireLogged(t, "a DIFF sync", apacheDiff...)
	leaderMark.requireLogged(t, "a DIFF to zk2", append(zkdSyncedLearner("DIFF"), "sid=2")...)
	want["/diff"] = "#children=10"
	checkEverywhere(t, e, want)

	// Many transactions behind: SNAP from zkd, loaded by Java.
	j2.Kill()
	writeMany(t, j1, "/snap", manyTxns)
	mark = markLog(j2)
	rejoin(t, e, j2)
	mark.requireLogged(t, "a SNAP sync", apacheSnap...)
	want["/snap"] = fmt.Sprintf("#children=%d", manyTxns)
	checkEverywhere(t, e, want)

	// A Java follower dies: zkd and the other Java server keep serving.
	j1.Kill()
	requireRoles(t, e, map[int]string{2: "follower", 3: "leader"})
	replicateThroughEveryMember(t, e, "/without-zk1", want)
	rejoin(t, e, j1)

	// The zkd leader dies: the Java servers elect zk2; zkd comes back as
	// its follower and catches up by DIFF.
	z.Kill()
	requireRoles(t, e, map[int]string{1: "follower", 2: "leader"})
	writeMany(t, j1, "/while-zkd-down", 5)
	want["/while-zkd-down"] = "#children=5"
	mark = markLog(z)
	rejoin(t, e, z)
	mark.requireLogged(t, "a DIFF sync", zkdSynced("DIFF")...)
	requireRoles(t, e, map[int]string{1: "follower", 2: "leader", 3: "follower"})
	replicateThroughEveryMember(t, e, "/zkd-back", want)

	// Every server stops and starts again on its data, zkd first: all
	// have the same last zxid, so zkd (the highest sid) leads the Java
	// servers again, in a later epoch.
	for _, m := range e.Servers() {
		m.Stop()
	}
	for _, m := range []*testcluster.Member{z, j1, j2} {
		m.Restart(t)
	}
	requireRoles(t, e, map[int]string{1: "follower", 2: "follower", 3: "leader"})
	checkEverywhere(t, e, want)
	replicateThroughEveryMember(t, e, "/all-restarted", want)
	requireNoApacheComplaints(t, e)
}

func TestZkdObservesAnApacheEnsemble(t *testing.T) {
	e := startMixed(t, []testcluster.Kind{apache, apache, apache}, zkd)
	j1, obs := e.Server(1), e.Server(4)
	requireRoles(t, e, map[int]string{3: "leader", 4: "observer"})
	want := map[string]string{}
	replicateThroughEveryMember(t, e, "/start", want)
	sessionsSurviveMoves(t, e, "observer-session", obs, j1)
	sessionsSurviveMoves(t, e, "java-session", j1, obs)

	obs.Kill()
	writeMany(t, j1, "/diff", 10)
	mark := markLog(obs)
	rejoin(t, e, obs)
	mark.requireLogged(t, "a DIFF sync", zkdSynced("DIFF")...)
	want["/diff"] = "#children=10"
	replicateThroughEveryMember(t, e, "/back", want)
	requireNoApacheComplaints(t, e)
}

func TestApacheObservesAZkdLeader(t *testing.T) {
	e := startMixed(t, []testcluster.Kind{apache, apache, zkd}, apache)
	z, obs := e.Server(3), e.Server(4)
	requireRoles(t, e, map[int]string{3: "leader", 4: "observer"})
	want := map[string]string{}
	replicateThroughEveryMember(t, e, "/start", want)
	sessionsSurviveMoves(t, e, "observer-session", obs, z)
	sessionsSurviveMoves(t, e, "zkd-session", z, obs)

	// An observer behind: DIFF, then (past the committed log) SNAP, both
	// from zkd, followed by INFORMs.
	obs.Kill()
	writeMany(t, z, "/diff", 10)
	mark := markLog(obs)
	rejoin(t, e, obs)
	mark.requireLogged(t, "a DIFF sync", apacheDiff...)
	obs.Kill()
	writeMany(t, z, "/snap", manyTxns)
	mark = markLog(obs)
	rejoin(t, e, obs)
	mark.requireLogged(t, "a SNAP sync", apacheSnap...)
	want["/diff"] = "#children=10"
	want["/snap"] = fmt.Sprintf("#children=%d", manyTxns)
	replicateThroughEveryMember(t, e, "/back", want)
	requireNoApacheComplaints(t, e)
}

// A Java leader busy with writes sends, after SNAP, proposals its fuzzy
// snapshot already holds (§5.4); zkd takes the SNAP in one go.
func TestZkdSnapsFromABusyApacheLeader(t *testing.T) {
	e := startMixed(t, []testcluster.Kind{zkd, apache, apache})
	z := e.Server(1)
	jl := requireRoles(t, e, map[int]string{1: "follower"})
	writeMany(t, jl, "/pre", 50)
	z.Kill()
	if err := os.RemoveAll(filepath.Join(z.DataDir, "version-2")); err != nil {
		t.Fatal(err)
	}
	c := connectTo(t, jl.Addr)
	if _, err := c.Create("/load", nil, 0, openACL); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Create(fmt.Sprintf("/load/w%d-%d", w, i), nil, 0, openACL); err == nil {
					n.Add(1)
				} else if err != zk.ErrNodeExists {
					t.Logf("write: %v", err)
					return
				}
			}
		})
	}
	mark := markLog(z)
	rejoin(t, e, z)
	close(stop)
	wg.Wait()
	t.Logf("%d writes during the rejoin", n.Load())
	mark.requireLogged(t, "a SNAP sync", zkdSynced("SNAP")...)
	if log := mark.since(); strings.Contains(log, "protocol error") {
		t.Errorf("zkd failed a sync:\n%s", tail(log, 20))
	}
	checkEverywhere(t, e, map[string]string{"/load": fmt.Sprintf("#children=%d", n.Load())})
}

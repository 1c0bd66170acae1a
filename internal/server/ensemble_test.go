package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/admin"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/session"
	"github.com/zkd/zkd/internal/testcluster"
)

// testEnsemble is an ensemble of in-process servers on loopback ports.
type testEnsemble struct {
	t       *testing.T
	cfgText []string // each server's zoo.cfg
	dirs    []string
	servers []*Server         // nil while stopped
	props   map[string]string // system properties every server gets
	logs    io.Writer         // also receives the servers' logs, if set
}

// startEnsemble starts n voters (and observers) with a short tick.
func startEnsemble(t *testing.T, voters, observers int) *testEnsemble {
	t.Helper()
	return startEnsembleWith(t, voters, observers, nil)
}

// startEnsembleWith is startEnsemble with system properties (-D settings)
// given to every server.
func startEnsembleWith(t *testing.T, voters, observers int, props map[string]string) *testEnsemble {
	t.Helper()
	return startEnsembleSpec(t, ensembleSpec{voters: voters, observers: observers, props: props})
}

// ensembleSpec describes an in-process ensemble beyond its size.
type ensembleSpec struct {
	voters, observers int
	props             map[string]string // system properties every server gets
	// host is written for the quorum and election addresses of the
	// server.N lines; "127.0.0.1" when empty. It must resolve to
	// 127.0.0.1.
	host string
	// extra lines end every server's zoo.cfg.
	extra []string
	// logs, when set, also receives every server's log.
	logs io.Writer
}

// startEnsembleSpec starts the ensemble spec describes.
func startEnsembleSpec(t *testing.T, spec ensembleSpec) *testEnsemble {
	t.Helper()
	voters, observers, host := spec.voters, spec.observers, spec.host
	if host == "" {
		host = "127.0.0.1"
	}
	n := voters + observers
	ports := testcluster.FreePorts(t, 3*n)
	e := &testEnsemble{t: t, servers: make([]*Server, n), props: spec.props, logs: spec.logs}
	var members []string
	for i := range n {
		role := ""
		if i >= voters {
			role = ":observer"
		}
		members = append(members, fmt.Sprintf("server.%d=%s:%d:%d%s;127.0.0.1:%d", i+1, host, ports[3*i+1], ports[3*i+2], role, ports[3*i]))
	}
	for i := range n {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "myid"), []byte(fmt.Sprint(i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
		e.dirs = append(e.dirs, dir)
		lines := []string{"tickTime=100", "initLimit=20", "syncLimit=5", "dataDir=" + dir,
			"admin.enableServer=false", "4lw.commands.whitelist=*", "preAllocSize=64"}
		if i >= voters {
			lines = append(lines, "peerType=observer")
		}
		if voters == 1 {
			lines = append(lines, "standaloneEnabled=false")
		}
		lines = append(append(lines, members...), spec.extra...)
		e.cfgText = append(e.cfgText, strings.Join(lines, "\n")+"\n")
	}
	for i := range n {
		e.start(i)
	}
	t.Cleanup(func() {
		for i := range e.servers {
			e.stop(i)
		}
	})
	return e
}

func (e *testEnsemble) start(i int) {
	e.t.Helper()
	cfg, _, err := config.Parse(strings.NewReader(e.cfgText[i]), filepath.Join(e.dirs[i], "zoo.cfg"))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := cfg.SetMyID(int64(i + 1)); err != nil {
		e.t.Fatal(err)
	}
	if len(e.props) > 0 {
		if err := cfg.Apply(e.props); err != nil {
			e.t.Fatal(err)
		}
	}
	var out io.Writer = e.t.Output()
	if e.logs != nil {
		out = io.MultiWriter(out, e.logs)
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: ensembleLogLevel})).With("myid", i+1)
	s, err := New(cfg, Options{Logger: log})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Start(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
	e.servers[i] = s
}

func (e *testEnsemble) stop(i int) {
	if s := e.servers[i]; s != nil {
		s.Close()
		e.servers[i] = nil
	}
}

func (e *testEnsemble) mode(i int) string {
	s := e.servers[i]
	if s == nil {
		return "stopped"
	}
	snap := s.Snapshot(0)
	if !snap.Serving {
		return "looking"
	}
	return snap.Mode
}

// waitForLeader waits until every running server serves and exactly one
// leads, and returns the leader's index.
func (e *testEnsemble) waitForLeader() int {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		leader, serving, running := -1, 0, 0
		leaders := 0
		for i := range e.servers {
			if e.servers[i] == nil {
				continue
			}
			running++
			switch e.mode(i) {
			case "leader":
				leader = i
				leaders++
				serving++
			case "follower", "observer":
				serving++
			}
		}
		if leaders == 1 && serving == running {
			return leader
		}
		if time.Now().After(deadline) {
			modes := make([]string, len(e.servers))
			for i := range e.servers {
				modes[i] = e.mode(i)
			}
			e.t.Fatalf("no single leader within 30s: %v", modes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *testEnsemble) addr(i int) string { return e.servers[i].Addr().String() }

// connect opens a go-zookeeper session to the given servers.
func (e *testEnsemble) connect(servers ...int) *zk.Conn {
	e.t.Helper()
	var addrs []string
	for _, i := range servers {
		addrs = append(addrs, e.addr(i))
	}
	return zkConnectAddrs(e.t, 4*time.Second, addrs...)
}

func others(n, not int) []int {
	var out []int
	for i := range n {
		if i != not {
			out = append(out, i)
		}
	}
	return out
}

func TestEnsembleReplicatesWritesFromEveryServer(t *testing.T) {
	e := startEnsemble(t, 3, 1)
	leader := e.waitForLeader()
	if got := e.mode(3); got != "observer" {
		t.Fatalf("server 4 is %s, want observer", got)
	}
	for i := range 4 {
		c := e.connect(i)
		if _, err := c.Create(fmt.Sprintf("/from%d", i), []byte{byte(i)}, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create through server %d (leader is %d): %v", i+1, leader+1, err)
		}
	}
	for i := range 4 {
		c := e.connect(i)
		if _, err := c.Sync("/"); err != nil {
			t.Fatal(err)
		}
		kids, _, err := c.Children("/")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(kids)
		if want := []string{"from0", "from1", "from2", "from3", "zookeeper"}; !slices.Equal(kids, want) {
			t.Fatalf("server %d lists %v, want %v", i+1, kids, want)
		}
	}
	snap := e.servers[leader].Snapshot(0)
	if snap.Quorum == nil || snap.Quorum.Learners != 3 || snap.Quorum.PeerState != "leading - broadcast" {
		t.Fatalf("leader's quorum status %+v", snap.Quorum)
	}
	// The leader's log writer reports its group commits as ZooKeeper's
	// sync processor does.
	if fs, b := snap.Summaries["fsynctime"], snap.Summaries["sync_processor_batch_size"]; fs.Count == 0 || b.Sum < 4 {
		t.Fatalf("leader's fsynctime %+v and batch sizes %+v after 4 writes", fs, b)
	}
}

func TestEnsembleErrorsAndVersionsComeBackThroughFollowers(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	leader := e.waitForLeader()
	f := others(3, leader)[0]
	c := e.connect(f)
	if _, err := c.Create("/v", []byte("a"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/v", nil, 0, zk.WorldACL(zk.PermAll)); err != zk.ErrNodeExists {
		t.Fatalf("second create: %v, want node exists", err)
	}
	st, err := c.Set("/v", []byte("b"), 0)
	if err != nil || st.Version != 1 {
		t.Fatalf("set: %v %+v", err, st)
	}
	if _, err := c.Set("/v", []byte("c"), 0); err != zk.ErrBadVersion {
		t.Fatalf("set with a stale version: %v, want bad version", err)
	}
	name, err := c.Create("/seq-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
	if err != nil || name != "/seq-0000000001" {
		t.Fatalf("sequential create: %q %v", name, err)
	}
	res, err := c.Multi(&zk.CreateRequest{Path: "/m1", Acl: zk.WorldACL(zk.PermAll)}, &zk.DeleteRequest{Path: "/v", Version: 1})
	if err != nil || len(res) != 2 {
		t.Fatalf("multi: %v %v", res, err)
	}
}

func TestEnsembleWatchesFireOnTheServerTheClientUses(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	leader := e.waitForLeader()
	fs := others(3, leader)
	watcher := e.connect(fs[0])
	writer := e.connect(fs[1])
	_, _, ch, err := watcher.ExistsW("/w")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Create("/w", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeCreated || ev.Path != "/w" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event on the other follower")
	}
}

func TestEnsembleSessionMovesBetweenServersWithItsEphemerals(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	leader := e.waitForLeader()
	fs := others(3, leader)
	c := e.connect(fs[0])
	if _, err := c.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	id := c.SessionID()
	// The server the session was created on goes away; the session
	// reattaches on another follower (zkd's own client can name it).
	e.stop(fs[0])
	ctx := t.Context()
	moved, err := client.Connect(ctx, []string{e.addr(fs[1])}, client.WithSession(id, session.ZooKeeperPassword(jute.SessionID(id))),
		client.WithSessionTimeout(4*time.Second))
	if err != nil {
		t.Fatalf("reattach session %#x on another server: %v", id, err)
	}
	defer moved.Close(ctx)
	_, st, err := moved.Get(ctx, "/eph")
	if err != nil || st.EphemeralOwner != id {
		t.Fatalf("ephemeral after the move: %v %+v", err, st)
	}
	if _, _, err := moved.Create(ctx, "/eph2", nil, client.ModeEphemeral, client.WorldACL(client.PermAll)); err != nil {
		t.Fatalf("write of the moved session: %v", err)
	}
	// Closing the session deletes its ephemerals on every server.
	if err := moved.Close(ctx); err != nil {
		t.Fatal(err)
	}
	check := e.connect(leader)
	for _, p := range []string{"/eph", "/eph2"} {
		if ok, _, err := check.Exists(p); err != nil || ok {
			t.Fatalf("%s after its session closed: exists=%v %v", p, ok, err)
		}
	}
	// The leader answers the follower's REVALIDATE: the session is gone.
	_, err = client.Connect(ctx, []string{e.addr(fs[1])}, client.WithSession(id, session.ZooKeeperPassword(jute.SessionID(id))))
	if !errors.Is(err, client.ErrSessionExpired) {
		t.Fatalf("reattach a closed session: %v, want session expired", err)
	}
}

func TestEnsembleLeaderExpiresASessionWhoseFollowerWentAway(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	leader := e.waitForLeader()
	fs := others(3, leader)
	c := e.connect(fs[0])
	if _, err := c.Create("/gone", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	e.stop(fs[0])
	check := e.connect(leader)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, _, err := check.Exists("/gone")
		if err == nil && !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ephemeral outlived its session's timeout: exists=%v %v", ok, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEnsembleSurvivesTheLeaderAndCatchesUpARestartedServer(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	leader := e.waitForLeader()
	c := e.connect(others(3, leader)...)
	for i := range 20 {
		if _, err := c.Create(fmt.Sprintf("/k%d", i), []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	e.stop(leader)
	next := e.waitForLeader()
	if next == leader {
		t.Fatal("the stopped server is still the leader")
	}
	var err error
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err = c.Create("/after", nil, 0, zk.WorldACL(zk.PermAll)); err == nil || err == zk.ErrNodeExists {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write accepted after the leader went: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.start(leader)
	e.waitForLeader()
	back := e.connect(leader)
	if _, err := back.Sync("/"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/k0", "/k19", "/after"} {
		if ok, _, err := back.Exists(p); err != nil || !ok {
			t.Fatalf("restarted server lacks %s: %v", p, err)
		}
	}
	if e.mode(leader) == "leader" {
		t.Fatal("the restarted server took the leadership back")
	}
}

func TestEnsembleMinorityStopsServing(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	leader := e.waitForLeader()
	fs := others(3, leader)
	e.stop(fs[0])
	e.stop(fs[1])
	deadline := time.Now().Add(15 * time.Second)
	for e.mode(leader) != "looking" {
		if time.Now().After(deadline) {
			t.Fatalf("a leader without a quorum is still %s", e.mode(leader))
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := admin.RunFourLetter("srvr", e.servers[leader], map[string]bool{"srvr": true}, nil)
	if !strings.Contains(out, "not currently serving requests") {
		t.Fatalf("srvr of a server without a leader: %q", out)
	}
}

func TestOneVoterWithStandaloneDisabledLeadsItself(t *testing.T) {
	e := startEnsemble(t, 1, 0)
	if got := e.waitForLeader(); got != 0 {
		t.Fatalf("leader %d", got)
	}
	c := e.connect(0)
	if _, err := c.Create("/solo", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if q := e.servers[0].Snapshot(0).Quorum; q == nil || q.QuorumSize != 1 {
		t.Fatalf("quorum status %+v", q)
	}
}

func TestEnsembleAnswersSessionMovedToTheServerTheSessionLeft(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	leader := e.waitForLeader()
	fs := others(3, leader)
	old := e.connect(fs[0])
	id := old.SessionID()
	ctx := t.Context()
	// The session moves to the other follower, which revalidates it on
	// the leader and so becomes its owner.
	moved, err := client.Connect(ctx, []string{e.addr(fs[1])}, client.WithSession(id, session.ZooKeeperPassword(jute.SessionID(id))),
		client.WithSessionTimeout(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close(ctx)
	if _, _, err := moved.Create(ctx, "/mine", nil, client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
		t.Fatalf("write from the session's new server: %v", err)
	}
	// A write still arriving through the old server is refused, as
	// ZooKeeper refuses it.
	if _, err := old.Create("/stale", nil, 0, zk.WorldACL(zk.PermAll)); err != zk.ErrSessionMoved {
		t.Fatalf("write through the server the session left: %v, want session moved", err)
	}
}

// ensembleLogLevel is the level of the servers' logs in these tests
// (ZKD_TEST_LOG=info shows elections and syncs).
var ensembleLogLevel = func() slog.Level {
	if os.Getenv("ZKD_TEST_LOG") == "info" {
		return slog.LevelInfo
	}
	return slog.LevelWarn
}()

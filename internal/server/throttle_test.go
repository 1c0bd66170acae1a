package server

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// startGatedWith is startGated with extra zoo.cfg properties.
func startGatedWith(t *testing.T, props map[string]string) (*Server, *gatedCommitter) {
	t.Helper()
	g := &gatedCommitter{}
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	for k, v := range props {
		cfg.Props[k] = v
	}
	s, err := New(cfg, Options{InMemory: true, Committer: g, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, g
}

func TestRequestsOfAClosedConnectionAreDroppedButItsCloseSessionRuns(t *testing.T) {
	s, g := startGatedWith(t, map[string]string{"zookeeper.request_throttle_max_requests": "1"})
	holder := rawConnect(t, s)
	leaver := rawConnect(t, s)
	if h := leaver.call(1, jute.OpCreate, &jute.CreateRequest{Path: "/mine", ACL: openACL, Flags: 1}, nil); h.Err != jute.OK {
		t.Fatalf("ephemeral create: %v", h.Err)
	}
	g.gate()
	holder.send(1, jute.OpCreate, &jute.CreateRequest{Path: "/held", ACL: openACL})
	g.waitHeld(t, 1) // one request in process: the throttler's limit
	leaver.send(2, jute.OpCreate, &jute.CreateRequest{Path: "/dropped1", ACL: openACL})
	leaver.send(3, jute.OpGetData, &jute.PathWatchRequest{Path: "/mine"})
	leaver.send(4, jute.OpCreate, &jute.CreateRequest{Path: "/dropped2", ACL: openACL})
	leaver.send(5, jute.OpCloseSession, &jute.Empty{})
	leaver.nc.Close()
	g.waitHeld(t, 2) // the leaver's closeSession: run although its connection went
	g.release()
	if h, _, _ := holder.reply(); h.Xid != 1 || h.Err != jute.OK {
		t.Fatalf("held create: %+v", h)
	}
	if h := holder.call(2, jute.OpExists, &jute.PathWatchRequest{Path: "/held"}, nil); h.Err != jute.OK {
		t.Fatalf("/held: %v", h.Err)
	}
	for _, p := range []string{"/dropped1", "/dropped2", "/mine"} {
		if h := holder.call(3, jute.OpExists, &jute.PathWatchRequest{Path: p}, nil); h.Err != jute.ErrNoNode {
			t.Errorf("%s: %v, want NONODE", p, h.Err)
		}
	}
	m := readMntr(t, s)
	if got := m.int(t, "stale_requests_dropped"); got != 3 {
		t.Errorf("stale_requests_dropped = %d, want 3", got)
	}
	if got := m.int(t, "stale_requests"); got != 3 {
		t.Errorf("stale_requests = %d, want 3", got)
	}
	if got := m.int(t, "global_sessions"); got != 1 {
		t.Errorf("global_sessions = %d, want 1 (the leaver's session closed)", got)
	}
}

func TestTheRequestThrottlerHoldsNewRequestsWhileTheLimitIsInProcess(t *testing.T) {
	s, g := startGatedWith(t, map[string]string{"zookeeper.request_throttle_max_requests": "2"})
	a, b := rawConnect(t, s), rawConnect(t, s)
	g.gate()
	a.send(1, jute.OpCreate, &jute.CreateRequest{Path: "/a", ACL: openACL})
	b.send(1, jute.OpCreate, &jute.CreateRequest{Path: "/b", ACL: openACL})
	g.waitHeld(t, 2)
	b.send(2, jute.OpCreate, &jute.CreateRequest{Path: "/c", ACL: openACL})
	waitFor(t, func() bool {
		return readMntr(t, s).int(t, "request_throttle_wait_count") == 1
	})
	g.mu.Lock()
	held := len(g.held)
	g.mu.Unlock()
	if held != 2 {
		t.Fatalf("%d transactions prepared with the throttler full, want 2", held)
	}
	g.release() // the third starts once the first two are done
	for xid := int32(1); xid <= 2; xid++ {
		if h, _, _ := b.reply(); h.Xid != xid || h.Err != jute.OK {
			t.Fatalf("create %d: %+v", xid, h)
		}
	}
	if h := b.call(3, jute.OpExists, &jute.PathWatchRequest{Path: "/c"}, nil); h.Err != jute.OK {
		t.Fatalf("exists /c: %v", h.Err)
	}
}

func TestTheConnectionThrottleRefusesHandshakesBeyondTheBucket(t *testing.T) {
	s, _ := startGatedWith(t, map[string]string{
		"zookeeper.connection_throttle_tokens":    "2",
		"zookeeper.connection_throttle_fill_time": "100000000", // no refill during the test
	})
	rawConnect(t, s)
	rawConnect(t, s)
	third := rawDial(t, s)
	third.writeFrame(jute.Encode(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16)}))
	third.expectClosed()
	m := readMntr(t, s)
	if got := m.int(t, "connection_rejected"); got != 1 {
		t.Errorf("connection_rejected = %d, want 1", got)
	}
}

// A client that pipelines large reads and never reads its socket is not
// read further once its replies back up, and another client is served
// meanwhile; when it goes, what it left queued is dropped.
func TestAClientThatDoesNotReadItsRepliesStopsBeingRead(t *testing.T) {
	s := startServer(t, nil)
	c := zkConnect(t, s)
	if _, err := c.Create("/big", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	const children = 5000
	ops := make([]any, 0, 500)
	for i := range children {
		ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("/big/child-with-a-longish-name-%06d", i), Acl: zk.WorldACL(zk.PermAll)})
		if len(ops) == cap(ops) {
			if _, err := c.Multi(ops...); err != nil {
				t.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	attacker := rawConnect(t, s)
	const sent = 3000 // ≈ 3000 × 190 KB of replies
	go func() {
		for i := range sent {
			attacker.Send(int32(i+1), jute.OpGetChildren, &jute.PathWatchRequest{Path: "/big"})
		}
	}()
	read := func() int64 {
		for _, conn := range s.listener.Connections() {
			if conn.Remote().String() == attacker.nc.LocalAddr().String() {
				return conn.Received.Load()
			}
		}
		return -1
	}
	// Reading stops: the count of frames read settles well below sent.
	last := int64(-1)
	waitFor(t, func() bool {
		n := read()
		settled := n == last && n > 1
		last = n
		if !settled {
			time.Sleep(100 * time.Millisecond)
		}
		return settled
	})
	if last >= sent {
		t.Fatalf("all %d requests were read from a client that reads nothing", last)
	}
	for i := range 50 {
		path := fmt.Sprintf("/canary-%d", i)
		if _, err := c.Create(path, []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("canary create %d: %v", i, err)
		}
		if _, _, err := c.Get(path); err != nil {
			t.Fatalf("canary get %d: %v", i, err)
		}
	}
	attacker.nc.Close()
	waitFor(t, func() bool { return read() == -1 })
	if _, _, err := c.Children("/big"); err != nil {
		t.Fatal(err)
	}
}

// Like ZooKeeper's container manager, the reaper first runs one
// znode.container.checkIntervalMs after the start: a TTL node that expired
// while the server was down survives the first ticks (zkd used to reap on
// the first tick after a restart).
func TestTheFirstReapingWaitsOneCheckInterval(t *testing.T) {
	dir := t.TempDir()
	props := []string{"zookeeper.extendedTypesEnabled", "true", "znode.container.checkIntervalMs", "3600000"}
	s, stop := startServerAt(t, dir, props...)
	c := rawConnect(t, s)
	if h := c.call(1, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/ttl", ACL: openACL, Flags: jute.ModePersistentWithTTL, TTL: 1}, nil); h.Err != jute.OK {
		t.Fatalf("create TTL node: %v", h.Err)
	}
	stop()
	s, _ = startServerAt(t, dir, props...)
	time.Sleep(1500 * time.Millisecond) // past the first tick (1 s): an absence cannot be waited for
	c = rawConnect(t, s)
	if h := c.call(1, jute.OpExists, &jute.PathWatchRequest{Path: "/ttl"}, &jute.StatResponse{}); h.Err != jute.OK {
		t.Fatalf("the expired TTL node was reaped before the first check interval: %v", h.Err)
	}
}

// Large writes of all connections together have largeWriteBytes in flight
// (one always may start); a small write always starts.
func TestLargeWritesWaitForEachOtherButSmallOnesStart(t *testing.T) {
	s, g := startGatedWith(t, nil)
	a, b, c := rawConnect(t, s), rawConnect(t, s), rawConnect(t, s)
	for _, r := range []*rawClient{a, b, c} {
		if h := r.call(1, jute.OpCreate, &jute.CreateRequest{Path: fmt.Sprintf("/n%d", r.session), ACL: openACL}, nil); h.Err != jute.OK {
			t.Fatalf("create: %v", h.Err)
		}
	}
	big := make([]byte, 700<<10)
	g.gate()
	a.send(2, jute.OpSetData, &jute.SetDataRequest{Path: fmt.Sprintf("/n%d", a.session), Data: big, Version: -1})
	g.waitHeld(t, 1)
	b.send(2, jute.OpSetData, &jute.SetDataRequest{Path: fmt.Sprintf("/n%d", b.session), Data: big, Version: -1})
	c.send(2, jute.OpSetData, &jute.SetDataRequest{Path: fmt.Sprintf("/n%d", c.session), Data: []byte("small"), Version: -1})
	g.waitHeld(t, 2)                   // the small write started although the large one waits
	time.Sleep(200 * time.Millisecond) // the large one must not start: an absence cannot be waited for
	g.mu.Lock()
	held := len(g.held)
	g.mu.Unlock()
	if held != 2 {
		t.Fatalf("%d writes prepared with 700 KiB in flight, want 2 (the second large write waits)", held)
	}
	g.release()
	for _, r := range []*rawClient{a, b, c} {
		if h, _, _ := r.reply(); h.Xid != 2 || h.Err != jute.OK {
			t.Fatalf("setData: %+v", h)
		}
	}
}

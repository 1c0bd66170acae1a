package testcluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/zkd/zkd/internal/config"
)

// quietLogger drops go-zookeeper's log lines.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// connectOne opens a go-zookeeper session to the one server at addr and
// waits for it; the test's cleanup closes it.
func connectOne(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-timeout:
			t.Fatalf("no session with %s after 30s", addr)
		}
	}
}

func TestApacheEnsembleElectsReplicatesAndFailsOver(t *testing.T) {
	e := StartEnsemble(t, EnsembleOptions{
		Members:  []Kind{KindApache, KindApache, KindApache},
		TickTime: 200,
	})
	servers := e.Servers()
	if len(servers) != 3 || strings.Count(e.ConnectString(), ",") != 2 {
		t.Fatalf("%d servers, connect string %q", len(servers), e.ConnectString())
	}
	leader := e.WaitForLeader(t, 30*time.Second)
	var followers []*Member
	for _, m := range servers {
		mode, err := m.Mode(t)
		if err != nil {
			t.Fatalf("zk%d mode: %v", m.ID, err)
		}
		if m == leader {
			continue
		}
		if mode != "follower" {
			t.Errorf("zk%d is %q, want follower", m.ID, mode)
		}
		followers = append(followers, m)
	}

	// A write through one follower is read through the other.
	a, b := connectOne(t, followers[0].Addr), connectOne(t, followers[1].Addr)
	if _, err := a.Create("/replicated", []byte("hello"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("create through zk%d: %v", followers[0].ID, err)
	}
	if _, err := b.Sync("/replicated"); err != nil {
		t.Fatalf("sync through zk%d: %v", followers[1].ID, err)
	}
	if data, _, err := b.Get("/replicated"); err != nil || string(data) != "hello" {
		t.Fatalf("get through zk%d: %q, %v", followers[1].ID, data, err)
	}

	// A paused follower does not answer; resumed, it is a follower again.
	followers[0].Pause()
	if _, err := followers[0].Mode(t); err == nil {
		t.Errorf("a paused zk%d answered srvr", followers[0].ID)
	}
	followers[0].Resume()
	if got := e.WaitForLeader(t, 30*time.Second); got != leader {
		t.Errorf("after a pause of a follower the leader is zk%d, want zk%d", got.ID, leader.ID)
	}

	// Killing the leader elects another, which still has the data.
	leader.Kill()
	if leader.Running() {
		t.Fatalf("zk%d still running after Kill", leader.ID)
	}
	if _, err := leader.Mode(t); err == nil {
		t.Errorf("Mode of a killed member returned no error")
	}
	next := e.WaitForLeader(t, 30*time.Second)
	if next == leader {
		t.Fatalf("the killed zk%d is still the leader", leader.ID)
	}
	if data, _, err := connectOne(t, next.Addr).Get("/replicated"); err != nil || string(data) != "hello" {
		t.Fatalf("get through the new leader zk%d: %q, %v", next.ID, data, err)
	}

	// Restarted on the same ports and dataDir, the old leader rejoins as
	// a follower and has the data.
	leader.Restart(t)
	if got := e.WaitForLeader(t, 30*time.Second); got != next {
		t.Errorf("after the restart the leader is zk%d, want zk%d", got.ID, next.ID)
	}
	if mode, err := leader.Mode(t); err != nil || mode != "follower" {
		t.Errorf("restarted zk%d: mode %q, %v; want follower", leader.ID, mode, err)
	}
	c := connectOne(t, leader.Addr)
	if _, err := c.Sync("/replicated"); err != nil {
		t.Fatal(err)
	}
	if data, _, err := c.Get("/replicated"); err != nil || string(data) != "hello" {
		t.Fatalf("get through the restarted zk%d: %q, %v", leader.ID, data, err)
	}
}

func TestProxiedApacheEnsembleReplacesAnIsolatedLeader(t *testing.T) {
	e := StartEnsemble(t, EnsembleOptions{
		Members:   []Kind{KindApache, KindApache, KindApache},
		Observers: []Kind{KindApache},
		TickTime:  200,
		Proxied:   true,
	})
	observer := e.Server(4)
	if !observer.Observer {
		t.Fatalf("zk4 is not an observer")
	}
	if mode, err := observer.Mode(t); err != nil || mode != "observer" {
		t.Fatalf("zk4: mode %q, %v; want observer", mode, err)
	}
	// Member 1 reaches the others only through proxies: its zoo.cfg names
	// its own real ports and the proxies' ports for the others.
	cfg, err := os.ReadFile(e.Server(1).ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	q, el := e.Links(1, 2)
	self := e.Server(1)
	for _, want := range []string{
		"server.1=" + self.QuorumAddr + ":" + port(self.ElectionAddr) + ";" + self.Addr,
		"server.2=" + q.Addr() + ":" + port(el.Addr()) + ";" + e.Server(2).Addr,
		"server.4=127.0.0.1:",
	} {
		if !strings.Contains(string(cfg), want+"\n") && !strings.Contains(string(cfg), want) {
			t.Errorf("zk1's zoo.cfg lacks %q:\n%s", want, cfg)
		}
	}
	if !strings.Contains(string(cfg), ":observer;"+observer.Addr) {
		t.Errorf("zk1's zoo.cfg does not mark zk4 as an observer:\n%s", cfg)
	}

	leader := e.WaitForLeader(t, 30*time.Second)
	e.Isolate(t, leader.ID)
	next := e.WaitForLeader(t, 30*time.Second)
	if next == leader {
		t.Fatalf("the isolated zk%d is still the leader", leader.ID)
	}
	// Cut off from a quorum, the old leader stops serving.
	waitUntil(t, "the isolated leader to stop serving", func() bool {
		_, err := leader.Mode(t)
		return errors.Is(err, ErrNotServing)
	})
	e.Heal(t)
	if got := e.WaitForLeader(t, 30*time.Second); got != next {
		t.Errorf("after healing the leader is zk%d, want zk%d", got.ID, next.ID)
	}
	if mode, err := leader.Mode(t); err != nil || mode != "follower" {
		t.Errorf("healed zk%d: mode %q, %v; want follower", leader.ID, mode, err)
	}
}

// waitUntil polls cond until it holds, failing the test after 30 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after 30s waiting for %s", what)
		}
		<-tick.C
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func TestZkdEnsembleElectsALeader(t *testing.T) {
	tests := []struct {
		name    string
		members []Kind
	}{
		{"three zkd servers", []Kind{KindZkd, KindZkd, KindZkd}},
		{"one zkd server with two Apache servers", []Kind{KindZkd, KindApache, KindApache}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := StartEnsemble(t, EnsembleOptions{Members: tt.members, TickTime: 200})
			leader := e.WaitForLeader(t, 30*time.Second)
			leader.Kill()
			if next := e.WaitForLeader(t, 30*time.Second); next == leader {
				t.Fatalf("the killed zk%d is still the leader", leader.ID)
			}
		})
	}
}

func TestServerLineNamesObserversAndTheClientAddress(t *testing.T) {
	got := serverLine(3, "127.0.0.1:4001", "127.0.0.1:4002", true, "127.0.0.1:4000")
	if want := "server.3=127.0.0.1:4001:4002:observer;127.0.0.1:4000"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = serverLine(1, "127.0.0.1:5001", "127.0.0.1:5002", false, "127.0.0.1:5000")
	if want := "server.1=127.0.0.1:5001:5002;127.0.0.1:5000"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports := FreePorts(t, 30)
	slices.Sort(ports)
	if len(slices.Compact(ports)) != 30 {
		t.Errorf("FreePorts repeated a port: %v", ports)
	}
}

// echoServer accepts connections on loopback and echoes what they send.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// roundTrip sends msg through conn and reads len(msg) bytes back within
// timeout.
func roundTrip(conn net.Conn, msg string, timeout time.Duration) (string, error) {
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, msg); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	_, err := io.ReadFull(conn, buf)
	return string(buf), err
}

func TestProxyDropsOneDirectionAtATime(t *testing.T) {
	p := StartProxy(t, echoServer(t))
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got, err := roundTrip(conn, "one", 5*time.Second); err != nil || got != "one" {
		t.Fatalf("through an open proxy: %q, %v", got, err)
	}
	for _, dir := range []Direction{ToServer, ToClient} {
		p.Drop(dir, true)
		if got, err := roundTrip(conn, "lost", 300*time.Millisecond); err == nil {
			t.Fatalf("dropping %v: the echo %q came back", dir, got)
		}
		waitUntil(t, "4 bytes dropped going "+dir.String(), func() bool { return p.BytesDroppedGoing(dir) == 4 })
		p.Drop(dir, false)
		if p.Conns() != 1 {
			t.Errorf("dropping %v closed the connection", dir)
		}
		// The timed-out read left the connection usable; what was dropped
		// never arrives, what is sent now does.
		if got, err := roundTrip(conn, "back", 5*time.Second); err != nil || got != "back" {
			t.Fatalf("after dropping %v: %q, %v", dir, got, err)
		}
	}
	if p.BytesDropped() != p.BytesDroppedGoing(ToServer) {
		t.Errorf("BytesDropped %d, BytesDroppedGoing(ToServer) %d", p.BytesDropped(), p.BytesDroppedGoing(ToServer))
	}
}

func TestProxyDelaysOneDirection(t *testing.T) {
	p := StartProxy(t, echoServer(t))
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const delay = 300 * time.Millisecond
	p.Delay(ToClient, delay)
	start := time.Now()
	if got, err := roundTrip(conn, "slow", 5*time.Second); err != nil || got != "slow" {
		t.Fatalf("delayed: %q, %v", got, err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("the echo came back after %v, before the %v delay", took, delay)
	}
	p.Delay(ToClient, 0)
	if got, err := roundTrip(conn, "fast", 5*time.Second); err != nil || got != "fast" {
		t.Fatalf("undelayed: %q, %v", got, err)
	}
}

func TestProxyRefusesWhileDownAndCutClosesConnections(t *testing.T) {
	p := StartProxy(t, echoServer(t))
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := roundTrip(conn, "x", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.SetDown(true)
	p.Cut()
	if _, err := roundTrip(conn, "y", 5*time.Second); err == nil {
		t.Fatalf("a cut connection still echoes")
	}
	refused, err := net.Dial("tcp", p.Addr())
	if err == nil {
		_, err = roundTrip(refused, "z", 5*time.Second)
		refused.Close()
	}
	if err == nil {
		t.Fatalf("a proxy that is down relayed a new connection")
	}
	p.SetDown(false)
	again, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, err := roundTrip(again, "up", 5*time.Second); err != nil || got != "up" {
		t.Fatalf("after SetDown(false): %q, %v", got, err)
	}
}

func TestEnsembleConfigsLoadThroughZkdsConfigPackage(t *testing.T) {
	for _, proxied := range []bool{false, true} {
		t.Run(fmt.Sprintf("proxied=%v", proxied), func(t *testing.T) {
			dir := t.TempDir()
			e := &Ensemble{t: t, dir: dir, opts: EnsembleOptions{
				TickTime: 200, InitLimit: 10, SyncLimit: 5, Proxied: proxied,
				ExtraConfig: []string{"snapCount=50"},
			}}
			for id := 1; id <= 4; id++ {
				d := filepath.Join(dir, "zk"+strconv.Itoa(id))
				e.members = append(e.members, &Member{ID: id, Kind: KindZkd, Observer: id == 4,
					DataDir: filepath.Join(d, "data"), ConfigPath: filepath.Join(d, "zoo.cfg"), e: e})
			}
			ports := FreePorts(t, 12)
			for i, m := range e.members {
				m.Addr = "127.0.0.1:" + strconv.Itoa(ports[3*i])
				m.QuorumAddr = "127.0.0.1:" + strconv.Itoa(ports[3*i+1])
				m.ElectionAddr = "127.0.0.1:" + strconv.Itoa(ports[3*i+2])
			}
			if proxied {
				if err := e.startProxies(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(e.closeProxies)
			}
			if err := e.writeFiles(); err != nil {
				t.Fatal(err)
			}
			for _, m := range e.members {
				cfg, warnings, err := config.Load(m.ConfigPath)
				if err != nil {
					t.Fatalf("zk%d: %v", m.ID, err)
				}
				if err := cfg.LoadMyID(); err != nil {
					t.Fatalf("zk%d: %v", m.ID, err)
				}
				if len(warnings) > 0 {
					t.Errorf("zk%d: warnings %v", m.ID, warnings)
				}
				wantRole := config.RoleParticipant
				if m.Observer {
					wantRole = config.RoleObserver
				}
				if cfg.Standalone() || cfg.MyID != int64(m.ID) || cfg.PeerType != wantRole || len(cfg.Voters()) != 3 ||
					cfg.TickTime != 200 || cfg.DataDir != m.DataDir || cfg.Props["zookeeper.snapCount"] != "50" ||
					net.JoinHostPort(cfg.ClientPortAddress, strconv.Itoa(cfg.ClientPort)) != m.Addr {
					t.Errorf("zk%d loads as: standalone %v, myid %d, role %s, %d voters, tick %d, dataDir %s, snapCount %q, client %s:%d",
						m.ID, cfg.Standalone(), cfg.MyID, cfg.PeerType, len(cfg.Voters()), cfg.TickTime, cfg.DataDir,
						cfg.Props["zookeeper.snapCount"], cfg.ClientPortAddress, cfg.ClientPort)
				}
				// Its own line names its real ports; the others' lines
				// name proxies when proxied.
				for _, s := range cfg.Servers {
					other := e.Server(int(s.ID))
					wantQ, wantE := other.QuorumAddr, other.ElectionAddr
					if q, el := e.Links(m.ID, other.ID); q != nil {
						wantQ, wantE = q.Addr(), el.Addr()
					}
					if s.QuorumAddr != wantQ || s.ElectionAddr != wantE || s.ClientAddr != other.Addr {
						t.Errorf("zk%d's server.%d: %+v; want quorum %s, election %s, client %s", m.ID, s.ID, s, wantQ, wantE, other.Addr)
					}
				}
			}
		})
	}
}

func TestPeerHostIsWrittenForTheQuorumAndElectionAddressesOnly(t *testing.T) {
	m := &Member{ID: 1, Addr: "127.0.0.1:5000", QuorumAddr: "127.0.0.1:5001", ElectionAddr: "127.0.0.1:5002"}
	for _, tc := range []struct{ host, want string }{
		{"", "server.1=127.0.0.1:5001:5002;127.0.0.1:5000"},
		{"localhost", "server.1=localhost:5001:5002;127.0.0.1:5000"},
	} {
		e := &Ensemble{opts: EnsembleOptions{PeerHost: tc.host}, members: []*Member{m}}
		if got := e.configExtra(m); len(got) != 1 || got[0] != tc.want {
			t.Errorf("PeerHost %q: server lines %q, want %q", tc.host, got, tc.want)
		}
	}
}

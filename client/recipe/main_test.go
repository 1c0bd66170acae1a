package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/server"
	"github.com/zkd/zkd/internal/testcluster"
)

// The tests run every recipe against two servers: an in-process zkd, fresh
// for each test, and one Apache ZooKeeper 3.8 process shared by the whole
// package (a JVM takes a second or two to start), in which each test works
// under a root node of its own.

// TestMain stops the shared Apache ZooKeeper once every test has run, and
// fails the run if a goroutine started by the recipes or the client is
// still alive then: every one must have an owner that stopped it.
func TestMain(m *testing.M) {
	code := m.Run()
	if !sharedApache.stop() {
		code = 1
	}
	if code == 0 {
		if leaked := testcluster.LeakedGoroutines(5*time.Second, "github.com/zkd/zkd/client", "github.com/zkd/zkd/client/recipe"); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "goroutines still running after all tests:\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// newZkd starts an in-memory zkd on a loopback port, as client's tests do.
func newZkd() (*server.Server, error) {
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.MaxClientCnxns = 0
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	cfg.Props["zookeeper.4lw.commands.whitelist"] = "*" // wchc
	s, err := server.New(cfg, server.Options{InMemory: true})
	if err != nil {
		return nil, err
	}
	// Not a test's context: the clients' cleanups still talk to the server
	// after it ends.
	if err := s.Start(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// startZkd runs an in-memory zkd for the test's lifetime and returns its
// address.
func startZkd(t *testing.T) string {
	t.Helper()
	s, err := newZkd()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr().String()
}

// sharedApache is the package's one Apache ZooKeeper, started by the first
// test that needs it and stopped by TestMain.
var sharedApache apacheServer

type apacheServer struct {
	once sync.Once
	tb   *packageTB
	zk   *testcluster.ApacheZK // nil if it failed to start
}

// addr returns the shared server's address, starting it on first use. It
// skips the test when Apache ZooKeeper is not installed (fails it under
// ZKD_REQUIRE_INTEROP=1).
func (a *apacheServer) addr(t *testing.T) string {
	t.Helper()
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	a.once.Do(func() {
		a.tb = &packageTB{name: "recipe-shared-apache"}
		done := make(chan struct{})
		// StartApacheZK ends a failed start with Fatalf, which ends this
		// goroutine (runtime.Goexit), not the test's.
		go func() {
			defer close(done)
			for attempt := 1; attempt <= 3; attempt++ {
				zk := testcluster.StartApacheZK(a.tb, testcluster.ApacheOptions{
					// Many clients share 127.0.0.1, and no test needs fsync.
					ExtraConfig: []string{"maxClientCnxns=0"},
					JVMFlags:    []string{"-Dzookeeper.forceSync=no"},
				})
				if err := servesDataDir(zk.Addr, zk.DataDir); err != nil {
					a.tb.Logf("attempt %d: %v; starting another", attempt, err)
					zk.Stop()
					continue
				}
				a.zk = zk
				return
			}
			a.tb.Errorf("no Apache ZooKeeper of our own after 3 attempts")
		}()
		<-done
	})
	if a.zk == nil {
		t.Fatalf("the shared Apache ZooKeeper did not start:\n%s", a.tb.messages())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(a.zk.LogTail())
		}
	})
	return a.zk.Addr
}

// servesDataDir checks that the server answering at addr keeps its data
// in dataDir. StartApacheZK's readiness check cannot tell its own server
// from another test process's one that took the same free port first (as
// happens when "go test ./..." runs several packages that start servers),
// and then this process's server fails to bind and exits.
func servesDataDir(addr, dataDir string) error {
	conf, err := testcluster.FourLetter(addr, "conf")
	if err != nil {
		return err
	}
	if !strings.Contains(conf, "dataDir="+dataDir+"/") {
		return fmt.Errorf("the server at %s is another process's: its conf is\n%s", addr, conf)
	}
	return nil
}

// stop stops the server, if it was started, by running the cleanups
// StartApacheZK registered (SIGTERM to its process group, then SIGKILL).
// It reports false if the server failed (died early, or reported errors).
func (a *apacheServer) stop() bool {
	if a.tb == nil {
		return true
	}
	a.tb.runCleanups()
	if a.tb.Failed() {
		fmt.Fprintf(os.Stderr, "shared Apache ZooKeeper:\n%s\n", a.tb.messages())
		return false
	}
	return true
}

// packageTB is the testing.TB that the shared Apache ZooKeeper belongs to:
// it outlives every test, and TestMain runs its cleanups. It implements
// the methods testcluster calls; the embedded TB is nil, so any other
// method would panic, which a change in testcluster would show at once.
type packageTB struct {
	testing.TB
	name string

	mu       sync.Mutex // guards the fields below
	cleanups []func()
	failed   bool
	log      []string
}

func (p *packageTB) Name() string { return p.name }
func (p *packageTB) Helper()      {}

func (p *packageTB) Log(args ...any) { p.logf(false, "%s", fmt.Sprint(args...)) }
func (p *packageTB) Logf(format string, args ...any) {
	p.logf(false, format, args...)
}
func (p *packageTB) Error(args ...any) { p.logf(true, "%s", fmt.Sprint(args...)) }
func (p *packageTB) Errorf(format string, args ...any) {
	p.logf(true, format, args...)
}
func (p *packageTB) Fatal(args ...any) { p.Error(args...); runtime.Goexit() }
func (p *packageTB) Fatalf(format string, args ...any) {
	p.Errorf(format, args...)
	runtime.Goexit()
}
func (p *packageTB) Skip(args ...any) { p.Error(args...); runtime.Goexit() }
func (p *packageTB) Skipf(format string, args ...any) {
	p.Errorf(format, args...)
	runtime.Goexit()
}
func (p *packageTB) Fail()    { p.logf(true, "failed") }
func (p *packageTB) FailNow() { p.Fail(); runtime.Goexit() }

func (p *packageTB) Failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

func (p *packageTB) Context() context.Context { return context.Background() }

func (p *packageTB) TempDir() string {
	dir, err := os.MkdirTemp("", "zkd-recipe-apache-")
	if err != nil {
		p.Fatalf("TempDir: %v", err)
	}
	p.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (p *packageTB) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

func (p *packageTB) logf(fail bool, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, fmt.Sprintf(format, args...))
	p.failed = p.failed || fail
}

func (p *packageTB) messages() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// runCleanups runs the registered cleanups, last first.
func (p *packageTB) runCleanups() {
	p.mu.Lock()
	fs := p.cleanups
	p.cleanups = nil
	p.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// env is one server a test body runs against, and the test's root node
// on it.
type env struct {
	server string // "zkd" or "apache"
	addr   string
	root   string
}

var roots atomic.Int64

// onBothServers runs body as subtest "zkd" against a fresh in-process zkd
// and as subtest "apache" against the shared Apache ZooKeeper, each with a
// new root node of its own.
func onBothServers(t *testing.T, body func(t *testing.T, e *env)) {
	t.Helper()
	run := func(t *testing.T, server, addr string) {
		e := &env{server: server, addr: addr}
		// The pid keeps roots apart if another test process uses the
		// same server.
		e.root = fmt.Sprintf("/t-%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "-"), os.Getpid(), roots.Add(1))
		c := e.connect(t)
		if _, _, err := c.Create(testCtx(t), e.root, nil, client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
			t.Fatalf("create the test's root: %v", err)
		}
		c.Close(testCtx(t))
		body(t, e)
	}
	t.Run("zkd", func(t *testing.T) { run(t, "zkd", startZkd(t)) })
	t.Run("apache", func(t *testing.T) { run(t, "apache", sharedApache.addr(t)) })
}

// path returns the path of name under the test's root.
func (e *env) path(name string) string { return e.root + "/" + name }

// zk is a test client, connected through a proxy of its own so that the
// test can break its connection.
type zk struct {
	*client.Client
	proxy *testcluster.Proxy
}

// connect opens a client through a new proxy; the test's cleanup closes
// both.
func (e *env) connect(t *testing.T) *zk {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := e.open(t, ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// open is connect for use outside the test's goroutine: it returns the
// error instead of failing the test.
func (e *env) open(t *testing.T, ctx context.Context) (*zk, error) {
	p, err := testcluster.NewProxy(e.addr)
	if err != nil {
		return nil, err
	}
	t.Cleanup(p.Close)
	c, err := client.Connect(ctx, []string{p.Addr()},
		client.WithSessionTimeout(10*time.Second), client.WithBackoff(2*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", e.server, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return &zk{Client: c, proxy: p}, nil
}

// cut breaks c's connection and returns once the client has noticed and
// reconnected (to the same session). It reads c's Events, which only
// this helper does.
func (c *zk) cut(t *testing.T) {
	t.Helper()
	for drained := false; !drained; {
		select {
		case <-c.Events():
		default:
			drained = true
		}
	}
	c.proxy.Cut()
	for _, want := range []client.State{client.StateDisconnected, client.StateConnected} {
		for {
			ev := result(t, "state "+want.String()+" after the cut", c.Events())
			if ev.State == want {
				break
			}
		}
	}
}

// dataWatches returns the paths on which c's session has data (or exists)
// watches on the server, as the "wchc" four-letter command lists them.
// (The checkWatches request cannot tell: Apache ZooKeeper 3.8 answers it
// for a path that any session watches.)
func (e *env) dataWatches(t *testing.T, c *zk) []string {
	t.Helper()
	out, err := testcluster.FourLetter(e.addr, "wchc")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("0x%x", uint64(c.SessionID()))
	var paths []string
	mine := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "\t"):
			if mine {
				paths = append(paths, strings.TrimSpace(line))
			}
		case line != "":
			mine = strings.TrimSpace(line) == want
		}
	}
	slices.Sort(paths)
	return paths
}

// expire ends c's session the way Curator's tests do, with no wait for a
// timeout: with c cut off, a second client takes the session over
// (client.WithSession) and closes it. When c reconnects, the server tells
// it that the session expired.
func (e *env) expire(t *testing.T, c *zk) {
	t.Helper()
	id, passwd := c.SessionID(), c.SessionPassword()
	c.proxy.SetDown(true)
	c.proxy.Cut()
	ctx := testCtx(t)
	killer, err := client.Connect(ctx, []string{e.addr}, client.WithSession(id, passwd), client.WithSessionTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("take over session 0x%x: %v", id, err)
	}
	if err := killer.Close(ctx); err != nil {
		t.Fatalf("close session 0x%x: %v", id, err)
	}
	c.proxy.SetDown(false)
	waitFor(t, "the session to be reported expired", func() bool { return c.State() == client.StateExpired })
}

// testCtx bounds one test's calls.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds, failing the test after 20s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// closedWithin fails the test unless ch is closed (or delivers) within 20s.
func closedWithin[T any](t testing.TB, what string, ch <-chan T) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// isOpen reports whether ch is neither closed nor ready.
func isOpen[T any](ch <-chan T) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// result waits for a value from ch, failing the test after 20s.
func result[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

// recvOK receives from ch, failing the test after 20s.
func recvOK[T any](t testing.TB, ch <-chan T) (T, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting to receive")
	}
	panic("unreachable")
}

// children lists p's children (none if p does not exist), failing the
// test on error.
func children(t testing.TB, c *zk, p string) []string {
	t.Helper()
	names, _, err := c.Children(testCtx(t), p)
	if errors.Is(err, client.ErrNoNode) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return names
}

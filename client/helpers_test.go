package client_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/server"
	"github.com/zkd/zkd/internal/testcluster"
)

// TestMain fails the run if any goroutine the client package started is
// still alive once every test has closed its clients.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitNoClientGoroutines(5 * time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "client goroutines still running after all tests:\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// clientGoroutines returns the stacks of live goroutines started by the
// client package's own (non-test) code.
func clientGoroutines() []string { return testcluster.LeakedGoroutines(0, clientPackage) }

// waitNoClientGoroutines polls until no client goroutine is left or d
// passes, and returns the survivors.
func waitNoClientGoroutines(d time.Duration) []string {
	return testcluster.LeakedGoroutines(d, clientPackage)
}

const clientPackage = "github.com/zkd/zkd/client"

// startServer runs an in-memory zkd on a loopback port for the test's
// lifetime and returns its address.
func startServer(t testing.TB, tweak func(*config.Config)) string {
	t.Helper()
	return startServerWith(t, tweak, server.Options{InMemory: true}).Addr().String()
}

// startServerWith is startServer with the server's options (a secure
// port, for one), returning the server.
func startServerWith(t testing.TB, tweak func(*config.Config), opts server.Options) *server.Server {
	t.Helper()
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	if tweak != nil {
		tweak(cfg)
	}
	s, err := server.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Not t.Context(): it ends before cleanups run, and the clients'
	// cleanups still talk to the server.
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// connect opens a Client that the test's cleanup closes.
func connect(t testing.TB, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, []string{addr}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

// testCtx bounds one test's calls.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var open = client.WorldACL(client.PermAll)

// mustCreate creates a persistent node or fails the test.
func mustCreate(t testing.TB, c *client.Client, path string, data string) client.Stat {
	t.Helper()
	_, st, err := c.Create(testCtx(t), path, []byte(data), client.ModePersistent, open)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// nextEvent returns the next event on ch, failing if none comes within
// 10s or ch is closed.
func nextEvent(t testing.TB, ch <-chan client.Event) client.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed without an event")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	panic("unreachable")
}

// expectEvent checks the next event's type and path.
func expectEvent(t testing.TB, ch <-chan client.Event, typ client.EventType, path string) {
	t.Helper()
	ev := nextEvent(t, ch)
	if ev.Type != typ || ev.Path != path {
		t.Fatalf("event %v %q, want %v %q", ev.Type, ev.Path, typ, path)
	}
}

// expectClosed checks that ch is closed with no event left.
func expectClosed(t testing.TB, ch <-chan client.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch channel not closed within 10s")
	}
}

// waitState reads c's state events until one reports want.
func waitState(t testing.TB, c *client.Client, want client.State) client.StateEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("state events closed while waiting for %v", want)
			}
			if ev.State == want {
				return ev
			}
		case <-timeout:
			t.Fatalf("state %v not reached within 10s (now %v)", want, c.State())
		}
	}
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

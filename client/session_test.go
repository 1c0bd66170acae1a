package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/testcluster"
)

func TestSessionAndWatchesSurviveAReconnect(t *testing.T) {
	addr := startServer(t, nil)
	p := testcluster.StartProxy(t, addr)
	c := connect(t, p.Addr(), client.WithBackoff(time.Millisecond, 20*time.Millisecond))
	writer := connect(t, addr)
	ctx := testCtx(t)
	waitState(t, c, client.StateConnected)
	sid := c.SessionID()

	if _, _, err := c.Create(ctx, "/eph", nil, client.ModeEphemeral, open); err != nil {
		t.Fatal(err)
	}
	if err := c.AddAuth(ctx, "digest", []byte("carol:pw")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, writer, "/data", "0")
	_, _, dataCh, err := c.GetW(ctx, "/data")
	if err != nil {
		t.Fatal(err)
	}
	_, laterCh, err := c.ExistsW(ctx, "/later")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := c.AddWatch(ctx, "/tree", true)
	if err != nil {
		t.Fatal(err)
	}

	// Drop the connection and keep the client out while /data changes.
	p.SetDown(true)
	p.Cut()
	if ev := waitState(t, c, client.StateDisconnected); ev.SessionID != sid {
		t.Fatalf("disconnect event %+v", ev)
	}
	if _, err := writer.Set(ctx, "/data", []byte("1"), client.AnyVersion); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, _, err = c.Get(short, "/data")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call while disconnected: %v, want it to wait for its context", err)
	}
	p.SetDown(false)
	if ev := waitState(t, c, client.StateConnected); ev.SessionID != sid {
		t.Fatalf("reconnected with session %#x, want %#x", ev.SessionID, sid)
	}

	// setWatches reported the change missed while disconnected.
	expectEvent(t, dataCh, client.EventNodeDataChanged, "/data")
	// The other watches were re-registered.
	mustCreate(t, writer, "/later", "")
	expectEvent(t, laterCh, client.EventNodeCreated, "/later")
	mustCreate(t, writer, "/tree", "")
	expectEvent(t, rec.Events(), client.EventNodeCreated, "/tree")
	// The session, its ephemeral node and its credentials survived.
	if ex, err := writer.Exists(ctx, "/eph"); err != nil || ex == nil || ex.EphemeralOwner != sid {
		t.Fatalf("ephemeral after reconnect: %+v, %v", ex, err)
	}
	ids, err := c.WhoAmI(ctx)
	if err != nil || !containsInfo(ids, "digest", "carol") {
		t.Fatalf("identities after reconnect: %v, %v", ids, err)
	}
}

func containsInfo(ids []client.ClientInfo, scheme, user string) bool {
	for _, id := range ids {
		if id.Scheme == scheme && id.User == user {
			return true
		}
	}
	return false
}

func TestARequestInFlightWhenTheConnectionDropsFailsAndIsNotRetried(t *testing.T) {
	addr := startServer(t, nil)
	p := testcluster.StartProxy(t, addr)
	c := connect(t, p.Addr(), client.WithBackoff(time.Millisecond, 20*time.Millisecond))
	ctx := testCtx(t)
	mustCreate(t, c, "/x", "before")

	p.Freeze(true) // what the client sends now never reaches the server
	done := make(chan error, 1)
	go func() {
		_, err := c.Set(ctx, "/x", []byte("after"), client.AnyVersion)
		done <- err
	}()
	waitFor(t, "the request to be written", func() bool { return p.BytesDropped() > 0 })
	p.Freeze(false)
	p.Cut()
	select {
	case err := <-done:
		if !errors.Is(err, client.ErrConnectionLoss) {
			t.Fatalf("err = %v, want ErrConnectionLoss", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request did not fail")
	}
	waitState(t, c, client.StateDisconnected)
	waitState(t, c, client.StateConnected)
	if d, _, err := c.Get(ctx, "/x"); err != nil || string(d) != "before" {
		t.Fatalf("/x = %q, %v: the lost write was retried", d, err)
	}
}

func TestAnExpiredSessionEndsTheClient(t *testing.T) {
	addr := startServer(t, func(cfg *config.Config) {
		cfg.TickTime = 100
		cfg.MinSessionTimeout = 200
		cfg.MaxSessionTimeout = 2000
	})
	p := testcluster.StartProxy(t, addr)
	c := connect(t, p.Addr(), client.WithSessionTimeout(300*time.Millisecond), client.WithBackoff(time.Millisecond, 20*time.Millisecond))
	observer := connect(t, addr)
	ctx := testCtx(t)
	if c.Err() != nil {
		t.Fatalf("Err of a live Client: %v", c.Err())
	}
	if got := c.SessionTimeout(); got != 300*time.Millisecond {
		t.Fatalf("negotiated %v", got)
	}
	sid := c.SessionID()
	if _, _, err := c.Create(ctx, "/eph", nil, client.ModeEphemeral, open); err != nil {
		t.Fatal(err)
	}
	_, _, dataCh, err := c.GetW(ctx, "/eph")
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.AddWatch(ctx, "/", true)
	if err != nil {
		t.Fatal(err)
	}
	_, gone, err := observer.ExistsW(ctx, "/eph")
	if err != nil {
		t.Fatal(err)
	}

	p.SetDown(true)
	p.Cut()
	expectEvent(t, gone, client.EventNodeDeleted, "/eph") // the server expired the session
	p.SetDown(false)

	if ev := waitState(t, c, client.StateExpired); ev.SessionID != sid || !errors.Is(ev.Err, client.ErrSessionExpired) {
		t.Fatalf("expiry event %+v", ev)
	}
	if c.State() != client.StateExpired {
		t.Fatalf("state %v", c.State())
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after expiry")
	}
	if !errors.Is(c.Err(), client.ErrSessionExpired) {
		t.Fatalf("Err after expiry: %v", c.Err())
	}
	if _, _, err := c.Get(ctx, "/"); !errors.Is(err, client.ErrSessionExpired) {
		t.Fatalf("call after expiry: %v", err)
	}
	for _, ch := range []<-chan client.Event{dataCh, w.Events()} {
		var ev client.Event
		for ev = nextEvent(t, ch); ev.Type != client.EventNone; ev = nextEvent(t, ch) {
		}
		if ev.State != client.StateExpired || !errors.Is(ev.Err, client.ErrSessionExpired) {
			t.Fatalf("final event %+v", ev)
		}
		expectClosed(t, ch)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close after expiry: %v", err)
	}
	for ev := range c.Events() {
		if ev.State == client.StateClosed {
			t.Fatalf("Closed reported after Expired: %+v", ev)
		}
	}
}

func TestRefusedCredentialsStopTheClient(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	if err := c.AddAuth(ctx, "no-such-scheme", []byte("x")); !errors.Is(err, client.ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrAuthFailed", err)
	}
	waitState(t, c, client.StateAuthFailed)
	if _, _, err := c.Get(ctx, "/"); !errors.Is(err, client.ErrAuthFailed) {
		t.Fatalf("call after auth failure: %v", err)
	}
}

func TestCloseReportsClosedAndStopsEveryGoroutine(t *testing.T) {
	addr := startServer(t, nil)
	before := len(clientGoroutines())
	c := connect(t, addr)
	ctx := testCtx(t)
	if _, err := c.AddWatch(ctx, "/", true); err != nil {
		t.Fatal(err)
	}
	if n := len(clientGoroutines()); n <= before {
		t.Fatalf("%d client goroutines while connected (before: %d)", n, before)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var states []client.State
	for ev := range c.Events() {
		states = append(states, ev.State)
	}
	if len(states) < 2 || states[0] != client.StateConnected || states[len(states)-1] != client.StateClosed {
		t.Fatalf("state events %v", states)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed once Close returned")
	}
	if !errors.Is(c.Err(), client.ErrClosed) {
		t.Fatalf("Err after Close: %v", c.Err())
	}
	if leaked := waitNoClientGoroutines(5 * time.Second); len(leaked) > 0 {
		t.Fatalf("goroutines left after Close:\n%s", strings.Join(leaked, "\n\n"))
	}
}

func TestCloseWhileDisconnectedDoesNotWait(t *testing.T) {
	addr := startServer(t, nil)
	p := testcluster.StartProxy(t, addr)
	c := connect(t, p.Addr(), client.WithBackoff(time.Millisecond, 20*time.Millisecond))
	waitState(t, c, client.StateConnected)
	p.SetDown(true)
	p.Cut()
	waitState(t, c, client.StateDisconnected)
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if leaked := waitNoClientGoroutines(5 * time.Second); len(leaked) > 0 {
		t.Fatalf("goroutines left after Close:\n%s", strings.Join(leaked, "\n\n"))
	}
}

func TestWithSessionTakesOverASessionAndItsEphemerals(t *testing.T) {
	addr := startServer(t, nil)
	// The first client reconnects (and takes its session back) after a
	// full-jitter backoff: with the default 50 ms it came back, in one CI
	// run, between the second client's handshake and its request.
	first := connect(t, addr, client.WithBackoff(time.Second, 2*time.Second))
	ctx := testCtx(t)
	if _, _, err := first.Create(ctx, "/owned", nil, client.ModeEphemeral, open); err != nil {
		t.Fatal(err)
	}
	waitState(t, first, client.StateConnected)
	id, passwd := first.SessionID(), first.SessionPassword()
	if id == 0 || len(passwd) != 16 {
		t.Fatalf("session %#x password %x", id, passwd)
	}

	second := connect(t, addr, client.WithSession(id, passwd))
	if second.SessionID() != id {
		t.Fatalf("second client has session %#x, want %#x", second.SessionID(), id)
	}
	eph, err := second.GetEphemerals(ctx, "/")
	if err != nil || len(eph) != 1 || eph[0] != "/owned" {
		t.Fatalf("ephemerals seen through the reattached session: %v %v", eph, err)
	}
	// Closing the reattached client ends the session for the first one too.
	if err := second.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitState(t, first, client.StateExpired)
	if _, err := first.Exists(ctx, "/owned"); !errors.Is(err, client.ErrSessionExpired) {
		t.Fatalf("first client after the session was closed elsewhere: %v", err)
	}

	// A session the server no longer has cannot be reattached.
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if c, err := client.Connect(cctx, []string{addr}, client.WithSession(id, passwd)); !errors.Is(err, client.ErrSessionExpired) {
		if c != nil {
			c.Close(ctx)
		}
		t.Fatalf("reattach to a closed session: %v", err)
	}
}

func TestWithFailFastRequestsFailWhileNoServerAnswers(t *testing.T) {
	addr := startServer(t, nil)
	p := testcluster.StartProxy(t, addr)
	c := connect(t, p.Addr(), client.WithFailFast(), client.WithBackoff(time.Millisecond, 20*time.Millisecond))
	ctx := testCtx(t)
	p.SetDown(true)
	p.Cut()
	waitState(t, c, client.StateDisconnected)
	if _, _, err := c.Get(ctx, "/"); !errors.Is(err, client.ErrConnectionLoss) {
		t.Fatalf("get while no server answers: %v", err)
	}
	// Once the server answers again, calls go through.
	p.SetDown(false)
	waitState(t, c, client.StateConnected)
	if _, _, err := c.Get(ctx, "/"); err != nil {
		t.Fatalf("get after the server is back: %v", err)
	}
}

func TestWithFailFastConnectGivesUpAfterOneRound(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	servers := []string{deadAddr(t), deadAddr(t)}
	c, err := client.Connect(ctx, servers, client.WithFailFast())
	if c != nil {
		c.Close(ctx)
	}
	// Not the context's deadline: Connect gave up once both refused.
	if !errors.Is(err, client.ErrConnectionLoss) || ctx.Err() != nil {
		t.Fatalf("Connect to dead servers: %v (ctx: %v)", err, ctx.Err())
	}
}

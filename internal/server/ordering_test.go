package server

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// gatedCommitter holds transactions until the test releases them.
type gatedCommitter struct {
	mu      sync.Mutex
	held    []*jute.Txn
	deliver func([]*jute.Txn, error)
	gated   bool
}

func (g *gatedCommitter) Start(deliver func([]*jute.Txn, error)) { g.deliver = deliver }
func (g *gatedCommitter) Resume()                                {}
func (g *gatedCommitter) Close() error                           { return nil }

func (g *gatedCommitter) Commit(t *jute.Txn) {
	g.mu.Lock()
	if g.gated {
		g.held = append(g.held, t)
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	g.deliver([]*jute.Txn{t}, nil)
}

func (g *gatedCommitter) gate() { g.mu.Lock(); g.gated = true; g.mu.Unlock() }

func (g *gatedCommitter) release() {
	g.mu.Lock()
	held := g.held
	g.held, g.gated = nil, false
	g.mu.Unlock()
	if len(held) > 0 {
		g.deliver(held, nil)
	}
}

// waitHeld waits until n transactions are held.
func (g *gatedCommitter) waitHeld(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		got := len(g.held)
		g.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions held, want %d", got, n)
		}
		time.Sleep(time.Millisecond) // polling another goroutine's progress
	}
}

func startGated(t *testing.T) (*Server, *gatedCommitter) {
	t.Helper()
	return startGatedWith(t, nil)
}

// A session that moves to a new connection while its write is still being
// committed must not read past that write there (§3.5: a client always
// reads its own writes).
func TestAReadOnAResumedConnectionWaitsForTheSessionsWrite(t *testing.T) {
	s, g := startGated(t)
	old := rawConnect(t, s)
	g.gate()
	old.send(1, jute.OpCreate, &jute.CreateRequest{Path: "/x", ACL: openACL})
	g.waitHeld(t, 1)
	moved := rawDial(t, s)
	resp := moved.handshake(&jute.ConnectRequest{SessionID: old.session, Passwd: old.passwd, Timeout: 30000})
	if resp.SessionID != old.session {
		t.Fatalf("resume: %+v", resp)
	}
	moved.send(2, jute.OpExists, &jute.PathWatchRequest{Path: "/x"})
	g.release()
	if h, _, _ := moved.reply(); h.Xid != 2 || h.Err != jute.OK {
		t.Fatalf("exists after the session's own create: %+v", h)
	}
}

// Requests pipelined behind a refused handshake are never executed.
func TestRequestsBehindARefusedHandshakeDoNothing(t *testing.T) {
	s := startServer(t, nil)
	c := rawDial(t, s)
	var buf []byte
	frame := func(p []byte) { buf = binary.BigEndian.AppendUint32(buf, uint32(len(p))); buf = append(buf, p...) }
	frame(jute.Encode(&jute.ConnectRequest{LastZxidSeen: 1 << 40, Timeout: 30000, Passwd: make([]byte, 16)}))
	e := jute.NewEncoder(nil)
	(&jute.RequestHeader{Xid: 1, Type: jute.OpCreate}).Encode(e)
	(&jute.CreateRequest{Path: "/pwned", ACL: openACL}).Encode(e)
	frame(e.Bytes())
	c.nc.Write(buf)
	c.expectClosed()
	check := rawConnect(t, s)
	if h := check.call(1, jute.OpExists, &jute.PathWatchRequest{Path: "/pwned"}, nil); h.Err != jute.ErrNoNode {
		t.Fatalf("a request behind a refused handshake ran: exists /pwned = %v", h.Err)
	}
}

package peer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cnxWaitTimeout bounds every wait on a condition in these tests.
const cnxWaitTimeout = 10 * time.Second

// noCnxLeaks fails the test if a goroutine started by a CnxManager is still
// alive when the test ends. Call it first, so that its cleanup runs after
// the managers' Close.
func noCnxLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			var leaked []string
			for _, g := range strings.Split(string(buf), "\n\n") {
				if strings.Contains(g, "\ncreated by github.com/zkd/zkd/internal/peer.(*CnxManager)") {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d CnxManager goroutines outlived the test:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// cnxWaitFor polls cond until it holds, failing the test after cnxWaitTimeout.
func cnxWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(cnxWaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", cnxWaitTimeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startCnxManager starts a manager for sid on a free loopback port (or on
// listen, when given) and closes it when the test ends.
func startCnxManager(t *testing.T, sid int64, listen string, peers map[int64]string) *CnxManager {
	t.Helper()
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	return startCnxManagerWith(t, CnxConfig{MyID: sid, ListenAddr: listen, Peers: peers})
}

// startCnxManagerWith starts a manager with cfg (2 s connect and handshake
// timeouts unless set) and closes it when the test ends.
func startCnxManagerWith(t *testing.T, cfg CnxConfig) *CnxManager {
	t.Helper()
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 2 * time.Second
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = 2 * time.Second
	}
	sid := cfg.MyID
	m := NewCnxManager(cfg)
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close manager %d: %v", sid, err)
		}
	})
	return m
}

// cnxRecv returns the next message m receives.
func cnxRecv(t *testing.T, m *CnxManager) Message {
	t.Helper()
	select {
	case msg, ok := <-m.Recv():
		if !ok {
			t.Fatal("Recv channel closed")
		}
		return msg
	case <-time.After(cnxWaitTimeout):
		t.Fatalf("no message within %v", cnxWaitTimeout)
		return Message{}
	}
}

// expectCnxMsg fails the test unless the next message m receives is data
// from sid.
func expectCnxMsg(t *testing.T, m *CnxManager, from int64, data string) {
	t.Helper()
	got := cnxRecv(t, m)
	if got.From != from || string(got.Data) != data {
		t.Fatalf("received %q from %d, want %q from %d", got.Data, got.From, data, from)
	}
}

// cnxNode is a started manager whose received messages a goroutine collects.
type cnxNode struct {
	sid  int64
	m    *CnxManager
	mu   sync.Mutex         // guards got
	got  map[int64][]string // received messages by sender
	done chan struct{}      // closed when the collector has ended
}

// startCnxNode starts a manager with no peers (see connectCnxNodes) and collects
// what it receives until it is closed at the end of the test.
func startCnxNode(t *testing.T, sid int64, listen string) *cnxNode {
	t.Helper()
	n := &cnxNode{sid: sid, got: make(map[int64][]string), done: make(chan struct{})}
	n.m = startCnxManager(t, sid, listen, nil)
	go func() {
		defer close(n.done)
		for msg := range n.m.Recv() {
			n.mu.Lock()
			n.got[msg.From] = append(n.got[msg.From], string(msg.Data))
			n.mu.Unlock()
		}
	}()
	t.Cleanup(func() { n.m.Close(); <-n.done })
	return n
}

// received reports whether n received data from sid.
func (n *cnxNode) received(from int64, data string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range n.got[from] {
		if d == data {
			return true
		}
	}
	return false
}

// connectCnxNodes gives every node the election addresses of all the others.
func connectCnxNodes(nodes []*cnxNode) {
	peers := make(map[int64]string)
	for _, n := range nodes {
		peers[n.sid] = n.m.Addr()
	}
	for _, n := range nodes {
		n.m.SetPeers(peers)
	}
}

// cnxOnePairLink checks that a and b share exactly one live connection, the one
// the larger sid dialled, and returns why not.
func cnxOnePairLink(a, b *cnxNode) error {
	if a.sid > b.sid {
		a, b = b, a
	}
	aLocal, aRemote, aDialled, aOK := a.m.linkInfo(b.sid)
	bLocal, bRemote, bDialled, bOK := b.m.linkInfo(a.sid)
	switch {
	case !aOK || !bOK:
		return fmt.Errorf("%d→%d link %v, %d→%d link %v", a.sid, b.sid, aOK, b.sid, a.sid, bOK)
	case aLocal != bRemote || aRemote != bLocal:
		return fmt.Errorf("%d and %d use different sockets: %s-%s vs %s-%s", a.sid, b.sid, aLocal, aRemote, bLocal, bRemote)
	case aDialled || !bDialled:
		return fmt.Errorf("link between %d and %d was dialled by the smaller sid", a.sid, b.sid)
	}
	return nil
}

func TestCnxManagerMeshCarriesEveryDirectionOverOneConnectionPerPair(t *testing.T) {
	for _, size := range []int{2, 3, 5} {
		t.Run(fmt.Sprintf("%d servers", size), func(t *testing.T) {
			noCnxLeaks(t)
			var nodes []*cnxNode
			for i := 1; i <= size; i++ {
				nodes = append(nodes, startCnxNode(t, int64(i), ""))
			}
			connectCnxNodes(nodes)
			msg := func(from, to int64) string { return fmt.Sprintf("vote %d→%d", from, to) }

			// Everyone sends to everyone (itself included) at once, so
			// every pair dials each other simultaneously.
			start := make(chan struct{})
			var wg sync.WaitGroup
			for _, n := range nodes {
				for _, to := range nodes {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						n.m.Send(to.sid, []byte(msg(n.sid, to.sid)))
					}()
				}
			}
			close(start)
			wg.Wait()

			cnxWaitFor(t, "every message to arrive", func() bool {
				for _, n := range nodes {
					for _, from := range nodes {
						if !n.received(from.sid, msg(from.sid, n.sid)) {
							return false
						}
					}
				}
				return true
			})
			var why error
			settled := func() bool {
				for i, a := range nodes {
					for _, b := range nodes[i+1:] {
						if why = cnxOnePairLink(a, b); why != nil {
							return false
						}
					}
					if got := a.m.openConns(); got != size-1 {
						why = fmt.Errorf("server %d has %d open sockets, want %d", a.sid, got, size-1)
						return false
					}
				}
				return true
			}
			deadline := time.Now().Add(cnxWaitTimeout)
			for !settled() {
				if time.Now().After(deadline) {
					t.Fatalf("connections did not settle to one per pair: %v", why)
				}
				time.Sleep(2 * time.Millisecond)
			}

			// The settled links carry a second round both ways.
			for _, n := range nodes {
				for _, to := range nodes {
					n.m.Send(to.sid, []byte(msg(n.sid, to.sid)+" again"))
				}
			}
			cnxWaitFor(t, "the second round to arrive", func() bool {
				for _, n := range nodes {
					for _, from := range nodes {
						if !n.received(from.sid, msg(from.sid, n.sid)+" again") {
							return false
						}
					}
				}
				return true
			})
			if !settled() {
				t.Fatalf("links changed during the second round: %v", why)
			}
		})
	}
}

func TestCnxManagerLargerSidKeepsTheConnectionWhoeverSendsFirst(t *testing.T) {
	for _, first := range []int64{1, 2} {
		t.Run(fmt.Sprintf("server %d sends first", first), func(t *testing.T) {
			noCnxLeaks(t)
			nodes := []*cnxNode{startCnxNode(t, 1, ""), startCnxNode(t, 2, "")}
			connectCnxNodes(nodes)
			sender, other := nodes[first-1], nodes[2-first]
			sender.m.Send(other.sid, []byte("hello"))
			cnxWaitFor(t, "the message to arrive", func() bool { return other.received(sender.sid, "hello") })
			cnxWaitFor(t, "one link dialled by sid 2", func() bool {
				return cnxOnePairLink(nodes[0], nodes[1]) == nil && nodes[0].m.openConns() == 1 && nodes[1].m.openConns() == 1
			})
			other.m.Send(sender.sid, []byte("reply"))
			cnxWaitFor(t, "the reply to arrive", func() bool { return sender.received(other.sid, "reply") })
		})
	}
}

func TestCnxManagerReconnectsARestartedPeerAndResendsTheLastMessage(t *testing.T) {
	for _, restarted := range []int64{1, 2} {
		t.Run(fmt.Sprintf("server %d restarts", restarted), func(t *testing.T) {
			noCnxLeaks(t)
			nodes := []*cnxNode{startCnxNode(t, 1, ""), startCnxNode(t, 2, "")}
			connectCnxNodes(nodes)
			old, survivor := nodes[restarted-1], nodes[2-restarted]
			survivor.m.Send(old.sid, []byte("last vote"))
			cnxWaitFor(t, "the message to arrive", func() bool { return old.received(survivor.sid, "last vote") })

			addr := old.m.Addr()
			if err := old.m.Close(); err != nil {
				t.Fatal(err)
			}
			cnxWaitFor(t, "the survivor to notice the link died", func() bool { return !survivor.m.Connected(old.sid) })
			if !survivor.m.AnyQueueEmpty() {
				t.Fatal("AnyQueueEmpty is false although the message was sent")
			}

			fresh := startCnxNode(t, old.sid, addr)
			connectCnxNodes([]*cnxNode{survivor, fresh})
			// What the election driver does on its timeout when a queue is
			// empty but nothing came back.
			survivor.m.ConnectAll()
			cnxWaitFor(t, "the last message to be re-sent to the restarted server", func() bool {
				return fresh.received(survivor.sid, "last vote")
			})
			cnxWaitFor(t, "one link dialled by sid 2", func() bool {
				return cnxOnePairLink(survivor, fresh) == nil
			})
		})
	}
}

// rawHeader builds an initial message as a dialler sends it.
func rawHeader(version, sid int64, addr string) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(version))
	b = binary.BigEndian.AppendUint64(b, uint64(sid))
	b = binary.BigEndian.AppendUint32(b, uint32(len(addr)))
	return append(b, addr...)
}

// rawFrame builds a frame announcing length n followed by data.
func rawFrame(n int32, data []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(n)), data...)
}

// rawDial connects to addr as a hand-written peer and closes the socket
// when the test ends.
func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, cnxWaitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(cnxWaitTimeout))
	return c
}

// rawWrite writes b to c in one write.
func rawWrite(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatalf("raw write: %v", err)
	}
}

// expectRawEOF fails the test unless the other side closes c (after any
// frames it still sends, which are discarded).
func expectRawEOF(t *testing.T, c net.Conn) {
	t.Helper()
	// Closing with unread input makes the kernel reset the connection
	// instead; either way the other side has closed it.
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want the connection closed, got %v", err)
	}
}

// readRawFrame reads one frame from c.
func readRawFrame(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatalf("read frame length: %v", err)
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return b
}

// expectOnlyMarker checks that nothing but a marker sent to itself
// reached m's receive queue: a message delivered before the marker would
// come out first.
func expectOnlyMarker(t *testing.T, m *CnxManager, self int64) {
	t.Helper()
	m.Send(self, []byte("marker"))
	expectCnxMsg(t, m, self, "marker")
}

func TestCnxManagerBadFrameLengthClosesOnlyThatLink(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
	}{
		{"a zero length", rawFrame(0, nil)},
		{"a negative length", rawFrame(-1, nil)},
		{"a length over 512 KiB", rawFrame(MaxMessageSize+1, make([]byte, 64))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noCnxLeaks(t)
			a, b := startCnxNode(t, 1, ""), startCnxNode(t, 2, "")
			connectCnxNodes([]*cnxNode{a, b})
			a.m.Send(2, []byte("before"))
			cnxWaitFor(t, "the link 1–2", func() bool { return b.received(1, "before") })

			raw := rawDial(t, a.m.Addr())
			rawWrite(t, raw, rawHeader(protocolV1, 9, "127.0.0.1:1"))
			rawWrite(t, raw, rawFrame(3, []byte("ok!")))
			cnxWaitFor(t, "the raw peer's message", func() bool { return a.received(9, "ok!") })
			rawWrite(t, raw, tt.frame)
			expectRawEOF(t, raw)
			cnxWaitFor(t, "the raw link to be dropped", func() bool { return !a.m.Connected(9) })

			if !a.m.Connected(2) || !b.m.Connected(1) {
				t.Fatal("the link between 1 and 2 went down too")
			}
			a.m.Send(2, []byte("after"))
			b.m.Send(1, []byte("after"))
			cnxWaitFor(t, "messages both ways on 1–2", func() bool { return b.received(1, "after") && a.received(2, "after") })
		})
	}
}

func TestCnxManagerDeliversTheLargestFrame(t *testing.T) {
	noCnxLeaks(t)
	a := startCnxManager(t, 1, "", nil)
	raw := rawDial(t, a.Addr())
	big := bytes.Repeat([]byte{7}, MaxMessageSize)
	rawWrite(t, raw, append(rawHeader(protocolV1, 2, "127.0.0.1:1"), rawFrame(MaxMessageSize, big)...))
	got := cnxRecv(t, a)
	if got.From != 2 || !bytes.Equal(got.Data, big) {
		t.Fatalf("received %d bytes from %d, want %d from 2", len(got.Data), got.From, len(big))
	}
}

func TestCnxManagerAcceptsThePre35InitialMessage(t *testing.T) {
	noCnxLeaks(t)
	a := startCnxManager(t, 1, "", nil)
	raw := rawDial(t, a.Addr())
	// The old form: the sid alone, then frames.
	rawWrite(t, raw, append(binary.BigEndian.AppendUint64(nil, 7), rawFrame(4, []byte("old!"))...))
	expectCnxMsg(t, a, 7, "old!")
	a.Send(7, []byte("answer"))
	if got := readRawFrame(t, raw); string(got) != "answer" {
		t.Fatalf("raw peer read %q, want %q", got, "answer")
	}
}

func TestCnxManagerDropsABadInitialMessage(t *testing.T) {
	tests := []struct {
		name   string
		header []byte
	}{
		{"an unknown protocol version", rawHeader(-65534, 9, "127.0.0.1:1")},
		{"protocol version -1", rawHeader(-1, 9, "127.0.0.1:1")},
		{"an empty address", rawHeader(protocolV1, 9, "")},
		{"an address over 2048 bytes", rawHeader(protocolV1, 9, strings.Repeat("a", 2049))},
		{"my own sid", rawHeader(protocolV1, 1, "127.0.0.1:1")},
		{"my own sid in the pre-3.5 form", binary.BigEndian.AppendUint64(nil, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noCnxLeaks(t)
			a := startCnxManager(t, 1, "", nil)
			raw := rawDial(t, a.Addr())
			rawWrite(t, raw, append(tt.header, rawFrame(5, []byte("vote!"))...))
			expectRawEOF(t, raw)
			cnxWaitFor(t, "the socket to be forgotten", func() bool { return a.openConns() == 0 })
			if a.Connected(9) || a.Connected(1) {
				t.Fatal("a link was set up")
			}
			expectOnlyMarker(t, a, 1)
		})
	}
}

// rawListener accepts connections on a free loopback port as a
// hand-written peer; each accepted connection is sent on the returned
// channel. Everything is closed when the test ends.
func rawListener(t *testing.T) (net.Listener, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(cnxWaitTimeout))
			select {
			case conns <- c:
			default:
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return ln, conns
}

// acceptRaw returns the next connection the raw listener accepted.
func acceptRaw(t *testing.T, conns <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c := <-conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(cnxWaitTimeout):
		t.Fatalf("no connection within %v", cnxWaitTimeout)
		return nil
	}
}

// expectInitialMessage reads a V1 initial message in a single read, as
// ZooKeeper's acceptor does, and checks its fields.
func expectInitialMessage(t *testing.T, c net.Conn, sid int64, addr string) {
	t.Helper()
	want := rawHeader(protocolV1, sid, addr)
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read initial message: %v", err)
	}
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("initial message in one read = %x, want %x", buf[:n], want)
	}
}

func TestCnxManagerClosesAConnectionFromASmallerSidAndDialsItBack(t *testing.T) {
	tests := []struct {
		name          string
		headerAddr    func(raw string) string // the address the raw peer announces
		configuredRaw bool                    // the manager's config knows the raw peer's address
	}{
		{"at the address in the initial message", func(raw string) string { return raw }, false},
		{"at the configured address when the message has a wildcard", func(raw string) string {
			_, port, _ := net.SplitHostPort(raw)
			return "0.0.0.0:" + port
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noCnxLeaks(t)
			ln, accepted := rawListener(t)
			peers := map[int64]string{}
			if tt.configuredRaw {
				peers[2] = ln.Addr().String()
			}
			m := startCnxManager(t, 5, "", peers)

			dialer := rawDial(t, m.Addr())
			rawWrite(t, dialer, rawHeader(protocolV1, 2, tt.headerAddr(ln.Addr().String())))
			expectRawEOF(t, dialer)

			back := acceptRaw(t, accepted)
			expectInitialMessage(t, back, 5, m.Addr())
			rawWrite(t, back, rawFrame(4, []byte("ping")))
			expectCnxMsg(t, m, 2, "ping")
			m.Send(2, []byte("pong"))
			if got := readRawFrame(t, back); string(got) != "pong" {
				t.Fatalf("raw peer read %q, want %q", got, "pong")
			}
			if _, _, dialled, ok := m.linkInfo(2); !ok || !dialled {
				t.Fatalf("link to the smaller sid: up %v, dialled %v; want a link it dialled", ok, dialled)
			}
		})
	}
}

func TestCnxManagerSendQueueKeepsOnlyTheNewestMessage(t *testing.T) {
	noCnxLeaks(t)
	ln, accepted := rawListener(t)
	m := startCnxManager(t, 1, "", map[int64]string{2: ln.Addr().String()})

	m.Send(2, []byte("first"))
	// Sid 2 is larger: the manager sends its initial message and closes.
	c := acceptRaw(t, accepted)
	expectInitialMessage(t, c, 1, m.Addr())
	expectRawEOF(t, c)
	m.Send(2, []byte("second"))
	m.Send(2, []byte("third"))
	if m.AnyQueueEmpty() {
		t.Fatal("AnyQueueEmpty with a message waiting for the only peer")
	}

	raw := rawDial(t, m.Addr())
	rawWrite(t, raw, rawHeader(protocolV1, 2, ln.Addr().String()))
	if got := readRawFrame(t, raw); string(got) != "third" {
		t.Fatalf("first frame on the new link = %q, want %q (the newest)", got, "third")
	}
	cnxWaitFor(t, "the queue to drain", m.AnyQueueEmpty)
	m.Send(2, []byte("fourth"))
	if got := readRawFrame(t, raw); string(got) != "fourth" {
		t.Fatalf("next frame = %q, want %q", got, "fourth")
	}
}

func TestCnxManagerResendsTheLastMessageOnANewLinkWhenTheQueueIsEmpty(t *testing.T) {
	noCnxLeaks(t)
	m := startCnxManager(t, 1, "", nil)
	first := rawDial(t, m.Addr())
	rawWrite(t, first, rawHeader(protocolV1, 2, "127.0.0.1:1"))
	cnxWaitFor(t, "the link", func() bool { return m.Connected(2) })
	m.Send(2, []byte("vote"))
	if got := readRawFrame(t, first); string(got) != "vote" {
		t.Fatalf("read %q, want %q", got, "vote")
	}
	// A newer connection from the same sid replaces the old one and gets
	// the last message again.
	second := rawDial(t, m.Addr())
	rawWrite(t, second, rawHeader(protocolV1, 2, "127.0.0.1:1"))
	if got := readRawFrame(t, second); string(got) != "vote" {
		t.Fatalf("read %q on the new link, want the last message %q", got, "vote")
	}
	expectRawEOF(t, first)
}

func TestCnxManagerDeliversMessagesToItselfLocally(t *testing.T) {
	noCnxLeaks(t)
	m := startCnxManager(t, 3, "", map[int64]string{3: "127.0.0.1:1"})
	m.Send(3, []byte("my own vote"))
	expectCnxMsg(t, m, 3, "my own vote")
	if n := m.openConns(); n != 0 {
		t.Fatalf("%d sockets opened for a message to myself", n)
	}
}

func TestCnxManagerCloseEndsRecvAndLaterSendsAreIgnored(t *testing.T) {
	noCnxLeaks(t)
	m := NewCnxManager(CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", Peers: map[int64]string{2: "127.0.0.1:1"}})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	m.Send(2, []byte("x"))
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-m.Recv(); ok {
		t.Fatal("Recv still open after Close")
	}
	m.Send(1, []byte("late"))
	m.Send(2, []byte("late"))
	m.ConnectAll()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(t.Context()); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

// FuzzReadInitialMessage feeds arbitrary bytes to the initial-message
// decoder: it must never panic, and what it accepts must be a sid with an
// empty or well-formed address.
func FuzzReadInitialMessage(f *testing.F) {
	f.Add(rawHeader(protocolV1, 3, "127.0.0.1:3888"))
	f.Add(rawHeader(protocolV2, 3, "10.0.0.1:3888|10.0.0.2:3888"))
	f.Add(rawHeader(protocolV1, 3, "[::1]:3888"))
	f.Add(rawHeader(protocolV1, 3, "0.0.0.0:3888"))
	f.Add(rawHeader(protocolV1, 3, ""))
	f.Add(rawHeader(-65534, 3, "127.0.0.1:3888"))
	f.Add(binary.BigEndian.AppendUint64(nil, 7))
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		sid, addr, err := readInitialMessage(bytes.NewReader(b))
		if err != nil {
			return
		}
		if addr != "" {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				t.Fatalf("accepted address %q: %v", addr, err)
			}
		}
		if first := int64(binary.BigEndian.Uint64(b)); first >= 0 && sid != first {
			t.Fatalf("pre-3.5 form: sid %d, want %d", sid, first)
		}
	})
}

func TestReadInitialMessageKeepsTheFirstUsableAddress(t *testing.T) {
	tests := []struct {
		name, field, want string
	}{
		{"one address", "10.0.0.1:3888", "10.0.0.1:3888"},
		{"the first of a multiAddress list", "10.0.0.1:3888|10.0.0.2:3888", "10.0.0.1:3888"},
		{"an IPv6 address in brackets", "[fe80::1]:3888", "[fe80::1]:3888"},
		{"not an IPv4 wildcard", "0.0.0.0:3888", ""},
		{"not an IPv6 wildcard", "[::]:3888", ""},
		{"not a host without a port", "zk1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sid, addr, err := readInitialMessage(bytes.NewReader(rawHeader(protocolV1, 4, tt.field)))
			if err != nil || sid != 4 || addr != tt.want {
				t.Fatalf("got sid %d, address %q, err %v; want 4, %q, nil", sid, addr, err, tt.want)
			}
		})
	}
}

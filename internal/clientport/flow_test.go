package clientport

import (
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// quiet reports whether no request arrives at b for a while: the check
// that a reader has stopped (an absence cannot be waited for).
func quiet(b *fakeBackend) bool {
	select {
	case <-b.arrived:
		return false
	case <-time.After(200 * time.Millisecond):
		return true
	}
}

func (b *fakeBackend) conn(i int) *Conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns[i]
}

func TestGlobalLimitHoldsBusyConnectionsButAlwaysReadsAnIdleOne(t *testing.T) {
	b := newFakeBackend()
	l := serve(t, b, Options{MaxOutstanding: 3})
	busy := dial(t, l)
	handshake(t, busy)
	for i := range 5 {
		busy.Write(ping(int32(i + 1)))
	}
	for range 3 {
		<-b.arrived
	}
	if !quiet(b) {
		t.Fatal("the busy connection was read past the global limit")
	}
	idle := dial(t, l)
	handshake(t, idle)
	idle.Write(ping(1))
	<-b.arrived // read although 3 requests are outstanding: it had none
	idle.Write(ping(2))
	if !quiet(b) {
		t.Fatal("a connection with a request in flight was read past the global limit")
	}
	if got := l.OutstandingRequests(); got != 4 {
		t.Fatalf("outstanding = %d, want 4", got)
	}
	// Two replies to the busy connection bring the count to 2: one more
	// request is read, and the limit holds again.
	c := b.conn(0)
	c.Send(jute.ReplyHeader{Xid: 1}, nil)
	c.Send(jute.ReplyHeader{Xid: 2}, nil)
	<-b.arrived
	if !quiet(b) {
		t.Fatal("more requests read than the global limit allows")
	}
	if n, out := b.count(), l.OutstandingRequests(); n != 5 || out != 3 {
		t.Fatalf("%d requests read and %d outstanding, want 5 and 3", n, out)
	}
}

// answeringBackend answers every request with a reply of size bytes.
type answeringBackend struct {
	*fakeBackend
	size int
}

func (b answeringBackend) Request(c *Conn, req *Request) {
	b.fakeBackend.Request(c, req)
	c.Send(jute.ReplyHeader{Xid: req.Header.Xid}, &jute.GetDataResponse{Data: make([]byte, b.size)})
}

func TestRepliesNotReadStopTheReadingUntilTheyDrain(t *testing.T) {
	b := answeringBackend{newFakeBackend(), 1 << 20}
	b.arrived = make(chan struct{}, 1000)
	l := serve(t, b, Options{MaxQueuedBytes: 1 << 20})
	nc := dial(t, l)
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	handshake(t, nc)
	const sent = 200 // 200 MiB of replies: far beyond the socket buffers
	go func() {
		for i := range sent {
			if _, err := nc.Write(ping(int32(i + 1))); err != nil {
				return
			}
		}
	}()
	for !quiet(b.fakeBackend) {
	}
	if n := b.count(); n >= sent {
		t.Fatalf("all %d requests were read while their replies sat unread", n)
	}
	// The client reads its replies: the reader resumes and everything is
	// answered.
	for i := range sent {
		var hdr [4]byte
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if _, err := io.CopyN(io.Discard, nc, int64(uint32(hdr[0])<<24|uint32(hdr[1])<<16|uint32(hdr[2])<<8|uint32(hdr[3]))); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	if n := b.count(); n != sent {
		t.Fatalf("%d requests read, want %d", n, sent)
	}
}

func TestLargeRequestBeyondTheBudgetClosesItsConnection(t *testing.T) {
	b := newFakeBackend()
	l := serve(t, b, Options{LargeRequestThreshold: 100, LargeRequestMaxBytes: 150})
	large := func(xid int32) []byte {
		payload := jute.Encode(&jute.RequestHeader{Xid: xid, Type: jute.OpSetData})
		payload = append(payload, jute.Encode(&jute.SetDataRequest{Path: "/a", Data: make([]byte, 120), Version: -1})...)
		return frame(payload)
	}
	first := dial(t, l)
	handshake(t, first)
	first.Write(large(1))
	<-b.arrived
	second := dial(t, l)
	handshake(t, second)
	second.Write(large(1))
	if n, err := second.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("connection with a large request over the budget stayed open (%d, %v)", n, err)
	}
	if got := l.LargeRequestsRejected(); got != 1 {
		t.Fatalf("large requests rejected = %d, want 1", got)
	}
	second.Close()
	// Small requests are not counted; the first large one's bytes come
	// back with its reply.
	first.Write(ping(2))
	<-b.arrived
	b.conn(0).Send(jute.ReplyHeader{Xid: 1}, nil)
	b.conn(0).Send(jute.ReplyHeader{Xid: 2}, nil)
	// The budget comes back once the first connection's writer has
	// written the reply, which the third's request must not overtake.
	for deadline := time.Now().Add(10 * time.Second); l.largeBytes.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of large requests still counted after their reply", l.largeBytes.Load())
		}
		runtime.Gosched()
	}
	third := dial(t, l)
	handshake(t, third)
	third.Write(large(1))
	select {
	case <-b.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("a large request within the budget was not read")
	}
	if got := l.LargeRequestsRejected(); got != 1 {
		t.Fatalf("large requests rejected = %d, want still 1", got)
	}
}

func TestAClientThatReadsNoNotificationsIsDisconnected(t *testing.T) {
	b := newFakeBackend()
	l := serve(t, b, Options{})
	nc := dial(t, l)
	handshake(t, nc)
	nc.Write(ping(1))
	<-b.arrived
	c := b.conn(0)
	path := "/" + string(make([]byte, 1000))
	for i := 0; i < 100_000 && !c.IsClosed(); i++ {
		// 100 MB of notifications: far beyond the socket buffers and the
		// queue's bound.
		c.Send(jute.ReplyHeader{Xid: jute.XidNotification}, &jute.WatcherEvent{Type: jute.EventNodeDataChanged, Path: path})
	}
	select {
	case <-b.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a client reading nothing was not disconnected")
	}
}

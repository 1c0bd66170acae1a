package clientport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/testcluster"
)

// fakeBackend records what the listener hands it.
type fakeBackend struct {
	mu       sync.Mutex
	requests []*Request
	conns    []*Conn
	arrived  chan struct{}
	closed   chan *Conn
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{arrived: make(chan struct{}, 100), closed: make(chan *Conn, 10)}
}

func (b *fakeBackend) Connect(c *Conn, req *jute.ConnectRequest) {
	b.mu.Lock()
	b.conns = append(b.conns, c)
	b.mu.Unlock()
	c.SendConnectResponse(&jute.ConnectResponse{Timeout: req.Timeout, SessionID: 1, Passwd: make([]byte, 16)}, false)
}

func (b *fakeBackend) Request(c *Conn, req *Request) {
	b.mu.Lock()
	b.requests = append(b.requests, req)
	b.mu.Unlock()
	b.arrived <- struct{}{}
}

func (b *fakeBackend) Closed(c *Conn) { b.closed <- c }

func (b *fakeBackend) FourLetter(c *Conn, first [4]byte, r io.Reader) (string, bool) {
	if string(first[:]) == "ruok" {
		return "imok", true
	}
	return "", false
}

func (b *fakeBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.requests)
}

// edgeReadsForTests makes serve turn EdgeTriggeredReads on: TestMain
// runs the whole suite once with the net package's reads and, on Linux,
// once more with edge-triggered ones.
var edgeReadsForTests bool

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && runtime.GOOS == "linux" {
		edgeReadsForTests = true
		code = m.Run()
	}
	os.Exit(code)
}

func serve(t *testing.T, b Backend, opts Options) *Listener {
	t.Helper()
	opts.EdgeTriggeredReads = opts.EdgeTriggeredReads || edgeReadsForTests
	l, err := Listen("127.0.0.1:0", b, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { l.Serve(t.Context()); close(done) }()
	t.Cleanup(func() { l.Close(); <-done })
	return l
}

func dial(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { nc.Close() })
	return nc
}

func frame(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

func handshake(t *testing.T, nc net.Conn) {
	t.Helper()
	nc.Write(frame(jute.Encode(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16)})))
	var hdr [4]byte
	if _, err := io.ReadFull(nc, hdr[:]); err != nil {
		t.Fatal(err)
	}
	io.ReadFull(nc, make([]byte, binary.BigEndian.Uint32(hdr[:])))
}

func ping(xid int32) []byte {
	return frame(jute.Encode(&jute.RequestHeader{Xid: xid, Type: jute.OpPing}))
}

func TestFourLetterWordIsAnsweredAndTheConnectionClosed(t *testing.T) {
	l := serve(t, newFakeBackend(), Options{})
	nc := dial(t, l)
	nc.Write([]byte("ruok\n"))
	out, err := io.ReadAll(nc)
	if err != nil || string(out) != "imok" {
		t.Fatalf("got %q, %v", out, err)
	}
}

// A client that saw a four-letter word's answer end and asks "cons" or
// "stat" next must not find the finished connection listed (ZooKeeper's
// does not). The window was microseconds wide, so the test asks often.
func TestAFinishedFourLetterWordConnectionIsNotListed(t *testing.T) {
	b := newFakeBackend()
	b.closed = make(chan *Conn, 300) // room for every Closed call
	l := serve(t, b, Options{})
	for i := range 300 {
		nc := dial(t, l)
		nc.Write([]byte("ruok\n"))
		if _, err := io.ReadAll(nc); err != nil {
			t.Fatal(err)
		}
		if conns := l.Connections(); len(conns) != 0 {
			t.Fatalf("round %d: %d connections listed after the four-letter word's connection closed", i, len(conns))
		}
		nc.Close()
	}
}

func TestReaderStopsAtTheOutstandingLimitUntilAReplyIsWritten(t *testing.T) {
	b := newFakeBackend()
	l := serve(t, b, Options{MaxOutstanding: 3})
	nc := dial(t, l)
	handshake(t, nc)
	for i := range 5 {
		nc.Write(ping(int32(i + 1)))
	}
	for range 3 {
		<-b.arrived
	}
	if !quiet(b) {
		t.Fatal("a fourth request was read while three were unanswered")
	}
	b.mu.Lock()
	c := b.conns[0]
	b.mu.Unlock()
	c.Send(jute.ReplyHeader{Xid: jute.XidNotification}, nil) // notifications free nothing
	c.Send(jute.ReplyHeader{Xid: 1}, nil)
	<-b.arrived
	if n := b.count(); n != 4 {
		t.Fatalf("%d requests read after one reply, want 4", n)
	}
}

func TestOversizedFrameClosesTheConnection(t *testing.T) {
	b := newFakeBackend()
	l := serve(t, b, Options{MaxBuffer: 100})
	nc := dial(t, l)
	handshake(t, nc)
	nc.Write(binary.BigEndian.AppendUint32(nil, 101))
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("backend not told of the close")
	}
	if b.count() != 0 {
		t.Fatal("oversized frame reached the backend")
	}
}

func TestMaxClientCnxnsRefusesTheExtraConnection(t *testing.T) {
	l := serve(t, newFakeBackend(), Options{MaxClientCnxns: 1})
	first := dial(t, l)
	handshake(t, first)
	second := dial(t, l)
	if n, _ := second.Read(make([]byte, 1)); n != 0 {
		t.Fatal("second connection got data")
	}
}

func TestUnknownOpcodeIsReportedNotDecoded(t *testing.T) {
	req := decodeRequest(jute.Encode(&jute.RequestHeader{Xid: 3, Type: 99}), 1000)
	if !req.Unknown || req.Body != nil {
		t.Fatalf("%+v", req)
	}
	check := decodeRequest(jute.Encode(&jute.RequestHeader{Xid: 3, Type: jute.OpCheck}), 1000)
	if !check.Unknown {
		t.Fatal("top-level check must be treated as unknown (ZooKeeper 3.9.3)")
	}
}

// idleBackend gives each connection an idle timeout at the handshake, as
// the server does with the session timeout.
type idleBackend struct {
	*fakeBackend
	idle time.Duration
}

func (b idleBackend) Connect(c *Conn, req *jute.ConnectRequest) {
	c.SetIdleTimeout(b.idle)
	b.fakeBackend.Connect(c, req)
}

// TestBusyConnectionOutlivesItsIdleTimeoutAndASilentOneDoesNot sends a
// frame every 25 ms for over twice the idle timeout (the deadline is
// re-armed only every eighth of it, so this checks it is still pushed
// on), then goes silent: the server closes the connection no sooner than
// the idle timeout after the last frame.
func TestBusyConnectionOutlivesItsIdleTimeoutAndASilentOneDoesNot(t *testing.T) {
	const idle = 400 * time.Millisecond
	b := idleBackend{newFakeBackend(), idle}
	l := serve(t, b, Options{})
	nc := dial(t, l)
	handshake(t, nc)
	var last time.Time
	for i := range 40 {
		last = time.Now()
		if _, err := nc.Write(ping(int32(i + 1))); err != nil {
			t.Fatalf("ping %d: %v", i+1, err)
		}
		select {
		case <-b.arrived:
		case <-time.After(5 * time.Second):
			t.Fatalf("ping %d (%v after the first) was not read: the connection timed out while busy", i+1, time.Since(last))
		}
		time.Sleep(idle / 16) // the client's pace: 40 frames over 2.5 idle timeouts
	}
	switch _, err := nc.Read(make([]byte, 1)); {
	case err == nil:
		t.Fatal("the server sent something to a client that only pinged a backend that never answers")
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("the server kept a connection silent for %v open (idle timeout %v)", time.Since(last), idle)
	}
	if quiet := time.Since(last); quiet < idle {
		t.Fatalf("closed %v after the last frame, before the idle timeout of %v", quiet, idle)
	}
}

// countingBackend records each request's xid and SetData payload, and
// says when it has n of them.
type countingBackend struct {
	*fakeBackend
	mu    sync.Mutex
	xids  []int32
	sizes []int
	want  int
	all   chan struct{}
}

func (b *countingBackend) Request(c *Conn, req *Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.xids = append(b.xids, req.Header.Xid)
	size := -1
	if sd, ok := req.Body.(*jute.SetDataRequest); ok {
		size = len(sd.Data)
		if !bytes.Equal(sd.Data, bytes.Repeat([]byte{byte(req.Header.Xid)}, size)) {
			size = -2 // the bytes came out wrong
		}
	}
	b.sizes = append(b.sizes, size)
	if len(b.xids) == b.want {
		close(b.all)
	}
}

// TestFramesArriveWholeHoweverTheBytesAreSplit writes requests of 12 B to
// 40 KiB (beyond the 8 KiB read buffer) cut at random places into
// separate writes, several frames per write as well as a frame over many
// writes: the listener hands over every request once, whole and in order.
func TestFramesArriveWholeHoweverTheBytesAreSplit(t *testing.T) {
	const n = 300
	b := &countingBackend{fakeBackend: newFakeBackend(), want: n, all: make(chan struct{})}
	l := serve(t, b, Options{})
	nc := dial(t, l)
	handshake(t, nc)
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	wantSizes := make([]int, n)
	for i := range n {
		xid := int32(i + 1)
		if rng.IntN(4) == 0 {
			stream = append(stream, ping(xid)...)
			wantSizes[i] = -1
			continue
		}
		size := rng.IntN(40 << 10)
		req := jute.Encode(&jute.RequestHeader{Xid: xid, Type: jute.OpSetData})
		req = append(req, jute.Encode(&jute.SetDataRequest{Path: "/x", Data: bytes.Repeat([]byte{byte(xid)}, size), Version: -1})...)
		stream = append(stream, frame(req)...)
		wantSizes[i] = size
	}
	go func() {
		for len(stream) > 0 {
			cut := min(len(stream), 1+rng.IntN(20<<10))
			if _, err := nc.Write(stream[:cut]); err != nil {
				return
			}
			stream = stream[cut:]
		}
	}()
	select {
	case <-b.all:
	case <-time.After(10 * time.Second):
		t.Fatal("not every request arrived")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range n {
		if b.xids[i] != int32(i+1) || b.sizes[i] != wantSizes[i] {
			t.Fatalf("request %d: xid %d with %d bytes of data, want xid %d with %d", i, b.xids[i], b.sizes[i], i+1, wantSizes[i])
		}
	}
}

// TestAClientThatSendsAndClosesAtOnceIsSeenToClose: a client sends a
// request and closes its socket right after, so that the request's bytes
// and the FIN arrive together. The listener must hand over the request
// and report the close at once, not when an idle deadline passes (the
// connections here have none). With edge-triggered reads the two
// arrivals can merge into one wake-up of the reader, whose read takes
// the data and leaves the FIN unread: the hang-up watcher covers that.
func TestAClientThatSendsAndClosesAtOnceIsSeenToClose(t *testing.T) {
	b := newFakeBackend()
	l := serve(t, b, Options{})
	for i := range 50 {
		nc := dial(t, l)
		handshake(t, nc)
		nc.Write(ping(1))
		<-b.arrived // the reader has its first request and reads on
		nc.Write(ping(2))
		nc.Close()
		select {
		case <-b.arrived:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection %d: the request sent with the close never arrived", i)
		}
		select {
		case <-b.closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection %d: its close went unseen for 10 s", i)
		}
	}
}

// TestClosingAListenerWithEdgeReadsLogsNoWarning: the hang-up watcher
// stops with its listener, quietly; its warning is for a watcher that
// fails while the listener serves.
func TestClosingAListenerWithEdgeReadsLogsNoWarning(t *testing.T) {
	var logged testcluster.LogBuffer
	l := serve(t, newFakeBackend(), Options{EdgeTriggeredReads: true, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	nc := dial(t, l)
	handshake(t, nc)
	nc.Write(ping(1))
	if runtime.GOOS == "linux" && l.hangups == nil {
		t.Fatal("edge-triggered reads without a hang-up watcher")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if s := logged.String(); strings.Contains(s, "level=WARN") {
		t.Errorf("closing the listener logged a warning:\n%s", s)
	}
}

package testcluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// RawWait is how long a RawClient waits for the server, per read or write,
// before it fails the test.
const RawWait = 20 * time.Second

// maxRawFrame bounds the length a RawClient accepts in a frame's prefix; a
// larger one means the stream is out of step, not that a reply is that big.
const maxRawFrame = 64 << 20

// ErrConnClosed is returned by RawClient.NextFrame when the server has
// closed the connection (an orderly close or a reset) at a frame boundary.
var ErrConnClosed = errors.New("testcluster: the server closed the connection")

// RawClient speaks ZooKeeper's client wire protocol (spec client-protocol.md
// §1–§3) frame by frame over one TCP connection, for tests that check
// bytes, error codes and orderings a client library would hide, or send
// requests no library sends.
//
// It does nothing on its own: no pings, no xid bookkeeping, no reconnects.
// Every method that talks to the server waits at most RawWait and fails the
// test when something unexpected happens (a timeout, a malformed frame, the
// connection closing where a reply was due); methods whose name or result
// says "closed" report a close instead. A RawClient belongs to one
// goroutine, the test's, and its connection is closed when the test ends.
type RawClient struct {
	t    testing.TB
	conn net.Conn

	session jute.SessionID
	passwd  []byte
	timeout int32
}

// DialRaw opens a TCP connection to the server at addr ("host:port")
// without sending anything.
func DialRaw(t testing.TB, addr string) *RawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("DialRaw: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &RawClient{t: t, conn: conn}
}

// ConnectRaw dials addr and completes a handshake for a new session: a
// 30-second timeout, a zero password and the readOnly byte set to false.
// It fails the test if the server refuses the session.
func ConnectRaw(t testing.TB, addr string) *RawClient {
	t.Helper()
	c := DialRaw(t, addr)
	resp := c.Handshake(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16), HasReadOnly: true})
	if resp == nil || resp.SessionID == 0 {
		t.Fatalf("ConnectRaw to %s: handshake refused (%+v)", addr, resp)
	}
	return c
}

// Conn returns the underlying connection, for writing bytes that are not a
// well-formed frame. Deadlines set on it are replaced by the next call of a
// RawClient method.
func (c *RawClient) Conn() net.Conn { return c.conn }

// SessionID returns the session id of the last handshake's answer (0
// before one, and after a refused one).
func (c *RawClient) SessionID() jute.SessionID { return c.session }

// Passwd returns the session password of the last handshake's answer.
func (c *RawClient) Passwd() []byte { return c.passwd }

// Timeout returns the negotiated session timeout, in milliseconds, of the
// last handshake's answer.
func (c *RawClient) Timeout() int32 { return c.timeout }

// Close closes the connection from the client's side.
func (c *RawClient) Close() { c.conn.Close() }

// WriteFrame sends payload with its 4-byte length prefix.
func (c *RawClient) WriteFrame(payload []byte) {
	c.t.Helper()
	if err := c.writeFrame(payload); err != nil {
		c.t.Fatalf("RawClient: write: %v", err)
	}
}

func (c *RawClient) writeFrame(payload []byte) error {
	buf := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(payload)), uint32(len(payload)))
	buf = append(buf, payload...)
	c.conn.SetWriteDeadline(time.Now().Add(RawWait))
	_, err := c.conn.Write(buf)
	return err
}

// NextFrame returns the payload of the next frame from the server, waiting
// at most wait. The error is ErrConnClosed when the server closed the
// connection before a new frame began, an error satisfying
// errors.Is(err, os.ErrDeadlineExceeded) when nothing arrived in time, and
// otherwise a description of what went wrong (a frame cut short, a length
// prefix no server would send).
func (c *RawClient) NextFrame(wait time.Duration) ([]byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(wait))
	var l [4]byte
	if _, err := io.ReadFull(c.conn, l[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return nil, ErrConnClosed
		}
		return nil, fmt.Errorf("read frame length: %w", err)
	}
	n := int32(binary.BigEndian.Uint32(l[:]))
	if n < 0 || n > maxRawFrame {
		return nil, fmt.Errorf("frame length %d is out of range", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.conn, buf); err != nil {
		return nil, fmt.Errorf("read %d-byte frame: %w", n, err)
	}
	return buf, nil
}

// ReadFrame returns the payload of the next frame, or nil when the server
// has closed the connection.
func (c *RawClient) ReadFrame() []byte {
	c.t.Helper()
	frame, err := c.NextFrame(RawWait)
	switch {
	case errors.Is(err, ErrConnClosed):
		return nil
	case err != nil:
		c.t.Fatalf("RawClient: %v", err)
	}
	return frame
}

// Handshake sends req as the connection's first frame and returns the
// server's ConnectResponse, or nil if the server closed the connection
// without answering. SessionID, Passwd and Timeout report the answer.
func (c *RawClient) Handshake(req *jute.ConnectRequest) *jute.ConnectResponse {
	c.t.Helper()
	c.WriteFrame(jute.Encode(req))
	frame := c.ReadFrame()
	if frame == nil {
		return nil
	}
	var resp jute.ConnectResponse
	if err := jute.Decode(frame, &resp); err != nil {
		c.t.Fatalf("RawClient: decode ConnectResponse: %v", err)
	}
	c.session, c.passwd, c.timeout = resp.SessionID, resp.Passwd, resp.Timeout
	return &resp
}

// Send sends one request: a RequestHeader with xid and op, then body
// (nothing when body is nil).
func (c *RawClient) Send(xid int32, op jute.OpCode, body jute.Encodable) {
	c.t.Helper()
	c.WriteFrame(encodeRequest(xid, op, body))
}

func encodeRequest(xid int32, op jute.OpCode, body jute.Encodable) []byte {
	e := jute.NewEncoder(nil)
	h := jute.RequestHeader{Xid: xid, Type: op}
	h.Encode(e)
	if body != nil {
		body.Encode(e)
	}
	return e.Bytes()
}

// Reply reads frames until one that is not a notification arrives, and
// returns its header, a decoder positioned at its body, and the
// notifications that arrived before it, in order. It fails the test if the
// connection closes first.
func (c *RawClient) Reply() (jute.ReplyHeader, *jute.Decoder, []jute.WatcherEvent) {
	c.t.Helper()
	h, d, events, closed := c.ReplyOrClosed()
	if closed {
		c.t.Fatal("RawClient: connection closed while waiting for a reply")
	}
	return h, d, events
}

// ReplyOrClosed is Reply for a request the server may answer by closing
// the connection: closed is true, with the notifications that came before
// the close, if the connection closed before a reply arrived.
func (c *RawClient) ReplyOrClosed() (h jute.ReplyHeader, d *jute.Decoder, events []jute.WatcherEvent, closed bool) {
	c.t.Helper()
	for {
		frame := c.ReadFrame()
		if frame == nil {
			return jute.ReplyHeader{}, nil, events, true
		}
		d := jute.NewDecoder(frame)
		var h jute.ReplyHeader
		h.Decode(d)
		if d.Err() != nil {
			c.t.Fatalf("RawClient: decode ReplyHeader of %x: %v", frame, d.Err())
		}
		if h.Xid != jute.XidNotification {
			return h, d, events, false
		}
		var ev jute.WatcherEvent
		ev.Decode(d)
		if d.Err() != nil {
			c.t.Fatalf("RawClient: decode notification %x: %v", frame, d.Err())
		}
		events = append(events, ev)
	}
}

// Call sends one request and waits for its reply, failing the test if the
// reply's xid is not xid (a ping's reply may carry -2). If resp is non-nil
// and the reply is not an error, the body is decoded into resp.
// Notifications that arrive first are dropped.
func (c *RawClient) Call(xid int32, op jute.OpCode, body jute.Encodable, resp jute.Record) jute.ReplyHeader {
	c.t.Helper()
	c.Send(xid, op, body)
	h, d, _ := c.Reply()
	if h.Xid != xid && !(op == jute.OpPing && h.Xid == jute.XidPing) {
		c.t.Fatalf("RawClient: reply xid %d, want %d", h.Xid, xid)
	}
	if resp != nil && h.Err == jute.OK {
		resp.Decode(d)
		if d.Err() != nil {
			c.t.Fatalf("RawClient: decode %v reply: %v", op, d.Err())
		}
	}
	return h
}

// ReadEvents reads one frame. If it is a notification, it returns the
// notification's header and the event; otherwise it returns the reply's
// header, a decoder positioned at its body, and no events. It fails the
// test if the connection closes.
func (c *RawClient) ReadEvents() (jute.ReplyHeader, *jute.Decoder, []jute.WatcherEvent) {
	c.t.Helper()
	frame := c.ReadFrame()
	if frame == nil {
		c.t.Fatal("RawClient: connection closed while waiting for a notification")
	}
	d := jute.NewDecoder(frame)
	var h jute.ReplyHeader
	h.Decode(d)
	if h.Xid != jute.XidNotification {
		return h, d, nil
	}
	var ev jute.WatcherEvent
	ev.Decode(d)
	if d.Err() != nil {
		c.t.Fatalf("RawClient: decode notification %x: %v", frame, d.Err())
	}
	return h, d, []jute.WatcherEvent{ev}
}

// Ping sends a ping and waits for its reply. Because a server answers in
// order and queues a notification before any later reply, the events it
// returns are every notification the server had queued for this connection
// when the ping arrived. closed is true if the connection turned out to be
// closed (the write failed, or the server closed it before answering).
func (c *RawClient) Ping() (events []jute.WatcherEvent, closed bool) {
	c.t.Helper()
	if err := c.writeFrame(encodeRequest(jute.XidPing, jute.OpPing, nil)); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.t.Fatalf("RawClient: write ping: %v", err)
		}
		return nil, true
	}
	h, _, events, closed := c.ReplyOrClosed()
	if closed {
		return events, true
	}
	if h.Xid != jute.XidPing {
		c.t.Fatalf("RawClient: a ping was answered by a reply with xid %d (err %d)", h.Xid, h.Err)
	}
	return events, false
}

// ExpectClosed reads and discards frames until the server closes the
// connection, and fails the test if it has not done so within RawWait.
func (c *RawClient) ExpectClosed() {
	c.t.Helper()
	deadline := time.Now().Add(RawWait)
	for {
		_, err := c.NextFrame(time.Until(deadline))
		switch {
		case errors.Is(err, ErrConnClosed):
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			c.t.Fatalf("RawClient: the server did not close the connection within %v", RawWait)
		case err != nil:
			c.t.Fatalf("RawClient: %v", err)
		}
	}
}

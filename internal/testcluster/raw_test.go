package testcluster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// fakeZK accepts one connection on a loopback port and runs script on it in
// a goroutine that the test waits for when it ends. It returns the address
// to dial.
func fakeZK(t *testing.T, script func(t *testing.T, conn net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer l.Close()
		conn, err := l.Accept()
		if err != nil {
			t.Errorf("fake server: accept: %v", err)
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		script(t, conn)
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return l.Addr().String()
}

// serverRead reads one frame on the fake server's side, or returns nil.
func serverRead(t *testing.T, conn net.Conn) []byte {
	var l [4]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		t.Errorf("fake server: read length: %v", err)
		return nil
	}
	buf := make([]byte, binary.BigEndian.Uint32(l[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Errorf("fake server: read frame: %v", err)
		return nil
	}
	return buf
}

// serverWrite sends records as one frame from the fake server.
func serverWrite(t *testing.T, conn net.Conn, records ...jute.Encodable) {
	e := jute.NewEncoder(nil)
	for _, r := range records {
		r.Encode(e)
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(e.Len()))
	if _, err := conn.Write(append(frame, e.Bytes()...)); err != nil {
		t.Errorf("fake server: write: %v", err)
	}
}

var fakePasswd = bytes.Repeat([]byte{0xab}, 16)

// serverHandshake answers the client's ConnectRequest with a session.
func serverHandshake(t *testing.T, conn net.Conn) {
	var req jute.ConnectRequest
	if err := jute.Decode(serverRead(t, conn), &req); err != nil {
		t.Errorf("fake server: decode ConnectRequest: %v", err)
		return
	}
	if !req.HasReadOnly || req.Timeout != 30000 || len(req.Passwd) != 16 {
		t.Errorf("fake server: ConnectRequest %+v, want a 30 s timeout, a 16-byte password and the readOnly byte", req)
	}
	serverWrite(t, conn, &jute.ConnectResponse{Timeout: 4000, SessionID: 0x0100000000000007, Passwd: fakePasswd, HasReadOnly: true})
}

// serverRequest reads one request and returns its header.
func serverRequest(t *testing.T, conn net.Conn) (jute.RequestHeader, *jute.Decoder) {
	d := jute.NewDecoder(serverRead(t, conn))
	var h jute.RequestHeader
	h.Decode(d)
	return h, d
}

func TestConnectRawKeepsWhatTheHandshakeAnswered(t *testing.T) {
	addr := fakeZK(t, func(t *testing.T, conn net.Conn) { serverHandshake(t, conn) })
	c := ConnectRaw(t, addr)
	if c.SessionID() != 0x0100000000000007 || c.Timeout() != 4000 || !bytes.Equal(c.Passwd(), fakePasswd) {
		t.Errorf("session %v timeout %d passwd %x", c.SessionID(), c.Timeout(), c.Passwd())
	}
}

func TestHandshakeAnsweredByACloseReturnsNil(t *testing.T) {
	addr := fakeZK(t, func(t *testing.T, conn net.Conn) { serverRead(t, conn) })
	c := DialRaw(t, addr)
	if resp := c.Handshake(&jute.ConnectRequest{LastZxidSeen: 1e9, Passwd: make([]byte, 16)}); resp != nil {
		t.Errorf("Handshake = %+v, want nil", resp)
	}
}

func TestReplyReturnsTheNotificationsThatCameBeforeIt(t *testing.T) {
	addr := fakeZK(t, func(t *testing.T, conn net.Conn) {
		serverHandshake(t, conn)
		h, d := serverRequest(t, conn)
		var req jute.PathWatchRequest
		req.Decode(d)
		if h.Xid != 5 || h.Type != jute.OpGetData || req.Path != "/x" || !req.Watch {
			t.Errorf("fake server: request %+v %+v", h, req)
		}
		serverWrite(t, conn, &jute.ReplyHeader{Xid: jute.XidNotification, Zxid: -1},
			&jute.WatcherEvent{Type: jute.EventNodeCreated, State: jute.StateSyncConnected, Path: "/x"})
		serverWrite(t, conn, &jute.ReplyHeader{Xid: jute.XidNotification, Zxid: -1},
			&jute.WatcherEvent{Type: jute.EventNodeChildrenChanged, State: jute.StateSyncConnected, Path: "/"})
		serverWrite(t, conn, &jute.ReplyHeader{Xid: 5, Zxid: 9}, &jute.GetDataResponse{Data: []byte("d")})
	})
	c := ConnectRaw(t, addr)
	c.Send(5, jute.OpGetData, &jute.PathWatchRequest{Path: "/x", Watch: true})
	h, d, events := c.Reply()
	var resp jute.GetDataResponse
	resp.Decode(d)
	var got []string
	for _, ev := range events {
		got = append(got, ev.Type.String()+" "+ev.Path)
	}
	if h.Xid != 5 || h.Zxid != 9 || string(resp.Data) != "d" ||
		!slices.Equal(got, []string{"NodeCreated /x", "NodeChildrenChanged /"}) {
		t.Errorf("reply %+v data %q events %v", h, resp.Data, got)
	}
}

func TestCallDecodesTheBodyAndAcceptsThePingXid(t *testing.T) {
	addr := fakeZK(t, func(t *testing.T, conn net.Conn) {
		serverHandshake(t, conn)
		serverRequest(t, conn)
		serverWrite(t, conn, &jute.ReplyHeader{Xid: jute.XidPing, Zxid: 3})
		serverRequest(t, conn)
		serverWrite(t, conn, &jute.ReplyHeader{Xid: 8, Zxid: 3}, &jute.IntResponse{Value: 6})
	})
	c := ConnectRaw(t, addr)
	if h := c.Call(42, jute.OpPing, nil, nil); h.Xid != jute.XidPing {
		t.Errorf("ping reply %+v", h)
	}
	var n jute.IntResponse
	if h := c.Call(8, jute.OpGetAllChildrenNumber, &jute.PathRequest{Path: "/"}, &n); h.Err != jute.OK || n.Value != 6 {
		t.Errorf("reply %+v, count %d", h, n.Value)
	}
}

func TestReplyOrClosedAndPingReportAClose(t *testing.T) {
	addr := fakeZK(t, func(t *testing.T, conn net.Conn) {
		serverHandshake(t, conn)
		serverRequest(t, conn)
		serverWrite(t, conn, &jute.ReplyHeader{Xid: 1, Zxid: -1, Err: jute.ErrUnimplemented})
	})
	c := ConnectRaw(t, addr)
	c.Send(1, 99, nil)
	h, _, _, closed := c.ReplyOrClosed()
	if closed || h.Err != jute.ErrUnimplemented || h.Zxid != -1 {
		t.Fatalf("first ReplyOrClosed: %+v closed=%v", h, closed)
	}
	if _, _, _, closed := c.ReplyOrClosed(); !closed {
		t.Error("second ReplyOrClosed did not report the close")
	}
	if _, closed := c.Ping(); !closed {
		t.Error("Ping on a closed connection did not report the close")
	}
}

func TestPingCollectsQueuedNotifications(t *testing.T) {
	addr := fakeZK(t, func(t *testing.T, conn net.Conn) {
		serverHandshake(t, conn)
		if h, _ := serverRequest(t, conn); h.Type != jute.OpPing || h.Xid != jute.XidPing {
			t.Errorf("fake server: got %+v, want a ping", h)
		}
		serverWrite(t, conn, &jute.ReplyHeader{Xid: jute.XidNotification, Zxid: -1},
			&jute.WatcherEvent{Type: jute.EventNodeDeleted, State: jute.StateSyncConnected, Path: "/gone"})
		serverWrite(t, conn, &jute.ReplyHeader{Xid: jute.XidPing, Zxid: 4})
	})
	c := ConnectRaw(t, addr)
	events, closed := c.Ping()
	if closed || len(events) != 1 || events[0].Type != jute.EventNodeDeleted || events[0].Path != "/gone" {
		t.Errorf("Ping: events %+v closed %v", events, closed)
	}
}

func TestNextFrameTellsATimeoutFromAClose(t *testing.T) {
	release := make(chan struct{})
	addr := fakeZK(t, func(t *testing.T, conn net.Conn) {
		serverHandshake(t, conn)
		<-release
	})
	c := ConnectRaw(t, addr)
	if _, err := c.NextFrame(50 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("NextFrame with nothing sent: %v, want a deadline error", err)
	}
	close(release)
	if _, err := c.NextFrame(RawWait); !errors.Is(err, ErrConnClosed) {
		t.Errorf("NextFrame after the server closed: %v, want ErrConnClosed", err)
	}
	c.ExpectClosed()
}

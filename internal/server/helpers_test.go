package server

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// startServer runs a standalone server on a free loopback port for the
// test's lifetime.
func startServer(t testing.TB, tweak func(*config.Config)) *Server {
	t.Helper()
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	if tweak != nil {
		tweak(cfg)
	}
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// zkConnect opens a go-zookeeper session (an independent client) and waits
// until it has a session.
func zkConnect(t testing.TB, s *Server, opts ...func(*zk.Conn)) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{s.Addr().String()}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(testLogger{t}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				go func() {
					for range events {
					}
				}()
				return conn
			}
		case <-deadline:
			t.Fatal("no session within 10s")
		}
	}
}

type testLogger struct{ t testing.TB }

func (l testLogger) Printf(format string, args ...any) {}

// rawClient speaks the wire protocol directly, for byte-level checks and
// opcodes go-zookeeper lacks.
type rawClient struct {
	t       testing.TB
	nc      net.Conn
	session jute.SessionID
	passwd  []byte
	timeout int32
}

func rawDial(t testing.TB, s *Server) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawClient{t: t, nc: nc}
}

// rawConnect dials and completes a handshake for a new session.
func rawConnect(t testing.TB, s *Server) *rawClient {
	c := rawDial(t, s)
	resp := c.handshake(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16), HasReadOnly: true})
	if resp.SessionID == 0 {
		t.Fatal("handshake refused")
	}
	return c
}

func (c *rawClient) writeFrame(payload []byte) {
	c.t.Helper()
	buf := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	if _, err := c.nc.Write(append(buf, payload...)); err != nil {
		c.t.Fatal(err)
	}
}

// readFrame returns the next frame, or nil at EOF.
func (c *rawClient) readFrame() []byte {
	c.t.Helper()
	var l [4]byte
	if _, err := io.ReadFull(c.nc, l[:]); err != nil {
		return nil
	}
	buf := make([]byte, binary.BigEndian.Uint32(l[:]))
	if _, err := io.ReadFull(c.nc, buf); err != nil {
		c.t.Fatal(err)
	}
	return buf
}

func (c *rawClient) handshake(req *jute.ConnectRequest) *jute.ConnectResponse {
	c.t.Helper()
	c.writeFrame(jute.Encode(req))
	frame := c.readFrame()
	if frame == nil {
		return nil
	}
	var resp jute.ConnectResponse
	if err := jute.Decode(frame, &resp); err != nil {
		c.t.Fatal(err)
	}
	c.session, c.passwd, c.timeout = resp.SessionID, resp.Passwd, resp.Timeout
	return &resp
}

func (c *rawClient) send(xid int32, op jute.OpCode, body jute.Encodable) {
	c.t.Helper()
	e := jute.NewEncoder(nil)
	h := jute.RequestHeader{Xid: xid, Type: op}
	h.Encode(e)
	if body != nil {
		body.Encode(e)
	}
	c.writeFrame(e.Bytes())
}

// reply reads frames until a non-notification one arrives and returns its
// header and body decoder; notifications seen on the way are returned too.
func (c *rawClient) reply() (jute.ReplyHeader, *jute.Decoder, []jute.WatcherEvent) {
	c.t.Helper()
	var events []jute.WatcherEvent
	for {
		frame := c.readFrame()
		if frame == nil {
			c.t.Fatal("connection closed while waiting for a reply")
		}
		d := jute.NewDecoder(frame)
		var h jute.ReplyHeader
		h.Decode(d)
		if h.Xid == jute.XidNotification {
			var ev jute.WatcherEvent
			ev.Decode(d)
			events = append(events, ev)
			continue
		}
		return h, d, events
	}
}

// call sends one request and decodes its reply into resp (if non-nil and
// the reply is not an error).
func (c *rawClient) call(xid int32, op jute.OpCode, body jute.Encodable, resp jute.Record) jute.ReplyHeader {
	c.t.Helper()
	c.send(xid, op, body)
	h, d, _ := c.reply()
	if h.Xid != xid && !(op == jute.OpPing && h.Xid == jute.XidPing) {
		c.t.Fatalf("reply xid %d, want %d", h.Xid, xid)
	}
	if resp != nil && h.Err == jute.OK {
		resp.Decode(d)
		if d.Err() != nil {
			c.t.Fatal(d.Err())
		}
	}
	return h
}

// expectClosed waits for the server to close the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	for {
		if c.readFrame() == nil {
			return
		}
	}
}

var openACL = []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}

// readEvents reads one frame and returns the notifications in it (none if
// it was a reply).
func (c *rawClient) readEvents() (jute.ReplyHeader, *jute.Decoder, []jute.WatcherEvent) {
	c.t.Helper()
	frame := c.readFrame()
	if frame == nil {
		c.t.Fatal("connection closed")
	}
	d := jute.NewDecoder(frame)
	var h jute.ReplyHeader
	h.Decode(d)
	if h.Xid != jute.XidNotification {
		return h, d, nil
	}
	var ev jute.WatcherEvent
	ev.Decode(d)
	return h, d, []jute.WatcherEvent{ev}
}

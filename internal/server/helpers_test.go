package server

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/testcluster"
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
	cfg.Props["zookeeper.admin.enableServer"] = "false"
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
	return zkConnectAddrs(t, 10*time.Second, s.Addr().String())
}

// zkConnectAddrs opens a go-zookeeper session to any of addrs and waits
// until it has a session.
func zkConnectAddrs(t testing.TB, timeout time.Duration, addrs ...string) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect(addrs, timeout, zk.WithLogInfo(false), zk.WithLogger(testLogger{t}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	deadline := time.After(15 * time.Second)
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
			t.Fatal("no session within 15s")
		}
	}
}

type testLogger struct{ t testing.TB }

func (l testLogger) Printf(format string, args ...any) {}

// rawClient is testcluster.RawClient under the names this package's tests
// use: it speaks the wire protocol directly, for byte-level checks and
// opcodes go-zookeeper lacks. session and passwd follow the last handshake.
type rawClient struct {
	*testcluster.RawClient
	t       testing.TB
	nc      net.Conn
	session jute.SessionID
	passwd  []byte
}

func rawDial(t testing.TB, s *Server) *rawClient {
	t.Helper()
	c := testcluster.DialRaw(t, s.Addr().String())
	return &rawClient{RawClient: c, t: t, nc: c.Conn()}
}

// rawConnect dials and completes a handshake for a new session.
func rawConnect(t testing.TB, s *Server) *rawClient {
	t.Helper()
	c := testcluster.ConnectRaw(t, s.Addr().String())
	return &rawClient{RawClient: c, t: t, nc: c.Conn(), session: c.SessionID(), passwd: c.Passwd()}
}

func (c *rawClient) handshake(req *jute.ConnectRequest) *jute.ConnectResponse {
	c.t.Helper()
	resp := c.Handshake(req)
	c.session, c.passwd = c.SessionID(), c.Passwd()
	return resp
}

func (c *rawClient) writeFrame(payload []byte) {
	c.t.Helper()
	c.WriteFrame(payload)
}

// readFrame returns the next frame, or nil at EOF.
func (c *rawClient) readFrame() []byte {
	c.t.Helper()
	return c.ReadFrame()
}

func (c *rawClient) send(xid int32, op jute.OpCode, body jute.Encodable) {
	c.t.Helper()
	c.Send(xid, op, body)
}

// reply reads frames until a non-notification one arrives and returns its
// header and body decoder; notifications seen on the way are returned too.
func (c *rawClient) reply() (jute.ReplyHeader, *jute.Decoder, []jute.WatcherEvent) {
	c.t.Helper()
	return c.Reply()
}

// call sends one request and decodes its reply into resp (if non-nil and
// the reply is not an error).
func (c *rawClient) call(xid int32, op jute.OpCode, body jute.Encodable, resp jute.Record) jute.ReplyHeader {
	c.t.Helper()
	return c.Call(xid, op, body, resp)
}

// expectClosed waits for the server to close the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	c.ExpectClosed()
}

// readEvents reads one frame and returns the notifications in it (none if
// it was a reply).
func (c *rawClient) readEvents() (jute.ReplyHeader, *jute.Decoder, []jute.WatcherEvent) {
	c.t.Helper()
	return c.ReadEvents()
}

var openACL = []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}

package client

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// pipeDialerN makes the Client's first n dials return pipes whose other
// ends are the returned fake servers, in order; later dials fail.
func pipeDialerN(t testing.TB, n int) (Option, []*fakeServer) {
	ch := make(chan net.Conn, n)
	var srvs []*fakeServer
	for range n {
		cli, srv := net.Pipe()
		t.Cleanup(func() { cli.Close(); srv.Close() })
		ch <- cli
		srvs = append(srvs, &fakeServer{t: t, nc: srv})
	}
	return WithDialer(func(ctx context.Context, _, _ string) (net.Conn, error) {
		select {
		case c := <-ch:
			return c, nil
		default:
			return nil, errors.New("no more connections")
		}
	}), srvs
}

// digestLike is a test mechanism shaped like DIGEST-MD5: an empty initial
// token, one challenge answered with the password, then a final message
// the client checks and answers with nothing.
type digestLike struct{ password string }

func (m *digestLike) Start() ([]byte, error) { return nil, nil }

func (m *digestLike) Next(ch []byte) ([]byte, bool, error) {
	switch string(ch) {
	case "challenge":
		return []byte("response:" + m.password), false, nil
	case "rspauth=ok":
		return nil, true, nil
	}
	return nil, false, errors.New("bad final message from the server")
}

func withDigestLike(password string, hosts chan<- string) Option {
	return WithSASL(func(host string) (SASLMechanism, error) {
		if hosts != nil {
			hosts <- host
		}
		return &digestLike{password: password}, nil
	})
}

// header decodes a request frame's xid and opcode and returns its body.
func header(t testing.TB, frame []byte) (int32, jute.OpCode, *jute.Decoder) {
	t.Helper()
	d := jute.NewDecoder(frame)
	xid := d.Int()
	op := jute.OpCode(d.Int())
	if d.Err() != nil {
		t.Errorf("request frame %x: %v", frame, d.Err())
	}
	return xid, op, d
}

// expectSASL reads a sasl request and checks its xid and token.
func (f *fakeServer) expectSASL(wantXid int32, wantToken string) {
	f.t.Helper()
	xid, op, d := header(f.t, f.read())
	tok := d.BufferCopy()
	if xid != wantXid || op != jute.OpSASL || string(tok) != wantToken || tok == nil {
		f.t.Errorf("got xid %d op %v token %q, want a sasl request xid %d token %q", xid, op, tok, wantXid, wantToken)
	}
}

// handshake answers the ConnectRequest with the captured ConnectResponse.
func (f *fakeServer) handshake() {
	f.read()
	f.write(unhex(f.t, capturedConnectResponse))
}

// saslSucceeds plays the server's side of a successful digestLike exchange
// whose requests use xids first and first+1.
func (f *fakeServer) saslSucceeds(first int32) {
	f.expectSASL(first, "")
	f.reply(first, 0, &jute.SASLToken{Token: []byte("challenge")})
	f.expectSASL(first+1, "response:secret")
	f.reply(first+1, 0, &jute.SASLToken{Token: []byte("rspauth=ok")})
}

// Captured from Apache ZooKeeper 3.8.0 refusing a DIGEST-MD5 response
// (wrong password) to a sasl request with xid 2: header {2, 0, AUTHFAILED}
// then a null token; then it closed the connection.
const capturedSASLRefusal = "00000014 00000002 00000000 00000000 ffffff8d ffffffff"

func nextState(t testing.TB, c *Client) StateEvent {
	t.Helper()
	select {
	case ev := <-c.Events():
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no state event within 10s")
		return StateEvent{}
	}
}

func expectStates(t testing.TB, c *Client, want ...State) {
	t.Helper()
	for _, w := range want {
		if ev := nextState(t, c); ev.State != w {
			t.Fatalf("state event %v (err %v), want %v", ev.State, ev.Err, w)
		}
	}
}

func TestSASLRunsFirstOnEveryConnectionWithOrdinaryXids(t *testing.T) {
	dial, srvs := pipeDialerN(t, 2)
	hosts := make(chan string, 2)
	queued := make(chan struct{})
	go func() {
		s := srvs[0]
		s.handshake()
		// Java's first sasl request: xid 1, an empty token
		// (000000010000006600000000, captured from zkCli against 3.8).
		if got, want := s.read(), unhex(t, "00000001 00000066 00000000"); !bytes.Equal(got, want) {
			t.Errorf("first sasl request %x, want %x", got, want)
		}
		s.reply(1, 0, &jute.SASLToken{Token: []byte("challenge")})
		s.expectSASL(2, "response:secret")
		s.reply(2, 0, &jute.SASLToken{Token: []byte("rspauth=ok")})
		if xid, op, _ := header(t, s.read()); xid != jute.XidAuth || op != jute.OpAuth {
			t.Errorf("got xid %d op %v, want the auth", xid, op)
		}
		s.reply(jute.XidAuth, 0, nil)
		s.nc.Close()

		// The second connection: the exchange again, before the
		// credential and the getData that waited for the connection.
		s = srvs[1]
		s.handshake()
		<-queued
		s.saslSucceeds(3)
		if xid, op, _ := header(t, s.read()); xid != jute.XidAuth || op != jute.OpAuth {
			t.Errorf("got xid %d op %v, want the auth replayed", xid, op)
		}
		s.reply(jute.XidAuth, 0, nil)
		xid, op, _ := header(t, s.read())
		if xid != 5 || op != jute.OpGetData {
			t.Errorf("got xid %d op %v, want getData xid 5", xid, op)
		}
		s.reply(xid, 9, &jute.GetDataResponse{Data: []byte("d")})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, []string{"zk1.example:2181"}, dial, withDigestLike("secret", hosts), WithBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		srvs[1].nc.Close()
		c.Close(ctx)
	}()
	if h := <-hosts; h != "zk1.example" {
		t.Fatalf("mechanism made for host %q", h)
	}
	expectStates(t, c, StateConnected, StateSaslAuthenticated)
	if err := c.AddAuth(ctx, "digest", []byte("u:p")); err != nil {
		t.Fatal(err)
	}
	expectStates(t, c, StateDisconnected, StateConnected)
	got := make(chan error, 1)
	go func() {
		_, _, err := c.Get(ctx, "/x")
		got <- err
	}()
	for {
		c.mu.Lock()
		n := len(c.queue)
		c.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(queued)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	expectStates(t, c, StateSaslAuthenticated)
	if h := <-hosts; h != "zk1.example" {
		t.Fatalf("second mechanism made for host %q", h)
	}
}

func TestARefusedSASLExchangeFailsConnect(t *testing.T) {
	dial, srvs := pipeDialerN(t, 1)
	go func() {
		s := srvs[0]
		s.handshake()
		s.expectSASL(1, "")
		s.reply(1, 0, &jute.SASLToken{Token: []byte("challenge")})
		s.expectSASL(2, "response:wrong")
		s.write(unhex(t, capturedSASLRefusal))
		s.nc.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, []string{"zk1:2181"}, dial, withDigestLike("wrong", nil))
	if err == nil {
		c.Close(ctx)
		t.Fatal("Connect succeeded")
	}
	var se *SASLError
	if !errors.Is(err, ErrAuthFailed) || !errors.As(err, &se) || se.Err != ErrAuthFailed || se.Server != "zk1:2181" {
		t.Fatalf("err = %v, want a SASLError from zk1:2181 refusing with AUTHFAILED", err)
	}
}

func TestASASLRefusalOnAReconnectStopsTheClient(t *testing.T) {
	dial, srvs := pipeDialerN(t, 2)
	go func() {
		srvs[0].handshake()
		srvs[0].saslSucceeds(1)
		srvs[0].nc.Close()
		s := srvs[1]
		s.handshake()
		s.expectSASL(3, "")
		s.reply(3, 0, &jute.SASLToken{Token: []byte("challenge")})
		s.expectSASL(4, "response:secret")
		s.reply(4, 0, &jute.SASLToken{Token: []byte("rspauth=forged")})
		s.nc.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, []string{"zk1"}, dial, withDigestLike("secret", nil), WithBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	expectStates(t, c, StateConnected, StateSaslAuthenticated, StateDisconnected, StateConnected)
	ev := nextState(t, c)
	var se *SASLError
	if ev.State != StateAuthFailed || !errors.As(ev.Err, &se) || se.Err.Error() != "bad final message from the server" {
		t.Fatalf("state event %v %v, want AuthFailed with the mechanism's error", ev.State, ev.Err)
	}
	if _, _, err := c.Get(ctx, "/"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("get after AuthFailed: %v", err)
	}
	if c.State() != StateAuthFailed || !errors.Is(c.Err(), ErrAuthFailed) {
		t.Fatalf("state %v err %v", c.State(), c.Err())
	}
}

// gssapiLike ends, as GSSAPI does, with a token sent after the mechanism
// is done (the security layer choice), which the server answers.
type gssapiLike struct{}

func (gssapiLike) Start() ([]byte, error) { return []byte("init"), nil }

func (gssapiLike) Next(ch []byte) ([]byte, bool, error) {
	if string(ch) == "wrap" {
		return []byte("layer"), true, nil
	}
	return nil, false, errors.New("unexpected token")
}

func TestAFinalTokenIsSentAndItsAnswerEndsTheExchange(t *testing.T) {
	dial, srvs := pipeDialerN(t, 1)
	go func() {
		s := srvs[0]
		s.handshake()
		s.expectSASL(1, "init")
		s.reply(1, 0, &jute.SASLToken{Token: []byte("wrap")})
		s.expectSASL(2, "layer")
		s.reply(2, 0, &jute.SASLToken{})
		xid, op, _ := header(t, s.read())
		if op != jute.OpGetData {
			t.Errorf("got op %v after the exchange, want getData", op)
		}
		s.reply(xid, 1, &jute.GetDataResponse{})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, []string{"zk1"}, dial, WithSASL(func(string) (SASLMechanism, error) { return gssapiLike{}, nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		srvs[0].nc.Close()
		c.Close(ctx)
	}()
	if _, _, err := c.Get(ctx, "/"); err != nil {
		t.Fatal(err)
	}
}

func TestAMechanismThatCannotStartFailsConnect(t *testing.T) {
	dial, srvs := pipeDialerN(t, 1)
	go srvs[0].handshake()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Connect(ctx, []string{"zk1"}, dial, WithSASL(func(string) (SASLMechanism, error) {
		return nil, errors.New("no Kerberos ticket")
	}))
	if !errors.Is(err, ErrAuthFailed) || !bytes.Contains([]byte(err.Error()), []byte("no Kerberos ticket")) {
		t.Fatalf("err = %v, want AuthFailed naming the mechanism's error", err)
	}
}

package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// Client is a ZooKeeper session, kept alive across connections. It is safe
// for concurrent use.
type Client struct {
	opts    options
	servers []string
	log     *slog.Logger
	rnd     *rand.Rand // used by Connect, then only by the session loop

	ctx    context.Context // cancelled by Close: stops dialing and backoff
	cancel context.CancelFunc

	lastZxid atomic.Int64 // highest zxid seen in a reply (§3.4), sent as lastZxidSeen
	xid      int32        // last xid used; touched only by the current writer

	wakeCh    chan struct{} // cap 1: the queue has requests for the writer
	watches   *watchRegistry
	states    *eventQueue[StateEvent]
	firstConn chan struct{} // closed when the first session is established
	// firstRound is closed when every server has failed a connection
	// attempt before any succeeded; with WithFailFast, Connect then gives
	// up.
	firstRound chan struct{}
	firstOnce  sync.Once
	loopDone   chan struct{} // closed when the session loop returns
	closeDone  chan struct{} // closed when Close has finished
	ended      chan struct{} // closed when done is set: Done's channel

	mu         sync.Mutex // guards the fields below; never held across I/O
	state      State
	sessionID  int64
	passwd     []byte
	timeout    time.Duration // negotiated session timeout
	queue      []*request    // requests waiting for a connection's writer, in call order
	auths      []jute.AuthPacket
	authFailed bool  // the server refused credentials; the session loop stops
	authErr    error // why, when it was a SASL exchange (a *SASLError)
	closing    bool  // Close has begun: the session loop must not reconnect
	loopExited bool  // the session loop has returned; nothing sends the queue
	closed     bool  // Close was called
	done       error // set once the Client has stopped: ErrSessionExpired, ErrAuthFailed (or a *SASLError) or ErrClosed
	cur        *conn // the live connection, if any
	lastErr    error // why the last connection attempt failed
	forwarders map[*Watcher]struct{}

	// wg counts the session loop, the state-event forwarder and the
	// Watcher forwarders. The loop waits for each connection's reader and
	// writer before it returns.
	wg sync.WaitGroup
}

// Connect establishes a session with one of servers ("host:port"; the port
// defaults to 2181; an entry may list several, comma-separated) and returns
// the Client that keeps it. Servers are tried in a random order, each for
// at most the session timeout divided by the number of servers, until one
// accepts or ctx ends. ctx bounds only the connection; the Client lives
// until Close or the end of its session.
func Connect(ctx context.Context, servers []string, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	addrs, err := parseServers(servers)
	if err != nil {
		return nil, err
	}
	switch {
	case o.sessionTimeout <= 0:
		return nil, fmt.Errorf("zookeeper: session timeout %v is not positive", o.sessionTimeout)
	case o.minBackoff <= 0 || o.maxBackoff < o.minBackoff:
		return nil, fmt.Errorf("zookeeper: backoff bounds %v, %v: want 0 < min <= max", o.minBackoff, o.maxBackoff)
	case o.maxFrame <= 0:
		return nil, fmt.Errorf("zookeeper: maximum frame size %d is not positive", o.maxFrame)
	}
	seed := o.seed
	if !o.seeded {
		seed = rand.Uint64()
	}
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	if !o.fixedOrder {
		rnd.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	}
	c := &Client{
		opts:       o,
		servers:    addrs,
		log:        o.log,
		rnd:        rnd,
		wakeCh:     make(chan struct{}, 1),
		watches:    newWatchRegistry(),
		states:     newEventQueue[StateEvent](16, 1024),
		firstConn:  make(chan struct{}),
		firstRound: make(chan struct{}),
		loopDone:   make(chan struct{}),
		closeDone:  make(chan struct{}),
		ended:      make(chan struct{}),
		state:      StateDisconnected,
		forwarders: make(map[*Watcher]struct{}),
		sessionID:  o.sessionID,
		passwd:     slices.Clone(o.sessionPasswd),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.states.run()
	}()
	go func() {
		defer c.wg.Done()
		c.run()
	}()
	select {
	case <-c.firstConn:
		return c, nil
	case <-c.loopDone:
		// The session ended before it was established: a session given
		// to WithSession that the server no longer has.
		select {
		case <-c.firstConn:
			return c, nil
		default:
		}
		c.mu.Lock()
		done := c.done
		c.mu.Unlock()
		if done == nil {
			done = ErrClosed
		}
		c.shutdown()
		return nil, fmt.Errorf("zookeeper: connect to %s: %w", strings.Join(addrs, ","), done)
	case <-c.firstRound: // closed only with WithFailFast
		c.mu.Lock()
		last := c.lastErr
		c.mu.Unlock()
		c.shutdown()
		return nil, fmt.Errorf("zookeeper: connect to %s: %w (last attempt: %v)", strings.Join(addrs, ","), ErrConnectionLoss, last)
	case <-ctx.Done():
		select {
		case <-c.firstConn:
			return c, nil
		default:
		}
		c.mu.Lock()
		last := c.lastErr
		c.mu.Unlock()
		c.shutdown()
		if last != nil {
			return nil, fmt.Errorf("zookeeper: connect to %s: %w (last attempt: %v)", strings.Join(addrs, ","), ctx.Err(), last)
		}
		return nil, fmt.Errorf("zookeeper: connect to %s: %w", strings.Join(addrs, ","), ctx.Err())
	}
}

func parseServers(servers []string) ([]string, error) {
	var out []string
	for _, s := range servers {
		for _, a := range strings.Split(s, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			if strings.Contains(a, "/") {
				return nil, fmt.Errorf("zookeeper: server %q: chroot paths are not supported", a)
			}
			if _, _, err := net.SplitHostPort(a); err != nil {
				a = net.JoinHostPort(strings.Trim(a, "[]"), "2181")
				if _, _, err := net.SplitHostPort(a); err != nil {
					return nil, fmt.Errorf("zookeeper: server %q: %w", a, err)
				}
			}
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("zookeeper: no servers given")
	}
	return out, nil
}

// Events returns the channel on which the Client reports state changes,
// starting with the Connected of Connect. Unread events queue (the oldest
// are dropped beyond 1024). The channel is closed by Close, after a final
// Closed (or, if the session had expired, after Expired).
func (c *Client) Events() <-chan StateEvent { return c.states.out }

// State returns the Client's current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// SessionID returns the session's id.
func (c *Client) SessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// Done returns a channel that is closed when the Client has stopped for
// good: its session expired, the server refused its credentials, or Close
// was called. Err then says which. Unlike Events, any number of goroutines
// may wait on it.
func (c *Client) Done() <-chan struct{} { return c.ended }

// Err returns nil while the Client runs, and once Done is closed the
// reason it stopped: ErrSessionExpired, ErrAuthFailed (a refused SASL
// exchange gives a *SASLError, which matches it) or ErrClosed.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

// SessionPassword returns the session's password, which with SessionID lets
// another Client take the session over (WithSession): the password the
// server gave, or the one passed to WithSession.
func (c *Client) SessionPassword() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.passwd)
}

// SessionTimeout returns the session timeout the server granted.
func (c *Client) SessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
}

// Close ends the session: it sends closeSession, which makes the server
// delete the session's ephemeral nodes, and waits for the answer (at most
// until ctx ends or the session timeout passes). Then it stops every
// goroutine of the Client; watches receive a final event and later calls
// fail with ErrClosed. If the Client is not connected, no closeSession is
// sent and the session expires on the server by itself. Close returns an
// error only if the closeSession exchange failed; the Client is closed
// either way. Calling Close again waits for the first call and returns nil.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		select {
		case <-c.closeDone:
		case <-ctx.Done():
		}
		return nil
	}
	c.closed = true
	c.closing = true
	live := c.done == nil && (c.state == StateConnected || c.state == StateConnectedReadOnly)
	timeout := c.timeout
	c.mu.Unlock()
	var err error
	if live {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err = wrap("closeSession", "", c.do(cctx, newRequest(jute.OpCloseSession, nil, nil)))
		cancel()
	}
	c.shutdown()
	close(c.closeDone)
	return err
}

// shutdown stops the Client for good and waits for its goroutines.
func (c *Client) shutdown() {
	c.terminate(ErrClosed, StateClosed)
	c.cancel()
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	if cn != nil {
		cn.fail(ErrClosed)
	}
	<-c.loopDone
	c.states.stop()
	c.mu.Lock()
	fw := make([]*Watcher, 0, len(c.forwarders))
	for w := range c.forwarders {
		fw = append(fw, w)
	}
	c.mu.Unlock()
	for _, w := range fw {
		w.q.stop()
	}
	c.wg.Wait()
}

// terminate makes the Client's end final: queued requests and later calls
// fail with err, every watch gets its last event, and a StateEvent reports
// st. Only the first call has any effect.
func (c *Client) terminate(err error, st State) {
	c.mu.Lock()
	if c.done != nil {
		c.mu.Unlock()
		return
	}
	c.done = err
	close(c.ended)
	c.state = st
	q := c.queue
	c.queue = nil
	sid := c.sessionID
	c.mu.Unlock()
	for _, r := range q {
		r.complete(err, false)
	}
	c.watches.finish(Event{Type: EventNone, State: st, Err: err})
	c.states.push(StateEvent{State: st, SessionID: sid, Err: err})
	if st != StateClosed {
		c.log.Warn("zookeeper session ended", "session", sessionString(sid), "state", st.String(), "err", err)
	}
}

// run is the session loop: connect, serve the connection until it fails,
// back off, reconnect, until the session ends or Close.
func (c *Client) run() {
	defer close(c.loopDone)
	defer c.exitLoop()
	failures := 0 // consecutive attempts that failed (or connections that died young)
	for i := 0; ; i++ {
		if i > 0 && !c.sleep(c.backoff(failures)) {
			return
		}
		addr := c.servers[i%len(c.servers)]
		cn, resp, err := c.connect(addr)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			if errors.Is(err, errSessionInvalid) {
				c.terminate(ErrSessionExpired, StateExpired)
				return
			}
			c.mu.Lock()
			c.lastErr = err
			var failed []*request
			if c.opts.failFast {
				failed, c.queue = c.queue, nil
			}
			c.mu.Unlock()
			if c.opts.failFast && i+1 == len(c.servers) {
				select {
				case <-c.firstConn:
				default:
					close(c.firstRound) // Connect gives up
				}
			}
			for _, r := range failed {
				r.complete(ErrConnectionLoss, false) // never sent
			}
			c.log.Debug("zookeeper connection attempt failed", "server", addr, "err", err)
			failures++
			continue
		}
		lived, cause := c.serve(cn, resp)
		c.mu.Lock()
		authFailed, stop := c.authFailed, c.closing || c.done != nil
		authErr := c.authErr
		sid := c.sessionID
		c.mu.Unlock()
		if authFailed {
			if authErr == nil {
				authErr = ErrAuthFailed
			}
			c.terminate(authErr, StateAuthFailed)
			return
		}
		if stop || c.ctx.Err() != nil {
			return
		}
		c.log.Info("zookeeper connection lost", "server", addr, "session", sessionString(sid), "err", cause)
		c.states.push(StateEvent{State: StateDisconnected, SessionID: sid, Server: addr, Err: cause})
		// A connection that dies young does not reset the backoff, so a
		// server that accepts and drops clients is not hammered.
		if lived >= cn.readTimeout {
			failures = 0
		} else {
			failures++
		}
	}
}

// exitLoop runs as the session loop returns: nothing will send the queue
// any more, so what waits in it fails.
func (c *Client) exitLoop() {
	c.mu.Lock()
	c.loopExited = true
	q := c.queue
	c.queue = nil
	err := c.done
	if err == nil {
		err = ErrClosed
	}
	c.mu.Unlock()
	for _, r := range q {
		r.complete(err, false)
	}
}

// backoff returns the delay before the next attempt: full jitter over
// min·2^failures, capped by the maximum and by a third of the session
// timeout so several attempts fit before the session could expire.
func (c *Client) backoff(failures int) time.Duration {
	ceiling := c.opts.maxBackoff
	c.mu.Lock()
	timeout := c.timeout
	c.mu.Unlock()
	if timeout == 0 {
		timeout = c.opts.sessionTimeout
	}
	ceiling = min(ceiling, timeout/3)
	d := ceiling
	if failures < 30 {
		d = min(ceiling, c.opts.minBackoff<<failures)
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(c.rnd.Int64N(int64(d)))
}

// sleep waits d, or until Close; it reports false on Close.
func (c *Client) sleep(d time.Duration) bool {
	if d <= 0 {
		return c.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// errSessionInvalid is the handshake's answer for a session the server no
// longer has (timeout 0 / session id 0, §2.3).
var errSessionInvalid = errors.New("zookeeper: server reports the session invalid")

// connect dials addr and performs the handshake (§2), resuming the
// session if there is one.
func (c *Client) connect(addr string) (*conn, *jute.ConnectResponse, error) {
	c.mu.Lock()
	sid, passwd := c.sessionID, c.passwd
	c.mu.Unlock()
	requested := c.opts.sessionTimeout
	connectTimeout := requested / time.Duration(len(c.servers))
	if connectTimeout < time.Second {
		connectTimeout = min(time.Second, requested)
	}
	ctx, cancel := context.WithTimeout(c.ctx, connectTimeout)
	defer cancel()
	nc, err := c.opts.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	// Close or the connect timeout aborts the handshake's I/O.
	raw := nc
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if c.opts.tls != nil {
		if nc, err = c.handshakeTLS(ctx, raw, addr); err != nil {
			return nil, nil, err
		}
	}
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	req := &jute.ConnectRequest{
		LastZxidSeen: jute.Zxid(c.lastZxid.Load()),
		Timeout:      int32(min(requested.Milliseconds(), 1<<31-1)),
		SessionID:    jute.SessionID(sid),
		Passwd:       passwd,
		ReadOnly:     c.opts.canBeReadOnly,
		HasReadOnly:  true,
	}
	if _, err := nc.Write(appendFrame(nil, req)); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("send handshake to %s: %w", addr, err)
	}
	frame, err := readFrame(nc, nil, c.opts.maxFrame)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("read handshake reply from %s: %w", addr, err)
	}
	var resp jute.ConnectResponse
	if err := jute.Decode(frame, &resp); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("decode handshake reply from %s: %w", addr, err)
	}
	if resp.Timeout <= 0 || resp.SessionID == 0 {
		nc.Close()
		if sid != 0 {
			return nil, nil, errSessionInvalid
		}
		return nil, nil, fmt.Errorf("server %s refused to create a session", addr)
	}
	if !stop() {
		nc.Close()
		return nil, nil, fmt.Errorf("handshake with %s: %w", addr, ctx.Err())
	}
	nc.SetDeadline(time.Time{})
	return newConn(c, nc, addr, time.Duration(resp.Timeout)*time.Millisecond), &resp, nil
}

// serve runs an established connection until it fails, then fails its
// outstanding requests. It returns how long the connection lived and why
// it ended.
func (c *Client) serve(cn *conn, resp *jute.ConnectResponse) (time.Duration, error) {
	st := StateConnected
	if resp.ReadOnly {
		st = StateConnectedReadOnly
	}
	c.mu.Lock()
	if c.closing || c.done != nil {
		c.mu.Unlock()
		cn.nc.Close()
		return 0, ErrClosed
	}
	c.state = st
	c.sessionID = int64(resp.SessionID)
	c.passwd = resp.Passwd
	c.timeout = time.Duration(resp.Timeout) * time.Millisecond
	c.cur = cn
	auths := slices.Clone(c.auths)
	c.mu.Unlock()
	c.log.Info("zookeeper connected", "server", cn.addr, "session", sessionString(int64(resp.SessionID)),
		"timeout", c.timeout, "read_only", resp.ReadOnly)
	c.states.push(StateEvent{State: st, SessionID: int64(resp.SessionID), Server: cn.addr})

	start := time.Now()
	if err := c.authenticateIfAsked(cn, int64(resp.SessionID)); err != nil {
		cn.fail(err)
	} else {
		c.firstOnce.Do(func() { close(c.firstConn) })
		cn.start(c.setupRequests(auths))
	}
	<-cn.done
	cn.wg.Wait()

	c.mu.Lock()
	c.cur = nil
	failErr := c.done
	if failErr == nil {
		failErr = ErrConnectionLoss
		c.state = StateDisconnected
	}
	c.mu.Unlock()
	cn.failPending(failErr)
	return time.Since(start), cn.err
}

// authenticateIfAsked runs the SASL exchange when WithSASL asked for one
// and reports its success as a StateSaslAuthenticated event. A refusal
// marks the Client for stopping (the session loop ends it with the
// *SASLError).
func (c *Client) authenticateIfAsked(cn *conn, sid int64) error {
	if c.opts.sasl == nil {
		return nil
	}
	err := c.authenticate(cn)
	switch {
	case err == nil:
		c.log.Info("zookeeper SASL authentication succeeded", "server", cn.addr, "session", sessionString(sid))
		c.states.push(StateEvent{State: StateSaslAuthenticated, SessionID: sid, Server: cn.addr})
	case isSASLError(err):
		c.mu.Lock()
		c.authFailed = true
		c.authErr = err
		c.mu.Unlock()
	}
	return err
}

// setupRequests are what a new connection sends before anything else, as
// the Java client does (§2.5): the credentials, then the watches.
func (c *Client) setupRequests(auths []jute.AuthPacket) []*request {
	var out []*request
	for i := range auths {
		r := newRequest(jute.OpAuth, &auths[i], nil)
		r.onReply = c.authReplied(nil)
		out = append(out, r)
	}
	for _, sw := range c.watches.setWatches(c.lastZxid.Load()) {
		op := jute.OpSetWatches
		if sw.V2 {
			op = jute.OpSetWatches2
		}
		out = append(out, newRequest(op, sw, nil))
	}
	return out
}

// authReplied returns the onReply of an auth request: a credential the
// server accepted is kept (if it is new) for replay after reconnects; a
// refusal stops the Client once the server has closed the connection.
func (c *Client) authReplied(keep *jute.AuthPacket) func(error) {
	return func(err error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case errors.Is(err, ErrAuthFailed):
			c.authFailed = true
		case err == nil && keep != nil:
			for _, a := range c.auths {
				if a.Scheme == keep.Scheme && string(a.Auth) == string(keep.Auth) {
					return
				}
			}
			c.auths = append(c.auths, *keep)
		}
	}
}

// noteZxid raises lastZxid to z.
func (c *Client) noteZxid(z int64) {
	for {
		cur := c.lastZxid.Load()
		if z <= cur || c.lastZxid.CompareAndSwap(cur, z) {
			return
		}
	}
}

// nextXid returns the xid for a request: auth uses -4 (§3.3), everything
// else counts up from 1, wrapping back to 1. Only the connection's SASL
// exchange, then its writer, call it.
func (c *Client) nextXid(op jute.OpCode) int32 {
	if op == jute.OpAuth {
		return jute.XidAuth
	}
	if c.xid == 1<<31-1 {
		c.xid = 0
	}
	c.xid++
	return c.xid
}

// request is one call on its way: queued, written, then answered.
type request struct {
	op   jute.OpCode
	body jute.Encodable // nil for requests without a body
	resp jute.Record    // decoded from a successful reply, if not nil
	// onReply runs in the reader when the reply arrives, before the caller
	// wakes; it sees the reply's error (nil on success). It does not run if
	// the request fails without a reply or was abandoned.
	onReply func(error)
	xid     int32 // set by the writer

	state atomic.Int32 // reqWaiting, then reqDone or reqAbandoned
	done  chan struct{}
	err   error // valid once done is closed
}

const (
	reqWaiting int32 = iota
	reqDone
	reqAbandoned // the caller gave up; a reply is discarded
)

func newRequest(op jute.OpCode, body jute.Encodable, resp jute.Record) *request {
	return &request{op: op, body: body, resp: resp, done: make(chan struct{})}
}

// complete finishes r with err; reply says the server answered, so
// onReply runs first. Later calls, or calls after abandon, do nothing.
func (r *request) complete(err error, reply bool) {
	if !r.state.CompareAndSwap(reqWaiting, reqDone) {
		return
	}
	if reply && r.onReply != nil {
		r.onReply(err)
	}
	r.err = err
	close(r.done)
}

func (r *request) abandoned() bool { return r.state.Load() == reqAbandoned }

// enqueue queues r for the writer; it fails if the Client has stopped.
func (c *Client) enqueue(r *request) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	if c.loopExited {
		return ErrClosed
	}
	c.queue = append(c.queue, r)
	return nil
}

func (c *Client) wakeWriter() {
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
}

// do sends r and waits for its outcome.
func (c *Client) do(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.enqueue(r); err != nil {
		return err
	}
	c.wakeWriter()
	return c.wait(ctx, r)
}

// wait waits for r's outcome or for ctx. A request abandoned before it was
// written is never sent; one already written may still take effect.
func (c *Client) wait(ctx context.Context, r *request) error {
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqWaiting, reqAbandoned) {
			c.mu.Lock()
			if i := slices.Index(c.queue, r); i >= 0 {
				c.queue = slices.Delete(c.queue, i, i+1)
			}
			c.mu.Unlock()
			return ctx.Err()
		}
		<-r.done // the reply won the race; onReply has run
		return r.err
	}
}

// call runs one operation and wraps its error.
func (c *Client) call(ctx context.Context, name, path string, op jute.OpCode, body jute.Encodable, resp jute.Record, onReply func(error)) error {
	r := newRequest(op, body, resp)
	r.onReply = onReply
	return wrap(name, path, c.do(ctx, r))
}

// startForwarder runs w's delivery goroutine. The caller holds c.mu and
// has checked that the Client has not stopped, so Close's wait covers it.
func (c *Client) startForwarder(w *Watcher) {
	c.forwarders[w] = struct{}{}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		w.q.run()
		c.mu.Lock()
		delete(c.forwarders, w)
		c.mu.Unlock()
	}()
}

func sessionString(id int64) string { return "0x" + strconv.FormatUint(uint64(id), 16) }

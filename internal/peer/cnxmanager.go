package peer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Election-port wire constants (storage spec §4.1, §4.2).
const (
	// protocolV1 opens the initial message of a dialler that sends one
	// election address.
	protocolV1 int64 = -65536
	// protocolV2 opens the initial message of a multiAddress dialler,
	// whose address field is "host1:port1|host2:port2...".
	protocolV2 int64 = -65535
	// maxAddrLen is the largest address field an acceptor takes.
	maxAddrLen = 2048

	// MaxMessageSize is the largest election message a link carries; a
	// frame announcing more (or a length ≤ 0) closes the link.
	MaxMessageSize = 524288

	// DefaultConnectTimeout is the election dial timeout when
	// CnxConfig.ConnectTimeout is zero (ZooKeeper's cnxTimeout).
	DefaultConnectTimeout = 5 * time.Second
	// DefaultHandshakeTimeout is the initial-message read timeout when
	// CnxConfig.HandshakeTimeout is zero.
	DefaultHandshakeTimeout = 5 * time.Second

	// RecvQueueSize is how many received messages wait for the reader of
	// Recv; when it is full the oldest waiting message is dropped.
	RecvQueueSize = 100
)

// Message is one election message received from, or addressed to, a server.
type Message struct {
	From int64  // sid of the sender
	Data []byte // the message, uninterpreted; owned by the receiver
}

// CnxConfig configures a CnxManager.
type CnxConfig struct {
	// MyID is this server's sid.
	MyID int64
	// ListenAddr is this server's election address, host:port. Port 0
	// picks a free port (for tests); Addr then reports the one chosen.
	// It is also the address sent to peers in the initial message.
	ListenAddr string
	// ListenOnAllIPs binds the listener to every interface on
	// ListenAddr's port instead of to ListenAddr's host
	// (quorumListenOnAllIPs).
	ListenOnAllIPs bool
	// Peers maps the sid of every member of the ensemble, observers
	// included, to its election address host:port. An entry for MyID is
	// ignored.
	Peers map[int64]string
	// ConnectTimeout bounds one dial (cnxTimeout); 0 means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// HandshakeTimeout bounds reading a peer's initial message, and
	// writing our own initial message or one frame; 0 means
	// DefaultHandshakeTimeout. ZooKeeper uses quorumCnxnTimeoutMs, or
	// syncLimit × tickTime when that is unset (spec §5.10).
	HandshakeTimeout time.Duration
	// TLS, when set, runs every election connection over TLS
	// (sslQuorum); the handshake shares HandshakeTimeout.
	TLS *QuorumTLS
	// SASL, when set, authenticates peers right after the initial
	// message (quorum.auth.*); it shares HandshakeTimeout.
	SASL *QuorumSASL
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// CnxManager keeps at most one TCP connection (a link) to each other server
// on the election port, and moves opaque election messages over them
// (storage spec §4.1, §4.2). Of the connections two servers open to each
// other, the one dialled by the larger sid survives.
//
// Sending never blocks: each peer has a send queue of one message, and a
// newer message replaces an unsent older one. Delivery is best effort: a
// message may be lost when a link dies, and the election driver is expected
// to re-send or call ConnectAll on its own timeout (spec §4.4).
//
// The methods are safe for concurrent use.
type CnxManager struct {
	cfg  CnxConfig
	log  *slog.Logger
	recv chan Message // received messages; closed by Close

	ctx    context.Context    // ends every goroutine; set by Start
	cancel context.CancelFunc // cancels ctx; set by Start
	wg     sync.WaitGroup     // every goroutine the manager started

	closeOnce sync.Once

	// mu guards the fields below. It is never held across socket I/O.
	mu       sync.Mutex
	started  bool
	closed   bool // Close was called or the Start context ended
	ln       net.Listener
	myAddr   string                // the address sent in our initial message
	peers    map[int64]*peerState  // by sid; created on first use
	conns    map[net.Conn]struct{} // every open socket, links and handshakes alike
	fatalErr error                 // why the accept loop stopped, if it did on its own
}

// peerState is what the manager knows about one other server. Every field
// is guarded by CnxManager.mu.
type peerState struct {
	addr     string // election address from the configuration; "" if unknown
	queue    []byte // the unsent message (the queue of one); nil when empty
	hasQueue bool   // a message was queued or a link set up: the queue exists (for AnyQueueEmpty)
	last     []byte // the last message taken from the queue to be written
	link     *link  // the live link, or nil
	dialing  bool   // a dial to this peer is in flight
}

// link is one established election connection. Its sender and receiver
// goroutines end when it is closed.
type link struct {
	sid     int64
	conn    net.Conn
	dialled bool          // we dialled it (rather than accepted it)
	wake    chan struct{} // capacity 1: the queue may hold a message
	done    chan struct{} // closed by close
	once    sync.Once
}

// NewCnxManager returns a manager for cfg. Nothing happens on the network
// until Start.
func NewCnxManager(cfg CnxConfig) *CnxManager {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "election-cnx")
	m := &CnxManager{
		cfg:   cfg,
		log:   log,
		recv:  make(chan Message, RecvQueueSize),
		peers: make(map[int64]*peerState),
		conns: make(map[net.Conn]struct{}),
	}
	for sid, addr := range cfg.Peers {
		if sid != cfg.MyID {
			m.peers[sid] = &peerState{addr: addr}
		}
	}
	return m
}

// Start listens on the election address and starts accepting peers. The
// manager runs until ctx ends or Close is called; Close must be called
// either way to wait for it and release Recv's readers.
func (m *CnxManager) Start(ctx context.Context) error {
	host, port, err := net.SplitHostPort(m.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("election listen address %q: %w", m.cfg.ListenAddr, err)
	}
	bind := m.cfg.ListenAddr
	if m.cfg.ListenOnAllIPs {
		bind = net.JoinHostPort("", port)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started || m.closed {
		return errors.New("election connection manager: Start called twice or after Close")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", bind)
	if err != nil {
		return fmt.Errorf("listen on election address %s: %w", bind, err)
	}
	if port == "0" {
		port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	m.myAddr = net.JoinHostPort(host, port)
	m.ln = ln
	m.started = true
	m.ctx, m.cancel = context.WithCancel(ctx)
	m.log.Info("listening for election connections", "addr", ln.Addr().String())
	m.wg.Add(2)
	go m.acceptLoop(ln)
	go m.shutdownOnDone()
	return nil
}

// Addr returns this server's election address as sent to peers (ListenAddr
// with the chosen port when it asked for port 0), or "" before Start.
func (m *CnxManager) Addr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.myAddr
}

// Recv returns the channel on which received messages arrive, and messages
// sent to MyID. It holds up to RecvQueueSize messages, dropping the oldest
// when full, and is closed by Close.
func (m *CnxManager) Recv() <-chan Message { return m.recv }

// Send queues msg for server sid and returns at once. A message to MyID is
// delivered to Recv. Otherwise msg replaces any unsent message queued for
// sid, and if there is no link to sid one is dialled in the background.
// Messages that are empty or longer than MaxMessageSize, and messages sent
// before Start or after Close, are dropped. Send keeps its own copy of msg.
func (m *CnxManager) Send(sid int64, msg []byte) {
	msg = append([]byte(nil), msg...)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started || m.closed {
		return
	}
	if sid == m.cfg.MyID {
		m.deliver(Message{From: sid, Data: msg})
		return
	}
	if len(msg) == 0 || len(msg) > MaxMessageSize {
		m.log.Warn("dropping an election message of invalid length", "peer", sid, "len", len(msg))
		return
	}
	ps := m.peerLocked(sid)
	ps.queue = msg
	ps.hasQueue = true
	if ps.link != nil {
		ps.link.signal()
		return
	}
	m.dialLocked(sid, ps, ps.addr)
}

// ConnectAll dials, in the background, every configured peer that has no
// live link and no dial in flight.
func (m *CnxManager) ConnectAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started || m.closed {
		return
	}
	for sid, ps := range m.peers {
		m.dialLocked(sid, ps, ps.addr)
	}
}

// AnyQueueEmpty reports whether the send queue of at least one peer exists
// and is empty. A peer's queue exists once a message was sent to it or a
// link to it was set up. The election driver re-sends its notifications
// when this holds and calls ConnectAll otherwise (spec §4.4 step 2.1).
func (m *CnxManager) AnyQueueEmpty() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ps := range m.peers {
		if ps.hasQueue && ps.queue == nil {
			return true
		}
	}
	return false
}

// Connected reports whether there is a live link to sid.
func (m *CnxManager) Connected(sid int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.peers[sid]
	return ps != nil && ps.link != nil
}

// SetPeers replaces the configured election addresses (after a
// reconfiguration). Links to servers no longer listed are closed and their
// queued messages dropped; links to servers still listed are kept.
func (m *CnxManager) SetPeers(peers map[int64]string) {
	var stale []*link
	m.mu.Lock()
	for sid, ps := range m.peers {
		if _, ok := peers[sid]; !ok {
			if ps.link != nil {
				stale = append(stale, ps.link)
			}
			delete(m.peers, sid)
		}
	}
	for sid, addr := range peers {
		if sid != m.cfg.MyID {
			m.peerLocked(sid).addr = addr
		}
	}
	m.mu.Unlock()
	for _, l := range stale {
		m.closeLink(l)
	}
}

// Close stops listening, closes every connection, waits for the manager's
// goroutines to end and then closes the Recv channel. It returns the error
// that stopped the listener on its own, if any. Calling it again does
// nothing.
func (m *CnxManager) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.mu.Lock()
		cancel := m.cancel
		m.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		m.shutdown()
		m.wg.Wait()
		close(m.recv)
		m.mu.Lock()
		err = m.fatalErr
		m.mu.Unlock()
	})
	return err
}

// shutdownOnDone closes everything when the manager's context ends.
func (m *CnxManager) shutdownOnDone() {
	defer m.wg.Done()
	<-m.ctx.Done()
	m.shutdown()
}

// shutdown marks the manager closed and closes the listener and every
// socket, which ends every goroutine blocked on one.
func (m *CnxManager) shutdown() {
	m.mu.Lock()
	m.closed = true
	ln := m.ln
	conns := make([]net.Conn, 0, len(m.conns))
	for c := range m.conns {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
}

// peerLocked returns the state of sid, creating it for a server not in the
// configuration. m.mu must be held.
func (m *CnxManager) peerLocked(sid int64) *peerState {
	ps := m.peers[sid]
	if ps == nil {
		ps = &peerState{}
		m.peers[sid] = ps
	}
	return ps
}

// dialLocked starts a dial to sid at addr unless there is a live link, a
// dial in flight, no address, or the manager is closed. m.mu must be held.
func (m *CnxManager) dialLocked(sid int64, ps *peerState, addr string) {
	if m.closed || ps.link != nil || ps.dialing {
		return
	}
	if addr == "" {
		m.log.Debug("no election address to dial", "peer", sid)
		return
	}
	ps.dialing = true
	m.wg.Add(1)
	go m.dial(sid, addr)
}

// track records an open socket so that shutdown can close it; it reports
// false (and the caller must close conn) when the manager is closed.
func (m *CnxManager) track(conn net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.conns[conn] = struct{}{}
	return true
}

// retrack replaces a tracked socket by the connection wrapping it (TLS).
// It reports false, having closed both, when the manager has closed.
func (m *CnxManager) retrack(old, conn net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.conns, old)
	if m.closed {
		conn.Close()
		return false
	}
	m.conns[conn] = struct{}{}
	return true
}

// drop closes a socket and forgets it.
func (m *CnxManager) drop(conn net.Conn) {
	conn.Close()
	m.mu.Lock()
	delete(m.conns, conn)
	m.mu.Unlock()
}

// dial connects to sid, sends the initial message and, when sid is smaller
// than MyID, keeps the connection as the link to sid (spec §4.1). When sid
// is larger, the connection is closed after the initial message: sid will
// dial back.
func (m *CnxManager) dial(sid int64, addr string) {
	defer m.wg.Done()
	kept := false
	defer func() {
		if !kept {
			m.mu.Lock()
			if ps := m.peers[sid]; ps != nil {
				ps.dialing = false
			}
			m.mu.Unlock()
		}
	}()
	d := net.Dialer{Timeout: m.cfg.ConnectTimeout}
	conn, err := d.DialContext(m.ctx, "tcp", addr)
	if err != nil {
		if m.ctx.Err() == nil {
			m.log.Info("cannot dial election peer", "peer", sid, "addr", addr, "err", err)
		}
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	raw := conn
	if conn, err = m.cfg.TLS.secureDial(m.ctx, raw, addr, m.cfg.HandshakeTimeout); err != nil {
		raw.Close()
		if m.ctx.Err() == nil {
			m.log.Warn("cannot secure election connection", "peer", sid, "addr", addr, "err", err)
		}
		return
	}
	if !m.track(conn) {
		conn.Close()
		return
	}
	hdr := m.initialMessage()
	_ = conn.SetWriteDeadline(time.Now().Add(m.cfg.HandshakeTimeout))
	if _, err := conn.Write(hdr); err != nil {
		m.log.Info("cannot send initial message to election peer", "peer", sid, "addr", addr, "err", err)
		m.drop(conn)
		return
	}
	host, _, _ := net.SplitHostPort(addr)
	if err := m.cfg.SASL.authenticate(conn, conn, host, m.cfg.HandshakeTimeout); err != nil {
		m.log.Warn("cannot authenticate to election peer", "peer", sid, "addr", addr, "err", err)
		m.drop(conn)
		return
	}
	if sid > m.cfg.MyID {
		m.log.Debug("closing connection to a larger sid; it will dial back", "peer", sid)
		m.drop(conn)
		return
	}
	kept = true
	m.install(sid, conn, bufio.NewReader(conn), true)
}

// initialMessage returns the V1 initial message: protocol version, my sid
// and my election address, to be written in one write (spec §4.1).
func (m *CnxManager) initialMessage() []byte {
	m.mu.Lock()
	addr := m.myAddr
	m.mu.Unlock()
	b := make([]byte, 0, 20+len(addr))
	version, myID := protocolV1, m.cfg.MyID
	b = binary.BigEndian.AppendUint64(b, uint64(version))
	b = binary.BigEndian.AppendUint64(b, uint64(myID))
	b = binary.BigEndian.AppendUint32(b, uint32(len(addr)))
	return append(b, addr...)
}

// acceptLoop accepts election connections until the listener is closed.
func (m *CnxManager) acceptLoop(ln net.Listener) {
	defer m.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			m.mu.Lock()
			closed := m.closed
			if !closed {
				m.fatalErr = fmt.Errorf("accept election connections on %s: %w", ln.Addr(), err)
			}
			m.mu.Unlock()
			if !closed {
				m.log.Error("election listener failed; no more peers will be accepted", "err", err)
			}
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		if !m.track(conn) {
			conn.Close()
			return
		}
		m.wg.Add(1)
		go m.handleConn(conn)
	}
}

// handleConn reads the initial message of an accepted connection and
// applies the tie-break: a larger sid keeps the connection as its link, a
// smaller one is closed and dialled back (spec §4.1).
func (m *CnxManager) handleConn(conn net.Conn) {
	defer m.wg.Done()
	remote := conn.RemoteAddr().String()
	if m.cfg.TLS != nil {
		secured, _, err := m.cfg.TLS.secureAccept(m.ctx, conn, m.cfg.HandshakeTimeout)
		if err != nil {
			m.log.Warn("dropping election connection that failed TLS", "remote", remote, "err", err)
			m.drop(conn)
			return
		}
		if !m.retrack(conn, secured) {
			return
		}
		conn = secured
	}
	_ = conn.SetReadDeadline(time.Now().Add(m.cfg.HandshakeTimeout))
	r := bufio.NewReader(conn)
	sid, addr, err := readInitialMessage(r)
	if err != nil {
		m.log.Warn("dropping election connection with a bad initial message", "remote", remote, "err", err)
		m.drop(conn)
		return
	}
	// A smaller sid's connection is closed and dialled back below, so what
	// it proves does not matter; it may well close without a word.
	if err := m.cfg.SASL.check(conn, r, m.cfg.HandshakeTimeout); err != nil && sid >= m.cfg.MyID {
		m.log.Warn("dropping election connection that failed SASL", "remote", remote, "peer", sid, "err", err)
		m.drop(conn)
		return
	}
	_ = conn.SetReadDeadline(time.Now().Add(m.cfg.HandshakeTimeout))
	switch {
	case sid == m.cfg.MyID:
		m.log.Error("election connection from a server claiming my own sid: check the server.N lines and myid files",
			"remote", remote, "peer", sid)
		m.drop(conn)
	case sid < m.cfg.MyID:
		m.drop(conn)
		m.mu.Lock()
		ps := m.peerLocked(sid)
		// The configured address wins over the one the dialler sent: they
		// are the same in a healthy ensemble, and the configured one is
		// what an operator (or a test's partitioning proxy) controls.
		// ZooKeeper prefers the message's; it only matters for a server
		// missing from the configuration.
		if ps.addr != "" || addr == "" {
			addr = ps.addr
		}
		m.log.Debug("closing connection from a smaller sid and dialling it", "peer", sid, "addr", addr)
		m.dialLocked(sid, ps, addr)
		m.mu.Unlock()
	default:
		_ = conn.SetReadDeadline(time.Time{})
		m.install(sid, conn, r, false)
	}
}

// readInitialMessage reads a dialler's initial message and returns its sid
// and the election address it gave, "" when it gave none or a wildcard one.
// The pre-3.5 form is a bare non-negative sid.
func readInitialMessage(r io.Reader) (sid int64, addr string, err error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, "", fmt.Errorf("read protocol version: %w", err)
	}
	first := int64(binary.BigEndian.Uint64(b[:]))
	if first >= 0 {
		return first, "", nil // pre-3.5: the sid alone
	}
	if first != protocolV1 && first != protocolV2 {
		return 0, "", fmt.Errorf("unknown election protocol version %d", first)
	}
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, "", fmt.Errorf("read sid: %w", err)
	}
	sid = int64(binary.BigEndian.Uint64(b[:]))
	if _, err := io.ReadFull(r, b[:4]); err != nil {
		return 0, "", fmt.Errorf("read address length of sid %d: %w", sid, err)
	}
	n := int32(binary.BigEndian.Uint32(b[:4]))
	if n < 1 || n > maxAddrLen {
		return 0, "", fmt.Errorf("sid %d sent an address length %d outside 1..%d", sid, n, maxAddrLen)
	}
	a := make([]byte, n)
	if _, err := io.ReadFull(r, a); err != nil {
		return 0, "", fmt.Errorf("read address of sid %d: %w", sid, err)
	}
	return sid, usableAddr(string(a)), nil
}

// usableAddr returns the first address of an initial message's address
// field ("a|b|..." under V2), or "" when it is malformed or a wildcard.
func usableAddr(field string) string {
	first, _, _ := strings.Cut(field, "|")
	host, port, err := net.SplitHostPort(first)
	if err != nil || port == "" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return ""
	}
	return first
}

// install makes conn the link to sid, replacing (and closing) any older
// one, and starts its sender and receiver. If the queue is empty, the last
// message sent to sid is queued again (spec §4.2).
func (m *CnxManager) install(sid int64, conn net.Conn, r *bufio.Reader, dialled bool) {
	l := &link{sid: sid, conn: conn, dialled: dialled, wake: make(chan struct{}, 1), done: make(chan struct{})}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.drop(conn)
		return
	}
	ps := m.peerLocked(sid)
	if dialled {
		ps.dialing = false
	}
	old := ps.link
	ps.link = l
	ps.hasQueue = true
	if ps.queue == nil && ps.last != nil {
		ps.queue = ps.last
	}
	if ps.queue != nil {
		l.signal()
	}
	m.wg.Add(2)
	go m.sendLoop(l)
	go m.recvLoop(l, r)
	m.mu.Unlock()
	m.log.Info("election link up", "peer", sid, "remote", conn.RemoteAddr().String(), "dialled", dialled)
	if old != nil {
		m.log.Debug("replacing an older election link", "peer", sid)
		m.closeLink(old)
	}
}

// signal wakes the link's sender; it never blocks.
func (l *link) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// closeLink closes l's socket and, if l is still the link to its peer,
// forgets it. The queued message stays for the next link.
func (m *CnxManager) closeLink(l *link) {
	l.once.Do(func() { close(l.done) })
	m.drop(l.conn)
	m.mu.Lock()
	if ps := m.peers[l.sid]; ps != nil && ps.link == l {
		ps.link = nil
	}
	m.mu.Unlock()
}

// sendLoop writes the peer's queued message whenever there is one, until
// the link is closed or replaced.
func (m *CnxManager) sendLoop(l *link) {
	defer m.wg.Done()
	for {
		select {
		case <-l.done:
			return
		case <-l.wake:
		}
		m.mu.Lock()
		ps := m.peers[l.sid]
		if ps == nil || ps.link != l {
			m.mu.Unlock()
			return
		}
		msg := ps.queue
		ps.queue = nil
		if msg != nil {
			ps.last = msg
		}
		m.mu.Unlock()
		if msg == nil {
			continue
		}
		frame := make([]byte, 4+len(msg))
		binary.BigEndian.PutUint32(frame, uint32(len(msg)))
		copy(frame[4:], msg)
		_ = l.conn.SetWriteDeadline(time.Now().Add(m.cfg.HandshakeTimeout))
		if _, err := l.conn.Write(frame); err != nil {
			select {
			case <-l.done:
			default:
				m.log.Info("election link failed on write", "peer", l.sid, "err", err)
			}
			m.closeLink(l)
			return
		}
	}
}

// recvLoop reads frames from the link and delivers them until the link
// fails, is closed, or sends a bad length.
func (m *CnxManager) recvLoop(l *link, r *bufio.Reader) {
	defer m.wg.Done()
	defer m.closeLink(l)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			select {
			case <-l.done:
			default:
				m.log.Info("election link closed", "peer", l.sid, "err", err)
			}
			return
		}
		n := int32(binary.BigEndian.Uint32(hdr[:]))
		if n <= 0 || n > MaxMessageSize {
			m.log.Warn("closing election link: bad frame length", "peer", l.sid, "len", n, "max", MaxMessageSize)
			return
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			m.log.Info("election link closed inside a frame", "peer", l.sid, "len", n, "err", err)
			return
		}
		m.mu.Lock()
		m.deliver(Message{From: l.sid, Data: data})
		m.mu.Unlock()
	}
}

// deliver puts msg on the receive queue, dropping the oldest waiting
// message if the queue is full. m.mu must be held (so that Close cannot
// close the channel meanwhile, and producers do not contend).
func (m *CnxManager) deliver(msg Message) {
	for {
		select {
		case m.recv <- msg:
			return
		default:
		}
		select {
		case old := <-m.recv:
			m.log.Warn("receive queue full; dropped the oldest election message", "peer", old.From)
		default:
		}
	}
}

// linkInfo describes the live link to sid, for tests.
func (m *CnxManager) linkInfo(sid int64) (local, remote string, dialled, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.peers[sid]
	if ps == nil || ps.link == nil {
		return "", "", false, false
	}
	c := ps.link.conn
	return c.LocalAddr().String(), c.RemoteAddr().String(), ps.link.dialled, true
}

// openConns returns how many sockets are open (links and handshakes), for
// tests.
func (m *CnxManager) openConns() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.conns)
}

package clientport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// Options configure a Listener.
type Options struct {
	// MaxBuffer is jute.maxbuffer: the largest accepted frame payload.
	MaxBuffer int
	// MaxClientCnxns limits concurrent connections per client IP; 0 means
	// unlimited.
	MaxClientCnxns int
	// MaxOutstanding is ZooKeeper's globalOutstandingLimit: once this many
	// requests of all connections together wait for their replies, a
	// connection with a request of its own unanswered is not read until the
	// count falls; one connection alone never has more in flight. A
	// connection with nothing in flight is always read, so one busy client
	// cannot lock out the others. 0 means 1000.
	MaxOutstanding int64
	// MaxQueuedBytes bounds the replies a connection has not taken off its
	// socket: beyond it the connection is not read until they drain. 0
	// means 1 MiB.
	MaxQueuedBytes int64
	// LargeRequestThreshold and LargeRequestMaxBytes are ZooKeeper's
	// zookeeper.largeRequestThreshold and zookeeper.largeRequestMaxBytes: a
	// request frame of at least the threshold is refused (the connection
	// closes) when the large requests in flight would exceed the maximum.
	// A threshold of -1 (or 0 in Options) turns the check off.
	LargeRequestThreshold int
	LargeRequestMaxBytes  int64
	// HandshakeTimeout closes connections that send no ConnectRequest in
	// time (ZooKeeper: 10 s).
	HandshakeTimeout time.Duration
	Logger           *slog.Logger

	// EdgeTriggeredReads reads each plain TCP connection after its
	// handshake with one read per request where the net package makes
	// two: after a read that did not fill the buffer the socket was
	// empty, so the reader waits for Go's (edge-triggered) poller instead
	// of reading again to EAGAIN (conn_edge_linux.go). It saves a syscall
	// per request and pays with one P (GOMAXPROCS=1); with more Ps on few
	// CPUs, measured here, readers that park sooner cost more thread
	// wake-ups than the read saves, so the server turns it on only with
	// one P. A close that arrives with a client's last request can merge
	// with the data into one wake-up of the reader; a watcher of the
	// listener's (hangup_linux.go) wakes it again for that. Linux only;
	// TLS connections always read through crypto/tls.
	EdgeTriggeredReads bool
	// TLS, when set, makes the port a TLS port (ZooKeeper's
	// secureClientPort): every connection starts with a TLS handshake
	// under this configuration, on its own goroutine, and a connection
	// whose handshake fails is closed and logged.
	TLS *tls.Config
	// PortUnification, with TLS, accepts plaintext clients on the same
	// port too, told apart by their first byte
	// (zookeeper.client.portUnification).
	PortUnification bool
	// TLSHandshakeTimeout bounds the TLS handshake; 0 means
	// DefaultTLSHandshakeTimeout.
	TLSHandshakeTimeout time.Duration
	// OutstandingHandshakeLimit closes new TLS connections while this many
	// handshakes are in progress
	// (zookeeper.netty.server.outstandingHandshake.limit); 0 or less
	// means no limit.
	OutstandingHandshakeLimit int
	// CountNonMTLS counts plaintext-capable connections in
	// TLSStats.NonMTLSLocal and NonMTLSRemote, as ZooKeeper's Netty
	// connection factory does (its NIO factory does not).
	CountNonMTLS bool
}

// Listener accepts client connections and owns their goroutines.
type Listener struct {
	ln               net.Listener
	backend          Backend
	log              *slog.Logger
	maxBuffer        int
	maxPerIP         int
	handshakeTimeout time.Duration
	maxOutstanding   int64
	maxQueuedBytes   int64
	largeThreshold   int
	largeMax         int64
	edgeReads        bool
	hangups          *hangupWatcher // with edgeReads on a plain TCP port
	tlsConf          *tls.Config
	unify            bool
	tlsTimeout       time.Duration
	handshakeLimit   int
	countNonMTLS     bool

	nextID   atomic.Int64
	received atomic.Int64
	sent     atomic.Int64

	// Flow control (flow.go): requests and request bytes read and not yet
	// answered, over all connections, and the large requests among them.
	outstanding   atomic.Int64
	requestBytes  atomic.Int64
	largeBytes    atomic.Int64
	largeRejected atomic.Int64
	throttled     atomic.Int64
	room          roomSignal

	// TLS counters (tls.go).
	tlsOutstanding, tlsUnsuccessful, tlsExceeded, tlsFailures atomic.Int64
	nonMTLSLocal, nonMTLSRemote                               atomic.Int64

	mu     sync.Mutex // guards closed, conns and perIP
	closed bool
	conns  map[*Conn]struct{}
	perIP  map[netip.Addr]int
	wg     sync.WaitGroup
}

// Listen binds addr ("host:port"; port 0 picks a free one).
func Listen(addr string, backend Backend, opts Options) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if opts.MaxBuffer <= 0 {
		opts.MaxBuffer = jute.DefaultMaxBuffer
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 10 * time.Second
	}
	if opts.MaxOutstanding <= 0 {
		opts.MaxOutstanding = 1000
	}
	if opts.MaxQueuedBytes <= 0 {
		opts.MaxQueuedBytes = 1 << 20
	}
	if opts.LargeRequestThreshold == 0 {
		opts.LargeRequestThreshold = -1
	}
	if opts.LargeRequestMaxBytes <= 0 {
		opts.LargeRequestMaxBytes = 100 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TLSHandshakeTimeout <= 0 {
		opts.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	}
	l := &Listener{
		tlsConf: opts.TLS, unify: opts.TLS != nil && opts.PortUnification, tlsTimeout: opts.TLSHandshakeTimeout,
		handshakeLimit: opts.OutstandingHandshakeLimit, countNonMTLS: opts.CountNonMTLS,
		edgeReads: opts.EdgeTriggeredReads,
		ln:        ln, backend: backend, log: opts.Logger,
		maxBuffer: opts.MaxBuffer, maxPerIP: opts.MaxClientCnxns, handshakeTimeout: opts.HandshakeTimeout,
		maxOutstanding: opts.MaxOutstanding, maxQueuedBytes: opts.MaxQueuedBytes,
		largeThreshold: opts.LargeRequestThreshold, largeMax: opts.LargeRequestMaxBytes,
		room:  roomSignal{ch: make(chan struct{})},
		conns: make(map[*Conn]struct{}), perIP: make(map[netip.Addr]int),
	}
	if l.edgeReads && l.tlsConf == nil {
		w, err := newHangupWatcher(l.log.Warn)
		if err != nil {
			l.log.Warn("edge-triggered reads off: a client's close could go unseen without the hang-up watcher", "err", err)
			l.edgeReads = false
		} else {
			l.hangups = w
			l.wg.Go(w.run)
		}
	}
	return l, nil
}

// Addr returns the bound address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// PacketsReceived returns the number of frames received on all connections.
func (l *Listener) PacketsReceived() int64 { return l.received.Load() }

// PacketsSent returns the number of frames sent on all connections.
func (l *Listener) PacketsSent() int64 { return l.sent.Load() }

// ResetPacketCounts zeroes the packet counters (srst).
func (l *Listener) ResetPacketCounts() { l.received.Store(0); l.sent.Store(0) }

// Connections returns the open connections.
func (l *Listener) Connections() []*Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*Conn, 0, len(l.conns))
	for c := range l.conns {
		out = append(out, c)
	}
	return out
}

// Serve accepts connections until ctx is done or the listener is closed.
func (l *Listener) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { l.ln.Close() })
	defer stop()
	backoff := 5 * time.Millisecond
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			l.log.Warn("accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		l.start(nc)
	}
}

func (l *Listener) start(nc net.Conn) {
	remote, _ := netip.ParseAddrPort(nc.RemoteAddr().String())
	ip := remote.Addr().Unmap()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		nc.Close()
		return
	}
	if l.maxPerIP > 0 && l.perIP[ip] >= l.maxPerIP {
		l.mu.Unlock()
		l.log.Warn("too many connections from one address", "peer", remote, "max", l.maxPerIP)
		nc.Close()
		return
	}
	l.perIP[ip]++
	c := &Conn{
		ID: l.nextID.Add(1), nc: nc, remote: remote, l: l, start: time.Now(),
		signal: make(chan struct{}, 1), done: make(chan struct{}), shut: make(chan struct{}), ready: make(chan struct{}),
	}
	l.conns[c] = struct{}{}
	l.wg.Add(2)
	l.mu.Unlock()
	go func() {
		defer l.wg.Done()
		c.writeLoop()
	}()
	go func() {
		defer l.wg.Done()
		err := c.readLoop()
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, errTLSHandshake) {
			l.log.Info("client connection closed", "peer", remote, "err", err)
		}
		// The connection leaves the listener's list before its socket
		// closes: a client that sees the close (a four-letter word's
		// answer ending) and asks again must not find it listed.
		l.mu.Lock()
		delete(l.conns, c)
		if l.perIP[ip]--; l.perIP[ip] <= 0 {
			delete(l.perIP, ip)
		}
		l.mu.Unlock()
		c.Close()
		close(c.done)
		c.releaseAll()
		l.backend.Closed(c)
	}()
}

// Close stops accepting, closes every connection and waits for their
// goroutines.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	err := l.ln.Close()
	for _, c := range l.Connections() {
		c.Close()
	}
	if l.hangups != nil {
		l.hangups.close()
	}
	l.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

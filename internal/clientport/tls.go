package clientport

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// tlsRecordHandshake is the first byte of a TLS connection (a handshake
// record); a unified port tells TLS from plaintext by it, as ZooKeeper's
// Netty DualModeSslHandler does.
const tlsRecordHandshake = 0x16

// DefaultTLSHandshakeTimeout bounds a TLS handshake, as Netty's SslHandler
// does for ZooKeeper's secure client port (10 s).
const DefaultTLSHandshakeTimeout = 10 * time.Second

// errTLSHandshake marks a connection closed because its TLS handshake
// failed; the failure has been logged already.
var errTLSHandshake = errors.New("TLS handshake failed")

// TLSStats are the TLS counters of a listener, as ZooKeeper 3.8 names them
// in its metrics.
type TLSStats struct {
	// Outstanding is outstanding_tls_handshake: handshakes in progress. Like
	// ZooKeeper, it is only tracked while an outstanding-handshake limit is
	// set.
	Outstanding int64
	// Unsuccessful is unsuccessful_handshake: handshakes that failed (bad or
	// missing certificate, plaintext on a TLS port, timeout).
	Unsuccessful int64
	// Exceeded is tls_handshake_exceeded: connections closed because the
	// outstanding-handshake limit was reached.
	Exceeded int64
	// NonMTLSLocal and NonMTLSRemote are non_mtls_local_conn_count and
	// non_mtls_remote_conn_count: connections accepted without TLS on a
	// plaintext (or unified) port, from a loopback address or not. They
	// are counted only with Options.CountNonMTLS, and never reset.
	NonMTLSLocal, NonMTLSRemote int64
}

// TLSStats returns the listener's TLS counters.
func (l *Listener) TLSStats() TLSStats {
	return TLSStats{
		Outstanding:   l.tlsOutstanding.Load(),
		Unsuccessful:  l.tlsUnsuccessful.Load(),
		Exceeded:      l.tlsExceeded.Load(),
		NonMTLSLocal:  l.nonMTLSLocal.Load(),
		NonMTLSRemote: l.nonMTLSRemote.Load(),
	}
}

// HandshakeFailures returns the TLS handshakes that failed since the
// listener started; unlike TLSStats.Unsuccessful, ResetTLSStats leaves it
// (ZooKeeper counts each failure in auth_failed_count too).
func (l *Listener) HandshakeFailures() int64 { return l.tlsFailures.Load() }

// ResetTLSStats zeroes the counters ZooKeeper's srst resets
// (unsuccessful_handshake, tls_handshake_exceeded).
func (l *Listener) ResetTLSStats() {
	l.tlsUnsuccessful.Store(0)
	l.tlsExceeded.Store(0)
}

// Secure reports whether the listener serves TLS (alone, or beside
// plaintext with port unification).
func (l *Listener) Secure() bool { return l.tlsConf != nil }

// TLS returns the connection's TLS state, or nil for a plaintext
// connection. It is set before the backend first hears of the connection.
func (c *Conn) TLS() *tls.ConnectionState { return c.tlsState }

// bufferedConn reads through r, which has peeked at the connection's first
// bytes, and writes to the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// open sets up the connection's byte stream, running the TLS handshake on
// a TLS port (or when the first byte on a unified port is a TLS
// handshake), and returns the reader for its frames. It runs on the
// connection's reader goroutine, within the listener's TLS handshake
// timeout; the writer starts once it succeeds.
func (c *Conn) open() (*bufio.Reader, error) {
	l := c.l
	if l.tlsConf == nil {
		c.rw = c.nc
		c.countNonMTLS()
		close(c.ready)
		return bufio.NewReaderSize(c.nc, readBufferSize), nil
	}
	raw := net.Conn(c.nc)
	if l.unify {
		c.countNonMTLS() // on accepting, as ZooKeeper counts them
		c.nc.SetReadDeadline(time.Now().Add(l.tlsTimeout))
		peek := bufio.NewReaderSize(c.nc, 16)
		first, err := peek.Peek(1)
		if err != nil {
			return nil, err
		}
		if first[0] != tlsRecordHandshake {
			c.rw = c.nc
			close(c.ready)
			return bufio.NewReaderSize(&bufferedConn{Conn: c.nc, r: peek}, readBufferSize), nil
		}
		raw = &bufferedConn{Conn: c.nc, r: peek}
	}
	if l.handshakeLimit > 0 {
		if n := l.tlsOutstanding.Add(1); n > int64(l.handshakeLimit) {
			l.tlsOutstanding.Add(-1)
			l.tlsExceeded.Add(1)
			l.log.Warn("too many TLS handshakes in progress; closing the connection", "peer", c.remote,
				"limit", l.handshakeLimit, "property", "zookeeper.netty.server.outstandingHandshake.limit")
			return nil, errTLSHandshake
		}
		defer l.tlsOutstanding.Add(-1)
	}
	tc := tls.Server(raw, l.tlsConf)
	c.nc.SetDeadline(time.Now().Add(l.tlsTimeout))
	if err := tc.Handshake(); err != nil {
		l.tlsUnsuccessful.Add(1)
		l.tlsFailures.Add(1)
		reason := err.Error()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			reason = fmt.Sprintf("not completed within %v", l.tlsTimeout)
		}
		l.log.Warn("TLS handshake failed; closing the connection", "peer", c.remote, "reason", reason)
		return nil, fmt.Errorf("%w: %w", errTLSHandshake, err)
	}
	c.nc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.tlsState = &st
	c.rw = tc
	close(c.ready)
	return bufio.NewReaderSize(tc, readBufferSize), nil
}

// countNonMTLS counts a plaintext-capable connection as ZooKeeper's Netty
// factory does: by whether its peer is a loopback address.
func (c *Conn) countNonMTLS() {
	if !c.l.countNonMTLS {
		return
	}
	if c.remote.Addr().Unmap().IsLoopback() {
		c.l.nonMTLSLocal.Add(1)
	} else {
		c.l.nonMTLSRemote.Add(1)
	}
}

// OnSecurePort reports whether the connection came to a TLS-only port
// (ZooKeeper's secureClientPort), not a plaintext or unified one.
func (c *Conn) OnSecurePort() bool { return c.l.tlsConf != nil && !c.l.unify }

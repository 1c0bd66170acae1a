package peer

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// QuorumTLS secures the election and quorum connections between servers
// (ZooKeeper's sslQuorum=true with the ssl.quorum.* settings). Both ends
// present certificates: a server dialling a peer is a TLS client, the peer
// accepting it a TLS server.
type QuorumTLS struct {
	// Server is the configuration for connections this server accepts. It
	// should require and verify the peer's certificate.
	Server *tls.Config
	// Client returns the configuration for dialling the server at host
	// (the host part of its server.N address).
	Client func(host string) (*tls.Config, error)
	// PortUnification accepts plaintext connections beside TLS ones on the
	// election and quorum ports (portUnification=true), as a rolling switch
	// to TLS needs: a connection whose first byte starts a TLS record is
	// TLS, anything else plaintext. Outgoing connections are always TLS.
	PortUnification bool
	// DetectTimeout bounds the wait for the first byte of an accepted
	// connection under PortUnification (handshakeDetectionTimeoutMillis);
	// 0 means the handshake timeout.
	DetectTimeout time.Duration
}

// tlsRecordHandshake is the first byte of a TLS connection: the content
// type of a handshake record.
const tlsRecordHandshake = 0x16

// secureDial runs the TLS client handshake on conn, dialled to addr, within
// timeout. With q nil it returns conn unchanged.
func (q *QuorumTLS) secureDial(ctx context.Context, conn net.Conn, addr string, timeout time.Duration) (net.Conn, error) {
	if q == nil {
		return conn, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	cfg, err := q.Client(host)
	if err != nil {
		return nil, fmt.Errorf("TLS configuration for %s: %w", addr, err)
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// secureAccept runs the TLS server handshake on an accepted conn within
// timeout, or, with port unification, passes a plaintext connection
// through. With q nil it returns conn unchanged. tls reports whether the
// returned connection is TLS.
func (q *QuorumTLS) secureAccept(ctx context.Context, conn net.Conn, timeout time.Duration) (out net.Conn, secure bool, err error) {
	if q == nil {
		return conn, false, nil
	}
	deadline := time.Now().Add(timeout)
	if q.PortUnification {
		detect := deadline
		if q.DetectTimeout > 0 {
			detect = time.Now().Add(q.DetectTimeout)
		}
		_ = conn.SetReadDeadline(detect)
		br := bufio.NewReaderSize(conn, 512)
		first, err := br.Peek(1)
		_ = conn.SetReadDeadline(time.Time{})
		if err != nil {
			return nil, false, fmt.Errorf("read first byte from %s: %w", conn.RemoteAddr(), err)
		}
		conn = &peekedConn{Conn: conn, r: br}
		if first[0] != tlsRecordHandshake {
			return conn, false, nil
		}
	}
	tc := tls.Server(conn, q.Server)
	hctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, false, fmt.Errorf("TLS handshake with %s: %w", conn.RemoteAddr(), err)
	}
	return tc, true, nil
}

// peekedConn is a connection whose first bytes were read into r to look at
// them; reads drain r first.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

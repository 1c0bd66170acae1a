package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// handshakeTLS runs the TLS handshake on a freshly dialed connection to
// addr, within ctx (the connect timeout), with the configuration WithTLS
// or WithTLSFor gives for addr's host. It closes raw on failure.
func (c *Client) handshakeTLS(ctx context.Context, raw net.Conn, addr string) (net.Conn, error) {
	cfg, err := c.opts.tls(hostOf(addr))
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS configuration for %s: %w", addr, err)
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// hostOf returns the host part of a "host:port" server address.
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// handshakeTLS runs the TLS handshake on a freshly dialed connection to
// addr, within ctx (the connect timeout). Without a ServerName in the
// configuration, the certificate is verified against addr's host, as
// tls.Dial does.
func (c *Client) handshakeTLS(ctx context.Context, raw net.Conn, addr string) (net.Conn, error) {
	cfg := c.opts.tls
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

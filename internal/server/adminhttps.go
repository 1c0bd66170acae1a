package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/tlsconf"
)

// adminHSTS is the Strict-Transport-Security header ZooKeeper 3.8's
// AdminServer sends on HTTPS responses (Jetty's SecureRequestCustomizer
// with a one-day max age, subdomains included).
const adminHSTS = "max-age=86400; includeSubDomains"

// adminSniffTimeout bounds the wait for a unified AdminServer connection's
// first byte.
const adminSniffTimeout = 10 * time.Second

// secureAdmin wraps the AdminServer's listener for admin.forceHttps (HTTPS
// only) or admin.portUnification (HTTPS and HTTP on one port), with the
// certificate of the ssl.quorum.* key store as ZooKeeper 3.8's AdminServer
// takes it; clients are not asked for certificates. It returns ln and h
// unchanged when neither is set.
func (s *Server) secureAdmin(ln net.Listener, h http.Handler, ac config.AdminServer) (net.Listener, http.Handler, error) {
	if !ac.ForceHTTPS && !ac.PortUnification {
		return ln, h, nil
	}
	settings, err := tlsconf.FromProperties(s.cfg.Props, tlsconf.QuorumPrefix, s.log)
	if err != nil {
		return nil, nil, fmt.Errorf("AdminServer HTTPS: %w", err)
	}
	noClientCerts := *settings
	noClientCerts.ClientAuth = tls.NoClientCert
	cfg, err := noClientCerts.ServerConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("AdminServer HTTPS: %w", err)
	}
	cfg.NextProtos = []string{"http/1.1"}
	secure := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil || sniffedTLS(r.Context()) {
			w.Header().Set("Strict-Transport-Security", adminHSTS)
		}
		h.ServeHTTP(w, r)
	})
	if ac.ForceHTTPS {
		s.log.Info("AdminServer serves HTTPS only", "key_store", settings.KeyStore.Location)
		return tls.NewListener(ln, cfg), secure, nil
	}
	s.log.Info("AdminServer serves HTTPS and HTTP on one port", "key_store", settings.KeyStore.Location)
	return &unifiedListener{Listener: ln, tls: cfg}, secure, nil
}

// unifiedListener hands out connections that become TLS when their first
// byte starts a TLS record and stay plaintext otherwise.
type unifiedListener struct {
	net.Listener
	tls *tls.Config
}

func (l *unifiedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, tlsConfig: l.tls}, nil
}

// sniffConn decides on its first read whether it is TLS; the HTTP server's
// goroutine for the connection does the reading, so the accept loop never
// waits on a client.
type sniffConn struct {
	net.Conn
	tlsConfig *tls.Config

	once  sync.Once
	inner net.Conn // the TLS or plaintext connection to read and write through
	isTLS bool
	err   error
}

func (c *sniffConn) sniff() {
	c.once.Do(func() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(adminSniffTimeout))
		br := bufio.NewReaderSize(c.Conn, 512)
		first, err := br.Peek(1)
		_ = c.Conn.SetReadDeadline(time.Time{})
		if err != nil {
			c.err = err
			return
		}
		plain := &bufferedConn{Conn: c.Conn, r: br}
		if first[0] == tlsHandshakeRecord {
			c.inner, c.isTLS = tls.Server(plain, c.tlsConfig), true
			return
		}
		c.inner = plain
	})
}

// tlsHandshakeRecord is the first byte of a TLS connection.
const tlsHandshakeRecord = 0x16

func (c *sniffConn) Read(p []byte) (int, error) {
	c.sniff()
	if c.err != nil {
		return 0, c.err
	}
	return c.inner.Read(p)
}

func (c *sniffConn) Write(p []byte) (int, error) {
	c.sniff()
	if c.err != nil {
		return 0, c.err
	}
	return c.inner.Write(p)
}

// bufferedConn reads through r, which holds bytes already taken from Conn.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// sniffedConnKey holds a unified AdminServer connection in its requests'
// contexts.
type sniffedConnKey struct{}

// adminConnContext records the connection of a unified AdminServer in
// each request's context, so that handlers can tell HTTPS from HTTP.
func adminConnContext(ctx context.Context, c net.Conn) context.Context {
	if sc, ok := c.(*sniffConn); ok {
		return context.WithValue(ctx, sniffedConnKey{}, sc)
	}
	return ctx
}

// sniffedTLS reports whether the request came over TLS on a unified
// AdminServer port.
func sniffedTLS(ctx context.Context) bool {
	sc, ok := ctx.Value(sniffedConnKey{}).(*sniffConn)
	return ok && sc.isTLS
}

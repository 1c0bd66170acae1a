package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
)

// open loads the key and trust stores named by the settings.
func (s *Settings) open() error {
	if s.KeyStore.Location != "" {
		w, err := newWatchedStore("key store", s.KeyStore, loadKeyPair, s.log, s.nowFunc)
		if err != nil {
			return fmt.Errorf("%s%s: %w", s.Prefix, kKeyLoc, err)
		}
		s.key = w
	}
	if s.TrustStore.Location != "" {
		load := func(st Store) (*trustPool, error) {
			certs, err := loadTrust(st)
			if err != nil {
				return nil, err
			}
			return newTrustPool(certs), nil
		}
		w, err := newWatchedStore("trust store", s.TrustStore, load, s.log, s.nowFunc)
		if err != nil {
			return fmt.Errorf("%s%s: %w", s.Prefix, kTrustLoc, err)
		}
		s.trust = w
	}
	return nil
}

// roots returns the trust store's pool, or nil (the system's roots, as
// Java falls back to its default trust store) when none is configured,
// and the pool's generation.
func (s *Settings) roots() (*x509.CertPool, uint64) {
	if s.trust == nil {
		return nil, 0
	}
	p, gen := s.trust.get()
	return p.pool, gen
}

// base returns the parts of a tls.Config common to both sides.
func (s *Settings) base() *tls.Config {
	return &tls.Config{
		MinVersion:   s.MinVersion,
		MaxVersion:   s.MaxVersion,
		CipherSuites: s.CipherSuites,
	}
}

// ServerConfig returns a server-side configuration: the key store's
// certificate, client certificates checked against the trust store as
// clientAuth says. Each handshake sees the stores as they are on disk (a
// renewed file is picked up within a second). On the quorum prefix with
// hostnameVerification on, a client's certificate must also name the
// client's address.
func (s *Settings) ServerConfig() (*tls.Config, error) {
	if s.key == nil {
		return nil, fmt.Errorf("%s%s is not set: a TLS server needs a certificate", s.Prefix, kKeyLoc)
	}
	var mu sync.Mutex // guards cached, kgen, tgen
	var cached *tls.Config
	var kgen, tgen uint64
	outer := s.base()
	outer.ClientAuth = s.ClientAuth
	outer.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		cert, kg := s.key.get()
		pool, tg := s.roots()
		mu.Lock()
		if cached == nil || kg != kgen || tg != tgen {
			c := s.base()
			c.ClientAuth = s.ClientAuth
			c.Certificates = []tls.Certificate{*cert}
			c.ClientCAs = pool
			cached, kgen, tgen = c, kg, tg
		}
		c := cached
		mu.Unlock()
		if s.VerifyClientHostname && s.HostnameVerification && hello.Conn != nil {
			c = c.Clone()
			host, _, _ := net.SplitHostPort(hello.Conn.RemoteAddr().String())
			c.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return nil
				}
				return verifyHost(host, cs.PeerCertificates[0])
			}
		}
		return c, nil
	}
	return outer, nil
}

// ClientConfig returns a client-side configuration for a connection to
// serverName (a host name or an IP address): the key store's certificate
// offered when the server asks, the server's chain checked against the
// trust store (the system's roots when none is set) and, with
// hostnameVerification on, its certificate checked against serverName.
func (s *Settings) ClientConfig(serverName string) (*tls.Config, error) {
	c := s.base()
	if net.ParseIP(serverName) == nil {
		c.ServerName = serverName
	}
	if s.key != nil {
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _ := s.key.get()
			return cert, nil
		}
	}
	// The chain is verified here rather than by crypto/tls so that the
	// trust store in force is the one on disk now, and so that an address
	// is matched as ZooKeeper's trust manager matches it.
	c.InsecureSkipVerify = true
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the server sent no certificate")
		}
		roots, _ := s.roots()
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		for _, ic := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(ic)
		}
		leaf := cs.PeerCertificates[0]
		if _, err := leaf.Verify(opts); err != nil {
			return fmt.Errorf("server certificate %q: %w", leaf.Subject.String(), err)
		}
		if s.HostnameVerification {
			return verifyHost(serverName, leaf)
		}
		return nil
	}
	return c, nil
}

// verifyHost checks that cert names host. An IP address must be among the
// certificate's IP addresses, or else one of the names it resolves back to
// must match, as ZooKeeper's ZKTrustManager does (address first, then the
// reverse-DNS name).
func verifyHost(host string, cert *x509.Certificate) error {
	err := cert.VerifyHostname(host)
	if err == nil || net.ParseIP(host) == nil {
		if err != nil {
			return fmt.Errorf("hostname verification: %w", err)
		}
		return nil
	}
	names, _ := net.LookupAddr(host)
	for _, n := range names {
		if cert.VerifyHostname(strings.TrimSuffix(n, ".")) == nil {
			return nil
		}
	}
	return fmt.Errorf("hostname verification: %w", err)
}

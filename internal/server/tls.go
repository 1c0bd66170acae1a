package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"

	"github.com/zkd/zkd/internal/acl"
	"github.com/zkd/zkd/internal/admin"
	"github.com/zkd/zkd/internal/clientport"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tlsconf"
)

// listenClientPorts binds clientPort and secureClientPort. A
// secureClientPort alone gives a TLS-only server; with neither set the
// plaintext port is picked by the system (tests).
func (s *Server) listenClientPorts(opts clientport.Options) (*clientPorts, error) {
	conf, err := s.clientTLS()
	if err != nil {
		return nil, err
	}
	opts.CountNonMTLS = s.cfg.NettyFactory()
	opts.OutstandingHandshakeLimit = s.cfg.OutstandingHandshakeLimit()
	ports := &clientPorts{}
	secureAddr := s.secureAddr
	if secureAddr == "" && s.cfg.SecureClientPort > 0 {
		secureAddr = net.JoinHostPort(s.cfg.SecureClientPortAddress, strconv.Itoa(s.cfg.SecureClientPort))
	}
	if s.cfg.ClientPort > 0 || secureAddr == "" {
		addr := net.JoinHostPort(s.cfg.ClientPortAddress, strconv.Itoa(s.cfg.ClientPort))
		plain := opts
		if conf != nil && s.cfg.ClientPortUnification() {
			plain.TLS, plain.PortUnification = conf, true
		}
		if ports.plain, err = clientport.Listen(addr, s, plain); err != nil {
			return nil, fmt.Errorf("listen on client port %s: %w", addr, err)
		}
	}
	if secureAddr != "" {
		secure := opts
		secure.TLS = conf
		if ports.secure, err = clientport.Listen(secureAddr, s, secure); err != nil {
			ports.Close()
			return nil, fmt.Errorf("listen on secure client port %s: %w", secureAddr, err)
		}
		s.log.Info("listening for TLS clients", "addr", ports.secure.Addr().String())
	}
	return ports, nil
}

// clientTLS returns the TLS configuration of the client ports (ssl.*
// settings), or nil when there is no secure client port and no port
// unification. As ZooKeeper 3.8 does, it requires the Netty connection
// factory: the same zoo.cfg then starts both servers or neither.
func (s *Server) clientTLS() (*tls.Config, error) {
	unify := s.cfg.ClientPortUnification()
	secure := s.cfg.SecureClientPort > 0 || s.secureAddr != ""
	if !s.cfg.NettyFactory() {
		if secure {
			return nil, fmt.Errorf("secureClientPort needs serverCnxnFactory=%s: ZooKeeper 3.8 refuses TLS on its default NIO connection factory (\"SSL isn't supported in NIOServerCnxn\"), and so does zkd", config.NettyFactoryClass)
		}
		if unify {
			s.log.Warn("client.portUnification ignored: it needs serverCnxnFactory="+config.NettyFactoryClass+", as in ZooKeeper", "property", "zookeeper.client.portUnification")
		}
		return nil, nil
	}
	if !secure && !unify {
		return nil, nil
	}
	scheme, class := s.cfg.SSLAuthProvider()
	if scheme != "x509" {
		return nil, fmt.Errorf("zookeeper.ssl.authProvider=%s: zkd authenticates TLS clients with the x509 provider only", scheme)
	}
	if class != "" && class != config.X509ProviderClass {
		return nil, fmt.Errorf("authProvider.x509=%s: zkd cannot load Java classes; its x509 provider is built in (remove the setting or name %s)", class, config.X509ProviderClass)
	}
	settings, err := tlsconf.FromProperties(s.cfg.Props, tlsconf.ClientPrefix, s.log)
	if err != nil {
		return nil, fmt.Errorf("client TLS: %w", err)
	}
	conf, err := settings.ServerConfig()
	if err != nil {
		return nil, fmt.Errorf("client TLS: %w", err)
	}
	s.log.Info("client TLS configured", "key_store", settings.KeyStore.Location, "trust_store", settings.TrustStore.Location,
		"client_auth", clientAuthName(settings.ClientAuth), "port_unification", unify)
	return conf, nil
}

func clientAuthName(a tls.ClientAuthType) string {
	switch a {
	case tls.RequireAndVerifyClientCert:
		return "need"
	case tls.VerifyClientCertIfGiven:
		return "want"
	}
	return "none"
}

// connIdentities returns the identities a new connection starts with: for
// a TLS client with a certificate, super when the DN is
// zookeeper.X509AuthenticationProvider.superUser and x509:<DN>, in
// ZooKeeper's order; then ip:<address>.
func (s *Server) connIdentities(c *clientport.Conn) []jute.Id {
	ids, _ := s.x509Identities(c)
	return append(ids, acl.IPIdentity(c.Remote().Addr()))
}

// x509Identities returns the x509 identities of a TLS connection's client
// certificate; ok is false when the connection has none (a plaintext
// connection, or a TLS client that sent no certificate under
// clientAuth=want), which fails an x509 auth packet.
func (s *Server) x509Identities(c *clientport.Conn) (ids []jute.Id, ok bool) {
	st := c.TLS()
	if st == nil || len(st.PeerCertificates) == 0 || !s.aclConf.X509 {
		return nil, false
	}
	dn, err := x509Name(st.PeerCertificates[0].RawSubject)
	if err != nil {
		s.log.Warn("client certificate subject unreadable; no x509 identity", "peer", c.Remote(), "err", err)
		return nil, false
	}
	if su := s.cfg.X509SuperUser(); su != "" && dn == su {
		// ZooKeeper's id is super:<DN>, but nothing shows the id of a
		// scheme without a provider (whoAmI prints "super: "), so the
		// common super identity serves.
		ids = append(ids, acl.Super)
	}
	return append(ids, jute.Id{Scheme: "x509", ID: dn}), true
}

// fillTLSStats puts the client ports' TLS counters into a snapshot.
func (s *Server) fillTLSStats(snap *admin.Snapshot) {
	t := s.listener.TLSStats()
	snap.Counters["unsuccessful_handshake"] = t.Unsuccessful
	snap.Counters["tls_handshake_exceeded"] = t.Exceeded
	snap.TLS = admin.TLSStats{OutstandingHandshakes: t.Outstanding, NonMTLSLocal: t.NonMTLSLocal, NonMTLSRemote: t.NonMTLSRemote}
}

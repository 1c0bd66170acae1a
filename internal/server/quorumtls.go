package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/peer"
	"github.com/zkd/zkd/internal/tlsconf"
)

// quorumTLS returns the TLS settings of the election and quorum
// connections (sslQuorum=true with the ssl.quorum.* key and trust stores),
// or nil when the quorum runs in plaintext.
func quorumTLS(cfg *config.Config, log *slog.Logger) (*peer.QuorumTLS, error) {
	if !cfg.SSLQuorum {
		if cfg.PortUnification {
			log.Warn("portUnification=true has no effect without sslQuorum=true")
		}
		return nil, nil
	}
	settings, err := tlsconf.FromProperties(cfg.Props, tlsconf.QuorumPrefix, log)
	if err != nil {
		return nil, fmt.Errorf("sslQuorum: %w", err)
	}
	server, err := settings.ServerConfig()
	if err != nil {
		return nil, fmt.Errorf("sslQuorum: %w", err)
	}
	log.Info("quorum connections use TLS", "key_store", settings.KeyStore.Location, "trust_store", settings.TrustStore.Location,
		"port_unification", cfg.PortUnification)
	return &peer.QuorumTLS{
		Server:          server,
		Client:          func(host string) (*tls.Config, error) { return settings.ClientConfig(host) },
		PortUnification: cfg.PortUnification,
		DetectTimeout:   settings.HandshakeDetectionTimeout,
	}, nil
}

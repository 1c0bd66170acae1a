package cli

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/tlsconf"
)

// tlsOption returns the WithTLSFor option of the zookeeper.ssl.*
// properties (key and trust stores, protocols, cipher suites, hostname
// verification), read by internal/tlsconf as the server reads its own.
// Each connection's configuration verifies the server's certificate
// against the host it dials.
func (p *clientProps) tlsOption(log *slog.Logger) (client.Option, error) {
	props := map[string]string{}
	for k, v := range p.values {
		if strings.HasPrefix(k, propSSLPrefix) {
			props[k] = v
		}
	}
	settings, err := tlsconf.FromProperties(props, tlsconf.ClientPrefix, log)
	if err != nil {
		// Name where the property the error is about was set.
		for _, k := range slices.SortedFunc(maps.Keys(props), func(a, b string) int { return len(b) - len(a) }) {
			if strings.Contains(err.Error(), k) {
				return nil, fmt.Errorf("%s: %w", p.where(k), err)
			}
		}
		return nil, fmt.Errorf("TLS client properties: %w", err)
	}
	return client.WithTLSFor(func(host string) (*tls.Config, error) {
		return settings.ClientConfig(host)
	}), nil
}

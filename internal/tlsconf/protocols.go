package tlsconf

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// DefaultProtocol is ZooKeeper's default for protocol
// (X509Util.DEFAULT_PROTOCOL). enabledProtocols defaults to it alone, so a
// default ZooKeeper 3.8 speaks TLS 1.2 only.
const DefaultProtocol = "TLSv1.2"

// protocolVersions maps Java's protocol names to Go's versions.
var protocolVersions = map[string]uint16{
	"TLSv1":   tls.VersionTLS10,
	"TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12,
	"TLSv1.3": tls.VersionTLS13,
}

// parseProtocols returns the range of versions named by enabledProtocols
// (a comma-separated list), or by protocol when it is unset, as ZooKeeper's
// SSLContextAndOptions does. Java's "TLS" (any version) spans TLS 1.2–1.3.
// Go can only enable a contiguous range: a list with a gap (TLSv1,TLSv1.2)
// enables the versions between too, with a warning.
func parseProtocols(get func(string) (string, bool), prefix string, log *slog.Logger) (uint16, uint16, error) {
	key := kEnabled
	v, _ := get(kEnabled)
	if strings.TrimSpace(v) == "" {
		key = kProtocol
		v, _ = get(kProtocol)
		if strings.TrimSpace(v) == "" {
			v = DefaultProtocol
		}
	}
	var vers []uint16
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if name == "TLS" {
			vers = append(vers, tls.VersionTLS12, tls.VersionTLS13)
			continue
		}
		ver, ok := protocolVersions[name]
		if !ok {
			return 0, 0, fmt.Errorf("%s%s: unknown protocol %q (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)", prefix, key, name)
		}
		vers = append(vers, ver)
	}
	lo, hi := slices.Min(vers), slices.Max(vers)
	for ver := lo; ver <= hi; ver++ {
		if !slices.Contains(vers, ver) {
			log.Warn("TLS protocols with a gap: every version between the lowest and highest is enabled", "property", prefix+key, "value", v)
			break
		}
	}
	return lo, hi, nil
}

// defaultCipherSuites is ZooKeeper's default list on Java 9 and later
// (X509Util.getDefaultCipherSuitesForJavaVersion: the GCM suites first,
// then the CBC ones).
var defaultCipherSuites = []string{
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
	"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
	"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
}

// javaOnlySuites are suites of ZooKeeper's default list that Java has and
// Go does not; naming them draws a warning, not an error, so that a
// ciphersuites line copied from ZooKeeper's defaults is accepted.
var javaOnlySuites = []string{
	"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
	"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
}

// suiteIDs maps the IANA names (which Java uses too) of the suites Go
// implements to their IDs.
func suiteIDs() map[string]uint16 {
	m := make(map[string]uint16)
	for _, s := range tls.CipherSuites() {
		m[s.Name] = s.ID
	}
	for _, s := range tls.InsecureCipherSuites() {
		m[s.Name] = s.ID
	}
	return m
}

// parseCipherSuites returns the TLS 1.2 suites named by ciphersuites (a
// comma-separated list of Java names), or ZooKeeper's default list. TLS 1.3
// suite names are accepted: Go enables all of them always.
func parseCipherSuites(get func(string) (string, bool), prefix string, log *slog.Logger) ([]uint16, error) {
	v, ok := get(kCiphers)
	names := defaultCipherSuites
	if ok {
		names = strings.Split(v, ",")
	}
	ids := suiteIDs()
	var out []uint16
	for _, n := range names {
		n = strings.TrimSpace(n)
		id, found := ids[n]
		switch {
		case found && isTLS13Suite(id):
			continue
		case found:
			out = append(out, id)
		case slices.Contains(javaOnlySuites, n):
			if ok {
				log.Warn("TLS cipher suite not implemented by Go, skipped", "property", prefix+kCiphers, "suite", n)
			}
		default:
			return nil, fmt.Errorf("%s%s: cipher suite %q is unknown or not supported by zkd", prefix, kCiphers, n)
		}
	}
	if len(out) == 0 && ok && strings.TrimSpace(v) != "" && !allTLS13(names, ids) {
		return nil, fmt.Errorf("%s%s: none of the cipher suites is supported by zkd: %q", prefix, kCiphers, v)
	}
	return out, nil
}

func isTLS13Suite(id uint16) bool {
	switch id {
	case tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256:
		return true
	}
	return false
}

func allTLS13(names []string, ids map[string]uint16) bool {
	for _, n := range names {
		if id, ok := ids[strings.TrimSpace(n)]; !ok || !isTLS13Suite(id) {
			return false
		}
	}
	return true
}

// Package tlsconf turns ZooKeeper's TLS settings (the ssl.* and
// ssl.quorum.* properties: key and trust stores in JKS, PKCS12 or PEM,
// protocols, cipher suites, client authentication, hostname verification)
// into crypto/tls configurations, and reloads certificates that change on
// disk.
package tlsconf

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkd/zkd/internal/config"
)

// Prefixes of the two families of TLS properties, as ZooKeeper's
// ClientX509Util and QuorumX509Util name them. A zoo.cfg key ssl.x is
// stored by internal/config as the property zookeeper.ssl.x.
const (
	ClientPrefix = "zookeeper.ssl."
	QuorumPrefix = "zookeeper.ssl.quorum."
)

// DefaultHandshakeDetectionTimeout is ZooKeeper's default for
// handshakeDetectionTimeoutMillis (X509Util.DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MILLIS).
const DefaultHandshakeDetectionTimeout = 5000 * time.Millisecond

// Store names a key or trust store file and how to open it.
type Store struct {
	Location string // file path; "" = none
	Password string // from .password, or the file named by .passwordPath
	Type     string // "JKS", "PKCS12" or "PEM" (inferred from the extension when unset)
}

// Settings are the TLS settings of one prefix (client port or quorum).
// Build them with [FromProperties]; the zero value is not useful.
type Settings struct {
	Prefix     string
	KeyStore   Store
	TrustStore Store

	// ClientAuth is what a server asks of its clients (clientAuth:
	// need, the default; want; none).
	ClientAuth tls.ClientAuthType
	// MinVersion and MaxVersion span the enabled protocols
	// (enabledProtocols, by default the one named by protocol, TLSv1.2).
	MinVersion, MaxVersion uint16
	// CipherSuites are the TLS 1.2 (and older) suites enabled
	// (ciphersuites; default: ZooKeeper's list for Java 9+, less the
	// suites Go does not implement). TLS 1.3 suites are always enabled.
	CipherSuites []uint16
	// HostnameVerification makes a client check that the server's
	// certificate names the address it dialled (hostnameVerification,
	// default true).
	HostnameVerification bool
	// VerifyClientHostname makes a server check, when HostnameVerification
	// is on, that a client's certificate names the client's address. It is
	// true for the quorum prefix and false for the client port, as in
	// ZooKeeper.
	VerifyClientHostname bool
	// HandshakeDetectionTimeout is handshakeDetectionTimeoutMillis
	// (default 5 s), the time a unified quorum port waits for a
	// connection's first bytes.
	HandshakeDetectionTimeout time.Duration

	log     *slog.Logger
	key     *watchedStore[*tls.Certificate]
	trust   *watchedStore[*trustPool]
	nowFunc func() time.Time
}

// keys read by FromProperties, after the prefix.
const (
	kKeyLoc       = "keyStore.location"
	kKeyPass      = "keyStore.password"
	kKeyPassPath  = "keyStore.passwordPath"
	kKeyType      = "keyStore.type"
	kTrustLoc     = "trustStore.location"
	kTrustPass    = "trustStore.password"
	kTrustPassPth = "trustStore.passwordPath"
	kTrustType    = "trustStore.type"
	kClientAuth   = "clientAuth"
	kProtocol     = "protocol"
	kEnabled      = "enabledProtocols"
	kCiphers      = "ciphersuites"
	kHostVerify   = "hostnameVerification"
	kCRL          = "crl"
	kOCSP         = "ocsp"
	kHandshake    = "handshakeDetectionTimeoutMillis"
	kSSLProvider  = "sslProvider"
	kSupplier     = "context.supplier.class"
)

// known lists every key FromProperties understands. Keys under the prefix
// that are not here draw a warning, except the ones another part of zkd
// reads (authProvider, and the quorum family under the client prefix).
var known = []string{kKeyLoc, kKeyPass, kKeyPassPath, kKeyType, kTrustLoc, kTrustPass, kTrustPassPth, kTrustType,
	kClientAuth, kProtocol, kEnabled, kCiphers, kHostVerify, kCRL, kOCSP, kHandshake, kSSLProvider, kSupplier}

// FromProperties reads the TLS settings under prefix ([ClientPrefix] or
// [QuorumPrefix]) from props, opens the key and trust stores once to check
// them, and returns the settings. Keys zkd accepts but does not act on are
// logged at WARN on log; a setting zkd cannot honour safely (revocation
// checks, a Java SSLContext supplier) or a bad value is an error naming
// the property.
func FromProperties(props config.Properties, prefix string, log *slog.Logger) (*Settings, error) {
	if log == nil {
		log = slog.Default()
	}
	get := func(k string) (string, bool) {
		v, ok := props[prefix+k]
		return v, ok
	}
	s := &Settings{Prefix: prefix, log: log, nowFunc: time.Now,
		VerifyClientHostname: prefix == QuorumPrefix}
	var err error
	if s.KeyStore, err = readStore(get, prefix, kKeyLoc, kKeyPass, kKeyPassPath, kKeyType); err != nil {
		return nil, err
	}
	if s.TrustStore, err = readStore(get, prefix, kTrustLoc, kTrustPass, kTrustPassPth, kTrustType); err != nil {
		return nil, err
	}
	if s.ClientAuth, err = parseClientAuth(get, prefix); err != nil {
		return nil, err
	}
	if s.MinVersion, s.MaxVersion, err = parseProtocols(get, prefix, log); err != nil {
		return nil, err
	}
	if s.CipherSuites, err = parseCipherSuites(get, prefix, log); err != nil {
		return nil, err
	}
	if s.HostnameVerification, err = boolKey(get, prefix, kHostVerify, true); err != nil {
		return nil, err
	}
	for _, k := range []string{kCRL, kOCSP} {
		on, err := boolKey(get, prefix, k, false)
		if err != nil {
			return nil, err
		}
		if on {
			return nil, fmt.Errorf("%s%s=true: zkd does not check certificate revocation; remove the setting or set it to false", prefix, k)
		}
	}
	s.HandshakeDetectionTimeout = DefaultHandshakeDetectionTimeout
	if v, ok := get(kHandshake); ok {
		n, perr := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		switch {
		case perr != nil:
			return nil, fmt.Errorf("%s%s: not a number: %q", prefix, kHandshake, v)
		case n < 1:
			log.Warn("invalid TLS handshake detection timeout, using the default", "property", prefix+kHandshake, "value", v, "default_ms", 5000)
		default:
			s.HandshakeDetectionTimeout = time.Duration(n) * time.Millisecond
		}
	}
	if v, ok := get(kSupplier); ok && strings.TrimSpace(v) != "" {
		return nil, fmt.Errorf("%s%s=%s: zkd cannot load a Java SSLContext supplier; configure the key and trust stores instead", prefix, kSupplier, v)
	}
	if v, ok := get(kSSLProvider); ok {
		log.Warn("TLS property ignored: ZooKeeper 3.8 does not read it and zkd always uses Go's TLS", "property", prefix+kSSLProvider, "value", v)
	}
	for _, full := range slices.Sorted(maps.Keys(props)) {
		k, ok := strings.CutPrefix(full, prefix)
		if !ok || slices.Contains(known, k) || k == "authProvider" || (prefix == ClientPrefix && strings.HasPrefix(k, "quorum.")) {
			continue
		}
		log.Warn("unknown TLS property ignored", "property", full)
	}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

// readStore reads one store's four keys. A password file (passwordPath)
// wins over the password, and loses one trailing line break, as in
// ZooKeeper's SecretUtils.
func readStore(get func(string) (string, bool), prefix, loc, pass, passPath, typ string) (Store, error) {
	var st Store
	st.Location, _ = get(loc)
	st.Password, _ = get(pass)
	if p, _ := get(passPath); p != "" {
		b, err := readFile(p)
		if err != nil {
			return st, fmt.Errorf("%s%s: %w", prefix, passPath, err)
		}
		st.Password = strings.TrimSuffix(string(b), "\n")
	}
	t, _ := get(typ)
	t = strings.ToUpper(strings.TrimSpace(t))
	switch {
	case st.Location == "":
		return st, nil
	case t == "":
		ft, err := typeFromFilename(st.Location)
		if err != nil {
			return st, fmt.Errorf("%s%s: %w; set %s%s", prefix, loc, err, prefix, typ)
		}
		t = ft
	case t == "JKS" || t == "PKCS12" || t == "PEM":
	case t == "BCFKS":
		return st, fmt.Errorf("%s%s=BCFKS: zkd cannot read Bouncy Castle key stores; use JKS, PKCS12 or PEM", prefix, typ)
	default:
		return st, fmt.Errorf("%s%s: unknown store type %q (JKS, PKCS12 or PEM)", prefix, typ, t)
	}
	st.Type = t
	return st, nil
}

// typeFromFilename infers a store type from the file's extension as
// ZooKeeper's KeyStoreFileType.fromFilename does: .jks, .pem, .p12 (and
// .bcfks, which zkd refuses); anything else is an error.
func typeFromFilename(name string) (string, error) {
	i := strings.LastIndexByte(name, '.')
	if i >= 0 {
		switch name[i:] {
		case ".jks":
			return "JKS", nil
		case ".pem":
			return "PEM", nil
		case ".p12":
			return "PKCS12", nil
		case ".bcfks":
			return "", fmt.Errorf("%s: zkd cannot read Bouncy Castle key stores", name)
		}
	}
	return "", fmt.Errorf("cannot tell the store type of %s from its name (.jks, .p12 or .pem)", name)
}

func parseClientAuth(get func(string) (string, bool), prefix string) (tls.ClientAuthType, error) {
	v, _ := get(kClientAuth)
	switch strings.ToUpper(v) {
	case "", "NEED":
		return tls.RequireAndVerifyClientCert, nil
	case "WANT":
		return tls.VerifyClientCertIfGiven, nil
	case "NONE":
		return tls.NoClientCert, nil
	}
	return 0, fmt.Errorf("%s%s: %q is not need, want or none", prefix, kClientAuth, v)
}

func boolKey(get func(string) (string, bool), prefix, k string, def bool) (bool, error) {
	v, ok := get(k)
	if !ok {
		return def, nil
	}
	// ZooKeeper's ZKConfig.getBoolean: trimmed, "true" in any case is true,
	// anything else false.
	return strings.EqualFold(strings.TrimSpace(v), "true"), nil
}

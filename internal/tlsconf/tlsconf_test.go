package tlsconf

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/testcluster"
)

func newLog() (*slog.Logger, *testcluster.LogBuffer) {
	b := &testcluster.LogBuffer{}
	return b.Logger(), b
}

// pki is a CA, a server certificate and a client certificate.
type pki struct {
	ca             *testcluster.CA
	server, client *testcluster.Cert
	dir            string
}

func newPKI(t *testing.T) *pki {
	ca := testcluster.NewCA(t, "test CA")
	return &pki{
		ca:     ca,
		server: ca.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "server"}}),
		client: ca.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "client", Organization: []string{"Acme"}}}),
		dir:    t.TempDir(),
	}
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// handshake runs a TLS handshake between the two configs over a pipe and
// returns the server's view of the connection and the client's error.
func handshake(t *testing.T, srv, cli *tls.Config) (tls.ConnectionState, error, error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	s := tls.Server(a, srv)
	c := tls.Client(b, cli)
	errc := make(chan error, 1)
	go func() {
		err := c.Handshake()
		if err == nil {
			// TLS 1.3 reports a rejected client certificate on the first read.
			_, err = c.Read(make([]byte, 1))
			if err == io.EOF || strings.Contains(errString(err), "deadline") {
				err = nil
			}
		}
		if err != nil {
			b.Close()
		}
		errc <- err
	}()
	serr := s.Handshake()
	st := s.ConnectionState()
	a.Close()
	return st, serr, <-errc
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func settings(t *testing.T, props config.Properties, prefix string) *Settings {
	t.Helper()
	log, _ := newLog()
	s, err := FromProperties(props, prefix, log)
	if err != nil {
		t.Fatalf("FromProperties: %v", err)
	}
	return s
}

func TestStoresOfEveryTypeGiveAWorkingMutualTLSHandshake(t *testing.T) {
	p := newPKI(t)
	cases := []struct {
		name     string
		ext, typ string // typ "" = inferred from ext
		keytool  bool
	}{
		{name: "PEM inferred from .pem", ext: ".pem"},
		{name: "PEM with explicit type", ext: ".crt", typ: "PEM"},
		{name: "PKCS12 made by keytool", ext: ".p12", keytool: true},
		{name: "JKS made by keytool", ext: ".jks", keytool: true},
		{name: "JKS with explicit lower-case type", ext: ".store", typ: "jks", keytool: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			typ := strings.ToUpper(tc.typ)
			if typ == "" {
				typ, _ = typeFromFilename("x" + tc.ext)
			}
			write := func(c *testcluster.Cert, name string) string {
				path := p.path(name + tc.ext)
				if typ == "PEM" {
					return c.WritePEM(t, path)
				}
				return c.KeyStore(t, path, typ, "secret")
			}
			trust := p.path("trust" + tc.ext)
			if typ == "PEM" {
				p.ca.WritePEM(t, trust)
			} else {
				p.ca.TrustStore(t, trust, typ, "secret")
			}
			props := func(prefix, key string) config.Properties {
				pr := config.Properties{
					prefix + "keyStore.location":   key,
					prefix + "keyStore.password":   "secret",
					prefix + "trustStore.location": trust,
					prefix + "trustStore.password": "secret",
				}
				if tc.typ != "" {
					pr[prefix+"keyStore.type"] = tc.typ
					pr[prefix+"trustStore.type"] = tc.typ
				}
				return pr
			}
			srv, err := settings(t, props(ClientPrefix, write(p.server, "server")), ClientPrefix).ServerConfig()
			if err != nil {
				t.Fatal(err)
			}
			cli, err := settings(t, props(ClientPrefix, write(p.client, "client")), ClientPrefix).ClientConfig("127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			st, serr, cerr := handshake(t, srv, cli)
			if serr != nil || cerr != nil {
				t.Fatalf("handshake: server %v, client %v", serr, cerr)
			}
			if len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "client" {
				t.Fatalf("server saw client certificates %v", st.PeerCertificates)
			}
			if st.Version != tls.VersionTLS12 {
				t.Fatalf("version %x, want TLS 1.2 (ZooKeeper's default protocol)", st.Version)
			}
		})
	}
}

func TestEncryptedPKCS8PEMKeyIsDecryptedWithTheKeyStorePassword(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl missing")
	}
	p := newPKI(t)
	plain := p.path("plain.key")
	os.WriteFile(plain, p.server.KeyPEM(), 0o600)
	for _, v2 := range []string{"aes-256-cbc", "aes-128-cbc", "des3"} {
		enc := p.path("enc-" + v2 + ".key")
		out, err := exec.Command("openssl", "pkcs8", "-topk8", "-v2", v2, "-in", plain, "-out", enc, "-passout", "pass:pw").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl: %v %s", err, out)
		}
		key, _ := os.ReadFile(enc)
		store := p.path("enc-" + v2 + ".pem")
		os.WriteFile(store, append(p.server.CertPEM(), key...), 0o600)
		if _, err := loadKeyPair(Store{Location: store, Password: "pw", Type: "PEM"}); err != nil {
			t.Fatalf("%s: %v", v2, err)
		}
		_, err = loadKeyPair(Store{Location: store, Password: "wrong", Type: "PEM"})
		if err == nil || !strings.Contains(err.Error(), store) || !strings.Contains(err.Error(), "password") {
			t.Fatalf("%s wrong password: %v, want an error naming the file and the password", v2, err)
		}
	}
}

func TestBadSettingsAreErrorsNamingTheProperty(t *testing.T) {
	p := newPKI(t)
	key := p.server.WritePEM(t, p.path("server.pem"))
	base := func(extra map[string]string) config.Properties {
		pr := config.Properties{ClientPrefix + "keyStore.location": key}
		for k, v := range extra {
			pr[ClientPrefix+k] = v
		}
		return pr
	}
	cases := []struct {
		name  string
		extra map[string]string
		want  string
	}{
		{"unknown cipher suite", map[string]string{"ciphersuites": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_FOO"}, "zookeeper.ssl.ciphersuites"},
		{"unknown protocol", map[string]string{"protocol": "SSLv3"}, "zookeeper.ssl.protocol"},
		{"bad clientAuth", map[string]string{"clientAuth": "maybe"}, "zookeeper.ssl.clientAuth"},
		{"revocation checks requested", map[string]string{"crl": "true"}, "zookeeper.ssl.crl"},
		{"ocsp requested", map[string]string{"ocsp": " TRUE "}, "zookeeper.ssl.ocsp"},
		{"Java SSLContext supplier", map[string]string{"context.supplier.class": "com.example.Supplier"}, "zookeeper.ssl.context.supplier.class"},
		{"unknown store type", map[string]string{"keyStore.type": "PKCS11"}, "zookeeper.ssl.keyStore.type"},
		{"type not inferable", map[string]string{"trustStore.location": p.path("trust.crt")}, "zookeeper.ssl.trustStore.location"},
		{"missing trust store", map[string]string{"trustStore.location": p.path("missing.pem")}, "missing.pem"},
		{"missing password file", map[string]string{"keyStore.passwordPath": p.path("nopw")}, "zookeeper.ssl.keyStore.passwordPath"},
		{"bad handshake timeout", map[string]string{"handshakeDetectionTimeoutMillis": "soon"}, "handshakeDetectionTimeoutMillis"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log, _ := newLog()
			_, err := FromProperties(base(tc.extra), ClientPrefix, log)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestWrongKeyStorePasswordNamesTheFile(t *testing.T) {
	p := newPKI(t)
	for _, typ := range []string{"JKS", "PKCS12"} {
		path := p.client.KeyStore(t, p.path("client."+strings.ToLower(typ)), typ, "right-password")
		log, _ := newLog()
		_, err := FromProperties(config.Properties{
			ClientPrefix + "keyStore.location": path,
			ClientPrefix + "keyStore.password": "wrong",
			ClientPrefix + "keyStore.type":     typ,
		}, ClientPrefix, log)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "keyStore.location") {
			t.Fatalf("%s: err = %v, want one naming %s", typ, err, path)
		}
	}
}

func TestDefaultsAreZooKeepers(t *testing.T) {
	p := newPKI(t)
	log, logs := newLog()
	s, err := FromProperties(config.Properties{
		ClientPrefix + "keyStore.location":               p.server.WritePEM(t, p.path("s.pem")),
		ClientPrefix + "sslProvider":                     "OPENSSL",
		ClientPrefix + "quorum.keyStore.location":        "/elsewhere.jks",
		ClientPrefix + "authProvider":                    "x509",
		ClientPrefix + "nosuchKey":                       "1",
		QuorumPrefix + "hostnameVerification":            "false",
		ClientPrefix + "handshakeDetectionTimeoutMillis": "0",
	}, ClientPrefix, log)
	if err != nil {
		t.Fatal(err)
	}
	if s.ClientAuth != tls.RequireAndVerifyClientCert || s.MinVersion != tls.VersionTLS12 || s.MaxVersion != tls.VersionTLS12 ||
		!s.HostnameVerification || s.VerifyClientHostname || s.HandshakeDetectionTimeout != 5*time.Second {
		t.Fatalf("defaults: %+v", s)
	}
	if len(s.CipherSuites) != 10 || s.CipherSuites[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Fatalf("cipher suites %v", s.CipherSuites)
	}
	out := logs.String()
	for _, want := range []string{"zookeeper.ssl.sslProvider", "zookeeper.ssl.nosuchKey", "handshakeDetectionTimeoutMillis"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks a warning naming %s:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"quorum.keyStore", "authProvider"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("log warns about %s, which others read:\n%s", unwanted, out)
		}
	}
	q, err := FromProperties(config.Properties{QuorumPrefix + "clientAuth": "want", QuorumPrefix + "enabledProtocols": "TLSv1.3,TLSv1.2"}, QuorumPrefix, log)
	if err != nil {
		t.Fatal(err)
	}
	if !q.VerifyClientHostname || q.ClientAuth != tls.VerifyClientCertIfGiven || q.MinVersion != tls.VersionTLS12 || q.MaxVersion != tls.VersionTLS13 {
		t.Fatalf("quorum: %+v", q)
	}
}

func TestClientChecksTheServerCertificate(t *testing.T) {
	p := newPKI(t)
	other := testcluster.NewCA(t, "other CA")
	trust := p.ca.WritePEM(t, p.path("trust.pem"))
	cliKey := p.client.WritePEM(t, p.path("client.pem"))
	cases := []struct {
		name     string
		server   *testcluster.Cert
		dial     string
		noVerify bool
		want     string // "" = handshake succeeds
	}{
		{"good certificate by address", p.server, "127.0.0.1", false, ""},
		{"good certificate by name", p.server, "localhost", false, ""},
		{"signed by another CA", other.Issue(t, testcluster.CertOptions{}), "127.0.0.1", false, "unknown authority"},
		{"expired", p.ca.Issue(t, testcluster.CertOptions{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}), "127.0.0.1", false, "expired"},
		{"wrong host name", p.ca.Issue(t, testcluster.CertOptions{NoDefaultNames: true, DNSNames: []string{"elsewhere.example"}}), "localhost", false, "hostname verification"},
		{"wrong host name, verification off", p.ca.Issue(t, testcluster.CertOptions{NoDefaultNames: true, DNSNames: []string{"elsewhere.example"}}), "localhost", true, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.server.WritePEM(t, p.path("server"+string(rune('a'+i))+".pem"))
			srv, err := settings(t, config.Properties{ClientPrefix + "keyStore.location": key, ClientPrefix + "trustStore.location": trust}, ClientPrefix).ServerConfig()
			if err != nil {
				t.Fatal(err)
			}
			props := config.Properties{ClientPrefix + "keyStore.location": cliKey, ClientPrefix + "trustStore.location": trust}
			if tc.noVerify {
				props[ClientPrefix+"hostnameVerification"] = "false"
			}
			cli, err := settings(t, props, ClientPrefix).ClientConfig(tc.dial)
			if err != nil {
				t.Fatal(err)
			}
			_, _, cerr := handshake(t, srv, cli)
			if tc.want == "" && cerr != nil || tc.want != "" && (cerr == nil || !strings.Contains(cerr.Error(), tc.want)) {
				t.Fatalf("client error %v, want %q", cerr, tc.want)
			}
		})
	}
}

func TestServerChecksClientCertificatesAsClientAuthSays(t *testing.T) {
	p := newPKI(t)
	other := testcluster.NewCA(t, "other CA")
	key := p.server.WritePEM(t, p.path("server.pem"))
	trust := p.ca.WritePEM(t, p.path("trust.pem"))
	good := p.client.WritePEM(t, p.path("good.pem"))
	foreign := other.Issue(t, testcluster.CertOptions{}).WritePEM(t, p.path("foreign.pem"))
	cases := []struct {
		auth, clientKey string
		ok              bool
	}{
		{"need", good, true}, {"need", "", false}, {"need", foreign, false},
		{"want", "", true}, {"want", foreign, false}, {"none", foreign, true},
	}
	for _, tc := range cases {
		srv, err := settings(t, config.Properties{ClientPrefix + "keyStore.location": key, ClientPrefix + "trustStore.location": trust, ClientPrefix + "clientAuth": tc.auth}, ClientPrefix).ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		props := config.Properties{ClientPrefix + "trustStore.location": trust}
		if tc.clientKey != "" {
			props[ClientPrefix+"keyStore.location"] = tc.clientKey
		}
		cli, _ := settings(t, props, ClientPrefix).ClientConfig("127.0.0.1")
		_, serr, _ := handshake(t, srv, cli)
		if (serr == nil) != tc.ok {
			t.Errorf("clientAuth=%s key=%s: server error %v, want ok=%v", tc.auth, filepath.Base(tc.clientKey), serr, tc.ok)
		}
	}
}

func TestRenewedKeyStoreIsPickedUpAndABrokenOneIsNot(t *testing.T) {
	p := newPKI(t)
	key := p.server.WritePEM(t, p.path("server.pem"))
	log, logs := newLog()
	s, err := FromProperties(config.Properties{ClientPrefix + "keyStore.location": key, ClientPrefix + "clientAuth": "none"}, ClientPrefix, log)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.nowFunc = func() time.Time { return now }
	s.key.now = s.nowFunc
	srv, _ := s.ServerConfig()
	cli := &tls.Config{InsecureSkipVerify: true}
	serverSerial := func() string {
		t.Helper()
		c, _ := srv.GetConfigForClient(&tls.ClientHelloInfo{})
		return c.Certificates[0].Leaf.SerialNumber.String()
	}
	first := serverSerial()
	renewed := p.ca.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "server"}})
	renewed.WritePEM(t, key)
	if got := serverSerial(); got != first {
		t.Fatalf("reloaded within the check interval")
	}
	now = now.Add(2 * time.Second)
	if got := serverSerial(); got != renewed.Cert.SerialNumber.String() {
		t.Fatalf("serial %s after renewal, want %s", got, renewed.Cert.SerialNumber)
	}
	if !strings.Contains(logs.String(), "reloaded") || !strings.Contains(logs.String(), key) {
		t.Fatalf("no INFO naming %s:\n%s", key, logs)
	}
	// A handshake sees the renewed certificate.
	if _, serr, cerr := handshake(t, srv, cli); serr != nil || cerr != nil {
		t.Fatalf("handshake after reload: %v %v", serr, cerr)
	}
	// A half-written file keeps the renewed certificate and warns once.
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), 0o600)
	now = now.Add(2 * time.Second)
	if got := serverSerial(); got != renewed.Cert.SerialNumber.String() {
		t.Fatalf("broken file replaced the certificate")
	}
	now = now.Add(2 * time.Second)
	serverSerial()
	if n := strings.Count(logs.String(), "cannot be loaded"); n != 1 {
		t.Fatalf("%d warnings about the broken file, want 1:\n%s", n, logs)
	}
}

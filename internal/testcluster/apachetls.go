package testcluster

import (
	"crypto/x509/pkix"
	"path/filepath"
	"strconv"
	"testing"
)

// ApacheTLS is a TLS set-up for an Apache ZooKeeper test server: a CA of
// its own, a server certificate for 127.0.0.1 and localhost, both written
// as PEM stores, and a free port for secureClientPort.
type ApacheTLS struct {
	CA         *CA
	Server     *Cert
	KeyStore   string // the server's PEM key store
	TrustStore string // the CA's certificate, as a PEM trust store
	SecurePort int
	SecureAddr string // "127.0.0.1:port"
}

// NewApacheTLS makes the CA, the server's certificate and stores in the
// test's temporary directory, and picks the secure port.
func NewApacheTLS(t testing.TB) *ApacheTLS {
	t.Helper()
	dir := t.TempDir()
	a := &ApacheTLS{CA: NewCA(t, "zkd test CA")}
	a.Server = a.CA.Issue(t, CertOptions{Subject: pkix.Name{CommonName: "zookeeper", Organization: []string{"zkd tests"}}})
	a.KeyStore = a.Server.WritePEM(t, filepath.Join(dir, "server.pem"))
	a.TrustStore = a.CA.WritePEM(t, filepath.Join(dir, "ca.pem"))
	a.SecurePort = FreePort(t)
	a.SecureAddr = "127.0.0.1:" + strconv.Itoa(a.SecurePort)
	return a
}

// Config returns the zoo.cfg lines (for ApacheOptions.ExtraConfig) that
// make Apache ZooKeeper 3.8 serve TLS on the secure port with the Netty
// connection factory, which TLS needs, and require client certificates
// issued by the CA (ssl.clientAuth's default, need). The plain client port
// stays open, for the readiness checks.
func (a *ApacheTLS) Config() []string {
	return []string{
		"serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
		"secureClientPort=" + strconv.Itoa(a.SecurePort),
		"secureClientPortAddress=127.0.0.1",
		"ssl.keyStore.location=" + a.KeyStore,
		"ssl.keyStore.type=PEM",
		"ssl.trustStore.location=" + a.TrustStore,
		"ssl.trustStore.type=PEM",
	}
}

package testcluster

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// DialRawTLS opens a TLS connection to the server at addr under conf and
// completes the TLS handshake, without sending anything else.
func DialRawTLS(t testing.TB, addr string, conf *tls.Config) *RawClient {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, conf)
	if err != nil {
		t.Fatalf("DialRawTLS %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &RawClient{t: t, conn: conn}
}

// ConnectRawTLS is ConnectRaw over TLS.
func ConnectRawTLS(t testing.TB, addr string, conf *tls.Config) *RawClient {
	t.Helper()
	c := DialRawTLS(t, addr, conf)
	resp := c.Handshake(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16), HasReadOnly: true})
	if resp == nil || resp.SessionID == 0 {
		t.Fatalf("ConnectRawTLS to %s: handshake refused (%+v)", addr, resp)
	}
	return c
}

// TLSConfig returns a client configuration that presents the certificate
// (nil for none) and trusts ca.
func TLSConfig(ca *CA, cert *Cert) *tls.Config {
	conf := &tls.Config{RootCAs: x509Pool(ca), ServerName: "localhost"}
	if cert != nil {
		conf.Certificates = []tls.Certificate{{Certificate: [][]byte{cert.Cert.Raw}, PrivateKey: cert.Key, Leaf: cert.Cert}}
	}
	return conf
}

package clientport

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// tlsPair returns a server config (client certificates required) and a
// client config holding a client certificate named cn.
func tlsPair(t *testing.T, cn string) (srv, cli *tls.Config) {
	ca := testcluster.NewCA(t, "clientport CA")
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	pair := func(c *testcluster.Cert) tls.Certificate {
		return tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
	}
	s := ca.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "server"}})
	c := ca.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: cn}})
	srv = &tls.Config{Certificates: []tls.Certificate{pair(s)}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	cli = &tls.Config{Certificates: []tls.Certificate{pair(c)}, RootCAs: pool, ServerName: "localhost"}
	return srv, cli
}

func serveTLS(t *testing.T, b Backend, opts Options) (*Listener, *testcluster.LogBuffer) {
	logs := &testcluster.LogBuffer{}
	opts.Logger = logs.Logger()
	return serve(t, b, opts), logs
}

// waitClosed reads from nc until EOF or an error and returns how long it
// took.
func waitClosed(t *testing.T, nc net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	nc.SetReadDeadline(start.Add(10 * time.Second))
	_, err := io.Copy(io.Discard, nc)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after 10 s")
	}
	return time.Since(start)
}

func TestTLSClientHandshakesAndItsCertificateIsOnTheConn(t *testing.T) {
	srvConf, cliConf := tlsPair(t, "alice")
	b := newFakeBackend()
	l, _ := serveTLS(t, b, Options{TLS: srvConf})
	tc := tls.Client(dial(t, l), cliConf)
	handshake(t, tc)
	tc.Write(ping(1))
	<-b.arrived
	b.mu.Lock()
	st := b.conns[0].TLS()
	b.mu.Unlock()
	if st == nil || len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "alice" {
		t.Fatalf("conn TLS state %+v, want alice's certificate", st)
	}
	// Four-letter words are answered over TLS, as on ZooKeeper's secure port.
	tc2 := tls.Client(dial(t, l), cliConf)
	tc2.Write([]byte("ruok"))
	out, _ := io.ReadAll(tc2)
	if string(out) != "imok" {
		t.Fatalf("ruok over TLS: %q", out)
	}
}

func TestBadTLSClientsAreClosedAndLogged(t *testing.T) {
	srvConf, cliConf := tlsPair(t, "alice")
	_, strangerConf := tlsPair(t, "mallory") // signed by another CA
	strangerConf.RootCAs = cliConf.RootCAs   // but trusting the server
	cases := []struct {
		name    string
		talk    func(nc net.Conn)
		wantLog string
		within  time.Duration
	}{
		{"plaintext four-letter word", func(nc net.Conn) { nc.Write([]byte("ruok\n")) }, "first record does not look like a TLS handshake", time.Second},
		{"plaintext ConnectRequest", func(nc net.Conn) { nc.Write(ping(0)) }, "TLS handshake failed", time.Second},
		{"certificate from an unknown CA", func(nc net.Conn) { tls.Client(nc, strangerConf).Handshake() }, "unknown authority", time.Second},
		{"no client certificate", func(nc net.Conn) {
			c := cliConf.Clone()
			c.Certificates = nil
			tls.Client(nc, c).Handshake()
		}, "certificate", time.Second},
		{"handshake truncated and held open", func(nc net.Conn) { nc.Write([]byte{0x16, 0x03, 0x01, 0x02}) }, "not completed within 300ms", 3 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend()
			l, logs := serveTLS(t, b, Options{TLS: srvConf, TLSHandshakeTimeout: 300 * time.Millisecond})
			nc := dial(t, l)
			tc.talk(nc)
			if d := waitClosed(t, nc); d > tc.within {
				t.Errorf("closed after %v, want within %v", d, tc.within)
			}
			<-b.closed
			if !strings.Contains(logs.String(), tc.wantLog) || !strings.Contains(logs.String(), "peer=127.0.0.1:") {
				t.Errorf("log lacks %q with the peer:\n%s", tc.wantLog, logs)
			}
			if st := l.TLSStats(); st.Unsuccessful != 1 || l.HandshakeFailures() != 1 {
				t.Errorf("stats %+v, failures %d; want one unsuccessful handshake", st, l.HandshakeFailures())
			}
			if b.count() != 0 || len(b.conns) != 0 {
				t.Errorf("backend heard of the connection")
			}
		})
	}
}

func TestUnifiedPortServesTLSAndPlaintextAndCountsNonMTLS(t *testing.T) {
	srvConf, cliConf := tlsPair(t, "alice")
	b := newFakeBackend()
	l, _ := serveTLS(t, b, Options{TLS: srvConf, PortUnification: true, CountNonMTLS: true})
	plain := dial(t, l)
	handshake(t, plain)
	secure := tls.Client(dial(t, l), cliConf)
	handshake(t, secure)
	plain.Write(ping(1))
	secure.Write(ping(1))
	<-b.arrived
	<-b.arrived
	b.mu.Lock()
	var tlsConns int
	for _, c := range b.conns {
		if c.TLS() != nil {
			tlsConns++
		}
	}
	b.mu.Unlock()
	if tlsConns != 1 {
		t.Fatalf("%d TLS connections, want 1 of 2", tlsConns)
	}
	// Like ZooKeeper's Netty factory, every connection to a unified port
	// counts as non-mTLS when accepted.
	if st := l.TLSStats(); st.NonMTLSLocal != 2 || st.NonMTLSRemote != 0 {
		t.Fatalf("stats %+v, want 2 local non-mTLS connections", st)
	}
}

func TestOutstandingHandshakeLimitClosesExtraConnections(t *testing.T) {
	srvConf, _ := tlsPair(t, "alice")
	b := newFakeBackend()
	l, logs := serveTLS(t, b, Options{TLS: srvConf, OutstandingHandshakeLimit: 1, TLSHandshakeTimeout: 5 * time.Second})
	held := dial(t, l)
	held.Write([]byte{0x16, 0x03, 0x01})
	deadline := time.Now().Add(5 * time.Second)
	for l.TLSStats().Outstanding != 1 {
		if time.Now().After(deadline) {
			t.Fatal("first handshake never counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	extra := dial(t, l)
	if d := waitClosed(t, extra); d > time.Second {
		t.Fatalf("extra connection closed after %v", d)
	}
	if st := l.TLSStats(); st.Exceeded != 1 {
		t.Fatalf("stats %+v, want one exceeded", st)
	}
	if !strings.Contains(logs.String(), "outstandingHandshake.limit") {
		t.Fatalf("log:\n%s", logs)
	}
	held.Close()
}

package peer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// quorumTLS returns a QuorumTLS for a server of this CA whose certificate
// names 127.0.0.1, as both ends of a quorum connection need.
func (ca *testCA) quorumTLS(t *testing.T, name string, unify bool) *QuorumTLS {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	pair := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &QuorumTLS{
		Server: &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: ca.pool, ClientAuth: tls.RequireAndVerifyClientCert},
		Client: func(host string) (*tls.Config, error) {
			return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: ca.pool, ServerName: host}, nil
		},
		PortUnification: unify,
	}
}

func TestCnxManagerOverTLSCarriesMessagesBetweenServersOfOneCA(t *testing.T) {
	noCnxLeaks(t)
	ca := newTestCA(t, "quorum CA")
	a := startCnxManagerWith(t, CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", TLS: ca.quorumTLS(t, "zk1", false)})
	b := startCnxManagerWith(t, CnxConfig{MyID: 2, ListenAddr: "127.0.0.1:0", TLS: ca.quorumTLS(t, "zk2", false)})
	peers := map[int64]string{1: a.Addr(), 2: b.Addr()}
	a.SetPeers(peers)
	b.SetPeers(peers)
	a.Send(2, []byte("from 1"))
	b.Send(1, []byte("from 2"))
	expectCnxMsg(t, b, 1, "from 1")
	expectCnxMsg(t, a, 2, "from 2")
}

func TestCnxManagerOverTLSRefusesAServerOfAnotherCA(t *testing.T) {
	noCnxLeaks(t)
	ours, theirs := newTestCA(t, "quorum CA"), newTestCA(t, "someone else's CA")
	a := startCnxManagerWith(t, CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", TLS: ours.quorumTLS(t, "zk1", false)})
	b := startCnxManagerWith(t, CnxConfig{MyID: 2, ListenAddr: "127.0.0.1:0", TLS: theirs.quorumTLS(t, "intruder", false)})
	c := startCnxManagerWith(t, CnxConfig{MyID: 3, ListenAddr: "127.0.0.1:0", TLS: ours.quorumTLS(t, "zk3", false)})
	peers := map[int64]string{1: a.Addr(), 2: b.Addr(), 3: c.Addr()}
	for _, m := range []*CnxManager{a, b, c} {
		m.SetPeers(peers)
	}
	b.Send(1, []byte("from the intruder"))
	a.Send(2, []byte("to the intruder"))
	c.Send(1, []byte("from 3"))
	// Server 3 dials 1 after the intruder's attempts: once its message is
	// in, the intruder's have had their chance in both directions.
	expectCnxMsg(t, a, 3, "from 3")
	cnxWaitFor(t, "the failed handshakes to end", func() bool {
		_, _, _, ab := a.linkInfo(2)
		_, _, _, ba := b.linkInfo(1)
		return !ab && !ba
	})
	select {
	case msg := <-a.Recv():
		t.Fatalf("server 1 received %q from %d over a link it should have refused", msg.Data, msg.From)
	case msg := <-b.Recv():
		t.Fatalf("the intruder received %q from %d", msg.Data, msg.From)
	default:
	}
}

func TestCnxManagerOverTLSDropsAPlaintextPeerUnlessPortsAreUnified(t *testing.T) {
	for _, unify := range []bool{false, true} {
		t.Run(map[bool]string{false: "tls only", true: "port unification"}[unify], func(t *testing.T) {
			noCnxLeaks(t)
			ca := newTestCA(t, "quorum CA")
			m := startCnxManagerWith(t, CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", TLS: ca.quorumTLS(t, "zk1", unify)})
			c := rawDial(t, m.Addr())
			rawWrite(t, c, rawHeader(protocolV1, 2, "127.0.0.1:1"))
			rawWrite(t, c, rawFrame(5, []byte("plain")))
			if !unify {
				expectRawEOF(t, c)
				return
			}
			expectCnxMsg(t, m, 2, "plain")
		})
	}
}

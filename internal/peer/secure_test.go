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

	"github.com/zkd/zkd/internal/sasl"
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

// introduce gives every manager the election addresses of all of them.
func introduce(ms ...*CnxManager) {
	peers := make(map[int64]string)
	for _, m := range ms {
		peers[m.cfg.MyID] = m.Addr()
	}
	for _, m := range ms {
		m.SetPeers(peers)
	}
}

// requireLinked requires that a and b exchange messages both ways.
func requireLinked(t *testing.T, a, b *CnxManager) {
	t.Helper()
	introduce(a, b)
	a.Send(b.cfg.MyID, []byte("hello b"))
	b.Send(a.cfg.MyID, []byte("hello a"))
	expectCnxMsg(t, b, a.cfg.MyID, "hello b")
	expectCnxMsg(t, a, b.cfg.MyID, "hello a")
}

// requireRefused requires that a accepts no message and no link from
// refused, which tries to reach it, while good, which tries after it, gets
// through: so refused has had its chance by then.
func requireRefused(t *testing.T, a, refused, good *CnxManager) {
	t.Helper()
	introduce(a, refused)
	refused.Send(a.cfg.MyID, []byte("from the refused"))
	a.Send(refused.cfg.MyID, []byte("to the refused"))
	good.SetPeers(map[int64]string{a.cfg.MyID: a.Addr(), good.cfg.MyID: good.Addr()})
	good.Send(a.cfg.MyID, []byte("from the good"))
	expectCnxMsg(t, a, good.cfg.MyID, "from the good")
	cnxWaitFor(t, "the refused handshakes to end", func() bool {
		_, _, _, ab := a.linkInfo(refused.cfg.MyID)
		_, _, _, ba := refused.linkInfo(a.cfg.MyID)
		return !ab && !ba
	})
	select {
	case msg := <-a.Recv():
		t.Fatalf("server %d received %q from %d", a.cfg.MyID, msg.Data, msg.From)
	case msg := <-refused.Recv():
		t.Fatalf("the refused server received %q from %d", msg.Data, msg.From)
	default:
	}
}

func TestCnxManagerOverTLSCarriesMessagesBetweenServersOfOneCA(t *testing.T) {
	noCnxLeaks(t)
	ca := newTestCA(t, "quorum CA")
	a := startCnxManagerWith(t, CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", TLS: ca.quorumTLS(t, "zk1", false)})
	b := startCnxManagerWith(t, CnxConfig{MyID: 2, ListenAddr: "127.0.0.1:0", TLS: ca.quorumTLS(t, "zk2", false)})
	requireLinked(t, a, b)
}

func TestCnxManagerOverTLSRefusesAServerOfAnotherCA(t *testing.T) {
	noCnxLeaks(t)
	ours, theirs := newTestCA(t, "quorum CA"), newTestCA(t, "someone else's CA")
	a := startCnxManagerWith(t, CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", TLS: ours.quorumTLS(t, "zk1", false)})
	b := startCnxManagerWith(t, CnxConfig{MyID: 2, ListenAddr: "127.0.0.1:0", TLS: theirs.quorumTLS(t, "intruder", false)})
	c := startCnxManagerWith(t, CnxConfig{MyID: 3, ListenAddr: "127.0.0.1:0", TLS: ours.quorumTLS(t, "zk3", false)})
	requireRefused(t, a, b, c)
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

// digestQuorumSASL returns quorum SASL settings under which peers log in
// as user with password and accept the users of accounts.
func digestQuorumSASL(user, password string, accounts map[string]string, require bool) *QuorumSASL {
	return &QuorumSASL{
		Learner: func(string) (sasl.Client, error) {
			return sasl.NewDigestMD5Client(sasl.DigestMD5ClientConfig{Username: user, Password: password,
				Protocol: "zookeeper-quorum", ServerName: "zk-quorum-sasl-md5"}), nil
		},
		Server: func(string) (sasl.Server, error) {
			return sasl.NewDigestMD5Server(sasl.DigestMD5ServerConfig{Users: accounts,
				Protocol: "zookeeper-quorum", ServerName: "zk-quorum-sasl-md5"}), nil
		},
		Require: require,
	}
}

func TestCnxManagerWithQuorumSASLLinksServersThatKnowThePassword(t *testing.T) {
	noCnxLeaks(t)
	accounts := map[string]string{"quorum": "s3cret"}
	a := startCnxManagerWith(t, CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", SASL: digestQuorumSASL("quorum", "s3cret", accounts, true)})
	b := startCnxManagerWith(t, CnxConfig{MyID: 2, ListenAddr: "127.0.0.1:0", SASL: digestQuorumSASL("quorum", "s3cret", accounts, true)})
	requireLinked(t, a, b)
}

// In these tests server 2 dials server 1 (the larger sid keeps the link),
// so server 1 checks server 2.

func TestCnxManagerWithQuorumSASLRefusesAWrongPassword(t *testing.T) {
	for _, require := range []bool{true, false} {
		t.Run(map[bool]string{true: "required", false: "not required"}[require], func(t *testing.T) {
			noCnxLeaks(t)
			accounts := map[string]string{"quorum": "s3cret"}
			a := startCnxManagerWith(t, CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", SASL: digestQuorumSASL("quorum", "s3cret", accounts, require)})
			b := startCnxManagerWith(t, CnxConfig{MyID: 2, ListenAddr: "127.0.0.1:0", SASL: digestQuorumSASL("quorum", "guess", accounts, require)})
			c := startCnxManagerWith(t, CnxConfig{MyID: 3, ListenAddr: "127.0.0.1:0", SASL: digestQuorumSASL("quorum", "s3cret", accounts, true)})
			requireRefused(t, a, b, c)
		})
	}
}

func TestCnxManagerWithQuorumSASLLetsInAPeerThatDoesNotTryUnlessRequired(t *testing.T) {
	for _, require := range []bool{true, false} {
		t.Run(map[bool]string{true: "required", false: "not required"}[require], func(t *testing.T) {
			noCnxLeaks(t)
			accounts := map[string]string{"quorum": "s3cret"}
			a := startCnxManagerWith(t, CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", SASL: digestQuorumSASL("quorum", "s3cret", accounts, require)})
			// Server 2 checks its peers but does not authenticate itself
			// (quorum.auth.learnerRequireSasl=false).
			lax := digestQuorumSASL("", "", accounts, false)
			lax.Learner = nil
			b := startCnxManagerWith(t, CnxConfig{MyID: 2, ListenAddr: "127.0.0.1:0", SASL: lax})
			if !require {
				requireLinked(t, a, b)
				return
			}
			c := startCnxManagerWith(t, CnxConfig{MyID: 3, ListenAddr: "127.0.0.1:0", SASL: digestQuorumSASL("quorum", "s3cret", accounts, true)})
			requireRefused(t, a, b, c)
		})
	}
}

func TestQuorumSASLServerRefusesAPeerThatDoesNotAuthenticateWhenRequired(t *testing.T) {
	noCnxLeaks(t)
	accounts := map[string]string{"quorum": "s3cret"}
	m := startCnxManagerWith(t, CnxConfig{MyID: 1, ListenAddr: "127.0.0.1:0", SASL: digestQuorumSASL("quorum", "s3cret", accounts, true)})
	c := rawDial(t, m.Addr())
	rawWrite(t, c, rawHeader(protocolV1, 2, "127.0.0.1:1"))
	rawWrite(t, c, rawFrame(5, []byte("plain")))
	expectRawEOF(t, c)
}

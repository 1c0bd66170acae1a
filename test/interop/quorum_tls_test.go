package interop

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// quorumTLSKeys are the zoo.cfg lines that put an ensemble's quorum on TLS
// with the given key and trust stores, as an operator of ZooKeeper 3.8
// writes them.
func quorumTLSKeys(keyStore, trustStore, password string) []string {
	return []string{
		"sslQuorum=true",
		"ssl.quorum.keyStore.location=" + keyStore,
		"ssl.quorum.keyStore.password=" + password,
		"ssl.quorum.trustStore.location=" + trustStore,
		"ssl.quorum.trustStore.password=" + password,
	}
}

// requireTLSPort requires that addr completes a TLS handshake with a client
// certificate of ca (the quorum's clientAuth is "need") and that a
// plaintext peer is closed there without an answer.
func requireTLSPort(t *testing.T, what, addr string, ca *testcluster.CA, cert *testcluster.Cert) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	pair := tls.Certificate{Certificate: [][]byte{cert.Cert.Raw}, PrivateKey: cert.Key}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair},
		ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Errorf("%s %s: TLS handshake: %v", what, addr, err)
		return
	}
	c.Close()
	p, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Errorf("%s %s: %v", what, addr, err)
		return
	}
	defer p.Close()
	// An election initial message (protocol V1, sid 99): a TLS port takes
	// it for a bad record and closes the connection.
	if _, err := p.Write([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 1, 'x'}); err != nil {
		return // already closed
	}
	_ = p.SetReadDeadline(time.Now().Add(15 * time.Second))
	var b [64]byte
	n, err := p.Read(b[:])
	for err == nil && n > 0 && b[0] == 0x15 { // a TLS alert is a fine way to say no
		n, err = p.Read(b[:])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s %s: a plaintext peer was left open", what, addr)
	}
}

func TestQuorumOverTLSWithApacheServers(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	dir := t.TempDir()
	ca := testcluster.NewCA(t, "quorum CA")
	cert := ca.Issue(t, testcluster.CertOptions{})
	const password = "quorum-secret"
	keyStore := cert.KeyStore(t, filepath.Join(dir, "quorum.jks"), "JKS", password)
	trustStore := ca.TrustStore(t, filepath.Join(dir, "trust.jks"), "JKS", password)
	// zkd starts before the JVM does, so the two zkd servers elect zk2
	// and the Java server follows it; when zk2 dies, zk3 (Java, the
	// larger sid at the same zxid) leads and zk1 follows it: both
	// directions of a quorum link between zkd and ZooKeeper run over TLS.
	e := startMixedWith(t, testcluster.EnsembleOptions{
		Members:     []testcluster.Kind{zkd, zkd, apache},
		ExtraConfig: quorumTLSKeys(keyStore, trustStore, password),
	})
	for _, m := range e.Servers() {
		requireTLSPort(t, m.Kind.String()+" election port", m.ElectionAddr, ca, cert)
	}
	// ZooKeeper listens on the quorum port only while it leads.
	first := e.WaitForLeader(t, electionTimeout)
	requireTLSPort(t, first.Kind.String()+" leader's quorum port", first.QuorumAddr, ca, cert)
	want := replicateAcrossAFailover(t, e, "/tls", "quorum connections use TLS", func(next *testcluster.Member) {
		requireTLSPort(t, next.Kind.String()+" leader's quorum port", next.QuorumAddr, ca, cert)
	})
	replicateThroughEveryMember(t, e, "/tls-rejoined", want)
	requireNoApacheComplaints(t, e)
}

// replicateAcrossAFailover checks a secured mixed ensemble: every zkd
// member logged zkdSays at start, writes through every member reach all,
// and again after the leader is killed (then check sees the new leader)
// and restarted. It returns the nodes written, for checkEverywhere.
func replicateAcrossAFailover(t *testing.T, e *testcluster.Ensemble, prefix, zkdSays string, check func(next *testcluster.Member)) map[string]string {
	t.Helper()
	want := map[string]string{}
	replicateThroughEveryMember(t, e, prefix, want)
	for _, m := range e.Servers() {
		if m.Kind == zkd {
			logMark{m, 0}.requireLogged(t, "the secured quorum", zkdSays)
		}
	}
	leader := e.WaitForLeader(t, electionTimeout)
	leader.Kill()
	next := e.WaitForLeader(t, electionTimeout)
	t.Logf("zk%d (%v) led; after it died, zk%d (%v) leads", leader.ID, leader.Kind, next.ID, next.Kind)
	check(next)
	replicateThroughEveryMember(t, e, prefix+"-after-failover", want)
	rejoin(t, e, leader)
	return want
}

func TestQuorumTLSKeepsOutAServerWithAForeignCertificateUntilItsStoreIsRenewed(t *testing.T) {
	dir := t.TempDir()
	ca := testcluster.NewCA(t, "quorum CA")
	trust := ca.WritePEM(t, filepath.Join(dir, "trust.pem"))
	keyStore := func(id int) string { return filepath.Join(dir, "server"+string(rune('0'+id))+".pem") }
	writeStore := func(path string, c *testcluster.Cert) {
		t.Helper()
		tmp := path + ".tmp"
		c.WritePEM(t, tmp)
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	for id := 1; id <= 3; id++ {
		writeStore(keyStore(id), ca.Issue(t, testcluster.CertOptions{}))
	}
	e := testcluster.StartEnsemble(t, testcluster.EnsembleOptions{
		Members:      []testcluster.Kind{zkd, zkd, zkd},
		TickTime:     ensembleTick,
		StartTimeout: electionTimeout,
		ExtraConfig:  []string{"sslQuorum=true", "ssl.quorum.trustStore.location=" + trust},
		MemberConfig: func(id int) []string { return []string{"ssl.quorum.keyStore.location=" + keyStore(id)} },
	})
	keepEnsembleLogs(t, e)
	want := map[string]string{}
	replicateThroughEveryMember(t, e, "/before", want)

	// zk3 comes back with a certificate another CA signed: the others
	// refuse its connections and it cannot join.
	z3 := e.Server(3)
	z3.Kill()
	writeStore(keyStore(3), testcluster.NewCA(t, "someone else's CA").Issue(t, testcluster.CertOptions{}))
	marks := []logMark{markLog(e.Server(1)), markLog(e.Server(2))}
	z3.Restart(t)
	waitFor(t, "zk1 or zk2 to refuse zk3's TLS handshake", func() bool {
		for _, m := range marks {
			if strings.Contains(m.since(), "failed TLS") {
				return true
			}
		}
		return false
	})
	if mode, err := z3.Mode(t); err == nil && mode != "" {
		t.Fatalf("zk3 with a foreign certificate serves as %s", mode)
	}
	writeThrough(t, e.Server(1), "/without-zk3", "x")
	want["/without-zk3"] = "x"

	// Its store renewed on disk with a certificate of the quorum's CA, zk3
	// joins without a restart.
	mark := markLog(z3)
	writeStore(keyStore(3), ca.Issue(t, testcluster.CertOptions{}))
	waitFor(t, "zk3 to join with its renewed certificate", func() bool {
		mode, err := z3.Mode(t)
		return err == nil && mode == "follower"
	})
	mark.requireLogged(t, "the renewed key store", "reloaded")
	checkEverywhere(t, e, want)
}

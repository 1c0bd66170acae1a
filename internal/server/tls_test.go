package server

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/testcluster"
)

// tlsServer is a server with a TLS port on an ephemeral address, its CA,
// and client certificates for alice, bob and the x509 super user.
type tlsServer struct {
	*Server
	ca               *testcluster.CA
	alice, bob, root *testcluster.Cert
}

func startTLSServer(t *testing.T, tweak func(*config.Config)) *tlsServer {
	t.Helper()
	ca := testcluster.NewCA(t, "server test CA")
	dir := t.TempDir()
	ts := &tlsServer{ca: ca,
		alice: ca.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "alice", Organization: []string{"Acme"}}}),
		bob:   ca.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "bob", Organization: []string{"Acme"}}}),
		root:  ca.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "root", Organization: []string{"Acme"}}}),
	}
	serverCert := ca.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "server"}})
	cfg := config.Default()
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.ClientPort = testcluster.FreePort(t) // not 0: with a secure port, 0 means no plaintext port
	cfg.DataDir, cfg.DataLogDir = dir, dir
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	cfg.Props["zookeeper.serverCnxnFactory"] = config.NettyFactoryClass
	cfg.Props["zookeeper.ssl.keyStore.location"] = serverCert.WritePEM(t, filepath.Join(dir, "server.pem"))
	cfg.Props["zookeeper.ssl.trustStore.location"] = ca.WritePEM(t, filepath.Join(dir, "ca.pem"))
	cfg.Props["zookeeper.X509AuthenticationProvider.superUser"] = "CN=root,O=Acme"
	cfg.Props["zookeeper.4lw.commands.whitelist"] = "*"
	if tweak != nil {
		tweak(cfg)
	}
	s, err := New(cfg, Options{SecureAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ts.Server = s
	return ts
}

func (ts *tlsServer) connect(t *testing.T, cert *testcluster.Cert) *testcluster.RawClient {
	return testcluster.ConnectRawTLS(t, ts.SecureAddr().String(), testcluster.TLSConfig(ts.ca, cert))
}

func whoAmIStrings(t *testing.T, c *testcluster.RawClient) []string {
	t.Helper()
	var r jute.WhoAmIResponse
	if h := c.Call(1, jute.OpWhoAmI, nil, &r); h.Err != jute.OK {
		t.Fatalf("whoAmI: %v", h.Err)
	}
	var out []string
	for _, i := range r.Infos {
		out = append(out, i.AuthScheme+":"+i.User)
	}
	return out
}

func TestTLSClientsCarryTheirCertificateSubject(t *testing.T) {
	ts := startTLSServer(t, nil)
	cases := []struct {
		cert *testcluster.Cert
		want []string
	}{
		{ts.alice, []string{"x509:CN=alice,O=Acme", "ip:127.0.0.1"}},
		{ts.root, []string{"super:", "x509:CN=root,O=Acme", "ip:127.0.0.1"}},
	}
	for _, tc := range cases {
		if got := whoAmIStrings(t, ts.connect(t, tc.cert)); !slices.Equal(got, tc.want) {
			t.Errorf("whoAmI %v, want %v", got, tc.want)
		}
	}
	plain := testcluster.ConnectRaw(t, ts.Addr().String())
	if got := whoAmIStrings(t, plain); !slices.Equal(got, []string{"ip:127.0.0.1"}) {
		t.Errorf("plaintext whoAmI %v", got)
	}
}

func TestX509ACLAdmitsOneCertificateAndRefusesOthers(t *testing.T) {
	ts := startTLSServer(t, nil)
	alice, bob, root := ts.connect(t, ts.alice), ts.connect(t, ts.bob), ts.connect(t, ts.root)
	plain := testcluster.ConnectRaw(t, ts.Addr().String())
	acl := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "x509", ID: "CN=alice,O=Acme"}}}
	if h := alice.Call(1, jute.OpCreate, &jute.CreateRequest{Path: "/a", Data: []byte("x"), ACL: acl}, nil); h.Err != jute.OK {
		t.Fatalf("create: %v", h.Err)
	}
	get := &jute.PathWatchRequest{Path: "/a"}
	for name, c := range map[string]*testcluster.RawClient{"alice": alice, "bob": bob, "root (super)": root, "plaintext": plain} {
		want := jute.ErrNoAuth
		if name == "alice" || name == "root (super)" {
			want = jute.OK
		}
		if h := c.Call(2, jute.OpGetData, get, nil); h.Err != want {
			t.Errorf("%s getData: %v, want %v", name, h.Err, want)
		}
	}
	// auth: expands to the x509 identity (not ip).
	auth := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "auth", ID: ""}}}
	if h := bob.Call(3, jute.OpCreate, &jute.CreateRequest{Path: "/b", ACL: auth}, nil); h.Err != jute.OK {
		t.Fatalf("create with auth ACL: %v", h.Err)
	}
	var got jute.GetACLResponse
	bob.Call(4, jute.OpGetACL, &jute.PathRequest{Path: "/b"}, &got)
	if len(got.ACL) != 1 || got.ACL[0].ID != (jute.Id{Scheme: "x509", ID: "CN=bob,O=Acme"}) {
		t.Errorf("auth ACL stored as %v", got.ACL)
	}
	bad := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "x509", ID: "not a name"}}}
	if h := alice.Call(5, jute.OpCreate, &jute.CreateRequest{Path: "/c", ACL: bad}, nil); h.Err != jute.ErrInvalidACL {
		t.Errorf("malformed x509 ACL: %v, want INVALIDACL", h.Err)
	}
	// addauth x509 takes the certificate, not the packet: a plaintext
	// connection has none and fails; a TLS one keeps its identity.
	if h := alice.Call(jute.XidAuth, jute.OpAuth, &jute.AuthPacket{Scheme: "x509", Auth: []byte("CN=root,O=Acme")}, nil); h.Err != jute.OK {
		t.Errorf("addauth x509 over TLS: %v", h.Err)
	}
	if got := whoAmIStrings(t, alice); !slices.Equal(got, []string{"x509:CN=alice,O=Acme", "ip:127.0.0.1"}) {
		t.Errorf("whoAmI after addauth x509: %v", got)
	}
	if h := plain.Call(jute.XidAuth, jute.OpAuth, &jute.AuthPacket{Scheme: "x509", Auth: []byte("CN=alice,O=Acme")}, nil); h.Err != jute.ErrAuthFailed {
		t.Errorf("addauth x509 over plaintext: %v, want AUTHFAILED", h.Err)
	}
	plain.ExpectClosed()
}

func TestSecureClientPortAloneServesOnlyTLS(t *testing.T) {
	ts := startTLSServer(t, func(c *config.Config) { c.ClientPort = 0 })
	if ts.Addr().String() != ts.SecureAddr().String() {
		t.Fatalf("Addr %v, want the secure port %v when it is the only one", ts.Addr(), ts.SecureAddr())
	}
	if got := whoAmIStrings(t, ts.connect(t, ts.alice)); !slices.Equal(got, []string{"x509:CN=alice,O=Acme", "ip:127.0.0.1"}) {
		t.Errorf("whoAmI %v", got)
	}
	if out := fourLetterTLS(t, ts, "conf"); !strings.Contains(out, "clientPort=-1\n") {
		t.Errorf("conf of a TLS-only server, as ZooKeeper prints it, wants clientPort=-1:\n%s", out)
	}
}

func TestSecureClientPortNeedsTheNettyFactory(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	s, err := New(cfg, Options{SecureAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(t.Context())
	if err == nil {
		s.Close()
		t.Fatal("started with a secure port on the NIO factory")
	}
	if !strings.Contains(err.Error(), "serverCnxnFactory="+config.NettyFactoryClass) {
		t.Fatalf("error %v does not say what to set", err)
	}
}

func TestTLSFailuresShowInMntr(t *testing.T) {
	ts := startTLSServer(t, nil)
	stranger := testcluster.NewCA(t, "stranger").Issue(t, testcluster.CertOptions{})
	conf := testcluster.TLSConfig(ts.ca, stranger)
	nc, err := tls.Dial("tcp", ts.SecureAddr().String(), conf)
	if err == nil {
		// TLS 1.3 would report the refusal on the first read; the default
		// protocol here is TLS 1.2, which fails the handshake itself.
		nc.Close()
		t.Fatal("handshake with a stranger's certificate succeeded")
	}
	out := fourLetterTLS(t, ts, "mntr")
	for _, want := range []string{"zk_unsuccessful_handshake\t1\n", "zk_auth_failed_count\t1\n", "zk_outstanding_tls_handshake\t0\n", "zk_non_mtls_local_conn_count\t0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("mntr lacks %q:\n%s", want, out)
		}
	}
	testcluster.ConnectRaw(t, ts.Addr().String())
	if out := fourLetterTLS(t, ts, "mntr"); !strings.Contains(out, "zk_non_mtls_local_conn_count\t1\n") {
		t.Errorf("a plaintext connection on the Netty factory is not counted:\n%s", out)
	}
}

// fourLetterTLS runs a four-letter word on the secure port, as alice.
func fourLetterTLS(t *testing.T, ts *tlsServer, word string) string {
	t.Helper()
	nc, err := tls.Dial("tcp", ts.SecureAddr().String(), testcluster.TLSConfig(ts.ca, ts.alice))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte(word))
	out, _ := io.ReadAll(nc)
	return string(out)
}

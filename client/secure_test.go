package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/server"
	"github.com/zkd/zkd/internal/testcluster"
)

// securedServer is a server a secured-client test runs against.
type securedServer struct {
	name    string
	addr    string
	logTail func() string
}

// digestServers starts Apache ZooKeeper 3.8 and an in-process zkd, each
// with SASL authentication and a JAAS Server section knowing bob
// (password "secret").
func digestServers(t *testing.T) []securedServer {
	t.Helper()
	jaas := filepath.Join(t.TempDir(), "jaas.conf")
	if err := os.WriteFile(jaas, []byte(`Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_bob="secret";
};
`), 0o600); err != nil {
		t.Fatal(err)
	}
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{
		ExtraConfig: []string{"authProvider.1=" + config.SASLProviderClass},
		JVMFlags:    []string{"-D" + config.JAASConfigKey + "=" + jaas},
	})
	zkd := startServer(t, func(c *config.Config) {
		c.Props[config.JAASConfigKey] = jaas
		c.Props["zookeeper.authProvider.1"] = config.SASLProviderClass
	})
	return []securedServer{{"Apache ZooKeeper", apache.Addr, apache.LogTail}, {"zkd", zkd, func() string { return "" }}}
}

// TestDigestMD5AgainstApacheZooKeeperAndZkd authenticates with DIGEST-MD5
// to a real Apache ZooKeeper 3.8 and to zkd: the right password makes the
// connection sasl:bob (and the Client reports SaslAuthenticated after
// Connected); a wrong one makes Connect fail with the server's AUTHFAILED.
func TestDigestMD5AgainstApacheZooKeeperAndZkd(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	for _, srv := range digestServers(t) {
		t.Run(srv.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := client.Connect(ctx, []string{srv.addr}, client.WithSASL(client.DigestMD5("bob", "secret")))
			if err != nil {
				t.Fatalf("%v\n%s", err, srv.logTail())
			}
			defer c.Close(ctx)
			for _, want := range []client.State{client.StateConnected, client.StateSaslAuthenticated} {
				select {
				case ev := <-c.Events():
					if ev.State != want {
						t.Fatalf("state event %v, want %v", ev.State, want)
					}
				case <-ctx.Done():
					t.Fatalf("no %v event", want)
				}
			}
			ids, err := c.WhoAmI(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(ids, client.ClientInfo{Scheme: "sasl", User: "bob"}) {
				t.Fatalf("whoami %v, want sasl:bob among them", ids)
			}

			_, err = client.Connect(ctx, []string{srv.addr}, client.WithSASL(client.DigestMD5("bob", "wrong")))
			var se *client.SASLError
			if !errors.Is(err, client.ErrAuthFailed) || !errors.As(err, &se) || se.Err != client.ErrAuthFailed {
				t.Fatalf("Connect with a wrong password: %v, want the server's AUTHFAILED", err)
			}
		})
	}
}

// TestSASLWithAServerWithoutSASLFails: a server with no SASL configured
// answers the first sasl request with an empty success and no token
// (client-protocol.md §10.8), which DIGEST-MD5 cannot answer; as Java's
// client (a null server token fails its exchange), the Client stops with
// AuthFailed rather than going on unauthenticated.
func TestSASLWithAServerWithoutSASLFails(t *testing.T) {
	ctx := testCtx(t)
	_, err := client.Connect(ctx, []string{startServer(t, nil)}, client.WithSASL(client.DigestMD5("bob", "secret")))
	var se *client.SASLError
	if !errors.Is(err, client.ErrAuthFailed) || !errors.As(err, &se) || errors.Is(se.Err, client.ErrAuthFailed) {
		t.Fatalf("Connect: %v, want a SASLError from the mechanism", err)
	}
	t.Log(err)
}

// tlsServers starts Apache ZooKeeper 3.8 and an in-process zkd, each
// serving TLS on a secure port with a certificate of tl's CA and requiring
// client certificates from it; the addresses are the secure ports.
func tlsServers(t *testing.T, tl *testcluster.ApacheTLS) []securedServer {
	t.Helper()
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{ExtraConfig: tl.Config()})
	zkd := startServerWith(t, func(c *config.Config) {
		c.Props["zookeeper.serverCnxnFactory"] = config.NettyFactoryClass
		c.Props["zookeeper.ssl.keyStore.location"] = tl.KeyStore
		c.Props["zookeeper.ssl.trustStore.location"] = tl.TrustStore
	}, server.Options{InMemory: true, SecureAddr: "127.0.0.1:0"})
	return []securedServer{{"Apache ZooKeeper", tl.SecureAddr, apache.LogTail}, {"zkd", zkd.SecureAddr().String(), func() string { return "" }}}
}

// tlsClientConfig trusts ca and, if cert is not nil, presents it.
func tlsClientConfig(ca *testcluster.CA, cert *testcluster.Cert) *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	cfg := &tls.Config{RootCAs: roots}
	if cert != nil {
		var chain [][]byte
		for _, c := range cert.Chain {
			chain = append(chain, c.Raw)
		}
		cfg.Certificates = []tls.Certificate{{Certificate: chain, PrivateKey: cert.Key, Leaf: cert.Cert}}
	}
	return cfg
}

// recordingDialer dials TCP and keeps every connection, so a test can cut
// the live one.
type recordingDialer struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *recordingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *recordingDialer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

func (d *recordingDialer) cutLast() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conns[len(d.conns)-1].Close()
}

// TestTLSAgainstApacheZooKeeperAndZkd connects over TLS to the secure port
// of a real Apache ZooKeeper 3.8 and of zkd: the client certificate is the
// connection's x509 identity, a reconnection does the TLS handshake again,
// and a client without a certificate is refused.
func TestTLSAgainstApacheZooKeeperAndZkd(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	tl := testcluster.NewApacheTLS(t)
	bob := tl.CA.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "bob", Organization: []string{"zkd tests"}}})
	wantX509 := client.ClientInfo{Scheme: "x509", User: "CN=bob,O=zkd tests"}
	for _, srv := range tlsServers(t, tl) {
		t.Run(srv.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var d recordingDialer
			c, err := client.Connect(ctx, []string{srv.addr}, client.WithTLS(tlsClientConfig(tl.CA, bob)),
				client.WithDialer(d.dial), client.WithBackoff(time.Millisecond, 10*time.Millisecond))
			if err != nil {
				t.Fatalf("%v\n%s", err, srv.logTail())
			}
			defer c.Close(ctx)
			if ids, err := c.WhoAmI(ctx); err != nil || !slices.Contains(ids, wantX509) {
				t.Fatalf("whoami %v %v, want %v among them", ids, err, wantX509)
			}
			if _, _, err := c.Create(ctx, "/tls", []byte("x"), client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
				t.Fatal(err)
			}

			// Cut the connection under TLS: the Client reconnects and
			// shakes hands again (a plain handshake would get no answer).
			d.cutLast()
			for reconnected := false; !reconnected; {
				select {
				case ev := <-c.Events():
					reconnected = ev.State == client.StateConnected && d.count() >= 2
				case <-ctx.Done():
					t.Fatal("no reconnection after the cut")
				}
			}
			if data, _, err := c.Get(ctx, "/tls"); err != nil || string(data) != "x" {
				t.Fatalf("get after the reconnect: %q %v", data, err)
			}
			if ids, err := c.WhoAmI(ctx); err != nil || !slices.Contains(ids, wantX509) {
				t.Fatalf("whoami after the reconnect: %v %v", ids, err)
			}

			// Both require a client certificate (ssl.clientAuth=need).
			_, err = client.Connect(ctx, []string{srv.addr}, client.WithTLS(tlsClientConfig(tl.CA, nil)), client.WithFailFast())
			if !errors.Is(err, client.ErrConnectionLoss) {
				t.Fatalf("Connect without a client certificate: %v, want a refused handshake", err)
			}
		})
	}
}

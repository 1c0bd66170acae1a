package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/testcluster"
)

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

func (d *recordingDialer) cutLast() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conns[len(d.conns)-1].Close()
	return len(d.conns)
}

// TestTLSAgainstApacheZooKeeper connects over TLS to a real Apache
// ZooKeeper 3.8's secureClientPort: the client certificate is the
// connection's x509 identity, a reconnection does the TLS handshake again,
// and a client without a certificate is refused.
func TestTLSAgainstApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	tl := testcluster.NewApacheTLS(t)
	zk := testcluster.StartApacheZK(t, testcluster.ApacheOptions{ExtraConfig: tl.Config()})
	bob := tl.CA.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "bob", Organization: []string{"zkd tests"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var d recordingDialer
	c, err := client.Connect(ctx, []string{tl.SecureAddr}, client.WithTLS(tlsClientConfig(tl.CA, bob)),
		client.WithDialer(d.dial), client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatalf("%v\n%s", err, zk.LogTail())
	}
	defer c.Close(ctx)
	wantX509 := client.ClientInfo{Scheme: "x509", User: "CN=bob,O=zkd tests"}
	ids, err := c.WhoAmI(ctx)
	if err != nil || !slices.Contains(ids, wantX509) {
		t.Fatalf("whoami %v %v, want %v among them", ids, err, wantX509)
	}
	if _, _, err := c.Create(ctx, "/tls", []byte("x"), client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
		t.Fatal(err)
	}

	// Cut the connection under TLS: the Client reconnects and shakes
	// hands again (a plain handshake would not get an answer).
	d.cutLast()
	for reconnected := false; !reconnected; {
		select {
		case ev := <-c.Events():
			d.mu.Lock()
			reconnected = ev.State == client.StateConnected && len(d.conns) >= 2
			d.mu.Unlock()
		case <-ctx.Done():
			t.Fatal("no reconnection after the cut")
		}
	}
	data, _, err := c.Get(ctx, "/tls")
	if err != nil || string(data) != "x" {
		t.Fatalf("get after the reconnect: %q %v", data, err)
	}
	if ids, err := c.WhoAmI(ctx); err != nil || !slices.Contains(ids, wantX509) {
		t.Fatalf("whoami after the reconnect: %v %v", ids, err)
	}

	// Apache requires a client certificate (ssl.clientAuth=need).
	_, err = client.Connect(ctx, []string{tl.SecureAddr}, client.WithTLS(tlsClientConfig(tl.CA, nil)), client.WithFailFast())
	if !errors.Is(err, client.ErrConnectionLoss) {
		t.Fatalf("Connect without a client certificate: %v, want a refused handshake", err)
	}
	t.Logf("without a client certificate: %v", err)
}

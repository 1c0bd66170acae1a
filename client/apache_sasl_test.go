package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/testcluster"
)

// startApacheWithDigestUsers runs Apache ZooKeeper 3.8 with SASL
// authentication and a JAAS Server section knowing bob (password
// "secret").
func startApacheWithDigestUsers(t *testing.T) *testcluster.ApacheZK {
	t.Helper()
	jaas := filepath.Join(t.TempDir(), "jaas.conf")
	if err := os.WriteFile(jaas, []byte(`Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_bob="secret";
};
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return testcluster.StartApacheZK(t, testcluster.ApacheOptions{
		ExtraConfig: []string{"authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"},
		JVMFlags:    []string{"-Djava.security.auth.login.config=" + jaas},
	})
}

// TestDigestMD5AgainstApacheZooKeeper authenticates with DIGEST-MD5 to a
// real Apache ZooKeeper 3.8: the right password makes the connection
// sasl:bob (and the Client reports SaslAuthenticated after Connected); a
// wrong one makes Connect fail with AuthFailed.
func TestDigestMD5AgainstApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	zk := startApacheWithDigestUsers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := client.Connect(ctx, []string{zk.Addr}, client.WithSASL(client.DigestMD5("bob", "secret")))
	if err != nil {
		t.Fatalf("%v\n%s", err, zk.LogTail())
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

	_, err = client.Connect(ctx, []string{zk.Addr}, client.WithSASL(client.DigestMD5("bob", "wrong")))
	var se *client.SASLError
	if !errors.Is(err, client.ErrAuthFailed) || !errors.As(err, &se) || se.Err != client.ErrAuthFailed {
		t.Fatalf("Connect with a wrong password: %v, want the server's AUTHFAILED", err)
	}
}

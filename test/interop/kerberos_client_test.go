package interop

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/sasl"
)

// gssapiMech returns, for client.WithSASL, zkd's GSSAPI client logged in as
// principal from its keytab, asking for zookeeper/<host> as Java's client
// does (canonicalized).
func (k *kerberosSetup) gssapiMech(t *testing.T, principal string, mutual bool, server sasl.ServerPrincipalOptions) func(host string) (client.SASLMechanism, error) {
	t.Helper()
	conf, err := sasl.LoadKrb5Conf(k.kdc.ConfPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sasl.GSSAPIClientConfig{Principal: principal, Keytab: k.keytab(principal), Krb5Conf: conf, Mutual: mutual}
	return func(host string) (client.SASLMechanism, error) {
		var ip net.IP
		if addrs, err := net.LookupIP(host); err == nil && len(addrs) > 0 {
			ip = addrs[0]
		}
		return sasl.NewGSSAPIClient(cfg, sasl.ServerPrincipal(host, ip, server))
	}
}

func TestKerberosGoClientAuthenticatesToZooKeeperAndZkd(t *testing.T) {
	k := startKerberos(t)
	for _, srv := range k.startServers(t, "") {
		for _, mutual := range []bool{false, true} {
			name := srv.name + map[bool]string{false: ", as Java's client (no mutual authentication)", true: ", with mutual authentication"}[mutual]
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				addr := "localhost:" + strconv.Itoa(srv.port)
				c, err := client.Connect(ctx, []string{addr}, client.WithSASL(k.gssapiMech(t, "alice", mutual, sasl.ServerPrincipalOptions{})))
				if err != nil {
					t.Fatalf("connect as alice: %v\n%s", err, srv.log())
				}
				defer c.Close(context.Background())
				infos, err := c.WhoAmI(ctx)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, in := range infos {
					found = found || in == client.ClientInfo{Scheme: "sasl", User: alice}
				}
				if !found {
					t.Fatalf("whoami = %+v, want sasl %s", infos, alice)
				}
				path := "/go-" + strconv.FormatBool(mutual)
				if _, _, err := c.Create(ctx, path, []byte("x"), 0, []client.ACL{{Perms: client.PermAll, Scheme: "sasl", ID: alice}}); err != nil {
					t.Fatal(err)
				}
				if _, _, err := c.Get(ctx, path); err != nil {
					t.Fatalf("alice reading her node: %v", err)
				}

				_, err = client.Connect(ctx, []string{addr}, client.WithSASL(k.gssapiMech(t, "alice", mutual,
					sasl.ServerPrincipalOptions{Principal: "zookeeper/otherhost@" + kerberosRealm})))
				// The server refuses it: not the mechanism on the client.
				if !errors.Is(err, client.ErrAuthFailed) || strings.Contains(err.Error(), "GSSAPI client") {
					t.Fatalf("a ticket for zookeeper/otherhost: err = %v, want the server's AUTHFAILED", err)
				}
			})
		}
	}
}

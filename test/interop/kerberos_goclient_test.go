package interop

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
)

// TestKerberosGoClientGSSAPIOption logs the Go client in with
// client.GSSAPI — from a keytab, a ticket cache and a password — to
// Apache ZooKeeper 3.8 and zkd with a Kerberos Server section; each
// connection is sasl:<principal>. A server principal in another realm is
// refused before any ticket is asked for.
func TestKerberosGoClientGSSAPIOption(t *testing.T) {
	k := startKerberos(t)
	servers := k.startServers(t, "")
	ccache := filepath.Join(k.dir, "alice-go.ccache")
	k.kdc.Kinit(t, alice, k.keytab("alice"), ccache)
	k.kdc.AddPrincipalPassword(t, "carol", "carol-pw")
	conf := k.kdc.ConfPath
	for _, srv := range servers {
		addr := "localhost:" + strconv.Itoa(srv.port)
		t.Run(srv.name, func(t *testing.T) {
			for _, tt := range []struct {
				name string
				k    client.Kerberos
				want string
			}{
				{"from a keytab", client.Kerberos{Principal: alice, Keytab: k.keytab("alice"), Krb5Conf: conf}, alice},
				{"from a ticket cache", client.Kerberos{TicketCache: ccache, Krb5Conf: conf}, alice},
				{"with a password", client.Kerberos{Principal: "carol", Password: "carol-pw", Krb5Conf: conf}, "carol@" + kerberosRealm},
			} {
				t.Run(tt.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					mech, err := client.GSSAPI(tt.k)
					if err != nil {
						t.Fatal(err)
					}
					c, err := client.Connect(ctx, []string{addr}, client.WithSASL(mech))
					if err != nil {
						t.Fatalf("%v\n%s", err, srv.log())
					}
					defer c.Close(ctx)
					ids, err := c.WhoAmI(ctx)
					if err != nil || !slices.Contains(ids, client.ClientInfo{Scheme: "sasl", User: tt.want}) {
						t.Fatalf("whoami %v %v, want sasl:%s", ids, err, tt.want)
					}
				})
			}
			t.Run("a server principal in another realm", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				mech, err := client.GSSAPI(client.Kerberos{Principal: alice, Keytab: k.keytab("alice"), Krb5Conf: conf, ServerRealm: "OTHER.TEST"})
				if err != nil {
					t.Fatal(err)
				}
				_, err = client.Connect(ctx, []string{addr}, client.WithSASL(mech))
				if !errors.Is(err, client.ErrAuthFailed) {
					t.Fatalf("Connect: %v, want an AuthFailed SASLError", err)
				}
			})
		})
	}
}

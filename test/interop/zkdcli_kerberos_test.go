package interop

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// TestZkdCliKerberosLikeZkCli runs whoami through zkd cli and zkCli.sh,
// with the same JAAS Client section and krb5.conf in CLIENT_JVMFLAGS,
// against Apache ZooKeeper 3.8 and zkd with a Kerberos Server section:
// logged in from a keytab and from a ticket cache, both clients report
// sasl:alice@REALM on both servers. A ticket for another service principal
// (zookeeper.server.principal) makes zkd cli fail with AUTHFAILED, and a
// principal the KDC does not know makes it fail before connecting.
func TestZkdCliKerberosLikeZkCli(t *testing.T) {
	k := startKerberos(t)
	bin := testcluster.ZkdBinary(t)
	servers := k.startServers(t, "")
	ccache := filepath.Join(k.dir, "alice.ccache")
	k.kdc.Kinit(t, "alice@"+kerberosRealm, k.keytab("alice"), ccache)
	cacheJAAS := writeTestFile(t, k.dir, "cache.jaas", `Client {
  com.sun.security.auth.module.Krb5LoginModule required
  useTicketCache=true
  ticketCache="`+ccache+`"
  doNotPrompt=true;
};
`)
	keytabJAAS := k.writeJAAS(t, "Client", "alice")
	want := []string{"ip: 127.0.0.1", "sasl: " + alice}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, srv := range servers {
		addr := "localhost:" + strconv.Itoa(srv.port)
		t.Run(srv.name, func(t *testing.T) {
			for _, tt := range []struct{ name, jaas string }{
				{"from a keytab", keytabJAAS},
				{"from a ticket cache", cacheJAAS},
			} {
				t.Run(tt.name, func(t *testing.T) {
					opts := testcluster.ZkCliOptions{JVMFlags: append([]string{"-Djava.security.auth.login.config=" + tt.jaas}, k.kdc.JVMFlags()...)}
					out, errOut, err := testcluster.ZkdCliWith(ctx, bin, opts, addr, "", "whoami")
					if err != nil {
						t.Fatalf("zkd cli whoami: %v\nstdout: %s\nstderr: %s\n%s", err, out, errOut, srv.log())
					}
					if got := identities(out); !slices.Equal(got, want) {
						t.Fatalf("zkd cli whoami identities %q, want %q\nstdout: %s\nstderr: %s", got, want, out, errOut)
					}
					javaOut, javaErr, err := testcluster.ZkCliWith(ctx, opts, addr, "whoami")
					if err != nil {
						t.Fatalf("zkCli.sh whoami: %v\nstdout: %s\nstderr: %s", err, javaOut, javaErr)
					}
					if got := identities(javaOut); !slices.Equal(got, want) {
						t.Fatalf("zkCli.sh whoami identities %q, want %q (the test's expectation is wrong)\nstdout: %s\nstderr: %s", got, want, javaOut, javaErr)
					}
				})
			}

			t.Run("a principal the KDC does not know fails instead of going on unauthenticated", func(t *testing.T) {
				// zkCli.sh reports AuthFailed, then connects without SASL.
				opts := testcluster.ZkCliOptions{JVMFlags: append([]string{"-Djava.security.auth.login.config=" + k.writeJAAS(t, "Client", "gone")}, k.kdc.JVMFlags()...)}
				out, errOut, err := testcluster.ZkdCliWith(ctx, bin, opts, addr, "", "whoami")
				if testcluster.ExitCode(err) != 1 || !strings.Contains(errOut, "SASL authentication with "+addr+" failed") || !strings.Contains(errOut, "gone@"+kerberosRealm) {
					t.Fatalf("zkd cli as an unknown principal: %v\nstdout: %s\nstderr: %s", err, out, errOut)
				}
			})

			t.Run("a ticket for another service principal", func(t *testing.T) {
				opts := testcluster.ZkCliOptions{JVMFlags: append([]string{"-Djava.security.auth.login.config=" + keytabJAAS,
					"-Dzookeeper.server.principal=zookeeper/otherhost@" + kerberosRealm}, k.kdc.JVMFlags()...)}
				out, errOut, err := testcluster.ZkdCliWith(ctx, bin, opts, addr, "", "whoami")
				if testcluster.ExitCode(err) != 1 || !strings.Contains(errOut, "AUTHFAILED") {
					t.Fatalf("zkd cli with a ticket for zookeeper/otherhost: %v\nstdout: %s\nstderr: %s", err, out, errOut)
				}
			})
		})
	}
}

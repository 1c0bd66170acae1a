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

// TestZkdCliKerberosLikeZkCliAgainstApacheZooKeeper runs whoami through
// zkd cli and zkCli.sh, with the same JAAS Client section and krb5.conf in
// CLIENT_JVMFLAGS, against an Apache ZooKeeper 3.8 with a Kerberos Server
// section: logged in from a keytab and from a ticket cache, both report
// sasl:alice@REALM. A ticket for another service principal
// (zookeeper.server.principal) makes zkd cli fail with AUTHFAILED.
func TestZkdCliKerberosLikeZkCliAgainstApacheZooKeeper(t *testing.T) {
	k := startKerberos(t)
	bin := testcluster.ZkdBinary(t)
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{
		ExtraConfig: []string{"authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"},
		JVMFlags:    k.serverFlags(),
	})
	addr := "localhost:" + strconv.Itoa(apache.Port)
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
	for _, tt := range []struct{ name, jaas string }{
		{"from a keytab", keytabJAAS},
		{"from a ticket cache", cacheJAAS},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := testcluster.ZkCliOptions{JVMFlags: append([]string{"-Djava.security.auth.login.config=" + tt.jaas}, k.kdc.JVMFlags()...)}
			out, errOut, err := testcluster.ZkdCliWith(ctx, bin, opts, addr, "", "whoami")
			if err != nil {
				t.Fatalf("zkd cli whoami: %v\nstdout: %s\nstderr: %s\n%s", err, out, errOut, apache.LogTail())
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

	t.Run("a ticket for another service principal", func(t *testing.T) {
		opts := testcluster.ZkCliOptions{JVMFlags: append([]string{"-Djava.security.auth.login.config=" + keytabJAAS,
			"-Dzookeeper.server.principal=zookeeper/otherhost@" + kerberosRealm}, k.kdc.JVMFlags()...)}
		out, errOut, err := testcluster.ZkdCliWith(ctx, bin, opts, addr, "", "whoami")
		if testcluster.ExitCode(err) != 1 || !strings.Contains(errOut, "AUTHFAILED") {
			t.Fatalf("zkd cli with a ticket for zookeeper/otherhost: %v\nstdout: %s\nstderr: %s", err, out, errOut)
		}
	})
}

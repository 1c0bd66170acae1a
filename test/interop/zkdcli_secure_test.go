package interop

import (
	"context"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// writeTestFile writes text to name in dir and returns the path.
func writeTestFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// identities returns whoami's identity lines ("scheme: user"), sorted: the
// server lists them in no particular order.
func identities(whoami string) []string {
	var ids []string
	for _, l := range strings.Split(whoami, "\n") {
		if l != "" && l != "Auth scheme: User" && strings.Contains(l, ": ") {
			ids = append(ids, l)
		}
	}
	slices.Sort(ids)
	return ids
}

const digestServerJAAS = `Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_bob="secret";
};
`

// digestClientJAAS returns a JAAS Client section for bob with password.
func digestClientJAAS(password string) string {
	return `Client {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  username="bob"
  password="` + password + `";
};
`
}

// TestZkdCliSecuredLikeZkCliAgainstApacheZooKeeper runs whoami through
// zkd cli and zkCli.sh with the same client properties against an Apache
// ZooKeeper 3.8 that serves TLS (client certificates required) and knows
// DIGEST-MD5 users: over TLS from a -client-configuration file, with SASL
// from the JAAS file CLIENT_JVMFLAGS names, and both at once. Both clients
// must report the same identities; a wrong password makes zkd cli fail.
func TestZkdCliSecuredLikeZkCliAgainstApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper, testcluster.NeedZkCli)
	bin := testcluster.ZkdBinary(t)
	dir := t.TempDir()
	tl := testcluster.NewApacheTLS(t)
	serverJAAS := writeTestFile(t, dir, "server-jaas.conf", digestServerJAAS)
	zk := testcluster.StartApacheZK(t, testcluster.ApacheOptions{
		ExtraConfig: append(tl.Config(), "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"),
		JVMFlags:    []string{"-Djava.security.auth.login.config=" + serverJAAS},
	})
	app := tl.CA.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "app", Organization: []string{"zkd tests"}}})
	clientPEM := app.WritePEM(t, filepath.Join(dir, "client.pem"))
	tlsProps := writeTestFile(t, dir, "tls.properties", strings.Join([]string{
		"zookeeper.client.secure=true",
		"zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
		"zookeeper.ssl.keyStore.location=" + clientPEM,
		"zookeeper.ssl.keyStore.type=PEM",
		"zookeeper.ssl.trustStore.location=" + tl.TrustStore,
		"zookeeper.ssl.trustStore.type=PEM",
	}, "\n")+"\n")
	goodJAAS := "-Djava.security.auth.login.config=" + writeTestFile(t, dir, "jaas.conf", digestClientJAAS("secret"))
	badJAAS := "-Djava.security.auth.login.config=" + writeTestFile(t, dir, "bad-jaas.conf", digestClientJAAS("wrong"))
	zkCliTLS := testcluster.ZkCliNettyClasspath

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, tt := range []struct {
		name string
		addr string
		opts testcluster.ZkCliOptions
		want []string
	}{
		{"TLS from -client-configuration", tl.SecureAddr,
			testcluster.ZkCliOptions{Args: []string{"-client-configuration", tlsProps}, JVMFlags: []string{zkCliTLS}},
			[]string{"ip: 127.0.0.1", "x509: CN=app,O=zkd tests"}},
		{"DIGEST-MD5 from the JAAS file in CLIENT_JVMFLAGS", zk.Addr,
			testcluster.ZkCliOptions{JVMFlags: []string{goodJAAS}},
			[]string{"ip: 127.0.0.1", "sasl: bob"}},
		{"TLS and DIGEST-MD5", tl.SecureAddr,
			testcluster.ZkCliOptions{Args: []string{"-client-configuration", tlsProps}, JVMFlags: []string{zkCliTLS, goodJAAS}},
			[]string{"ip: 127.0.0.1", "sasl: bob", "x509: CN=app,O=zkd tests"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := testcluster.ZkdCliWith(ctx, bin, tt.opts, tt.addr, "", "whoami")
			if err != nil {
				t.Fatalf("zkd cli whoami: %v\nstdout: %s\nstderr: %s\n%s", err, out, errOut, zk.LogTail())
			}
			if got := identities(out); !slices.Equal(got, tt.want) {
				t.Fatalf("zkd cli whoami identities %q, want %q\nstdout: %s\nstderr: %s", got, tt.want, out, errOut)
			}
			javaOut, javaErr, err := testcluster.ZkCliWith(ctx, tt.opts, tt.addr, "whoami")
			if err != nil {
				t.Fatalf("zkCli.sh whoami: %v\nstdout: %s\nstderr: %s", err, javaOut, javaErr)
			}
			if got := identities(javaOut); !slices.Equal(got, tt.want) {
				t.Fatalf("zkCli.sh whoami identities %q, want %q (the test's expectation is wrong)\nstdout: %s\nstderr: %s", got, tt.want, javaOut, javaErr)
			}
		})
	}

	t.Run("the shell reports SaslAuthenticated after SyncConnected, as zkCli.sh", func(t *testing.T) {
		opts := testcluster.ZkCliOptions{JVMFlags: []string{goodJAAS}, KeepNotices: true}
		out, errOut, err := testcluster.ZkdCliWith(ctx, bin, opts, zk.Addr, "whoami\n")
		if err != nil {
			t.Fatalf("zkd cli script: %v\nstdout: %s\nstderr: %s", err, out, errOut)
		}
		javaOut, javaErr, err := testcluster.ZkCliWith(ctx, opts, zk.Addr, "whoami")
		if err != nil {
			t.Fatalf("zkCli.sh whoami: %v\nstdout: %s\nstderr: %s", err, javaOut, javaErr)
		}
		// zkd cli's script ends its session (Closed); zkCli.sh's one-shot
		// run leaves it.
		got, want := slices.DeleteFunc(stateNotices(out), func(s string) bool { return s == "Closed" }), stateNotices(javaOut)
		if !slices.Equal(want, []string{"SyncConnected", "SaslAuthenticated"}) || !slices.Equal(got, want) {
			t.Fatalf("zkd cli's state notices %q, zkCli.sh's %q, want both [SyncConnected SaslAuthenticated]\nzkd cli stdout: %s", got, want, out)
		}
	})

	t.Run("a wrong password", func(t *testing.T) {
		out, errOut, err := testcluster.ZkdCliWith(ctx, bin, testcluster.ZkCliOptions{JVMFlags: []string{badJAAS}}, zk.Addr, "", "whoami")
		if testcluster.ExitCode(err) != 1 || !strings.Contains(errOut, "SASL authentication with "+zk.Addr+" failed") || !strings.Contains(errOut, "AUTHFAILED") {
			t.Fatalf("zkd cli with a wrong password: %v\nstdout: %s\nstderr: %s", err, out, errOut)
		}
	})
}

// stateNotices returns the connection states a cli printed, in order.
func stateNotices(stdout string) []string {
	var states []string
	for _, m := range stateNotice.FindAllStringSubmatch(stdout, -1) {
		states = append(states, m[1])
	}
	return states
}

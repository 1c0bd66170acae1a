package interop

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
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

// secureServer is a server for the secured-cli tests: TLS on a secure
// port (client certificates required) and DIGEST-MD5 users.
type secureServer struct {
	name    string
	addr    string // the plain client port
	tls     *testcluster.ApacheTLS
	logTail func() string
}

// startSecureServers starts Apache ZooKeeper 3.8 and zkd, each with its own
// CA and secure port, the SASL provider and the JAAS Server section.
func startSecureServers(t *testing.T, dir string) []secureServer {
	t.Helper()
	serverJAAS := "-Djava.security.auth.login.config=" + writeTestFile(t, dir, "server-jaas.conf", digestServerJAAS)
	provider := "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
	apacheTLS, zkdTLS := testcluster.NewApacheTLS(t), testcluster.NewApacheTLS(t)
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{ExtraConfig: append(apacheTLS.Config(), provider), JVMFlags: []string{serverJAAS}})
	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{ExtraConfig: append(zkdTLS.Config(), provider), Flags: []string{serverJAAS}})
	return []secureServer{
		{"Apache ZooKeeper", apache.Addr, apacheTLS, apache.LogTail},
		{"zkd", zkd.Addr, zkdTLS, zkd.LogTail},
	}
}

// TestZkdCliSecuredLikeZkCli runs whoami through zkd cli and zkCli.sh with
// the same client properties against Apache ZooKeeper 3.8 and zkd, each
// serving TLS (client certificates required) and knowing DIGEST-MD5 users:
// over TLS from a -client-configuration file, with SASL from the JAAS file
// CLIENT_JVMFLAGS names, and both at once. Both clients must report the
// same identities on both servers; the shell reports SaslAuthenticated
// after SyncConnected, as zkCli.sh does; a wrong password makes zkd cli
// fail.
func TestZkdCliSecuredLikeZkCli(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper, testcluster.NeedZkCli)
	bin := testcluster.ZkdBinary(t)
	dir := t.TempDir()
	goodJAAS := "-Djava.security.auth.login.config=" + writeTestFile(t, dir, "jaas.conf", digestClientJAAS("secret"))
	badJAAS := "-Djava.security.auth.login.config=" + writeTestFile(t, dir, "bad-jaas.conf", digestClientJAAS("wrong"))
	zkCliTLS := testcluster.ZkCliNettyClasspath
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	for i, srv := range startSecureServers(t, dir) {
		t.Run(srv.name, func(t *testing.T) {
			app := srv.tls.CA.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "app", Organization: []string{"zkd tests"}}})
			clientPEM := app.WritePEM(t, filepath.Join(dir, fmt.Sprintf("client%d.pem", i)))
			tlsProps := writeTestFile(t, dir, fmt.Sprintf("tls%d.properties", i), strings.Join([]string{
				"zookeeper.client.secure=true",
				"zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
				"zookeeper.ssl.keyStore.location=" + clientPEM,
				"zookeeper.ssl.keyStore.type=PEM",
				"zookeeper.ssl.trustStore.location=" + srv.tls.TrustStore,
				"zookeeper.ssl.trustStore.type=PEM",
			}, "\n")+"\n")
			for _, tt := range []struct {
				name string
				addr string
				opts testcluster.ZkCliOptions
				want []string
			}{
				{"TLS from -client-configuration", srv.tls.SecureAddr,
					testcluster.ZkCliOptions{Args: []string{"-client-configuration", tlsProps}, JVMFlags: []string{zkCliTLS}},
					[]string{"ip: 127.0.0.1", "x509: CN=app,O=zkd tests"}},
				{"DIGEST-MD5 from the JAAS file in CLIENT_JVMFLAGS", srv.addr,
					testcluster.ZkCliOptions{JVMFlags: []string{goodJAAS}},
					[]string{"ip: 127.0.0.1", "sasl: bob"}},
				{"TLS and DIGEST-MD5", srv.tls.SecureAddr,
					testcluster.ZkCliOptions{Args: []string{"-client-configuration", tlsProps}, JVMFlags: []string{zkCliTLS, goodJAAS}},
					[]string{"ip: 127.0.0.1", "sasl: bob", "x509: CN=app,O=zkd tests"}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					out, errOut, err := testcluster.ZkdCliWith(ctx, bin, tt.opts, tt.addr, "", "whoami")
					if err != nil {
						t.Fatalf("zkd cli whoami: %v\nstdout: %s\nstderr: %s\n%s", err, out, errOut, srv.logTail())
					}
					if got := identities(out); !slices.Equal(got, tt.want) {
						t.Fatalf("zkd cli whoami identities %q, want %q\nstdout: %s\nstderr: %s", got, tt.want, out, errOut)
					}
					javaOut, javaErr, err := testcluster.ZkCliWith(ctx, tt.opts, tt.addr, "whoami")
					if err != nil {
						t.Fatalf("zkCli.sh whoami: %v\nstdout: %s\nstderr: %s\n%s", err, javaOut, javaErr, srv.logTail())
					}
					if got := identities(javaOut); !slices.Equal(got, tt.want) {
						t.Fatalf("zkCli.sh whoami identities %q, want %q\nstdout: %s\nstderr: %s", got, tt.want, javaOut, javaErr)
					}
				})
			}

			t.Run("the shell reports SaslAuthenticated after SyncConnected, as zkCli.sh", func(t *testing.T) {
				opts := testcluster.ZkCliOptions{JVMFlags: []string{goodJAAS}, KeepNotices: true}
				out, errOut, err := testcluster.ZkdCliWith(ctx, bin, opts, srv.addr, "whoami\n")
				if err != nil {
					t.Fatalf("zkd cli script: %v\nstdout: %s\nstderr: %s", err, out, errOut)
				}
				javaOut, javaErr, err := testcluster.ZkCliWith(ctx, opts, srv.addr, "whoami")
				if err != nil {
					t.Fatalf("zkCli.sh whoami: %v\nstdout: %s\nstderr: %s", err, javaOut, javaErr)
				}
				// zkd cli's script ends its session (Closed); zkCli.sh's
				// one-shot run leaves it.
				got, want := slices.DeleteFunc(stateNotices(out), func(s string) bool { return s == "Closed" }), stateNotices(javaOut)
				if !slices.Equal(want, []string{"SyncConnected", "SaslAuthenticated"}) || !slices.Equal(got, want) {
					t.Fatalf("zkd cli's state notices %q, zkCli.sh's %q, want both [SyncConnected SaslAuthenticated]\nzkd cli stdout: %s", got, want, out)
				}
			})

			t.Run("a wrong password", func(t *testing.T) {
				out, errOut, err := testcluster.ZkdCliWith(ctx, bin, testcluster.ZkCliOptions{JVMFlags: []string{badJAAS}}, srv.addr, "", "whoami")
				if testcluster.ExitCode(err) != 1 || !strings.Contains(errOut, "SASL authentication with "+srv.addr+" failed") || !strings.Contains(errOut, "AUTHFAILED") {
					t.Fatalf("zkd cli with a wrong password: %v\nstdout: %s\nstderr: %s", err, out, errOut)
				}
			})
		})
	}
}

// stateNotices returns the connection states a cli printed, in order.
func stateNotices(stdout string) []string {
	var states []string
	for _, m := range stateNotice.FindAllStringSubmatch(stdout, -1) {
		states = append(states, m[1])
	}
	return states
}

package cli

import (
	"context"
	"crypto/x509/pkix"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/server"
	"github.com/zkd/zkd/internal/testcluster"
)

// writeFile writes a test file and returns its path.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestClientPropertiesComeFromTheEnvironmentDefinesAndFileAndTheFileWins(t *testing.T) {
	file := writeFile(t, "client.properties", "zookeeper.sasl.clientconfig=FromFile\n")
	env := envOf(map[string]string{
		"CLIENT_JVMFLAGS": "-Xmx64m -Dzookeeper.sasl.clientconfig=FromClientFlags -Djava.security.auth.login.config=/etc/jaas.conf -Dlog4j.configuration=x",
		"JVMFLAGS":        "-Dzookeeper.server.principal=zookeeper/a@R",
	})
	p, err := gatherClientProps(env, map[string]string{"zookeeper.server.principal": "zookeeper/b@R"}, file)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"zookeeper.sasl.clientconfig":     "FromFile",
		"java.security.auth.login.config": "/etc/jaas.conf",
		"zookeeper.server.principal":      "zookeeper/b@R",
	}
	if !maps.Equal(p.values, want) {
		t.Fatalf("properties %v, want %v (log4j.configuration from the environment is not a client property and is ignored)", p.values, want)
	}
	if got := p.where("zookeeper.sasl.clientconfig"); got != file+":1" {
		t.Fatalf("source %q", got)
	}
}

func TestBadClientPropertiesAreErrorsNamingTheKeyAndWhereItWasSet(t *testing.T) {
	tests := []struct {
		name string
		file string
		args []string
		want []string
	}{
		{"an unknown key in the file", "zookeeper.client.secur=true\n", nil,
			[]string{":1: zookeeper.client.secur: unknown client property"}},
		{"a misspelt TLS key", "zookeeper.client.secure=true\nzookeeper.ssl.keyStore.locaton=/a.pem\n", nil,
			[]string{":2: zookeeper.ssl.keyStore.locaton: unknown client property"}},
		{"an unsupported key", "# c\nzookeeper.request.timeout=5000\n", nil,
			[]string{":2: zookeeper.request.timeout: not supported"}},
		{"a -D argument with an unknown key", "", []string{"-Dzookeeper.sasl.clinet=false"},
			[]string{"-Dzookeeper.sasl.clinet: unknown client property"}},
		{"a boolean that is not one", "zookeeper.client.secure=yes\n", nil,
			[]string{":1: zookeeper.client.secure=\"yes\": want true or false"}},
		{"a bad jute.maxbuffer", "jute.maxbuffer=lots\n", nil,
			[]string{":1: jute.maxbuffer=\"lots\""}},
		{"a JAAS file that does not exist", "java.security.auth.login.config=/no/such/jaas.conf\n", nil,
			[]string{":1: java.security.auth.login.config=/no/such/jaas.conf", "no such file"}},
		{"a trust store that does not exist", "zookeeper.client.secure=true\nzookeeper.ssl.trustStore.location=/no/such/ca.pem\n", nil,
			[]string{":2: ", "/no/such/ca.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			var file string
			if tt.file != "" {
				file = writeFile(t, "client.properties", tt.file)
				args = append(args, "-client-configuration", file)
			}
			args = append(args, "-server", "127.0.0.1:1", "ls", "/")
			_, stderr, code := run(t, "", false, args...)
			if code != exitInvalidArgs {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitInvalidArgs, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) || (file != "" && strings.HasPrefix(w, ":") && !strings.Contains(stderr, file+w)) {
					t.Fatalf("stderr %q does not say %q", stderr, w)
				}
			}
		})
	}
}

func TestJAASProblemsAreErrorsNamingTheFile(t *testing.T) {
	jaas := writeFile(t, "jaas.conf", `Other {
  org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="x";
};
NoUser {
  org.apache.zookeeper.server.auth.DigestLoginModule required password="x";
};
Odd {
  com.example.Module required;
};
KeytabOnly {
  com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true principal="alice";
};
Prompt {
  com.sun.security.auth.module.Krb5LoginModule required principal="alice";
};
`)
	for _, tt := range []struct{ section, want string }{
		{"", `JAAS configuration ` + jaas + ` has no section "Client"`},
		{"NoUser", jaas + `:4: section NoUser: org.apache.zookeeper.server.auth.DigestLoginModule has no username`},
		{"Odd", jaas + `:7: section Odd has neither`},
		{"KeytabOnly", jaas + `:10: section KeytabOnly: useKeyTab=true needs keyTab and principal options`},
		{"Prompt", jaas + `:13: section Prompt: com.sun.security.auth.module.Krb5LoginModule has neither useKeyTab=true nor useTicketCache=true`},
	} {
		args := []string{"-Djava.security.auth.login.config=" + jaas}
		if tt.section != "" {
			args = append(args, "-Dzookeeper.sasl.clientconfig="+tt.section)
		}
		_, stderr, code := run(t, "", false, append(args, "ls", "/")...)
		if code != exitInvalidArgs || !strings.Contains(stderr, tt.want) {
			t.Errorf("section %q: exit %d, stderr %q, want %q", tt.section, code, stderr, tt.want)
		}
	}
	// zookeeper.sasl.client=false turns SASL off: the JAAS file is not read.
	p, err := gatherClientProps(nil, map[string]string{"java.security.auth.login.config": jaas, "zookeeper.sasl.client": "false"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if opt, err := p.saslOption(); opt != nil || err != nil {
		t.Fatalf("with zookeeper.sasl.client=false: %v %v", opt, err)
	}
}

func TestDefinesAreTakenOnlyBeforeTheCommand(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("server", "", "")
	fs.Bool("r", false, "")
	defines, rest := splitDefines(fs, []string{"-Da=1", "-server", "-Dnot=a-define", "-r", "-Db", "create", "/x", "-Dc=2"})
	if !maps.Equal(defines, map[string]string{"a": "1", "b": ""}) {
		t.Fatalf("defines %v", defines)
	}
	if want := []string{"-server", "-Dnot=a-define", "-r", "create", "/x", "-Dc=2"}; !slices.Equal(rest, want) {
		t.Fatalf("rest %q, want %q", rest, want)
	}
}

// startSecuredServer runs an in-memory zkd with a TLS port (certificates
// of ca required) and DIGEST-MD5 users from jaas; it returns the plain and
// the secure address.
func startSecuredServer(t *testing.T, tl *testcluster.ApacheTLS, jaas string) (plain, secure string) {
	t.Helper()
	cfg := config.Default()
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	cfg.Props["zookeeper.serverCnxnFactory"] = config.NettyFactoryClass
	cfg.Props["zookeeper.ssl.keyStore.location"] = tl.KeyStore
	cfg.Props["zookeeper.ssl.trustStore.location"] = tl.TrustStore
	cfg.Props[config.JAASConfigKey] = jaas
	cfg.Props["zookeeper.authProvider.1"] = config.SASLProviderClass
	s, err := server.New(cfg, server.Options{InMemory: true, SecureAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr().String(), s.SecureAddr().String()
}

func TestClientPropertiesGiveTLSAndDigestMD5(t *testing.T) {
	tl := testcluster.NewApacheTLS(t)
	plain, secure := startSecuredServer(t, tl, writeFile(t, "server.jaas", `Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required user_bob="secret";
};
`))
	dir := t.TempDir()
	app := tl.CA.Issue(t, testcluster.CertOptions{Subject: pkix.Name{CommonName: "app", Organization: []string{"zkd tests"}}})
	props := writeFile(t, "client.properties", "zookeeper.client.secure=true\n"+
		"zookeeper.ssl.keyStore.location="+app.WritePEM(t, filepath.Join(dir, "app.pem"))+"\n"+
		"zookeeper.ssl.trustStore.location="+tl.TrustStore+"\n")
	jaas := "-Djava.security.auth.login.config=" + writeFile(t, "client.jaas", `Client {
  org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="secret";
};
`)
	for _, tt := range []struct {
		name string
		args []string
		want []string // whoami's identity lines, in any order
	}{
		{"TLS", []string{"-client-configuration", props, "-server", secure}, []string{"ip: 127.0.0.1", "x509: CN=app,O=zkd tests"}},
		{"DIGEST-MD5", []string{jaas, "-server", plain}, []string{"ip: 127.0.0.1", "sasl: bob"}},
		{"TLS and DIGEST-MD5", []string{"-server", secure, jaas, "-client-configuration", props}, []string{"ip: 127.0.0.1", "sasl: bob", "x509: CN=app,O=zkd tests"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, "", false, append(tt.args, "whoami")...)
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			if code != exitOK || len(lines) == 0 || lines[0] != "Auth scheme: User" {
				t.Fatalf("exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
			}
			if got := slices.Sorted(slices.Values(lines[1:])); !slices.Equal(got, tt.want) {
				t.Fatalf("identities %q, want %q", got, tt.want)
			}
		})
	}
	// Without the client certificate the TLS port refuses the handshake.
	noCert := writeFile(t, "nocert.properties", "zookeeper.client.secure=true\nzookeeper.ssl.trustStore.location="+tl.TrustStore+"\n")
	if _, stderr, code := run(t, "", false, "-client-configuration", noCert, "-server", secure, "whoami"); code != exitFailed || !strings.Contains(stderr, "TLS handshake") {
		t.Fatalf("without a client certificate: exit %d, stderr %q", code, stderr)
	}
}

package server

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/testcluster"
)

func TestQuorumServicePrincipalReplacesHOSTAsZooKeeperDoes(t *testing.T) {
	tests := []struct{ name, principal, host, want string }{
		{"_HOST becomes the server's host name", "zkquorum/_HOST", "zk1.example.com", "zkquorum/zk1.example.com"},
		{"the host name is lower-cased", "zkquorum/_HOST", "ZK1.Example.COM", "zkquorum/zk1.example.com"},
		{"a principal with a realm keeps _HOST (its second part is _HOST@REALM)", "zkquorum/_HOST@EXAMPLE.COM", "zk1", "zkquorum/_HOST@EXAMPLE.COM"},
		{"a fixed host is kept", "zkquorum/localhost", "zk1", "zkquorum/localhost"},
		{"_HOST must be the whole second part", "zkquorum/_HOSTS", "zk1", "zkquorum/_HOSTS"},
		{"a principal of three parts is kept", "zkquorum/_HOST/x", "zk1", "zkquorum/_HOST/x"},
		{"a principal without a host is kept", "zkquorum", "zk1", "zkquorum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := quorumServicePrincipal(tc.principal, tc.host); got != tc.want {
				t.Fatalf("quorumServicePrincipal(%q, %q) = %q, want %q", tc.principal, tc.host, got, tc.want)
			}
		})
	}
}

// parseQuorumConfig parses a zoo.cfg of three servers on the given hosts.
func parseQuorumConfig(t *testing.T, extra string, hosts ...string) *config.Config {
	t.Helper()
	text := "tickTime=100\ninitLimit=10\nsyncLimit=5\ndataDir=" + t.TempDir() + "\n"
	for i, h := range hosts {
		text += fmt.Sprintf("server.%d=%s:%d:%d;%d\n", i+1, h, 3000+i, 4000+i, 2181+i)
	}
	cfg, _, err := config.Parse(strings.NewReader(text+extra), filepath.Join(t.TempDir(), "zoo.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestQuorumKerberosAuthorizationIsZooKeepers(t *testing.T) {
	cfg := parseQuorumConfig(t, "", "localhost", "zk2.example.com", "127.0.0.2")
	hosts := newQuorumHosts(cfg)
	tests := []struct {
		name, authn, authz string
		ok                 bool
	}{
		{"a principal naming a member's host is let in", "zkquorum/localhost@R", "zkquorum/localhost@R", true},
		{"any service name will do", "zookeeper/zk2.example.com@R", "zookeeper/zk2.example.com@R", true},
		{"a host written as an address matches as written", "zkquorum/127.0.0.2@R", "zkquorum/127.0.0.2@R", true},
		{"a host that is not a member is refused", "zkquorum/otherhost@R", "zkquorum/otherhost@R", false},
		{"host names compare exactly", "zkquorum/LOCALHOST@R", "zkquorum/LOCALHOST@R", false},
		{"a principal without a host part is refused", "zkquorum@R", "zkquorum@R", false},
		{"a principal with two host parts is refused", "zkquorum/localhost/x@R", "zkquorum/localhost/x@R", false},
		{"an empty service name still has three parts", "/localhost@R", "/localhost@R", true},
		{"acting as another principal is refused", "zkquorum/localhost@R", "zkquorum/zk2.example.com@R", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := hosts.authorize(tc.authn, tc.authz)
			if (err == nil) != tc.ok {
				t.Fatalf("authorize(%q, %q) = %v, want ok=%v", tc.authn, tc.authz, err, tc.ok)
			}
		})
	}
}

func TestQuorumHostsAreTheServerLinesHostsAsWritten(t *testing.T) {
	cfg := parseQuorumConfig(t, "", "localhost", "127.0.0.1", "Zk3.Example")
	h := newQuorumHosts(cfg)
	if got, want := strings.Join(h.members(), ","), "127.0.0.1,Zk3.Example,localhost"; got != want {
		t.Fatalf("members %s, want %s", got, want)
	}
	if got := h.hostname("Zk3.Example"); got != "Zk3.Example" {
		t.Fatalf("hostname of a member's host: %q", got)
	}
	if got := h.hostname("10.9.9.9"); got != "10.9.9.9" {
		t.Fatalf("hostname of an unknown host: %q", got)
	}
}

// With kerberos.canonicalizeHostNames=true ZooKeeper names a server by
// its address's canonical name (QuorumServer); here 127.0.0.1's is
// localhost, from /etc/hosts.
func TestQuorumHostsWithCanonicalizeHostNamesAreTheCanonicalNames(t *testing.T) {
	if names, err := net.LookupAddr("127.0.0.1"); err != nil || len(names) == 0 || strings.TrimSuffix(names[0], ".") != "localhost" {
		t.Skipf("127.0.0.1 is not named localhost here (%v, %v)", names, err)
	}
	cfg := parseQuorumConfig(t, "kerberos.canonicalizeHostNames=true\n", "127.0.0.1", "127.0.0.1", "127.0.0.1")
	h := newQuorumHosts(cfg)
	if got := strings.Join(h.members(), ","); got != "localhost" {
		t.Fatalf("members %s, want localhost", got)
	}
	if got := h.hostname("127.0.0.1"); got != "localhost" {
		t.Fatalf("hostname of 127.0.0.1: %q, want localhost", got)
	}
	if err := h.authorize("zkquorum/localhost@R", "zkquorum/localhost@R"); err != nil {
		t.Fatalf("zkquorum/localhost refused: %v", err)
	}
}

func TestQuorumKerberosConfigurationErrorsNameTheSection(t *testing.T) {
	dir := t.TempDir()
	krb5 := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(krb5, []byte("[libdefaults]\n\tdefault_realm = QUORUM.TEST\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keytab := filepath.Join(dir, "missing.keytab")
	krbSection := func(name, opts string) string {
		return name + " {\n  com.sun.security.auth.module.Krb5LoginModule required\n  " + opts + ";\n};\n"
	}
	tests := []struct{ name, jaas, want string }{
		{"a server section without a keytab",
			krbSection("QuorumServer", `useKeyTab=false principal="zkquorum/localhost"`),
			"section QuorumServer: com.sun.security.auth.module.Krb5LoginModule: zkd accepts Kerberos tickets from a keytab"},
		{"a server principal without a host",
			krbSection("QuorumServer", `useKeyTab=true keyTab="`+keytab+`" principal="zkquorum@QUORUM.TEST"`),
			`section QuorumServer: com.sun.security.auth.module.Krb5LoginModule: principal "zkquorum@QUORUM.TEST" is not of the form service/host@REALM`},
		{"a server keytab that cannot be read",
			krbSection("QuorumServer", `useKeyTab=true keyTab="`+keytab+`" principal="zkquorum/localhost"`),
			"section QuorumServer: com.sun.security.auth.module.Krb5LoginModule (krb5.conf " + krb5 + "): GSSAPI: "},
		{"a learner section without a keytab",
			"QuorumServer {\n org.apache.zookeeper.server.auth.DigestLoginModule required user_q=\"s\";\n};\n" +
				krbSection("QuorumLearner", `useTicketCache=true principal="zkquorum/localhost"`),
			"section QuorumLearner: com.sun.security.auth.module.Krb5LoginModule: zkd logs in to other servers from a keytab"},
		{"a learner keytab that cannot be read",
			"QuorumServer {\n org.apache.zookeeper.server.auth.DigestLoginModule required user_q=\"s\";\n};\n" +
				krbSection("QuorumLearner", `useKeyTab=true keyTab="`+keytab+`" principal="zkquorum/localhost"`),
			"section QuorumLearner: com.sun.security.auth.module.Krb5LoginModule: keyTab: open " + keytab},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jaas := filepath.Join(t.TempDir(), "jaas.conf")
			if err := os.WriteFile(jaas, []byte(tc.jaas), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := parseQuorumConfig(t, "quorum.auth.enableSasl=true\nquorum.auth.learnerRequireSasl=true\n", "localhost", "localhost", "localhost")
			if err := cfg.Apply(map[string]string{config.JAASConfigKey: jaas, "java.security.krb5.conf": krb5}); err != nil {
				t.Fatal(err)
			}
			_, err := quorumSASL(cfg, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), jaas) {
				t.Fatalf("err = %v\nwant it to name %s and say %q", err, jaas, tc.want)
			}
		})
	}
}

// quorumKerberosJAAS is a JAAS file in which a server accepts tickets for
// server and logs in to the others as learner, both from keytabs.
func quorumKerberosJAAS(realm, server, serverKeytab, learner, learnerKeytab string) string {
	section := func(name, principal, keytab string) string {
		return fmt.Sprintf("%s {\n  com.sun.security.auth.module.Krb5LoginModule required\n  useKeyTab=true\n  keyTab=%q\n  storeKey=true\n  useTicketCache=false\n  principal=\"%s@%s\";\n};\n",
			name, keytab, principal, realm)
	}
	return section("QuorumServer", server, serverKeytab) + section("QuorumLearner", learner, learnerKeytab)
}

// Three zkd servers on server.N=localhost authenticate each other as
// zkquorum/localhost through a real KDC; a server logging in as
// zkquorum/otherhost is refused, and joins again with the right keytab.
func TestEnsembleServersAuthenticateEachOtherWithKerberos(t *testing.T) {
	const realm = "QUORUM.TEST"
	kdc := testcluster.StartKDC(t, realm)
	dir := t.TempDir()
	keytab := func(p string) string { return filepath.Join(dir, strings.ReplaceAll(p, "/", "_")+".keytab") }
	for _, p := range []string{"zkquorum/localhost", "zkquorum/otherhost"} {
		kdc.AddPrincipalKeytab(t, p, keytab(p))
	}
	jaas := filepath.Join(dir, "jaas.conf")
	writeJAAS := func(learner string) {
		t.Helper()
		text := quorumKerberosJAAS(realm, "zkquorum/localhost", keytab("zkquorum/localhost"), learner, keytab(learner))
		if err := os.WriteFile(jaas, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeJAAS("zkquorum/localhost")
	logs := &testcluster.LogBuffer{}
	e := startEnsembleSpec(t, ensembleSpec{
		voters: 3,
		host:   "localhost",
		props:  map[string]string{config.JAASConfigKey: jaas, "java.security.krb5.conf": kdc.ConfPath},
		extra:  []string{"quorum.auth.enableSasl=true", "quorum.auth.learnerRequireSasl=true", "quorum.auth.serverRequireSasl=true"},
		logs:   logs,
	})
	leader := e.waitForLeader()
	followers := others(3, leader)
	replicate := func(path string, through, to int) {
		t.Helper()
		w := e.connect(through)
		defer w.Close()
		if _, err := w.Create(path, []byte("k"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create %s through server %d: %v", path, through+1, err)
		}
		r := e.connect(to)
		defer r.Close()
		if _, err := r.Sync(path); err != nil {
			t.Fatal(err)
		}
		if data, _, err := r.Get(path); err != nil || string(data) != "k" {
			t.Fatalf("get %s through server %d: %q, %v", path, to+1, data, err)
		}
	}
	replicate("/kerberos", followers[0], followers[1])
	if s := logs.String(); strings.Contains(s, "failed SASL") {
		t.Fatalf("a server was refused:\n%s", s)
	}

	// A follower comes back logged in as zkquorum/otherhost: its host is
	// not a member's, so the others refuse it.
	bad := followers[1]
	e.stop(bad)
	writeJAAS("zkquorum/otherhost")
	e.start(bad)
	writeJAAS("zkquorum/localhost")
	refusal := "zkquorum/otherhost@" + realm + " is not authorized to act as zkquorum/otherhost@" + realm +
		": its host is not one of the server.N host names (localhost)"
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), refusal) {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal of zkquorum/otherhost logged within 30s; want %q", refusal)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m := e.mode(bad); m == "follower" || m == "leader" {
		t.Fatalf("server %d logged in as zkquorum/otherhost serves as %s", bad+1, m)
	}
	replicate("/without-it", leader, followers[0])

	// With the right keytab again it joins and catches up.
	e.stop(bad)
	e.start(bad)
	e.waitForLeader()
	replicate("/with-it", followers[0], bad)
}

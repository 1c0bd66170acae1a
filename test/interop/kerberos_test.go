package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/testcluster"
)

// kerberosRealm is the throwaway realm of the Kerberos interop tests.
const kerberosRealm = "EXAMPLE.TEST"

// kerberosSetup is a KDC with a service principal zookeeper/localhost in a
// keytab (and zookeeper/otherhost, a service the servers are not), client
// principals alice, bob and app/localhost with keytabs, a keytab for a
// principal the KDC no longer knows (gone), and the JAAS files that use
// them.
type kerberosSetup struct {
	kdc        *testcluster.KDC
	dir        string
	serverJAAS string
}

func startKerberos(t *testing.T) *kerberosSetup {
	t.Helper()
	testcluster.RequireInterop(t, testcluster.NeedKerberos, testcluster.NeedZkCli, testcluster.NeedApacheZooKeeper)
	k := &kerberosSetup{kdc: testcluster.StartKDC(t, kerberosRealm), dir: t.TempDir()}
	for _, p := range []string{"zookeeper/localhost", "zookeeper/otherhost", "alice", "bob", "gone", "app/localhost"} {
		k.kdc.AddPrincipalKeytab(t, p, k.keytab(p))
	}
	k.kdc.DeletePrincipal(t, "gone")
	k.serverJAAS = k.writeJAAS(t, "Server", "zookeeper/localhost")
	return k
}

// keytab is the keytab file of principal.
func (k *kerberosSetup) keytab(principal string) string {
	return filepath.Join(k.dir, strings.ReplaceAll(principal, "/", "_")+".keytab")
}

// writeJAAS writes a JAAS file whose section logs in as principal with
// Krb5LoginModule from its keytab, as ZooKeeper's guide shows, and returns
// its path.
func (k *kerberosSetup) writeJAAS(t *testing.T, section, principal string) string {
	t.Helper()
	path := filepath.Join(k.dir, section+"-"+strings.ReplaceAll(principal, "/", "_")+".jaas")
	text := fmt.Sprintf(`%s {
  com.sun.security.auth.module.Krb5LoginModule required
  useKeyTab=true
  keyTab="%s"
  storeKey=true
  useTicketCache=false
  principal="%s@%s";
};
`, section, k.keytab(principal), principal, kerberosRealm)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverFlags are the system properties both servers get: the JAAS file
// with the Server section and krb5conf (the realm's, unless given).
func (k *kerberosSetup) serverFlags(krb5conf string) []string {
	if krb5conf == "" {
		krb5conf = k.kdc.ConfPath
	}
	return []string{"-Djava.security.auth.login.config=" + k.serverJAAS, "-Djava.security.krb5.conf=" + krb5conf}
}

// zkCliAs runs one zkCli command logged in as principal (a JAAS Client
// section) against localhost:port, so that the client asks for a ticket to
// zookeeper/localhost. It returns the connection states the client printed
// (SyncConnected, SaslAuthenticated, AuthFailed, ...) and the command's
// output without them: stdout, then stderr.
func (k *kerberosSetup) zkCliAs(t *testing.T, principal string, port int, extraFlags []string, args ...string) (states []string, out string, exit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	flags := append([]string{"-Djava.security.auth.login.config=" + k.writeJAAS(t, "Client", principal)}, k.kdc.JVMFlags()...)
	stdout, stderr, err := testcluster.ZkCliWith(ctx, testcluster.ZkCliOptions{JVMFlags: append(flags, extraFlags...), KeepNotices: true},
		"localhost:"+strconv.Itoa(port), args...)
	exit = testcluster.ExitCode(err)
	if exit == -1 {
		t.Fatalf("zkCli as %s: %v\n%s", principal, err, stderr)
	}
	for _, m := range stateNotice.FindAllStringSubmatch(stdout, -1) {
		states = append(states, m[1])
	}
	// zkCli prints some results ("Created /krb", errors) on stderr.
	return states, testcluster.CleanZkCliStdout(stdout) + stderr, exit
}

// stateNotice matches zkCli's notice of a connection-state change.
var stateNotice = regexp.MustCompile(`WatchedEvent state:(\w+) type:None path:null`)

// kerberosStep is one zkCli run and what it must print.
type kerberosStep struct {
	name       string
	principal  string
	flags      []string
	args       []string
	wantStates []string
	wantOut    string // the output's lines, in order; "" means none, anyOutput any
	wantExit   int
}

var alice, bob = "alice@" + kerberosRealm, "bob@" + kerberosRealm

// anyOutput stands for output that varies from run to run: after the server
// refuses the exchange and closes the connection, whoami prints "Auth
// scheme: User" or "Not connected", whichever thread gets there first.
const anyOutput = "(any output)"

var kerberosSteps = []kerberosStep{
	{"alice authenticates and whoami names her", "alice", nil, []string{"whoami"},
		[]string{"SyncConnected", "SaslAuthenticated"}, "Auth scheme: User\nip: 127.0.0.1\nsasl: " + alice + "\n", 0},
	{"alice creates a node only she may use", "alice", nil, []string{"create", "/krb", "secret", "sasl:" + alice + ":cdrwa"},
		[]string{"SyncConnected", "SaslAuthenticated"}, "Created /krb\n", 0},
	{"alice reads it back", "alice", nil, []string{"get", "/krb"},
		[]string{"SyncConnected", "SaslAuthenticated"}, "secret\n", 0},
	{"bob authenticates but may not read it", "bob", nil, []string{"get", "/krb"},
		[]string{"SyncConnected", "SaslAuthenticated"}, "Insufficient permission : /krb\n", 1},
	{"a principal the KDC does not know fails to log in and goes on unauthenticated", "gone", nil, []string{"whoami"},
		[]string{"AuthFailed", "SyncConnected"}, "Auth scheme: User\nip: 127.0.0.1\n", 0},
	{"a ticket for another service principal is refused by the server", "alice",
		[]string{"-Dzookeeper.server.principal=zookeeper/otherhost@" + kerberosRealm}, []string{"whoami"},
		[]string{"SyncConnected", "AuthFailed"}, anyOutput, 0},
}

// kerberosServer is one of the two servers a Kerberos test runs against.
type kerberosServer struct {
	name string
	port int
	log  func() string // the server's log tail
}

// startServers starts Apache ZooKeeper and zkd, each with the JAAS
// Server section, the krb5.conf at krb5conf ("" for the realm's), the SASL
// provider and the extra zoo.cfg lines.
func (k *kerberosSetup) startServers(t *testing.T, krb5conf string, extra ...string) []kerberosServer {
	t.Helper()
	provider := append([]string{"authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"}, extra...)
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{ExtraConfig: provider, JVMFlags: k.serverFlags(krb5conf)})
	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{ExtraConfig: provider, Flags: k.serverFlags(krb5conf)})
	return []kerberosServer{{"Apache ZooKeeper", apache.Port, apache.LogTail}, {"zkd", zkd.Port, zkd.LogTail}}
}

func TestKerberosZkCliAuthenticatesToZkdAsToZooKeeper(t *testing.T) {
	k := startKerberos(t)
	for _, srv := range k.startServers(t, "") {
		t.Run(srv.name, func(t *testing.T) {
			canary := startCanary(t, "127.0.0.1:"+strconv.Itoa(srv.port))
			for _, st := range kerberosSteps {
				states, out, exit := k.zkCliAs(t, st.principal, srv.port, st.flags, st.args...)
				if st.args[0] == "whoami" {
					// whoami lists identities in no set order (sortedLines).
					out = strings.Join(sortedLines(out), "\n") + "\n"
				}
				if strings.Join(states, " ") != strings.Join(st.wantStates, " ") || (out != st.wantOut && st.wantOut != anyOutput) || exit != st.wantExit {
					t.Fatalf("%s: zkCli %s as %s:\nstates %q, exit %d, output:\n%s\nwant states %q, exit %d, output:\n%s\n%s",
						st.name, strings.Join(st.args, " "), st.principal, states, exit, out, st.wantStates, st.wantExit, st.wantOut, srv.log())
				}
			}
			canary.check(t)
		})
	}
}

// canary is a session without SASL that lives through a test: it must
// never lose its connection, and the sasl-protected node stays closed to
// it.
type canary struct {
	conn    *zk.Conn
	events  <-chan zk.Event
	session int64
}

func startCanary(t *testing.T, addr string) *canary {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(silent{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitSession(t, events)
	return &canary{conn: c, events: events, session: c.SessionID()}
}

func (c *canary) check(t *testing.T) {
	t.Helper()
	for {
		select {
		case ev := <-c.events:
			if ev.State != zk.StateHasSession && ev.State != zk.StateConnected {
				t.Fatalf("canary session saw %v during the test", ev.State)
			}
			continue
		default:
		}
		break
	}
	if c.conn.SessionID() != c.session {
		t.Fatalf("canary session changed from %#x to %#x", c.session, c.conn.SessionID())
	}
	if _, err := c.conn.Create("/canary", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("canary create: %v", err)
	}
	if _, _, err := c.conn.Get("/krb"); err != zk.ErrNoAuth {
		t.Fatalf("canary reading alice's node: %v, want %v", err, zk.ErrNoAuth)
	}
}

func TestKerberosRotatedServiceKeytabIsPickedUpWithoutRestart(t *testing.T) {
	k := startKerberos(t)
	servers := k.startServers(t, "")
	// A new random key for the service (kvno 3), written to a new keytab:
	// tickets are issued under it from now on, and both servers refuse
	// them while their keytab holds only kvno 2.
	rotated := filepath.Join(k.dir, "rotated.keytab")
	k.kdc.Admin(t, "ktadd -k "+rotated+" zookeeper/localhost", "kvno 3")
	for _, srv := range servers {
		states, _, _ := k.zkCliAs(t, "alice", srv.port, nil, "whoami")
		if strings.Join(states, " ") != "SyncConnected AuthFailed" {
			t.Fatalf("%s before the keytab changed: states %q, want SyncConnected AuthFailed\n%s", srv.name, states, srv.log())
		}
	}
	if err := os.Rename(rotated, k.keytab("zookeeper/localhost")); err != nil {
		t.Fatal(err)
	}
	for _, srv := range servers {
		deadline := time.Now().Add(20 * time.Second)
		for {
			states, out, _ := k.zkCliAs(t, "alice", srv.port, nil, "whoami")
			if strings.Join(states, " ") == "SyncConnected SaslAuthenticated" && strings.Contains(out, "sasl: "+alice) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not accept tickets under the rotated key within 20 s: states %q\n%s", srv.name, states, srv.log())
			}
		}
	}
}

func TestKerberosPrincipalOutsideTheDefaultRealmKeepsItsWholeName(t *testing.T) {
	k := startKerberos(t)
	// The servers' krb5.conf names another default realm: ZooKeeper's
	// DEFAULT auth_to_local rule does not apply to alice@EXAMPLE.TEST.
	b, err := os.ReadFile(k.kdc.ConfPath)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(k.dir, "krb5-other.conf")
	text := strings.Replace(string(b), "default_realm = "+kerberosRealm, "default_realm = OTHER.TEST", 1)
	if err := os.WriteFile(other, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, srv := range k.startServers(t, other) {
		states, out, _ := k.zkCliAs(t, "alice", srv.port, nil, "whoami")
		out = strings.Join(sortedLines(out), "\n")
		if strings.Join(states, " ") != "SyncConnected SaslAuthenticated" || out != "Auth scheme: User\nip: 127.0.0.1\nsasl: "+alice {
			t.Fatalf("%s: states %q, whoami:\n%s\n%s", srv.name, states, out, srv.log())
		}
	}
}

func TestKerberosZooCfgKeysShortenPrincipals(t *testing.T) {
	k := startKerberos(t)
	// The auth_to_local rule capitalizes one-component names; DEFAULT
	// takes the others.
	for _, srv := range k.startServers(t, "", "kerberos.removeHostFromPrincipal=true", "kerberos.removeRealmFromPrincipal=true",
		"security.auth_to_local=RULE:[1:$1]s/^a/A/ DEFAULT") {
		for principal, want := range map[string]string{"alice": "sasl: Alice", "app/localhost": "sasl: app"} {
			states, out, _ := k.zkCliAs(t, principal, srv.port, nil, "whoami")
			out = strings.Join(sortedLines(out), "\n")
			if strings.Join(states, " ") != "SyncConnected SaslAuthenticated" || out != "Auth scheme: User\nip: 127.0.0.1\n"+want {
				t.Fatalf("%s, %s: states %q, whoami:\n%s\nwant %q\n%s", srv.name, principal, states, out, want, srv.log())
			}
		}
	}
}

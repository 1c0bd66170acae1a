package interop

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/sasl"
	"github.com/zkd/zkd/internal/testcluster"
)

// saslFiles are the JAAS files of a DIGEST-MD5 set-up, as ZooKeeper's
// documentation lays it out: the server's users, and a client section
// with the right and with a wrong password.
type saslFiles struct {
	server, good, bad string
}

func writeSASLFiles(t *testing.T) saslFiles {
	t.Helper()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	client := func(password string) string {
		return "Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username=\"bob\"\n  password=\"" + password + "\";\n};\n"
	}
	return saslFiles{
		server: write("server.conf", "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  user_super=\"adminsecret\"\n  user_bob=\"bobsecret\"\n  user_carol=\"carolsecret\";\n};\n"),
		good:   write("client.conf", client("bobsecret")),
		bad:    write("client-bad.conf", client("wrong")),
	}
}

// saslPair starts Apache ZooKeeper 3.8 and zkd with the same SASL system
// properties, given as operators give them to ZooKeeper (-D flags).
func saslPair(t *testing.T, f saslFiles, extra ...string) map[string]string {
	t.Helper()
	flags := append([]string{
		"-D" + config.JAASConfigKey + "=" + f.server,
		"-Dzookeeper.authProvider.1=" + config.SASLProviderClass,
	}, extra...)
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: flags})
	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: flags})
	return map[string]string{"Apache ZooKeeper": apache.Addr, "zkd": zkd.Addr}
}

// zkCliAs runs one zkCli.sh command with the JAAS file jaas ("" for none)
// and returns stdout and stderr together, without the client's chatter.
func zkCliAs(t *testing.T, addr, jaas string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var opts testcluster.ZkCliOptions
	if jaas != "" {
		opts.JVMFlags = []string{"-D" + config.JAASConfigKey + "=" + jaas}
	}
	out, errOut, err := testcluster.ZkCliWith(ctx, opts, addr, args...)
	if err != nil && testcluster.ExitCode(err) == -1 {
		t.Fatal(err)
	}
	return strings.TrimSpace(out + "\n" + errOut)
}

// sortedLines returns the lines of s in order, for output whose order the
// server does not fix (whoami lists identities in no set order).
func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(lines)
	return lines
}

// TestZkCliAuthenticatesWithDigestMD5OnZkdAsOnApacheZooKeeper: zkCli.sh
// with a JAAS Client section authenticates with DIGEST-MD5, whoami shows
// sasl:bob, a node with ACL sasl:bob:cdrwa is readable by it and refused to
// a client without SASL, and a wrong password ends in AuthFailed — the same
// on both servers; zkd's own CLI, given the same JAAS file, sees the same
// identities.
func TestZkCliAuthenticatesWithDigestMD5OnZkdAsOnApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper, testcluster.NeedZkCli)
	f := writeSASLFiles(t)
	servers := saslPair(t, f)
	results := map[string][]string{}
	for name, addr := range servers {
		whoami := zkCliAs(t, addr, f.good, "whoami")
		created := zkCliAs(t, addr, f.good, "create", "/s", "x", "sasl:bob:cdrwa")
		acl := zkCliAs(t, addr, f.good, "getAcl", "/s")
		read := zkCliAs(t, addr, f.good, "get", "/s")
		anonymous := zkCliAs(t, addr, "", "get", "/s")
		wrong := zkCliAs(t, addr, f.bad, "get", "/s")
		// zkd's own CLI reads the same JAAS file from CLIENT_JVMFLAGS.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		zkdWho, zkdErr, err := testcluster.ZkdCliWith(ctx, testcluster.ZkdBinary(t),
			testcluster.ZkCliOptions{JVMFlags: []string{"-D" + config.JAASConfigKey + "=" + f.good}}, addr, "", "whoami")
		cancel()
		if err != nil {
			t.Fatalf("%s: zkd cli whoami: %v\n%s", name, err, zkdErr)
		}
		if !slices.Equal(sortedLines(zkdWho), sortedLines(whoami)) {
			t.Errorf("%s: zkd cli whoami %q, zkCli.sh %q", name, zkdWho, whoami)
		}
		results[name] = append(sortedLines(whoami), created, acl, read, anonymous, wrong)
		for _, want := range []string{"sasl: bob", "ip: 127.0.0.1"} {
			if !strings.Contains(whoami, want) {
				t.Errorf("%s: whoami printed %q, want %q", name, whoami, want)
			}
		}
		if read != "x" || !strings.Contains(anonymous, "Insufficient permission : /s") || !strings.Contains(wrong, "KeeperErrorCode = AuthFailed for /s") {
			t.Errorf("%s: get as bob %q; without SASL %q; with a wrong password %q", name, read, anonymous, wrong)
		}
	}
	if a, z := results["Apache ZooKeeper"], results["zkd"]; !slices.Equal(a, z) {
		t.Errorf("zkCli output differs:\nApache ZooKeeper: %q\nzkd:              %q", a, z)
	}
}

// TestEnforcedSASLRefusesAnUnauthenticatedZkCliOnZkdAsOnApacheZooKeeper:
// with zookeeper.sessionRequireClientSASLAuth=true a zkCli.sh without SASL
// is refused ("Session closed because client failed to authenticate"), one
// with the right password works and one with a wrong password fails — the
// same on both servers.
func TestEnforcedSASLRefusesAnUnauthenticatedZkCliOnZkdAsOnApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper, testcluster.NeedZkCli)
	f := writeSASLFiles(t)
	servers := saslPair(t, f, "-Dzookeeper.sessionRequireClientSASLAuth=true")
	results := map[string][]string{}
	for name, addr := range servers {
		anonymous := zkCliAs(t, addr, "", "get", "/zookeeper/config")
		good := zkCliAs(t, addr, f.good, "ls", "/")
		wrong := zkCliAs(t, addr, f.bad, "ls", "/")
		results[name] = []string{anonymous, good, wrong}
		if !strings.Contains(anonymous, "Session closed because client failed to authenticate for /zookeeper/config") ||
			good != "[zookeeper]" || !strings.Contains(wrong, "AuthFailed") {
			t.Errorf("%s: without SASL %q; as bob %q; with a wrong password %q", name, anonymous, good, wrong)
		}
	}
	if a, z := results["Apache ZooKeeper"], results["zkd"]; !slices.Equal(a, z) {
		t.Errorf("zkCli output differs:\nApache ZooKeeper: %q\nzkd:              %q", a, z)
	}
}

// rawSASL runs a DIGEST-MD5 exchange with zkd's client mechanism over a
// raw connection.
func rawSASL(c *testcluster.RawClient, user, password string) testcluster.SASLResult {
	cl := sasl.NewDigestMD5Client(sasl.DigestMD5ClientConfig{Username: user, Password: password})
	start, _ := cl.Start()
	return c.SASL(1, start, cl.Next)
}

// TestSASLRepliesOnTheWireMatchApacheZooKeeper compares the replies of
// both servers byte for byte where they are fixed: a successful exchange
// is two op 102 requests answered {xid, 0, 0}; a wrong password is
// answered {xid, 0, AUTHFAILED} with a null token and the connection
// closes; a server without SASL (its JAAS file has no Server section)
// answers {xid, 0, 0} with a null token; and
// a DIGEST-MD5 authzid is ignored (bob asking to be super is sasl:bob).
func TestSASLRepliesOnTheWireMatchApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	f := writeSASLFiles(t)
	servers := saslPair(t, f)
	// A JAAS file without a Server section: no SASL on either server.
	clientOnly := []string{"-D" + config.JAASConfigKey + "=" + f.good}
	plain := map[string]string{
		"Apache ZooKeeper": testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: clientOnly}).Addr,
		"zkd":              testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: clientOnly}).Addr,
	}
	type outcome struct {
		good, bad   testcluster.SASLResult
		badClosed   bool
		plain       testcluster.SASLResult
		plainClosed bool
		claimed     string // whoAmI after bob asked to be authorized as super
	}
	got := map[string]outcome{}
	for name, addr := range servers {
		var o outcome
		o.good = rawSASL(testcluster.ConnectRaw(t, addr), "bob", "bobsecret")
		bad := testcluster.ConnectRaw(t, addr)
		o.bad = rawSASL(bad, "bob", "wrong")
		bad.ExpectClosed()
		o.badClosed = true
		p := testcluster.ConnectRaw(t, plain[name])
		o.plain = rawSASL(p, "bob", "bobsecret")
		_, o.plainClosed = p.Ping()
		o.plain.ClientErr = nil // both: the null token is no rspauth
		c := testcluster.ConnectRaw(t, addr)
		cl := sasl.NewDigestMD5Client(sasl.DigestMD5ClientConfig{Username: "bob", Password: "bobsecret", AuthzID: "super"})
		if r := c.SASL(1, []byte{}, cl.Next); r.Header.Err != jute.OK {
			t.Fatalf("%s: login with authzid super: %+v", name, r)
		}
		o.claimed = strings.Join(rawWhoAmI(t, c), " ")
		got[name] = o
	}
	a, z := got["Apache ZooKeeper"], got["zkd"]
	if a.good.Header != (jute.ReplyHeader{Xid: 2}) || a.good.Steps != 2 || a.good.ClientErr != nil {
		t.Fatalf("Apache ZooKeeper's successful exchange: %+v", a.good)
	}
	if a.bad.Header != (jute.ReplyHeader{Xid: 2, Err: jute.ErrAuthFailed}) || !a.bad.NullToken {
		t.Fatalf("Apache ZooKeeper's answer to a wrong password: %+v", a.bad)
	}
	if a.claimed != "ip:127.0.0.1 sasl:bob" {
		t.Fatalf("Apache ZooKeeper authorized bob, who asked for super, as %q", a.claimed)
	}
	if a.plain.Header != (jute.ReplyHeader{Xid: 1}) || !a.plain.NullToken || a.plainClosed {
		t.Fatalf("Apache ZooKeeper without SASL: %+v closed %v", a.plain, a.plainClosed)
	}
	if a.good != z.good || a.bad != z.bad || a.plain != z.plain || a.plainClosed != z.plainClosed {
		t.Errorf("replies differ:\nApache ZooKeeper: %+v\nzkd:              %+v", a, z)
	}
}

// TestASASLExchangeCutOffHalfWayEndsItsConnectionOnly: a client that
// takes the server's challenge and never answers loses its connection
// within its session timeout on both servers; zkd logs the cut-off
// exchange with the peer's address, and a go-zookeeper session on the
// same server is unaffected.
func TestASASLExchangeCutOffHalfWayEndsItsConnectionOnly(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	f := writeSASLFiles(t)
	flags := []string{"-D" + config.JAASConfigKey + "=" + f.server, "-Dzookeeper.authProvider.1=" + config.SASLProviderClass}
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: flags})
	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: flags})
	for name, addr := range map[string]string{"Apache ZooKeeper": apache.Addr, "zkd": zkd.Addr} {
		canary, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(silent{}))
		if err != nil {
			t.Fatal(err)
		}
		waitSession(t, events)
		c := testcluster.DialRaw(t, addr)
		c.Handshake(&jute.ConnectRequest{Timeout: 4000, Passwd: make([]byte, 16)})
		c.Send(1, jute.OpSASL, &jute.SASLToken{Token: []byte{}})
		if h, _, _ := c.Reply(); h.Err != jute.OK {
			t.Fatalf("%s: challenge: %+v", name, h)
		}
		start := time.Now()
		c.ExpectClosed() // RawWait bounds it
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s: the connection closed after %v", name, took)
		}
		if _, err := canary.Create("/canary", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Errorf("%s: canary session: %v", name, err)
		}
		canary.Close()
	}
	// zkd ends such a connection in one of two ways, whichever comes
	// first: its SASL timer (the exchange is not finished within the
	// session timeout) or the connection's idle read deadline (the
	// session timeout after the last frame, re-armed only every eighth
	// of it). Each logs the cut-off exchange with the peer.
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, _ := os.ReadFile(zkd.LogPath)
		cutOff := strings.Contains(string(log), "connection closed during a SASL exchange") ||
			strings.Contains(string(log), "SASL exchange not finished within the session timeout; closing the connection")
		if cutOff && strings.Contains(string(log), "peer=127.0.0.1:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("zkd did not log the cut-off exchange:\n%s", zkd.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rawWhoAmI returns the identities whoAmI reports, sorted.
func rawWhoAmI(t *testing.T, c *testcluster.RawClient) []string {
	t.Helper()
	var resp jute.WhoAmIResponse
	if h := c.Call(40, jute.OpWhoAmI, nil, &resp); h.Err != jute.OK {
		t.Fatalf("whoAmI: %v", h.Err)
	}
	var out []string
	for _, i := range resp.Infos {
		out = append(out, i.AuthScheme+":"+i.User)
	}
	slices.Sort(out)
	return out
}

// enforcedOutcome is what one server did with each client of the enforced
// authentication test.
type enforcedOutcome struct {
	PingReply, GetReply   jute.ReplyHeader
	PingClosed, GetClosed bool
	DigestPingClosed      bool
	SASLWhoAmI            []string
	WrongSASL             testcluster.SASLResult
	WrongClosed           bool
	AllowedWrong          testcluster.SASLResult
	AllowedWhoAmI         []string
	AllowedPingClosed     bool
	// SuperPassword and UserSuper log in as user super with
	// zookeeper.SASLAuthenticationProvider.superPassword's password and
	// with the JAAS file's user_super password.
	SuperPassword, UserSuper testcluster.SASLResult
	// AllowedRetry is a second exchange, with the right password, on the
	// connection whose first one failed.
	AllowedRetry       testcluster.SASLResult
	AllowedRetryWhoAmI string
	// carol reads a node whose only ACL entry is sasl:anyone, with
	// zookeeper.letAnySaslUserDoX=anyone (Allowing) and without (Enforced).
	LetAnyRead, NoLetAnyRead jute.Code
}

// TestEnforcedAuthenticationOnTheWireMatchesApacheZooKeeper: with
// zookeeper.enforce.auth.enabled=true and schemes sasl,digest, an
// unauthenticated connection's ping and getData are answered
// {xid, 0, SESSIONCLOSEDREQUIRESASLAUTH} and the connection closes, a
// digest auth packet or a SASL login lets it work (a SASL user named in
// zookeeper.superUser also gets super), and a wrong SASL password is
// answered -124 with a null token; with zookeeper.allowSaslFailedClients
// and no enforcement, a wrong password is answered OK with a null token
// and the connection stays, unauthenticated; zookeeper.letAnySaslUserDoX
// makes an ACL entry with its id match every SASL user, and
// zookeeper.SASLAuthenticationProvider.superPassword replaces user_super's
// password. The same on both servers.
func TestEnforcedAuthenticationOnTheWireMatchesApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	f := writeSASLFiles(t)
	enforced := saslPair(t, f, "-Dzookeeper.enforce.auth.enabled=true", "-Dzookeeper.enforce.auth.schemes=sasl,digest", "-Dzookeeper.superUser=bob",
		"-Dzookeeper.SASLAuthenticationProvider.superPassword=supersecret")
	allowing := saslPair(t, f, "-Dzookeeper.allowSaslFailedClients=true", "-Dzookeeper.letAnySaslUserDoX=anyone")
	readAnyone := func(addr string) jute.Code {
		c := testcluster.ConnectRaw(t, addr)
		if r := rawSASL(c, "carol", "carolsecret"); r.Header.Err != jute.OK {
			t.Fatalf("SASL login: %+v", r)
		}
		anyone := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "sasl", ID: "anyone"}}}
		if h := c.Call(5, jute.OpCreate, &jute.CreateRequest{Path: "/anyone", Data: []byte("a"), ACL: anyone}, nil); h.Err != jute.OK {
			t.Fatalf("create with ACL sasl:anyone: %v", h.Err)
		}
		return c.Call(6, jute.OpGetData, &jute.PathWatchRequest{Path: "/anyone"}, nil).Err
	}
	got := map[string]enforcedOutcome{}
	for name, addr := range enforced {
		var o enforcedOutcome
		c := testcluster.ConnectRaw(t, addr)
		c.Send(jute.XidPing, jute.OpPing, nil)
		o.PingReply, _, _, _ = c.ReplyOrClosed()
		c.ExpectClosed()
		o.PingClosed = true
		c = testcluster.ConnectRaw(t, addr)
		c.Send(3, jute.OpGetData, &jute.PathWatchRequest{Path: "/"})
		o.GetReply, _, _, _ = c.ReplyOrClosed()
		c.ExpectClosed()
		o.GetClosed = true
		c = testcluster.ConnectRaw(t, addr)
		if h := c.Call(4, jute.OpAuth, &jute.AuthPacket{Scheme: "digest", Auth: []byte("u:p")}, nil); h.Err != jute.OK {
			t.Fatalf("%s: digest auth: %+v", name, h)
		}
		_, o.DigestPingClosed = c.Ping()
		c = testcluster.ConnectRaw(t, addr)
		if r := rawSASL(c, "bob", "bobsecret"); r.Header.Err != jute.OK {
			t.Fatalf("%s: SASL login: %+v", name, r)
		}
		o.SASLWhoAmI = rawWhoAmI(t, c)
		c = testcluster.ConnectRaw(t, addr)
		o.WrongSASL = rawSASL(c, "bob", "wrong")
		c.ExpectClosed()
		o.WrongClosed = true
		c = testcluster.ConnectRaw(t, allowing[name])
		o.AllowedWrong = rawSASL(c, "bob", "wrong")
		o.AllowedWrong.ClientErr = nil // a null token is no rspauth, on both
		o.AllowedWhoAmI = rawWhoAmI(t, c)
		_, o.AllowedPingClosed = c.Ping()
		o.AllowedRetry = rawSASL(c, "bob", "bobsecret")
		o.AllowedRetry.ClientErr = nil
		o.AllowedRetryWhoAmI = strings.Join(rawWhoAmI(t, c), " ")
		o.LetAnyRead, o.NoLetAnyRead = readAnyone(allowing[name]), readAnyone(addr)
		o.SuperPassword = rawSASL(testcluster.ConnectRaw(t, addr), "super", "supersecret")
		o.UserSuper = rawSASL(testcluster.ConnectRaw(t, addr), "super", "adminsecret")
		got[name] = o
	}
	a, z := got["Apache ZooKeeper"], got["zkd"]
	t.Logf("Apache ZooKeeper: %+v", a)
	if a.PingReply != (jute.ReplyHeader{Xid: jute.XidPing, Err: jute.ErrSessionClosedRequireSASL}) ||
		a.LetAnyRead != jute.OK || a.NoLetAnyRead != jute.ErrNoAuth ||
		a.SuperPassword.Header.Err != jute.OK || a.UserSuper.Header.Err != jute.ErrSessionClosedRequireSASL ||
		!slices.Equal(a.SASLWhoAmI, []string{"ip:127.0.0.1", "sasl:bob", "super:"}) {
		t.Fatalf("Apache ZooKeeper did not behave as this test expects: %+v", a)
	}
	if !slices.Equal(a.SASLWhoAmI, z.SASLWhoAmI) || !slices.Equal(a.AllowedWhoAmI, z.AllowedWhoAmI) {
		t.Errorf("whoAmI differs:\nApache ZooKeeper: %v %v\nzkd:              %v %v", a.SASLWhoAmI, a.AllowedWhoAmI, z.SASLWhoAmI, z.AllowedWhoAmI)
	}
	a.SASLWhoAmI, z.SASLWhoAmI, a.AllowedWhoAmI, z.AllowedWhoAmI = nil, nil, nil, nil
	if !reflect.DeepEqual(a, z) {
		t.Errorf("outcomes differ:\nApache ZooKeeper: %+v\nzkd:              %+v", a, z)
	}
}

// TestSASLWithoutItsProviderMatchesApacheZooKeeper: with a JAAS server
// section (named by zookeeper.sasl.serverconfig) but no
// SASLAuthenticationProvider, a SASL login succeeds, whoAmI
// shows the sasl identity with an empty user (no provider names it), and
// a sasl ACL is INVALIDACL — the same on both servers.
func TestSASLWithoutItsProviderMatchesApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	f := writeSASLFiles(t)
	// The section has another name, given by zookeeper.sasl.serverconfig.
	text, err := os.ReadFile(f.server)
	if err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(t.TempDir(), "zkserver.conf")
	if err := os.WriteFile(renamed, []byte(strings.Replace(string(text), "Server {", "ZkServer {", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"-D" + config.JAASConfigKey + "=" + renamed, "-Dzookeeper.sasl.serverconfig=ZkServer"}
	servers := map[string]string{
		"Apache ZooKeeper": testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: flags}).Addr,
		"zkd":              testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: flags}).Addr,
	}
	got := map[string][]string{}
	for name, addr := range servers {
		c := testcluster.ConnectRaw(t, addr)
		r := rawSASL(c, "bob", "bobsecret")
		h := c.Call(3, jute.OpCreate, &jute.CreateRequest{Path: "/n", ACL: []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "sasl", ID: "bob"}}}}, nil)
		got[name] = append(rawWhoAmI(t, c), r.Header.Err.Error(), h.Err.Error())
	}
	want := []string{"ip:127.0.0.1", "sasl:", jute.OK.Error(), jute.ErrInvalidACL.Error()}
	if !slices.Equal(got["Apache ZooKeeper"], want) {
		t.Fatalf("Apache ZooKeeper: %q, want %q", got["Apache ZooKeeper"], want)
	}
	if !slices.Equal(got["zkd"], want) {
		t.Errorf("zkd: %q, want %q (as Apache ZooKeeper)", got["zkd"], want)
	}
}

// TestKazooLogsInWithDigestMD5OnZkdAsOnApacheZooKeeper: Kazoo with
// pure-sasl, a third, independent client, logs in with DIGEST-MD5, creates
// and reads a node with a sasl ACL; with a wrong password it connects
// (Kazoo does not wait for the login) and its first request fails with
// AuthFailedError — the same on both servers.
func TestKazooLogsInWithDigestMD5OnZkdAsOnApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper, testcluster.NeedKazoo)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := testcluster.Python(ctx, "-c", "import puresasl"); err != nil {
		if os.Getenv("ZKD_REQUIRE_INTEROP") == "1" {
			t.Fatalf("kazoo needs pure-sasl for SASL (Debian python3-pure-sasl): %v", err)
		}
		t.Skipf("kazoo needs pure-sasl for SASL (Debian python3-pure-sasl): %v", err)
	}
	f := writeSASLFiles(t)
	servers := saslPair(t, f)
	script, err := filepath.Abs("testdata/kazoo_sasl.py")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for name, addr := range servers {
		good, err := testcluster.Python(ctx, script, addr, "bob", "bobsecret")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bad, err := testcluster.Python(ctx, script, addr, "bob", "wrong")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got[name] = good + bad
	}
	t.Logf("Apache ZooKeeper:\n%s", got["Apache ZooKeeper"])
	want := "start: ok CONNECTED\ncreate with sasl ACL: ok\nget: v\n"
	if !strings.HasPrefix(got["Apache ZooKeeper"], want) {
		t.Fatalf("Apache ZooKeeper with Kazoo:\n%s", got["Apache ZooKeeper"])
	}
	if got["zkd"] != got["Apache ZooKeeper"] {
		t.Errorf("Kazoo differs:\nApache ZooKeeper:\n%s\nzkd:\n%s", got["Apache ZooKeeper"], got["zkd"])
	}
}

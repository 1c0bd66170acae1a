package interop

import (
	"context"
	"os"
	"path/filepath"
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
		server: write("server.conf", "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  user_super=\"adminsecret\"\n  user_bob=\"bobsecret\";\n};\n"),
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
// on both servers.
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
// closes; a server without SASL answers {xid, 0, 0} with a null token.
func TestSASLRepliesOnTheWireMatchApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	f := writeSASLFiles(t)
	servers := saslPair(t, f)
	plain := map[string]string{
		"Apache ZooKeeper": testcluster.StartApacheZK(t, testcluster.ApacheOptions{}).Addr,
		"zkd":              testcluster.StartZkd(t, testcluster.ZkdOptions{}).Addr,
	}
	type outcome struct {
		good, bad   testcluster.SASLResult
		badClosed   bool
		plain       testcluster.SASLResult
		plainClosed bool
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
		got[name] = o
	}
	a, z := got["Apache ZooKeeper"], got["zkd"]
	if a.good.Header != (jute.ReplyHeader{Xid: 2}) || a.good.Steps != 2 || a.good.ClientErr != nil {
		t.Fatalf("Apache ZooKeeper's successful exchange: %+v", a.good)
	}
	if a.bad.Header != (jute.ReplyHeader{Xid: 2, Err: jute.ErrAuthFailed}) || !a.bad.NullToken {
		t.Fatalf("Apache ZooKeeper's answer to a wrong password: %+v", a.bad)
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
// within its session timeout on both servers; zkd logs it with the peer's
// address, and a go-zookeeper session on the same server is unaffected.
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
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, _ := os.ReadFile(zkd.LogPath)
		if strings.Contains(string(log), "connection closed during a SASL exchange") && strings.Contains(string(log), "peer=127.0.0.1:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("zkd did not log the cut-off exchange:\n%s", zkd.LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

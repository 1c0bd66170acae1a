package server

import (
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

const testJAAS = `Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="adminsecret"
    user_bob="bobsecret";
};
`

// saslServer starts a server whose JAAS Server section has users super and
// bob, with the SASL provider registered and props on top.
func saslServer(t *testing.T, props map[string]string) *Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jaas.conf")
	if err := os.WriteFile(path, []byte(testJAAS), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, func(c *config.Config) {
		c.Props[config.JAASConfigKey] = path
		c.Props["zookeeper.authProvider.1"] = config.SASLProviderClass
		for k, v := range props {
			c.Props[k] = v
		}
	})
}

// saslLogin runs a DIGEST-MD5 exchange on c.
func saslLogin(c *rawClient, user, password string) testcluster.SASLResult {
	c.t.Helper()
	cl := sasl.NewDigestMD5Client(sasl.DigestMD5ClientConfig{Username: user, Password: password})
	start, err := cl.Start()
	if err != nil {
		c.t.Fatal(err)
	}
	return c.SASL(1, start, cl.Next)
}

func whoAmI(c *rawClient) []jute.ClientInfo {
	c.t.Helper()
	var resp jute.WhoAmIResponse
	if h := c.call(50, jute.OpWhoAmI, nil, &resp); h.Err != jute.OK {
		c.t.Fatalf("whoAmI: %v", h.Err)
	}
	return resp.Infos
}

func hasInfo(infos []jute.ClientInfo, scheme, user string) bool {
	return slices.Contains(infos, jute.ClientInfo{AuthScheme: scheme, User: user})
}

func TestSASLDigestMD5AddsTheSASLIdentityAndItsACLsHold(t *testing.T) {
	s := saslServer(t, nil)
	c := rawConnect(t, s)
	r := saslLogin(c, "bob", "bobsecret")
	if r.Closed || r.Header.Err != jute.OK || r.Header.Zxid != 0 || r.Steps != 2 || r.ClientErr != nil {
		t.Fatalf("exchange: %+v", r)
	}
	infos := whoAmI(c)
	if !hasInfo(infos, "sasl", "bob") || !hasInfo(infos, "ip", "127.0.0.1") || len(infos) != 2 {
		t.Fatalf("whoAmI = %v", infos)
	}
	acl := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "sasl", ID: "bob"}}}
	if h := c.call(2, jute.OpCreate, &jute.CreateRequest{Path: "/s", Data: []byte("x"), ACL: acl}, nil); h.Err != jute.OK {
		t.Fatalf("create with sasl ACL: %v", h.Err)
	}
	var got jute.GetDataResponse
	if h := c.call(3, jute.OpGetData, &jute.PathWatchRequest{Path: "/s"}, &got); h.Err != jute.OK || string(got.Data) != "x" {
		t.Fatalf("getData as bob: %v %q", h.Err, got.Data)
	}
	other := zkConnect(t, s)
	if _, _, err := other.Get("/s"); err == nil || !strings.Contains(err.Error(), "not authenticated") {
		t.Fatalf("unauthenticated getData: %v", err)
	}
}

func TestSASLSuperUserGetsTheSuperIdentity(t *testing.T) {
	s := saslServer(t, map[string]string{"zookeeper.superUser": "super"})
	c := rawConnect(t, s)
	if r := saslLogin(c, "super", "adminsecret"); r.Header.Err != jute.OK || r.Closed {
		t.Fatalf("exchange: %+v", r)
	}
	if infos := whoAmI(c); !hasInfo(infos, "super", "") || !hasInfo(infos, "sasl", "super") {
		t.Fatalf("whoAmI = %v", infos)
	}
}

func TestSASLWrongPasswordIsAuthFailedThenClosedAndOthersCarryOn(t *testing.T) {
	s := saslServer(t, nil)
	canary := zkConnect(t, s)
	c := rawConnect(t, s)
	r := saslLogin(c, "bob", "wrong")
	if r.Closed || r.Header != (jute.ReplyHeader{Xid: 2, Zxid: 0, Err: jute.ErrAuthFailed}) || !r.NullToken {
		t.Fatalf("exchange: %+v", r)
	}
	c.expectClosed()
	if _, err := canary.Create("/canary", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("canary: %v", err)
	}
}

func TestSASLAllowSaslFailedClientsKeepsTheConnection(t *testing.T) {
	s := saslServer(t, map[string]string{"zookeeper.allowSaslFailedClients": "true"})
	c := rawConnect(t, s)
	r := saslLogin(c, "bob", "wrong")
	// The failure is answered OK with a null token, which the client
	// mechanism then cannot read as rspauth.
	if r.Closed || r.Header.Err != jute.OK || !r.NullToken || r.ClientErr == nil {
		t.Fatalf("exchange: %+v", r)
	}
	if infos := whoAmI(c); len(infos) != 1 || !hasInfo(infos, "ip", "127.0.0.1") {
		t.Fatalf("whoAmI = %v", infos)
	}
	// The connection had its one exchange: a second, right one fails too.
	if r := saslLogin(c, "bob", "bobsecret"); r.Header.Err != jute.OK || !r.NullToken || r.ClientErr == nil {
		t.Fatalf("second exchange: %+v", r)
	}
	if infos := whoAmI(c); len(infos) != 1 {
		t.Fatalf("whoAmI after a second exchange = %v", infos)
	}
}

// As ZooKeeper 3.8 (run side by side): no JAAS file, a section named
// without a file, and a JAAS file without the server section all start a
// server without SASL.
func TestSASLRequestWithoutSASLConfiguredIsAnsweredOKWithANullToken(t *testing.T) {
	clientOnly := filepath.Join(t.TempDir(), "client.conf")
	if err := os.WriteFile(clientOnly, []byte("Client {\n org.apache.zookeeper.server.auth.DigestLoginModule required username=\"u\" password=\"p\";\n};\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, props := range []map[string]string{
		nil,
		{"zookeeper.sasl.serverconfig": "Server"},
		{config.JAASConfigKey: clientOnly},
	} {
		s := startServer(t, func(c *config.Config) {
			for k, v := range props {
				c.Props[k] = v
			}
		})
		requireNoSASL(t, s)
	}
}

func requireNoSASL(t *testing.T, s *Server) {
	t.Helper()
	c := rawConnect(t, s)
	c.send(7, jute.OpSASL, &jute.SASLToken{Token: []byte{}})
	h, d, _ := c.reply()
	var tok jute.SASLToken
	tok.Decode(d)
	if h != (jute.ReplyHeader{Xid: 7}) || tok.Token != nil || d.Err() != nil {
		t.Fatalf("reply %+v token %v err %v", h, tok.Token, d.Err())
	}
	if _, closed := c.Ping(); closed {
		t.Fatal("connection closed")
	}
}

func TestEnforcedSASLRefusesEveryOtherRequestOfAnUnauthenticatedConnection(t *testing.T) {
	s := saslServer(t, map[string]string{"zookeeper.sessionRequireClientSASLAuth": "true"})
	for _, op := range []jute.OpCode{jute.OpGetData, jute.OpPing, jute.OpCreate} {
		c := rawConnect(t, s)
		var body jute.Encodable
		switch op {
		case jute.OpGetData:
			body = &jute.PathWatchRequest{Path: "/"}
		case jute.OpCreate:
			body = &jute.CreateRequest{Path: "/x", ACL: openACL}
		}
		xid := int32(5)
		if op == jute.OpPing {
			xid = jute.XidPing
		}
		c.send(xid, op, body)
		h, _, _, closed := c.ReplyOrClosed()
		if closed || h != (jute.ReplyHeader{Xid: xid, Err: jute.ErrSessionClosedRequireSASL}) {
			t.Fatalf("op %v: reply %+v closed %v", op, h, closed)
		}
		c.expectClosed()
	}
	c := rawConnect(t, s)
	if r := saslLogin(c, "bob", "bobsecret"); r.Header.Err != jute.OK {
		t.Fatalf("exchange: %+v", r)
	}
	if _, closed := c.Ping(); closed {
		t.Fatal("an authenticated connection was closed")
	}
	bad := rawConnect(t, s)
	if r := saslLogin(bad, "bob", "wrong"); r.Header.Err != jute.ErrSessionClosedRequireSASL || !r.NullToken {
		t.Fatalf("wrong password under enforcement: %+v", r)
	}
	bad.expectClosed()
}

func TestEnforcedDigestAcceptsAnAuthPacket(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.Props["zookeeper.enforce.auth.enabled"] = "true"
		c.Props["zookeeper.enforce.auth.schemes"] = "digest"
	})
	c := rawConnect(t, s)
	if h := c.call(1, jute.OpAuth, &jute.AuthPacket{Scheme: "digest", Auth: []byte("u:p")}, nil); h.Err != jute.OK {
		t.Fatal(h.Err)
	}
	if _, closed := c.Ping(); closed {
		t.Fatal("an authenticated connection was closed")
	}
	// Nothing a connection sends after a refused request runs, even once
	// an auth packet behind it would have authenticated it. (Sent before
	// the handshake's answer, the refused request waits behind the
	// session's creation.)
	late := rawDial(t, s)
	late.writeFrame(jute.Encode(&jute.ConnectRequest{Timeout: 10000, Passwd: make([]byte, 16)}))
	late.send(2, jute.OpGetData, &jute.PathWatchRequest{Path: "/"})
	late.send(3, jute.OpAuth, &jute.AuthPacket{Scheme: "digest", Auth: []byte("u:p")})
	late.send(4, jute.OpCreate, &jute.CreateRequest{Path: "/behind", ACL: openACL})
	if late.readFrame() == nil {
		t.Fatal("no handshake answer")
	}
	if h, _, _, closed := late.ReplyOrClosed(); closed || h != (jute.ReplyHeader{Xid: 2, Err: jute.ErrSessionClosedRequireSASL}) {
		t.Fatalf("reply %+v closed %v", h, closed)
	}
	late.expectClosed()
	var st jute.StatResponse
	if h := c.call(9, jute.OpExists, &jute.PathWatchRequest{Path: "/behind"}, &st); h.Err != jute.ErrNoNode {
		t.Fatalf("a write behind a refused request ran: %v", h.Err)
	}
}

func TestSASLExchangeThatNeverEndsIsClosedAfterTheSessionTimeout(t *testing.T) {
	s := saslServer(t, nil)
	canary := zkConnect(t, s)
	c := rawDial(t, s)
	c.handshake(&jute.ConnectRequest{Timeout: 4000, Passwd: make([]byte, 16)})
	c.send(1, jute.OpSASL, &jute.SASLToken{Token: []byte{}})
	if h, _, _ := c.reply(); h.Err != jute.OK {
		t.Fatalf("challenge: %v", h.Err)
	}
	// The client keeps its session alive but never answers the challenge.
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, closed := c.Ping(); closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a SASL exchange left half-way kept its connection for 15 s")
		}
		time.Sleep(500 * time.Millisecond) // a client's ping interval
	}
	if _, err := canary.Create("/canary", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("canary: %v", err)
	}
}

func TestSASLConfigurationErrorsStopTheServer(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.conf")
	os.WriteFile(broken, []byte("Server {\n org.apache.zookeeper.server.auth.DigestLoginModule\n};\n"), 0o600)
	cases := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"missing file", map[string]string{config.JAASConfigKey: filepath.Join(dir, "absent.conf")}, "absent.conf"},
		{"broken file", map[string]string{config.JAASConfigKey: broken}, broken + " line 3"},
		{"SASL required without its provider", map[string]string{"zookeeper.sessionRequireClientSASLAuth": "true"}, `scheme "sasl" has no authentication provider`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			cfg.DataLogDir = cfg.DataDir
			for k, v := range c.props {
				cfg.Props[k] = v
			}
			_, err := New(cfg, Options{InMemory: true})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: %v, want %q", err, c.want)
			}
		})
	}
}

// In an ensemble a learner runs the SASL exchange and the enforcement
// itself, and forwards the identity with the writes: the leader accepts a
// sasl ACL from a client logged in on a follower, and that client's node
// is readable by bob through any server.
func TestEnsembleFollowersAuthenticateAndEnforceSASL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jaas.conf")
	if err := os.WriteFile(path, []byte(testJAAS), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEnsembleWith(t, 3, 0, map[string]string{
		config.JAASConfigKey:                     path,
		"zookeeper.authProvider.1":               config.SASLProviderClass,
		"zookeeper.sessionRequireClientSASLAuth": "true",
	})
	leader := e.waitForLeader()
	follower := others(3, leader)[0]
	dial := func(i int) *testcluster.RawClient { return testcluster.ConnectRaw(t, e.addr(i)) }

	anon := dial(follower)
	anon.Send(jute.XidPing, jute.OpPing, nil)
	if h, _, _, closed := anon.ReplyOrClosed(); closed || h.Err != jute.ErrSessionClosedRequireSASL {
		t.Fatalf("unauthenticated ping on a follower: %+v closed %v", h, closed)
	}
	anon.ExpectClosed()

	bob := &rawClient{RawClient: dial(follower), t: t}
	if r := saslLogin(bob, "bob", "bobsecret"); r.Header.Err != jute.OK {
		t.Fatalf("login on a follower: %+v", r)
	}
	acl := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "sasl", ID: "bob"}}}
	if h := bob.call(2, jute.OpCreate, &jute.CreateRequest{Path: "/s", Data: []byte("x"), ACL: acl}, nil); h.Err != jute.OK {
		t.Fatalf("create with a sasl ACL through a follower: %v", h.Err)
	}
	onLeader := &rawClient{RawClient: dial(leader), t: t}
	if r := saslLogin(onLeader, "bob", "bobsecret"); r.Header.Err != jute.OK {
		t.Fatalf("login on the leader: %+v", r)
	}
	var got jute.GetDataResponse
	if h := onLeader.call(3, jute.OpSync, &jute.PathRequest{Path: "/s"}, nil); h.Err != jute.OK {
		t.Fatalf("sync: %v", h.Err)
	}
	if h := onLeader.call(4, jute.OpGetData, &jute.PathWatchRequest{Path: "/s"}, &got); h.Err != jute.OK || string(got.Data) != "x" {
		t.Fatalf("getData as bob on the leader: %v %q", h.Err, got.Data)
	}
}

package sasl

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"

	"github.com/zkd/zkd/internal/testcluster"
)

// realm is a KDC with a service principal zookeeper/localhost in a keytab
// and client principals, for the GSSAPI tests.
type realm struct {
	kdc      *testcluster.KDC
	conf     *config.Config
	svcKT    string // zookeeper/localhost's keytab
	aliceKT  string // alice's keytab
	dir      string
	realmArg string
}

const testRealm = "GSS.TEST"

func startRealm(t *testing.T) *realm {
	t.Helper()
	k := testcluster.StartKDC(t, testRealm)
	dir := t.TempDir()
	r := &realm{kdc: k, dir: dir, svcKT: filepath.Join(dir, "zk.keytab"), aliceKT: filepath.Join(dir, "alice.keytab")}
	k.AddPrincipalKeytab(t, "zookeeper/localhost", r.svcKT)
	k.AddPrincipalKeytab(t, "alice", r.aliceKT)
	r.conf = r.loadConf(t)
	return r
}

// loadConf reads the realm's krb5.conf with extra [libdefaults] lines.
func (r *realm) loadConf(t *testing.T, libdefaults ...string) *config.Config {
	t.Helper()
	b, err := os.ReadFile(r.kdc.ConfPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "[libdefaults]\n", "[libdefaults]\n\t"+strings.Join(libdefaults, "\n\t")+"\n", 1)
	path := filepath.Join(t.TempDir(), "krb5.conf")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadKrb5Conf(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (r *realm) acceptor(t *testing.T, mod func(*GSSAPIConfig)) *GSSAPIAcceptor {
	t.Helper()
	cfg := GSSAPIConfig{Principal: "zookeeper/localhost@" + testRealm, Keytab: r.svcKT, Krb5Conf: r.conf}
	if mod != nil {
		mod(&cfg)
	}
	a, err := NewGSSAPIAcceptor(cfg)
	if err != nil {
		t.Fatalf("NewGSSAPIAcceptor: %v", err)
	}
	return a
}

// gssExchange runs an exchange (see exchange) and returns the server's
// error, else the client's.
func gssExchange(t *testing.T, c Client, s Server) error {
	t.Helper()
	serr, cerr := exchange(t, c, s)
	if serr != nil {
		return serr
	}
	return cerr
}

func TestGSSAPIClientAndServerAuthenticateThroughTheKDC(t *testing.T) {
	r := startRealm(t)
	r.kdc.AddPrincipalPassword(t, "bob", "bob's secret")
	r.kdc.AddPrincipalKeytab(t, "svc/app.example", filepath.Join(r.dir, "svc.keytab"))
	ccache := filepath.Join(r.dir, "alice.cc")
	r.kdc.Kinit(t, "alice@"+testRealm, r.aliceKT, ccache)
	tests := []struct {
		name   string
		client GSSAPIClientConfig
		naming func(*GSSAPIConfig)
		want   string
	}{
		{"a keytab login is named principal@REALM", GSSAPIClientConfig{Principal: "alice@" + testRealm, Keytab: r.aliceKT}, nil, "alice@" + testRealm},
		{"a password login works and the realm defaults", GSSAPIClientConfig{Principal: "bob", Password: "bob's secret"}, nil, "bob@" + testRealm},
		{"a ticket cache login works", GSSAPIClientConfig{CCache: "FILE:" + ccache}, nil, "alice@" + testRealm},
		{"mutual authentication adds an AP-REP round", GSSAPIClientConfig{Principal: "alice", Keytab: r.aliceKT, Mutual: true}, nil, "alice@" + testRealm},
		{"removeRealmFromPrincipal drops the realm", GSSAPIClientConfig{Principal: "alice", Keytab: r.aliceKT},
			func(c *GSSAPIConfig) { c.RemoveRealmFromPrincipal = true }, "alice"},
		{"a service principal keeps its host", GSSAPIClientConfig{Principal: "svc/app.example", Keytab: filepath.Join(r.dir, "svc.keytab")},
			nil, "svc/app.example@" + testRealm},
		{"removeHostFromPrincipal drops the host", GSSAPIClientConfig{Principal: "svc/app.example", Keytab: filepath.Join(r.dir, "svc.keytab")},
			func(c *GSSAPIConfig) { c.RemoveHostFromPrincipal = true }, "svc@" + testRealm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := r.acceptor(t, tc.naming)
			tc.client.Krb5Conf = r.conf
			c, err := NewGSSAPIClient(tc.client, "zookeeper/localhost")
			if err != nil {
				t.Fatal(err)
			}
			s := a.NewServer()
			if err := gssExchange(t, c, s); err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if got := s.AuthorizationID(); got != tc.want {
				t.Fatalf("identity %q, want %q", got, tc.want)
			}
		})
	}
}

// offered runs an exchange of client with a up to the server's
// security-layer offer.
func offered(t *testing.T, a *GSSAPIAcceptor, client GSSAPIClientConfig) (*gssapiClient, Server, []byte) {
	t.Helper()
	c, _ := NewGSSAPIClient(client, "zookeeper/localhost")
	tok, err := c.Start()
	if err != nil {
		t.Fatal(err)
	}
	s := a.NewServer()
	offer, _, err := s.Next(tok)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*gssapiClient), s, offer
}

func TestGSSAPIRefusals(t *testing.T) {
	r := startRealm(t)
	r.kdc.AddPrincipalKeytab(t, "zookeeper/otherhost", filepath.Join(r.dir, "other.keytab"))
	goneKT := filepath.Join(r.dir, "gone.keytab")
	r.kdc.AddPrincipalKeytab(t, "gone", goneKT)
	r.kdc.DeletePrincipal(t, "gone")
	a := r.acceptor(t, nil)
	alice := GSSAPIClientConfig{Principal: "alice", Keytab: r.aliceKT, Krb5Conf: r.conf}

	for _, service := range []string{"zookeeper/otherhost", "zookeeper/otherhost@" + testRealm} {
		t.Run("a ticket for another service principal is refused: "+service, func(t *testing.T) {
			c, _ := NewGSSAPIClient(alice, service)
			err := gssExchange(t, c, a.NewServer())
			if err == nil || !strings.Contains(err.Error(), "the ticket is for zookeeper/otherhost@GSS.TEST, but this server is zookeeper/localhost@GSS.TEST") {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("a server principal in another realm is refused by the client", func(t *testing.T) {
		c, _ := NewGSSAPIClient(alice, "zookeeper/localhost@ELSEWHERE.TEST")
		if _, err := c.Start(); err == nil || !strings.Contains(err.Error(), "cross-realm tickets are not supported") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a principal the KDC does not know cannot log in", func(t *testing.T) {
		c, _ := NewGSSAPIClient(GSSAPIClientConfig{Principal: "gone", Keytab: goneKT, Krb5Conf: r.conf}, "zookeeper/localhost")
		_, err := c.Start()
		if err == nil || !strings.Contains(err.Error(), "log in as gone@GSS.TEST") || !strings.Contains(err.Error(), "KDC_ERR_C_PRINCIPAL_UNKNOWN") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a replayed AP-REQ is refused", func(t *testing.T) {
		c, _ := NewGSSAPIClient(alice, "zookeeper/localhost")
		tok, err := c.Start()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.NewServer().Next(tok); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.NewServer().Next(tok); err == nil || !strings.Contains(err.Error(), "replayed") {
			t.Fatalf("replay: err = %v", err)
		}
	})
	t.Run("a client choosing a security layer that was not offered is refused", func(t *testing.T) {
		gc, s, _ := offered(t, a, alice)
		bad, err := makeWrap(gc.key, usageInitiatorSeal, 0, gc.initiatorSeq, layerMessage(layerPrivacy, 65536, gc.authzid))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Next(bad); err == nil || !strings.Contains(err.Error(), "only 'no security layer'") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("an altered wrap token is refused", func(t *testing.T) {
		c, s, offer := offered(t, a, alice)
		resp, _, err := c.Next(offer)
		if err != nil {
			t.Fatal(err)
		}
		resp[wrapHeaderLen+5] ^= 1 // a byte of the authorization id
		if _, _, err := s.Next(resp); err == nil || !strings.Contains(err.Error(), "checksum does not verify") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestGSSAPIExpiredTicketsAreRefused(t *testing.T) {
	r := startRealm(t)
	ccache := filepath.Join(r.dir, "short.cc")
	r.kdc.Kinit(t, "alice@"+testRealm, r.aliceKT, ccache, "-l", "2s")
	expires := time.Now().Add(2 * time.Second)
	// The server allows one second of clock skew (krb5.conf clockskew).
	a := r.acceptor(t, func(c *GSSAPIConfig) { c.Krb5Conf = r.loadConf(t, "clockskew = 1") })
	start := func() []byte {
		c, _ := NewGSSAPIClient(GSSAPIClientConfig{CCache: ccache, Krb5Conf: r.conf}, "zookeeper/localhost")
		tok, err := c.Start()
		if err != nil {
			t.Fatalf("Start with a fresh 2 s ticket: %v", err)
		}
		return tok
	}
	now, later := start(), start()
	if _, _, err := a.NewServer().Next(now); err != nil {
		t.Fatalf("fresh ticket refused: %v", err)
	}
	// Wait out the ticket's life and the skew (a deadline, not a guess:
	// the ticket's end is fixed by kinit -l).
	time.Sleep(time.Until(expires.Add(1500 * time.Millisecond)))
	_, _, err := a.NewServer().Next(later)
	if err == nil || !strings.Contains(err.Error(), "alice@GSS.TEST's ticket expired at") {
		t.Fatalf("err = %v, want an expired ticket", err)
	}
	c, _ := NewGSSAPIClient(GSSAPIClientConfig{CCache: ccache, Krb5Conf: r.conf}, "zookeeper/localhost")
	if _, err := c.Start(); err == nil || !strings.Contains(err.Error(), "ticket-granting ticket expired at") {
		t.Fatalf("client with an expired ticket cache: err = %v", err)
	}
}

func TestGSSAPIAcceptorRereadsARotatedKeytab(t *testing.T) {
	r := startRealm(t)
	a := r.acceptor(t, nil)
	alice := GSSAPIClientConfig{Principal: "alice", Keytab: r.aliceKT, Krb5Conf: r.conf}
	try := func() error {
		c, err := NewGSSAPIClient(alice, "zookeeper/localhost")
		if err != nil {
			t.Fatal(err)
		}
		return gssExchange(t, c, a.NewServer())
	}
	if err := try(); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	// ktadd gives the service a new random key (kvno 3) and writes it to a
	// new keytab; tickets are issued under the new key from now on.
	rotated := filepath.Join(r.dir, "rotated.keytab")
	r.kdc.Admin(t, "ktadd -k "+rotated+" zookeeper/localhost", "kvno 3")
	if err := try(); err == nil || !strings.Contains(err.Error(), "does not decrypt with keytab") {
		t.Fatalf("a ticket under the new key before the keytab changed: err = %v", err)
	}
	if err := os.Rename(rotated, r.svcKT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := try()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rotated keytab was not picked up within 5 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestServerPrincipalIsTheOneJavasClientAsksFor(t *testing.T) {
	lo := net.ParseIP("127.0.0.1")
	tests := []struct {
		host string
		ip   net.IP
		opts ServerPrincipalOptions
		want string
	}{
		{"localhost", lo, ServerPrincipalOptions{}, "zookeeper/localhost"},
		{"127.0.0.1", lo, ServerPrincipalOptions{}, "zookeeper/localhost"},
		{"127.0.0.1", lo, ServerPrincipalOptions{NoCanonicalize: true}, "zookeeper/localhost"},
		{"zk1.example", lo, ServerPrincipalOptions{}, "zookeeper/localhost"},
		{"zk1.example", lo, ServerPrincipalOptions{NoCanonicalize: true}, "zookeeper/zk1.example"},
		{"localhost", lo, ServerPrincipalOptions{Username: "zk"}, "zk/localhost"},
		{"localhost", lo, ServerPrincipalOptions{Principal: "zk/other@R"}, "zk/other@R"},
	}
	for _, tc := range tests {
		if got := ServerPrincipal(tc.host, tc.ip, tc.opts); got != tc.want {
			t.Errorf("ServerPrincipal(%q, %v, %+v) = %q, want %q", tc.host, tc.ip, tc.opts, got, tc.want)
		}
	}
}

// Authorize sees what Java's acceptor hands its AuthorizeCallback: the
// ticket's principal and the authorization id of the security-layer reply,
// the principal itself when the reply names none.
func TestGSSAPIAuthorizeDecidesOnTheAuthenticatedPrincipalAndTheAuthorizationID(t *testing.T) {
	r := startRealm(t)
	alice := GSSAPIClientConfig{Principal: "alice", Keytab: r.aliceKT, Krb5Conf: r.conf}
	type call struct{ authn, authz string }
	tests := []struct {
		name    string
		authzid *string // the reply's authorization id; nil: what the client sends
		refuse  bool
		want    call
		wantErr string
	}{
		{"the client's own principal is passed as both ids", nil, false, call{"alice@GSS.TEST", "alice@GSS.TEST"}, ""},
		{"an empty authorization id stands for the principal", new(""), false, call{"alice@GSS.TEST", "alice@GSS.TEST"}, ""},
		{"another authorization id is passed as sent", new("bob@GSS.TEST"), false, call{"alice@GSS.TEST", "bob@GSS.TEST"}, ""},
		{"a refusal fails the exchange and names both", nil, true, call{"alice@GSS.TEST", "alice@GSS.TEST"},
			"GSSAPI: alice@GSS.TEST is not authorized to act as alice@GSS.TEST: no"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []call
			a := r.acceptor(t, func(c *GSSAPIConfig) {
				c.Authorize = func(authn, authz string) error {
					got = append(got, call{authn, authz})
					if tc.refuse {
						return errors.New("no")
					}
					return nil
				}
			})
			gc, s, offer := offered(t, a, alice)
			reply, _, err := gc.Next(offer)
			if err != nil {
				t.Fatal(err)
			}
			if tc.authzid != nil {
				if reply, err = makeWrap(gc.key, usageInitiatorSeal, 0, gc.initiatorSeq, layerMessage(layerNone, javaMaxBuffer, *tc.authzid)); err != nil {
					t.Fatal(err)
				}
			}
			_, done, err := s.Next(reply)
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("Authorize called with %v, want [%v]", got, tc.want)
			}
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !done {
				t.Fatalf("done %v, err %v", done, err)
			}
			if id := s.AuthorizationID(); id != tc.want.authz {
				t.Fatalf("identity %q, want %q", id, tc.want.authz)
			}
		})
	}
}

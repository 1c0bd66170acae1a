package acl

import (
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

func saslACL(id string) []jute.ACL {
	return []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "sasl", ID: id}}}
}

func saslID(id string) []jute.Id { return []jute.Id{{Scheme: "sasl", ID: id}} }

// The rules of ZooKeeper 3.8's SASLAuthenticationProvider.matches and
// isValid (javap), and of ZooKeeperServer.isSaslSuperUser.
func TestSASLSchemeMatchesAsZooKeepersProvider(t *testing.T) {
	on := Settings{SASL: true}
	cases := []struct {
		name string
		s    Settings
		acl  string
		id   string
		want bool
	}{
		{"equal ids match", on, "bob", "bob", true},
		{"other ids do not", on, "bob", "alice", false},
		{"caller named super matches any entry", on, "bob", "super", true},
		{"letAnySaslUserDoX entry matches any sasl caller", Settings{SASL: true, LetAnySaslUserDoX: "anyone"}, "anyone", "alice", true},
		{"letAnySaslUserDoX does not widen other entries", Settings{SASL: true, LetAnySaslUserDoX: "anyone"}, "bob", "alice", false},
		{"no provider, no match", Settings{}, "bob", "bob", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.Check(saslACL(c.acl), jute.PermRead, saslID(c.id)); got != c.want {
				t.Fatalf("Check = %v, want %v", got, c.want)
			}
		})
	}
}

func TestSASLACLsNeedTheProviderAndAValidName(t *testing.T) {
	on := Settings{SASL: true}
	for id, valid := range map[string]bool{
		"bob": true, "zookeeper/host@EXAMPLE.COM": true, "bob@EXAMPLE.COM": true, "a/b/c": true,
		"a@b@c": false, "a/b/c@R": false,
	} {
		if _, ok := on.Normalize(saslACL(id), nil); ok != valid {
			t.Errorf("sasl:%s valid = %v, want %v", id, ok, valid)
		}
	}
	if _, ok := (Settings{}).Normalize(saslACL("bob"), nil); ok {
		t.Error("sasl ACL accepted without the SASL provider")
	}
}

func TestAuthSchemeExpandsSASLIdentitiesOnlyWithTheProvider(t *testing.T) {
	auth := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "auth", ID: ""}}}
	ids := []jute.Id{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "sasl", ID: "bob"}}
	out, ok := Settings{SASL: true}.Normalize(auth, ids)
	if !ok || !slices.Equal(out, saslACL("bob")) {
		t.Fatalf("auth with sasl provider: %v %v", out, ok)
	}
	if _, ok := (Settings{}).Normalize(auth, ids); ok {
		t.Fatal("auth expanded a sasl identity without the provider")
	}
}

func TestSASLIdentitiesAddSuperForASuperUser(t *testing.T) {
	if got := SASLIdentities("bob", []string{"admin", "bob"}); !slices.Equal(got, []jute.Id{{Scheme: "sasl", ID: "bob"}, Super}) {
		t.Errorf("super user: %v", got)
	}
	if got := SASLIdentities("bob", []string{"admin"}); !slices.Equal(got, saslID("bob")) {
		t.Errorf("plain user: %v", got)
	}
	if got := SASLIdentities("", []string{""}); !slices.Equal(got, saslID("")) {
		t.Errorf("empty id: %v", got)
	}
}

func TestWhoAmIShowsNoSASLUserWithoutTheProvider(t *testing.T) {
	ids := []jute.Id{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "sasl", ID: "bob"}}
	want := []jute.ClientInfo{{AuthScheme: "ip", User: "127.0.0.1"}, {AuthScheme: "sasl", User: "bob"}}
	if got := (Settings{SASL: true}).WhoAmI(ids); !slices.Equal(got, want) {
		t.Errorf("with provider: %v", got)
	}
	want[1].User = ""
	if got := (Settings{}).WhoAmI(ids); !slices.Equal(got, want) {
		t.Errorf("without provider: %v", got)
	}
}

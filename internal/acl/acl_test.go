package acl

import (
	"net/netip"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

func TestDigestMatchesZooKeeper(t *testing.T) {
	// Values observed on ZooKeeper 3.8 (spec §10.2).
	if got := Digest([]byte("alice:secret")); got != "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=" {
		t.Fatal(got)
	}
	if got := Digest([]byte("super:test")); got != "super:D/InIHSb7yEEbrWz8b9l71RjZJU=" {
		t.Fatal(got)
	}
}

func TestSuperDigestGrantsSuper(t *testing.T) {
	s := Settings{SuperDigest: "super:D/InIHSb7yEEbrWz8b9l71RjZJU="}
	ids, ok := s.Authenticate("digest", []byte("super:test"), netip.MustParseAddr("127.0.0.1"))
	if !ok || len(ids) != 2 || ids[1] != Super {
		t.Fatalf("ids %v ok %v", ids, ok)
	}
	readOnly := []jute.ACL{{Perms: jute.PermRead, ID: Anyone}}
	if !s.Check(readOnly, jute.PermWrite, ids) {
		t.Fatal("super denied")
	}
}

func TestUnknownSchemeFailsAuthentication(t *testing.T) {
	if _, ok := (Settings{}).Authenticate("kerberos", []byte("x"), netip.Addr{}); ok {
		t.Fatal("unknown scheme accepted")
	}
}

func TestCheck(t *testing.T) {
	alice := jute.Id{Scheme: "digest", ID: Digest([]byte("alice:secret"))}
	local := jute.Id{Scheme: "ip", ID: "127.0.0.1"}
	cases := []struct {
		name string
		list []jute.ACL
		perm int32
		ids  []jute.Id
		want bool
	}{
		{"world anyone grants everybody", []jute.ACL{e(31, Anyone)}, jute.PermWrite, nil, true},
		{"a missing bit denies", []jute.ACL{e(jute.PermRead, Anyone)}, jute.PermWrite, nil, false},
		{"digest grants its owner", []jute.ACL{e(31, alice)}, jute.PermRead, []jute.Id{local, alice}, true},
		{"digest denies others", []jute.ACL{e(31, alice)}, jute.PermRead, []jute.Id{local}, false},
		{"ip exact", []jute.ACL{e(31, id("ip", "127.0.0.1"))}, jute.PermRead, []jute.Id{local}, true},
		{"ip prefix", []jute.ACL{e(31, id("ip", "127.0.0.0/8"))}, jute.PermRead, []jute.Id{local}, true},
		{"ip other", []jute.ACL{e(31, id("ip", "10.0.0.1"))}, jute.PermRead, []jute.Id{local}, false},
		{"either bit of a mask suffices", []jute.ACL{e(jute.PermAdmin, Anyone)}, jute.PermRead | jute.PermAdmin, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := (Settings{}).Check(c.list, c.perm, c.ids); got != c.want {
				t.Fatalf("got %v", got)
			}
		})
	}
	if !(Settings{SkipACL: true}).Check([]jute.ACL{e(jute.PermRead, alice)}, jute.PermWrite, nil) {
		t.Fatal("skipACL still checks")
	}
}

func TestNormalize(t *testing.T) {
	alice := jute.Id{Scheme: "digest", ID: "alice:hash="}
	local := jute.Id{Scheme: "ip", ID: "127.0.0.1"}
	cases := []struct {
		name string
		list []jute.ACL
		ids  []jute.Id
		ok   bool
		want int
	}{
		{"empty list is invalid", nil, nil, false, 0},
		{"world must be anyone", []jute.ACL{e(31, id("world", "bob"))}, nil, false, 0},
		{"auth without credentials is invalid", []jute.ACL{e(31, id("auth", ""))}, []jute.Id{local}, false, 0},
		{"auth expands to digest ids only", []jute.ACL{e(31, id("auth", ""))}, []jute.Id{local, alice}, true, 1},
		{"digest needs user and hash", []jute.ACL{e(31, id("digest", "bob"))}, nil, false, 0},
		{"ipv6 is invalid", []jute.ACL{e(31, id("ip", "::1"))}, nil, false, 0},
		{"unknown scheme is invalid", []jute.ACL{e(31, id("x509", "CN=a"))}, nil, false, 0},
		{"duplicates collapse", []jute.ACL{e(31, Anyone), e(31, Anyone)}, nil, true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, ok := Settings{}.Normalize(c.list, c.ids)
			if ok != c.ok || len(out) != c.want {
				t.Fatalf("got %v %v", out, ok)
			}
		})
	}
}

func TestMaskDigestsHidesHashes(t *testing.T) {
	got := MaskDigests([]jute.ACL{e(31, id("digest", "bob:abc=")), e(1, Anyone)})
	if got[0].ID.ID != "bob:x" || got[1].ID != Anyone {
		t.Fatal(got)
	}
}

func e(perms int32, i jute.Id) jute.ACL { return jute.ACL{Perms: perms, ID: i} }

func id(scheme, v string) jute.Id { return jute.Id{Scheme: scheme, ID: v} }

package sasl

import (
	"strings"
	"testing"
)

// The short names below were printed by Apache ZooKeeper 3.8.0's
// KerberosName (java -Dzookeeper.security.auth_to_local=<rules>
// org.apache.zookeeper.server.auth.KerberosName <principal>, with
// default_realm EXAMPLE.TEST); its failures are the fallback cases.
func TestKerberosNamingFollowsZooKeeper(t *testing.T) {
	const realm = "EXAMPLE.TEST"
	tests := []struct {
		rules     string // "" with rulesSet false: DEFAULT
		rulesSet  bool
		naming    KerberosNaming
		principal string
		want      string
		fallback  string // the reason, when no rule gives a name
	}{
		{"", false, KerberosNaming{}, "alice@EXAMPLE.TEST", "alice@EXAMPLE.TEST", ""},
		{"", false, KerberosNaming{}, "zookeeper/host@EXAMPLE.TEST", "zookeeper/host@EXAMPLE.TEST", ""},
		{"", false, KerberosNaming{RemoveHost: true}, "zookeeper/host@EXAMPLE.TEST", "zookeeper@EXAMPLE.TEST", ""},
		{"", false, KerberosNaming{RemoveRealm: true}, "zookeeper/host@EXAMPLE.TEST", "zookeeper/host", ""},
		{"", false, KerberosNaming{RemoveHost: true, RemoveRealm: true}, "zookeeper/host@EXAMPLE.TEST", "zookeeper", ""},
		{"", false, KerberosNaming{RemoveRealm: true}, "alice@OTHER.TEST", "alice@OTHER.TEST", "no auth_to_local rule applies"},
		{"DEFAULT", true, KerberosNaming{RemoveHost: true}, "app/h@EXAMPLE.TEST", "app@EXAMPLE.TEST", ""},
		{`RULE:[1:$1@$0](.*@OTHER\.TEST)s/@.*// DEFAULT`, true, KerberosNaming{RemoveRealm: true}, "bob@OTHER.TEST", "bob", ""},
		{`RULE:[1:$1@$0](.*@OTHER\.TEST)s/@.*// DEFAULT`, true, KerberosNaming{RemoveRealm: true}, "alice@EXAMPLE.TEST", "alice", ""},
		{`RULE:[2:$1@$0](.*@OTHER\.TEST)s/@.*// DEFAULT`, true, KerberosNaming{RemoveHost: true, RemoveRealm: true}, "app/h@OTHER.TEST", "app", ""},
		{`RULE:[2:$2-$1]s/\./_/g`, true, KerberosNaming{RemoveHost: true, RemoveRealm: true}, "app/h.example.com@OTHER.TEST", "h_example_com-app", ""},
		{`RULE:[2:$2-$1]s/\./_/`, true, KerberosNaming{RemoveHost: true, RemoveRealm: true}, "app/h.example.com@OTHER.TEST", "h_example.com-app", ""},
		{`RULE:[1:$1]s/(a)(l)/$2$1x/`, true, KerberosNaming{RemoveRealm: true}, "alice@X.TEST", "laxice", ""},
		{`RULE:[1:$1@$0]`, true, KerberosNaming{}, "alice@X.TEST", "alice@X.TEST", "non-simple name alice@X.TEST after auth_to_local rule RULE:[1:$1@$0]"},
		{`RULE:[1:$3]`, true, KerberosNaming{}, "alice@X.TEST", "alice@X.TEST", "index 3 from $3 is outside of the valid range 0 to 1"},
		{``, true, KerberosNaming{}, "alice@EXAMPLE.TEST", "alice@EXAMPLE.TEST", "no auth_to_local rule applies"},
		{`RULE:[1:$1](bob)`, true, KerberosNaming{}, "alice@X.TEST", "alice@X.TEST", "no auth_to_local rule applies"},
	}
	for _, tc := range tests {
		n := tc.naming
		n.DefaultRealm = realm
		if tc.rulesSet {
			rules, err := ParseAuthToLocal(tc.rules)
			if err != nil {
				t.Fatalf("ParseAuthToLocal(%q): %v", tc.rules, err)
			}
			n.Rules = rules
		}
		got, fallback, err := n.Identity(tc.principal)
		if got != tc.want || fallback != (tc.fallback != "") || (tc.fallback != "" && (err == nil || !strings.Contains(err.Error(), tc.fallback))) || (tc.fallback == "" && err != nil) {
			t.Errorf("rules %q, %+v: Identity(%q) = %q, %v, %v; want %q, fallback %q", tc.rules, tc.naming, tc.principal, got, fallback, err, tc.want, tc.fallback)
		}
	}
	if _, _, err := (KerberosNaming{DefaultRealm: realm}).Identity("a/b/c@EXAMPLE.TEST"); err == nil || !strings.Contains(err.Error(), "malformed Kerberos name") {
		t.Errorf("a name with two slashes: %v", err)
	}
}

func TestParseAuthToLocalRefusesWhatItCannotRead(t *testing.T) {
	for rules, want := range map[string]string{
		"RULE:[1:$1] bogus":         "invalid rule: bogus",
		"RULE:[1:$1](a(?=b))":       "match pattern",
		`RULE:[1:$1]s/(a)\1/x/`:     "substitution pattern",
		"DEFAULT RULE:[x:$1]":       "invalid rule",
		"RULE:[1:$1]s/a/b/ DEFAULT": "",
	} {
		_, err := ParseAuthToLocal(rules)
		if want == "" {
			if err != nil {
				t.Errorf("ParseAuthToLocal(%q): %v", rules, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "zookeeper.security.auth_to_local") {
			t.Errorf("ParseAuthToLocal(%q) = %v, want an error naming the property and %q", rules, err, want)
		}
	}
}

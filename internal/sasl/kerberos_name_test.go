package sasl

import (
	"strings"
	"testing"
)

func TestKerberosNamingFollowsZooKeeper(t *testing.T) {
	tests := []struct {
		naming    KerberosNaming
		principal string
		want      string
		fallback  bool
		wantErr   string
	}{
		{KerberosNaming{DefaultRealm: "R"}, "alice@R", "alice@R", false, ""},
		{KerberosNaming{DefaultRealm: "R"}, "zookeeper/host@R", "zookeeper/host@R", false, ""},
		{KerberosNaming{DefaultRealm: "R", RemoveHost: true}, "zookeeper/host@R", "zookeeper@R", false, ""},
		{KerberosNaming{DefaultRealm: "R", RemoveRealm: true}, "zookeeper/host@R", "zookeeper/host", false, ""},
		{KerberosNaming{DefaultRealm: "R", RemoveHost: true, RemoveRealm: true}, "zookeeper/host@R", "zookeeper", false, ""},
		{KerberosNaming{DefaultRealm: "R", RemoveRealm: true}, "alice@OTHER", "alice@OTHER", true, ""},
		{KerberosNaming{DefaultRealm: "R"}, "a/b/c@R", "", false, "malformed Kerberos name"},
	}
	for _, tc := range tests {
		got, fallback, err := tc.naming.Identity(tc.principal)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v.Identity(%q) = %q, %v; want error %q", tc.naming, tc.principal, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want || fallback != tc.fallback {
			t.Errorf("%+v.Identity(%q) = %q, %v, %v; want %q, %v", tc.naming, tc.principal, got, fallback, err, tc.want, tc.fallback)
		}
	}
}

package client

import (
	"os"
	"strings"
	"testing"
)

func TestKerberosServerPrincipalsLoseTheirRealmUnlessItIsAnotherOne(t *testing.T) {
	for _, tt := range []struct{ principal, serverRealm, clientRealm, want, err string }{
		{"zookeeper/zk1", "", "EXAMPLE.TEST", "zookeeper/zk1", ""},
		{"zookeeper/zk1@EXAMPLE.TEST", "", "EXAMPLE.TEST", "zookeeper/zk1", ""},
		{"zookeeper/zk1", "EXAMPLE.TEST", "EXAMPLE.TEST", "zookeeper/zk1", ""},
		{"zookeeper/zk1@OTHER.TEST", "", "EXAMPLE.TEST", "", "zookeeper/zk1 is in realm OTHER.TEST, not the client's EXAMPLE.TEST"},
		{"zookeeper/zk1", "OTHER.TEST", "EXAMPLE.TEST", "", "realm OTHER.TEST"},
	} {
		got, err := serviceName(tt.principal, tt.serverRealm, tt.clientRealm)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("serviceName(%q, %q, %q) = %q, %v; want %q, %q", tt.principal, tt.serverRealm, tt.clientRealm, got, err, tt.want, tt.err)
		}
	}
}

func TestGSSAPIRefusesUnusableSettingsAtOnce(t *testing.T) {
	conf := t.TempDir() + "/krb5.conf"
	if err := os.WriteFile(conf, []byte("[libdefaults]\n default_realm = EXAMPLE.TEST\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		k    Kerberos
		want string
	}{
		{"a missing krb5.conf", Kerberos{Principal: "alice", Password: "x", Krb5Conf: "/no/such/krb5.conf"}, "/no/such/krb5.conf"},
		{"two kinds of credentials", Kerberos{Principal: "alice", Password: "x", Keytab: "/k", Krb5Conf: conf}, "exactly one of"},
		{"no credentials", Kerberos{Principal: "alice", Krb5Conf: conf}, "exactly one of"},
	} {
		if _, err := GSSAPI(tt.k); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}

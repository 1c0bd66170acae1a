package sasl

import (
	"fmt"
	"strings"
	"testing"
)

func TestAKrb5LoginModuleServerSectionServesGSSAPI(t *testing.T) {
	r := startRealm(t)
	jaas := fmt.Sprintf(`Server {
  com.sun.security.auth.module.Krb5LoginModule required
  useKeyTab=true keyTab=%q storeKey=true useTicketCache=false
  principal="zookeeper/localhost@%s";
};
NoKeytab {
  com.sun.security.auth.module.Krb5LoginModule required
  useTicketCache=true principal="zookeeper/localhost@%s";
};
`, r.svcKT, testRealm, testRealm)
	j, err := ParseJAAS("jaas.conf", []byte(jaas))
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := j.Section("Server")
	f, mech, err := NewServerFactory("jaas.conf", sec, ServerOptions{Krb5Conf: r.kdc.ConfPath, RemoveRealmFromPrincipal: true})
	if err != nil || mech != MechGSSAPI {
		t.Fatalf("NewServerFactory: %q, %v; want GSSAPI", mech, err)
	}
	s, err := f("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewGSSAPIClient(GSSAPIClientConfig{Principal: "alice", Keytab: r.aliceKT, Krb5Conf: r.conf}, "zookeeper/localhost")
	if err := gssExchange(t, c, s); err != nil {
		t.Fatal(err)
	}
	if got := s.AuthorizationID(); got != "alice" {
		t.Fatalf("identity %q, want alice (removeRealmFromPrincipal)", got)
	}

	_, _, err = NewServerFactory("jaas.conf", sec, ServerOptions{Krb5Conf: r.kdc.ConfPath, AuthToLocal: "RULE:[1:$1] bogus"})
	if err == nil || !strings.Contains(err.Error(), "jaas.conf section Server: zookeeper.security.auth_to_local: invalid rule: bogus") {
		t.Fatalf("bad auth_to_local rules: err = %v", err)
	}
	f, _, err = NewServerFactory("jaas.conf", sec, ServerOptions{Krb5Conf: r.kdc.ConfPath, AuthToLocal: `RULE:[1:$1]s/^a/A/ DEFAULT`})
	if err != nil {
		t.Fatal(err)
	}
	s, _ = f("127.0.0.1")
	c, _ = NewGSSAPIClient(GSSAPIClientConfig{Principal: "alice", Keytab: r.aliceKT, Krb5Conf: r.conf}, "zookeeper/localhost")
	if err := gssExchange(t, c, s); err != nil || s.AuthorizationID() != "Alice@"+testRealm {
		t.Fatalf("with an auth_to_local rule: %v, identity %q, want Alice@%s", err, s.AuthorizationID(), testRealm)
	}

	sec, _ = j.Section("NoKeytab")
	_, _, err = NewServerFactory("jaas.conf", sec, ServerOptions{Krb5Conf: r.kdc.ConfPath})
	if err == nil || !strings.Contains(err.Error(), "jaas.conf section NoKeytab: Krb5LoginModule: zkd's GSSAPI server needs useKeyTab=true and keyTab") {
		t.Fatalf("a section without a keytab: err = %v", err)
	}
}

func TestAGSSAPIAcceptorNeedsTheKeysOfItsPrincipal(t *testing.T) {
	r := startRealm(t)
	_, err := NewGSSAPIAcceptor(GSSAPIConfig{Principal: "zookeeper/elsewhere@" + testRealm, Keytab: r.svcKT, Krb5Conf: r.conf})
	if err == nil || !strings.Contains(err.Error(), "has no AES key for zookeeper/elsewhere@GSS.TEST") {
		t.Fatalf("a keytab without the principal: err = %v", err)
	}
	_, err = NewGSSAPIAcceptor(GSSAPIConfig{Principal: "zookeeper/localhost", Keytab: r.svcKT})
	if err == nil || !strings.Contains(err.Error(), "names no realm and krb5.conf has no default_realm") {
		t.Fatalf("no realm anywhere: err = %v", err)
	}
	if _, err := NewGSSAPIAcceptor(GSSAPIConfig{Principal: "zookeeper/localhost", Keytab: r.svcKT, Krb5Conf: r.conf}); err != nil {
		t.Fatalf("the realm from default_realm: %v", err)
	}
}

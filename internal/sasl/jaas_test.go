package sasl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const serverJAAS = `// the file ZooKeeper's SASL guide shows, with comments
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret" /* the super user */
       user_bob="bobsecret";
};
Client {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="bob"
       password="bob\"s \\secret";
};
QuorumServer {
       com.sun.security.auth.module.Krb5LoginModule REQUIRED
       useKeyTab=true
       keyTab="/etc/zk/zk.keytab"
       storeKey=true
       useTicketCache=false
       debug=false
       principal="zookeeper/host1.example.com@EXAMPLE.COM";
};
`

func TestParseJAASReadsSectionsModulesAndOptions(t *testing.T) {
	j, err := ParseJAAS("jaas.conf", []byte(serverJAAS))
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Sections) != 3 {
		t.Fatalf("%d sections, want 3", len(j.Sections))
	}
	srv, ok := j.Section("Server")
	if !ok || srv.Line != 2 {
		t.Fatalf("Server section %v line %d", ok, srv.Line)
	}
	users := srv.DigestUsers()
	if len(users) != 2 || users["super"] != "adminsecret" || users["bob"] != "bobsecret" {
		t.Errorf("users = %v", users)
	}
	cli, _ := j.Section("Client")
	u, p, ok := cli.DigestCredentials()
	if !ok || u != "bob" || p != `bob"s \secret` {
		t.Errorf("client credentials %q %q %v", u, p, ok)
	}
	q, _ := j.Section("QuorumServer")
	k, ok := q.Kerberos()
	if !ok || !k.UseKeyTab || !k.StoreKey || k.UseTicketCache || k.KeyTab != "/etc/zk/zk.keytab" ||
		k.Principal != "zookeeper/host1.example.com@EXAMPLE.COM" || !k.IsInitiator {
		t.Errorf("kerberos options %+v", k)
	}
	if q.Modules[0].Flag != "required" || q.Modules[0].Line != 13 {
		t.Errorf("module %+v", q.Modules[0])
	}
	if _, ok := srv.Kerberos(); ok {
		t.Error("Server section reports a Krb5LoginModule")
	}
	if _, ok := j.Section("server"); ok {
		t.Error("section names must be case-sensitive")
	}
}

func TestParseJAASErrorsNameFileAndLine(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"missing flag", "Server {\n a.B user_x=\"y\";\n};", "line 2: login module a.B needs a flag"},
		{"missing semicolon after section", "Server {\n a.B required;\n}\nClient {", `line 4: expected ';' after the } closing section Server`},
		{"unterminated string", "Server {\n a.B required\n  k=\"abc\n};", "line 3: quoted string is not closed"},
		{"unterminated comment", "/* x\n\n", "line 1: comment /* is never closed"},
		{"option without value", "Server {\n a.B required k=;\n};", `line 2: option k of login module a.B has no value`},
		{"duplicate section", "S {\n a.B required;\n};\nS {\n a.B required;\n};", `line 4: section "S" is already defined on line 1`},
		{"empty section", "S {\n};", "line 2: section S has no login module"},
		{"stray character", "S {\n a.B required k=v, j=w;\n};", `line 2: unexpected character ','`},
		{"no password in messages", "S {\n a.B required user_bob=\"topsecret\" \"alsosecret\";\n};", `line 2: expected an option name or ; for login module a.B, found a quoted string`},
		{"no unquoted password either", "S {\n a.B required password=top secret;\n};", `line 2: expected '=' after an option name, found ";"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseJAAS("/etc/zk/jaas.conf", []byte(c.text))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "/etc/zk/jaas.conf") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want file name and %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %q shows a value", err)
			}
		})
	}
}

func TestLoadJAASReadsAFileAndNamesAMissingOne(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jaas.conf")
	if err := os.WriteFile(path, []byte(serverJAAS), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := LoadJAAS(path)
	if err != nil || j.File != path {
		t.Fatalf("LoadJAAS: %v, %v", j, err)
	}
	_, err = LoadJAAS(filepath.Join(dir, "absent.conf"))
	if err == nil || !strings.Contains(err.Error(), "absent.conf") {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzParseJAAS(f *testing.F) {
	f.Add([]byte(serverJAAS))
	f.Add([]byte("S{a b;};/*"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseJAAS("fuzz", b)
	})
}

func TestNewServerFactoryChoosesTheMechanismAsZooKeeperDoes(t *testing.T) {
	j, err := ParseJAAS("jaas.conf", []byte(serverJAAS+"Odd {\n com.example.Module required;\n};\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := j.Section("Server")
	f, mech, err := NewServerFactory(j.File, srv, ServerOptions{})
	if err != nil || mech != MechDigestMD5 {
		t.Fatalf("Server section: %s, %v", mech, err)
	}
	s, err := f("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if se, ce := exchange(t, NewDigestMD5Client(DigestMD5ClientConfig{Username: "bob", Password: "bobsecret"}), s); se != nil || ce != nil {
		t.Fatal(se, ce)
	}
	odd, _ := j.Section("Odd")
	if _, _, err := NewServerFactory(j.File, odd, ServerOptions{}); err == nil || !strings.Contains(err.Error(), "line 22: login module com.example.Module is not supported") {
		t.Errorf("unknown module: %v", err)
	}
	q, _ := j.Section("QuorumServer")
	_, mech, err = NewServerFactory(j.File, q, ServerOptions{})
	if gssapiServerFactory == nil && (err == nil || !strings.Contains(err.Error(), "GSSAPI")) {
		t.Errorf("Kerberos section without GSSAPI: %v", err)
	}
	if gssapiServerFactory != nil && mech != MechGSSAPI && err == nil {
		t.Errorf("Kerberos section: mechanism %s", mech)
	}
}

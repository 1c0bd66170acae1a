package acl

import (
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// TestX500NamesAreJudgedAsJavaJudgesThem lists names Java 17's
// X500Principal(String) accepts and refuses (checked with a one-line Java
// program on the test machine).
func TestX500NamesAreJudgedAsJavaJudgesThem(t *testing.T) {
	valid := []string{"CN=a", "", "CN=a,O=b", "CN=a;O=b", "cn=a", "CN = a", "1.2.3=a", "1.2.3=#0c0161",
		"CN=a+OU=b", `CN="a,b"`, `CN=a\,b`, "CN=", "OID.2.5.4.3=a", "EMAILADDRESS=a@b", "CN=a b", `CN=\41`,
		"CN=a=b", "UID=x", "DC=x", "SERIALNUMBER=1", "C=DEU",
		`CN=alice,OU=dev+OU=ops,O=Acme\, Inc.,C=DE,1.2.840.113549.1.9.1=#16056140622e63`}
	invalid := []string{"garbage", "FOO=a", "CN=a,b", "=a", "CN=a,", "CN=#zz", `CN=a\`, "x509:CN=a", "CN=a+", "E=a@b", `CN=a"b`}
	for _, n := range valid {
		if !ValidX500Name(n) {
			t.Errorf("%q refused; Java accepts it", n)
		}
	}
	for _, n := range invalid {
		if ValidX500Name(n) {
			t.Errorf("%q accepted; Java refuses it", n)
		}
	}
}

func TestX509SchemeNeedsItsProvider(t *testing.T) {
	dn := "CN=alice,O=Acme"
	ids := []jute.Id{{Scheme: "x509", ID: dn}, {Scheme: "ip", ID: "127.0.0.1"}}
	entry := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "x509", ID: dn}}}
	auth := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "auth", ID: ""}}}
	on, off := Settings{X509: true}, Settings{}

	if _, ok := off.Normalize(entry, ids); ok {
		t.Error("x509 ACL accepted without a secure client port")
	}
	if _, ok := off.Normalize(auth, ids); ok {
		t.Error("auth expanded to an x509 identity without the provider")
	}
	if out, ok := on.Normalize(auth, ids); !ok || len(out) != 1 || out[0].ID.Scheme != "x509" {
		t.Errorf("auth expanded to %v, want the x509 identity only", out)
	}
	if _, ok := on.Normalize([]jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "x509", ID: "garbage"}}}, ids); ok {
		t.Error("x509 ACL with a malformed name accepted")
	}
	if !on.Check(entry, jute.PermRead, ids) {
		t.Error("exact x509 identity refused")
	}
	if on.Check(entry, jute.PermRead, []jute.Id{{Scheme: "x509", ID: "CN=alice, O=Acme"}}) {
		t.Error("x509 matched a differently spelled name; the match is exact")
	}
	if off.Check(entry, jute.PermRead, ids) {
		t.Error("x509 identity matched without the provider")
	}
}

package server

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// TestX509NamesAreFormattedAsJavaFormatsThem checks x509Name against the
// output of Java 17's X500Principal.getName() for certificate subjects
// with several RDNs, multi-valued RDNs, special characters, leading and
// trailing spaces, control characters, keyword and OID attributes, and
// string types (testdata/x509names.json: made by a Go program writing the
// certificates and a one-line Java program printing the names; a subject
// with a VisibleString value is left out because Go's certificate parser
// refuses it).
func TestX509NamesAreFormattedAsJavaFormatsThem(t *testing.T) {
	b, err := os.ReadFile("testdata/x509names.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Subject string `json:"subject_der_hex"`
		Java    string `json:"java_getName"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		der, _ := hex.DecodeString(c.Subject)
		got, err := x509Name(der)
		if err != nil || got != c.Java {
			t.Errorf("subject %s:\n got %q (%v)\nwant %q", c.Subject, got, err, c.Java)
		}
	}
	if _, err := x509Name([]byte{0x30, 0x03, 0x31}); err == nil {
		t.Error("a truncated subject was formatted")
	}
}

package server

import (
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// rawATV is one attribute of a name with its value's encoding kept, which
// the #hex form prints as is.
type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rawRDNSET is one relative distinguished name (its name ends in SET so
// that encoding/asn1 reads a SET OF).
type rawRDNSET []rawATV

// rfc2253Keywords are the attribute types Java's X500Principal.getName()
// prints by keyword; every other type is printed as its OID with the
// value in #hex.
var rfc2253Keywords = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
	"2.5.4.11": "OU", "2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1": "UID",
}

// x509Name formats a certificate's DER subject as Java's
// X500Principal.getName() does (RFC 2253 style), which is the identity
// ZooKeeper gives a TLS client (x509:<name>): RDNs last to first, joined
// by ","; the attributes of one RDN in their encoded order, joined by
// "+"; keyword attributes with a string value as escaped text, all others
// as OID=#hex of the value's encoding. The quirks are Java's, checked
// against Java 17: "=" and "#" are escaped anywhere, every leading and
// trailing space is escaped, NUL is \00, other control characters are
// kept; a BMPString is read byte by byte.
func x509Name(rawSubject []byte) (string, error) {
	var rdns []rawRDNSET
	rest, err := asn1.Unmarshal(rawSubject, &rdns)
	if err != nil {
		return "", fmt.Errorf("certificate subject: %w", err)
	}
	if len(rest) > 0 {
		return "", fmt.Errorf("certificate subject: %d trailing bytes", len(rest))
	}
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i != len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, a := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			writeATV(&b, a)
		}
	}
	return b.String(), nil
}

func writeATV(b *strings.Builder, a rawATV) {
	oid := a.Type.String()
	kw, ok := rfc2253Keywords[oid]
	text, isString := directoryString(a.Value)
	if !ok || !isString {
		b.WriteString(oid)
		b.WriteString("=#")
		b.WriteString(hex.EncodeToString(a.Value.FullBytes))
		return
	}
	b.WriteString(kw)
	b.WriteByte('=')
	b.WriteString(escapeRFC2253(text))
}

// directoryString decodes the string types Java prints as text.
func directoryString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal {
		return "", false
	}
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String, asn1.TagGeneralString:
		return decodeUTF8(v.Bytes), true
	case asn1.TagBMPString:
		r := make([]rune, len(v.Bytes))
		for i, c := range v.Bytes {
			r[i] = rune(c)
		}
		return string(r), true
	}
	return "", false
}

// decodeUTF8 decodes b, each malformed byte becoming U+FFFD as in Java.
func decodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		s.WriteRune(r)
		b = b[n:]
	}
	return s.String()
}

func escapeRFC2253(v string) string {
	var b strings.Builder
	lead := len(v) - len(strings.TrimLeft(v, " "))
	trail := len(v) - len(strings.TrimRight(v, " "))
	if lead == len(v) {
		trail = 0
	}
	for i, c := range v {
		switch {
		case strings.ContainsRune(",=+<>#;\"\\", c):
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == 0:
			b.WriteString(`\00`)
		case c == ' ' && (i < lead || i >= len(v)-trail):
			b.WriteString(`\ `)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

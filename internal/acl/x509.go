package acl

import "strings"

// The x509 scheme (client-protocol.md §10.7): a TLS client's identity is
// its certificate's subject DN, formatted by the server; ACL ids are
// compared with it exactly. The provider is registered when the server has
// a secure client port (Settings.X509).

// x509Matches reports whether an x509 identity matches an ACL id: exact
// equality, as ZooKeeper's X509AuthenticationProvider.matches.
func x509Matches(have, want string) bool { return have == want }

// x500Keywords are the attribute keywords Java's X500Principal accepts in
// a distinguished name string (case-insensitive), besides OIDs.
var x500Keywords = map[string]bool{
	"CN": true, "C": true, "L": true, "S": true, "ST": true, "O": true, "OU": true, "T": true,
	"IP": true, "STREET": true, "DC": true, "DNQUALIFIER": true, "DNQ": true, "SURNAME": true,
	"GIVENNAME": true, "INITIALS": true, "GENERATION": true, "EMAIL": true, "EMAILADDRESS": true,
	"UID": true, "SERIALNUMBER": true,
}

// ValidX500Name reports whether s parses as a distinguished name the way
// ZooKeeper's X509AuthenticationProvider.isValid judges an x509 ACL id
// (Java's X500Principal constructor): RDNs separated by "," or ";", each
// one or more type=value pairs joined by "+"; a type is a keyword or an
// OID (optionally "OID."-prefixed); a value is a quoted string, #hex, or
// text in which ",", "+", ";", "<", ">", "\"" and a leading "#" are
// escaped with "\". The empty string is a valid (empty) name.
func ValidX500Name(s string) bool {
	p := dnParser{s: s}
	if strings.TrimSpace(s) == "" {
		return true
	}
	for {
		if !p.attribute() {
			return false
		}
		p.space()
		if p.i == len(p.s) {
			return true
		}
		switch p.s[p.i] {
		case ',', ';', '+':
			p.i++
		default:
			return false
		}
	}
}

type dnParser struct {
	s string
	i int
}

func (p *dnParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// attribute parses "type = value".
func (p *dnParser) attribute() bool {
	p.space()
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != '=' {
		p.i++
	}
	if p.i == len(p.s) || !validAttrType(strings.TrimSpace(p.s[start:p.i])) {
		return false
	}
	p.i++ // '='
	p.space()
	if p.i == len(p.s) {
		return true // empty value
	}
	switch p.s[p.i] {
	case '"':
		return p.quoted()
	case '#':
		return p.hex()
	}
	return p.text()
}

func validAttrType(t string) bool {
	if x500Keywords[strings.ToUpper(t)] {
		return true
	}
	if len(t) > 4 && strings.EqualFold(t[:4], "OID.") {
		t = t[4:]
	}
	parts := strings.Split(t, ".")
	if len(parts) < 2 {
		return false
	}
	for _, part := range parts {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return false
		}
	}
	return true
}

func (p *dnParser) quoted() bool {
	p.i++ // opening quote
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '\\':
			if !p.escape() {
				return false
			}
			continue
		case '"':
			p.i++
			return true
		}
		p.i++
	}
	return false
}

func (p *dnParser) hex() bool {
	p.i++ // '#'
	start := p.i
	for p.i < len(p.s) && strings.IndexByte("0123456789abcdefABCDEF", p.s[p.i]) >= 0 {
		p.i++
	}
	n := p.i - start
	return n > 0 && n%2 == 0
}

func (p *dnParser) text() bool {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case ',', ';', '+':
			return true
		case '"', '<', '>':
			return false
		case '\\':
			if !p.escape() {
				return false
			}
		default:
			p.i++
		}
	}
	return true
}

// escape consumes "\c" for a special character c, or "\hh".
func (p *dnParser) escape() bool {
	if p.i+1 >= len(p.s) {
		return false
	}
	c := p.s[p.i+1]
	if strings.IndexByte(",=+<>#;\"\\ ", c) >= 0 {
		p.i += 2
		return true
	}
	if p.i+2 < len(p.s) && isHex(c) && isHex(p.s[p.i+2]) {
		p.i += 3
		return true
	}
	return false
}

func isHex(c byte) bool { return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 }

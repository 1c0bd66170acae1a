package sasl

import (
	"fmt"
	"strings"
)

// maxDigestToken is the longest DIGEST-MD5 response a server accepts
// (RFC 2831 §2.1.2: the response is smaller than 4096 bytes).
const maxDigestToken = 4096

// directive is one name=value pair of a DIGEST-MD5 challenge or response.
type directive struct {
	name, value string
}

// parseDirectives splits a DIGEST-MD5 challenge or response into its
// directives (RFC 2831 §7.1: comma-separated, values plain or quoted with
// backslash escapes, blanks around elements ignored). Names are returned
// in lower case.
func parseDirectives(b []byte) ([]directive, error) {
	s := string(b)
	var out []directive
	i := 0
	for {
		i = skipLWS(s, i)
		for i < len(s) && s[i] == ',' { // empty list elements
			i = skipLWS(s, i+1)
		}
		if i >= len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ',' && !isLWS(s[i]) {
			i++
		}
		name := strings.ToLower(s[start:i])
		if name == "" {
			return nil, fmt.Errorf("empty directive name at byte %d", start)
		}
		i = skipLWS(s, i)
		if i >= len(s) || s[i] != '=' {
			return nil, fmt.Errorf("directive %q has no value", name)
		}
		i = skipLWS(s, i+1)
		var value string
		if i < len(s) && s[i] == '"' {
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '"' {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("directive %q: quoted value is not closed", name)
			}
			value = b.String()
		} else {
			start := i
			for i < len(s) && s[i] != ',' && !isLWS(s[i]) {
				i++
			}
			value = s[start:i]
		}
		out = append(out, directive{name, value})
		i = skipLWS(s, i)
		if i < len(s) && s[i] != ',' {
			return nil, fmt.Errorf("unexpected %q after directive %q", s[i], name)
		}
	}
}

func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipLWS(s string, i int) int {
	for i < len(s) && isLWS(s[i]) {
		i++
	}
	return i
}

// quote returns v as a quoted-string, escaping " and \.
func quote(v string) string {
	if !strings.ContainsAny(v, `"\`) {
		return `"` + v + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

// directiveSet is a parsed token with each name at most once, except the
// names that may repeat.
type directiveSet struct {
	values map[string]string
	realms []string // realm may repeat in a challenge
}

// single parses b and rejects a directive given twice (RFC 2831 says most
// may occur at most once); realm may repeat when realmMayRepeat.
func single(b []byte, realmMayRepeat bool) (directiveSet, error) {
	ds, err := parseDirectives(b)
	if err != nil {
		return directiveSet{}, err
	}
	set := directiveSet{values: make(map[string]string, len(ds))}
	for _, d := range ds {
		if d.name == "realm" {
			set.realms = append(set.realms, d.value)
			if len(set.realms) > 1 && !realmMayRepeat {
				return directiveSet{}, fmt.Errorf("directive realm given twice")
			}
		}
		if _, dup := set.values[d.name]; dup && d.name != "realm" {
			return directiveSet{}, fmt.Errorf("directive %s given twice", d.name)
		}
		set.values[d.name] = d.value
	}
	return set, nil
}

func (d directiveSet) get(name string) (string, bool) {
	v, ok := d.values[name]
	return v, ok
}

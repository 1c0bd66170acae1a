package sasl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// AuthToLocal is a list of auth_to_local rules, the value of
// zookeeper.security.auth_to_local (default "DEFAULT"), in the syntax
// ZooKeeper's KerberosName (Hadoop's) reads: "DEFAULT", or
// "RULE:[n:format](match)s/from/to/g" with the match and substitution
// optional, separated by white space. The first rule that gives a name
// wins.
type AuthToLocal []authToLocalRule

// authToLocalRule is one rule; isDefault, or the RULE parts.
type authToLocalRule struct {
	text       string
	isDefault  bool
	components int
	format     string
	match      *regexp.Regexp // nil: any
	from       *regexp.Regexp // nil: no substitution
	to         string         // Go replacement syntax
	global     bool
}

// ruleRE is KerberosName's rule syntax, anchored at the start of what is
// left to parse.
var ruleRE = regexp.MustCompile(`^\s*((DEFAULT)|(RULE:\[(\d*):([^\]]*)](\(([^)]*)\))?(s/([^/]*)/([^/]*)/(g)?)?))`)

// ParseAuthToLocal parses rules; an empty value is no rules (every name
// then keeps its whole principal name), not nil. Patterns are Go regular
// expressions: the common Java ones (classes, groups, anchors, quantifiers)
// mean the same; look-arounds and back-references are refused.
func ParseAuthToLocal(rules string) (AuthToLocal, error) {
	out := AuthToLocal{}
	rest := strings.TrimSpace(rules)
	for rest != "" {
		m := ruleRE.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("zookeeper.security.auth_to_local: invalid rule: %s", rest)
		}
		rest = strings.TrimSpace(rest[len(m[0]):])
		r := authToLocalRule{text: m[1]}
		if m[2] != "" {
			r.isDefault = true
			out = append(out, r)
			continue
		}
		n, err := strconv.Atoi(m[4])
		if err != nil {
			return nil, fmt.Errorf("zookeeper.security.auth_to_local: rule %s: bad component count %q", m[1], m[4])
		}
		r.components, r.format = n, m[5]
		if m[6] != "" {
			if r.match, err = regexp.Compile("^(?:" + m[7] + ")$"); err != nil {
				return nil, fmt.Errorf("zookeeper.security.auth_to_local: rule %s: match pattern: %w", m[1], err)
			}
		}
		if m[8] != "" {
			if r.from, err = regexp.Compile(m[9]); err != nil {
				return nil, fmt.Errorf("zookeeper.security.auth_to_local: rule %s: substitution pattern: %w", m[1], err)
			}
			r.to, r.global = javaReplacement(m[10]), m[11] == "g"
		}
		out = append(out, r)
	}
	return out, nil
}

// javaReplacement turns a java.util.regex replacement ("$1", "\\$") into
// Go's ("${1}", "$$").
func javaReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i])
			}
		case c == '$':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// shortName applies the rules to a principal's parts, as KerberosName's
// getShortName: params are the realm, then the name's one or two
// components. It fails when no rule gives a name, or the name a rule gives
// still holds '/' or '@'.
func (rules AuthToLocal) shortName(defaultRealm string, params []string) (string, error) {
	for _, r := range rules {
		name, err := r.apply(defaultRealm, params)
		if err != nil {
			return "", err
		}
		if name == "" {
			continue
		}
		if strings.ContainsAny(name, "/@") {
			return "", fmt.Errorf("non-simple name %s after auth_to_local rule %s", name, r.text)
		}
		return name, nil
	}
	return "", fmt.Errorf("no auth_to_local rule applies")
}

// apply returns the rule's name for params, or "" when it does not apply.
func (r authToLocalRule) apply(defaultRealm string, params []string) (string, error) {
	if r.isDefault {
		if params[0] == defaultRealm {
			return params[1], nil
		}
		return "", nil
	}
	if len(params)-1 != r.components {
		return "", nil
	}
	base, err := formatParams(r.format, params)
	if err != nil {
		return "", fmt.Errorf("auth_to_local rule %s: %w", r.text, err)
	}
	if r.match != nil && !r.match.MatchString(base) {
		return "", nil
	}
	if r.from == nil {
		return base, nil
	}
	if r.global {
		return r.from.ReplaceAllString(base, r.to), nil
	}
	loc := r.from.FindStringSubmatchIndex(base)
	if loc == nil {
		return base, nil
	}
	return base[:loc[0]] + string(r.from.ExpandString(nil, r.to, base, loc)) + base[loc[1]:], nil
}

// formatParams replaces $0 (the realm), $1, $2 (the components) in format.
func formatParams(format string, params []string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '$' {
			b.WriteByte(format[i])
			continue
		}
		j := i + 1
		for j < len(format) && format[j] >= '0' && format[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(format[i+1 : j])
		if err != nil {
			return "", fmt.Errorf("bad format %q", format)
		}
		if n >= len(params) {
			return "", fmt.Errorf("index %d from %s is outside of the valid range 0 to %d", n, format, len(params)-1)
		}
		b.WriteString(params[n])
		i = j - 1
	}
	return b.String(), nil
}

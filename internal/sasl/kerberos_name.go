package sasl

import (
	"fmt"
	"regexp"
	"strings"
)

// KerberosNaming turns an authenticated Kerberos principal into the
// identity a ZooKeeper server gives the session (the "sasl" scheme's id),
// as Apache ZooKeeper 3.8's SaslServerCallbackHandler does: the principal's
// short name under the auth_to_local rules (DEFAULT: its first component
// when its realm is the default realm), then "/host" unless RemoveHost,
// then "@REALM" unless RemoveRealm.
type KerberosNaming struct {
	// DefaultRealm is krb5.conf's default_realm.
	DefaultRealm string
	// Rules are zookeeper.security.auth_to_local's; nil means DEFAULT.
	Rules AuthToLocal
	// RemoveHost is the property zookeeper.kerberos.removeHostFromPrincipal
	// (honoured only when it is exactly "true", as in ZooKeeper).
	RemoveHost bool
	// RemoveRealm is zookeeper.kerberos.removeRealmFromPrincipal.
	RemoveRealm bool
}

// kerberosNameRE is ZooKeeper's KerberosName pattern: service, optional
// "/host", "@realm".
var kerberosNameRE = regexp.MustCompile(`^([^/@]*)(/([^/@]*))?@([^/@]*)$`)

// Identity returns the session identity for principal ("user@REALM" or
// "service/host@REALM"). When no rule gives a short name — with DEFAULT, a
// principal of a realm other than the default one — it returns the whole
// principal name, fallback true and, in err, why. (Apache ZooKeeper then
// logs "Failed to set name based on Kerberos authentication rules" and
// takes the authorization id the client sent: Java's client sends its
// principal name, giving the same identity, but a client may send any name
// — checked on 3.8.0, a forged "super" became sasl:super — so zkd never
// takes the client's word for it.) A name ZooKeeper's KerberosName cannot
// parse is an error with fallback false, as it fails in ZooKeeper.
func (n KerberosNaming) Identity(principal string) (id string, fallback bool, err error) {
	m := kerberosNameRE.FindStringSubmatch(principal)
	if m == nil {
		return "", false, fmt.Errorf("malformed Kerberos name %q", principal)
	}
	service, host, hasHost, realm := m[1], m[3], m[2] != "", m[4]
	params := []string{realm, service}
	if hasHost {
		params = append(params, host)
	}
	rules := n.Rules
	if rules == nil {
		rules = AuthToLocal{{text: "DEFAULT", isDefault: true}}
	}
	short, err := rules.shortName(n.DefaultRealm, params)
	if err != nil {
		return principal, true, fmt.Errorf("%s: %w", principal, err)
	}
	var b strings.Builder
	b.WriteString(short)
	if hasHost && !n.RemoveHost {
		b.WriteString("/" + host)
	}
	if !n.RemoveRealm {
		b.WriteString("@" + realm)
	}
	return b.String(), false, nil
}

package sasl

import (
	"fmt"
	"regexp"
	"strings"
)

// KerberosNaming turns an authenticated Kerberos principal into the
// identity a ZooKeeper server gives the session (the "sasl" scheme's id),
// as Apache ZooKeeper 3.8's SaslServerCallbackHandler does: the principal's
// short name under the auth_to_local rule DEFAULT (its first component when
// its realm is the default realm), then "/host" unless RemoveHost, then
// "@REALM" unless RemoveRealm. Only the DEFAULT rule is implemented.
type KerberosNaming struct {
	// DefaultRealm is krb5.conf's default_realm.
	DefaultRealm string
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
// "service/host@REALM"). It fails when no rule applies — a principal of a
// realm other than the default one. (Apache ZooKeeper then logs "Failed to
// set name based on Kerberos authentication rules" and falls back to the
// authorization id the client sent, which the client chooses freely; zkd
// refuses instead.)
func (n KerberosNaming) Identity(principal string) (string, error) {
	m := kerberosNameRE.FindStringSubmatch(principal)
	if m == nil {
		return "", fmt.Errorf("malformed Kerberos name %q", principal)
	}
	service, host, hasHost, realm := m[1], m[3], m[2] != "", m[4]
	if realm != n.DefaultRealm {
		return "", fmt.Errorf("no auth_to_local rule applies to %s: its realm is not the default realm %q (only the DEFAULT rule is supported)", principal, n.DefaultRealm)
	}
	var b strings.Builder
	b.WriteString(service)
	if hasHost && !n.RemoveHost {
		b.WriteString("/" + host)
	}
	if !n.RemoveRealm {
		b.WriteString("@" + realm)
	}
	return b.String(), nil
}

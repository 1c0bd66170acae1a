package acl

import (
	"regexp"
	"strings"

	"github.com/zkd/zkd/internal/jute"
)

// SASLIdentities returns the identities a connection gains when its SASL
// exchange completes with authorizationID (client-protocol.md §10.8):
// sasl:<id>, and super when the id equals one of superUsers (the values of
// zookeeper.superUser and zookeeper.superUser.*). An empty id matches no
// super user.
func SASLIdentities(authorizationID string, superUsers []string) []jute.Id {
	ids := []jute.Id{{Scheme: "sasl", ID: authorizationID}}
	if authorizationID == "" {
		return ids
	}
	for _, su := range superUsers {
		if su == authorizationID {
			return append(ids, Super)
		}
	}
	return ids
}

// saslMatches is ZooKeeper's SASL provider's rule: a caller whose id is
// literally "super" matches every entry; otherwise the ids must be equal,
// or the entry must equal zookeeper.letAnySaslUserDoX.
func (s Settings) saslMatches(have, want string) bool {
	if have == "super" || have == want {
		return true
	}
	return s.LetAnySaslUserDoX != "" && want == s.LetAnySaslUserDoX
}

// kerberosName is the shape of a full Kerberos principal,
// service[/host]@REALM, as ZooKeeper's KerberosName parses it.
var kerberosName = regexp.MustCompile(`^([^/@]*)(/([^/@]*))?@([^/@]*)$`)

// validSASLID reports whether a sasl ACL id is acceptable: ZooKeeper takes
// any name without '@' as a short name, and one with '@' only when it is a
// well-formed principal (else "Malformed Kerberos name", INVALIDACL).
func validSASLID(id string) bool {
	return !strings.Contains(id, "@") || kerberosName.MatchString(id)
}

// WhoAmI is the package's WhoAmI with the user names of schemes that have
// no registered provider blanked, as ZooKeeper's AuthUtil.getUser does: a
// SASL login on a server without the SASL provider shows as sasl with an
// empty user.
func (s Settings) WhoAmI(ids []jute.Id) []jute.ClientInfo {
	out := WhoAmI(ids)
	for i := range out {
		if out[i].AuthScheme == "sasl" && !s.SASL {
			out[i].User = ""
		}
	}
	return out
}

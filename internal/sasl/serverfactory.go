package sasl

import (
	"errors"
	"fmt"
	"log/slog"
)

// ServerFactory starts the server side of one SASL exchange for a client
// connecting from remoteHost (an address or host name, for mechanisms that
// need it).
type ServerFactory func(remoteHost string) (Server, error)

// ServerOptions are the system properties that shape ZooKeeper's SASL
// server beyond the JAAS section.
type ServerOptions struct {
	// SuperPassword is zookeeper.SASLAuthenticationProvider.superPassword,
	// the DIGEST-MD5 password of user "super" when set.
	SuperPassword string
	// RemoveHostFromPrincipal and RemoveRealmFromPrincipal are
	// zookeeper.kerberos.removeHostFromPrincipal and
	// zookeeper.kerberos.removeRealmFromPrincipal (GSSAPI identities).
	RemoveHostFromPrincipal, RemoveRealmFromPrincipal bool
	// AuthToLocal is zookeeper.security.auth_to_local, the rules that
	// shorten GSSAPI principals (see ParseAuthToLocal); "" means DEFAULT
	// (an explicitly empty property, which leaves ZooKeeper with no rules,
	// is taken as DEFAULT too).
	AuthToLocal string
	// Krb5Conf is java.security.krb5.conf, the Kerberos configuration
	// GSSAPI reads (default_realm, clockskew); "" means KRB5_CONFIG, else
	// /etc/krb5.conf (see Krb5ConfPath).
	Krb5Conf string
	// Log receives the mechanism's operational messages (GSSAPI: keytab
	// reloads); nil discards them.
	Log *slog.Logger
}

// Mechanism names, as SASL spells them.
const (
	MechDigestMD5 = "DIGEST-MD5"
	MechGSSAPI    = "GSSAPI"
)

// gssapiServerFactory builds the GSSAPI server mechanism from a section's
// Krb5LoginModule options. It is nil until the Kerberos mechanism's file
// sets it from an init function; NewServerFactory then refuses Kerberos
// sections with a clear error.
var gssapiServerFactory func(section *JAASSection, krb Krb5Options, opts ServerOptions) (ServerFactory, error)

// errNoGSSAPI is returned for a Kerberos section when this build has no
// GSSAPI mechanism.
var errNoGSSAPI = errors.New("the GSSAPI (Kerberos) mechanism is not available in this build")

// NewServerFactory chooses the server mechanism for the JAAS section the
// way ZooKeeper does: a section whose login yields a Kerberos principal (a
// Krb5LoginModule) serves GSSAPI; any other serves DIGEST-MD5 with the
// section's user_<name> entries. It returns the factory and the
// mechanism's name. A login module zkd does not know is an error naming it
// and its line, as Java fails to log in with it.
func NewServerFactory(file string, section *JAASSection, opts ServerOptions) (ServerFactory, string, error) {
	for _, m := range section.Modules {
		if m.Class != DigestLoginModule && m.Class != Krb5LoginModule {
			return nil, "", fmt.Errorf("JAAS configuration %s line %d: login module %s is not supported (zkd knows %s and %s)",
				file, m.Line, m.Class, DigestLoginModule, Krb5LoginModule)
		}
	}
	if krb, ok := section.Kerberos(); ok {
		if gssapiServerFactory == nil {
			return nil, "", fmt.Errorf("JAAS configuration %s section %s: %w", file, section.Name, errNoGSSAPI)
		}
		f, err := gssapiServerFactory(section, krb, opts)
		if err != nil {
			return nil, "", fmt.Errorf("JAAS configuration %s section %s: %w", file, section.Name, err)
		}
		return f, MechGSSAPI, nil
	}
	users := section.DigestUsers()
	f := func(string) (Server, error) {
		return NewDigestMD5Server(DigestMD5ServerConfig{Users: users, SuperPassword: opts.SuperPassword}), nil
	}
	return f, MechDigestMD5, nil
}

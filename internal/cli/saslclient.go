package cli

import (
	"fmt"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/sasl"
)

// saslOption returns the WithSASL option for the JAAS configuration's
// client section, as ZooKeeper's Java client picks its mechanism: a
// DigestLoginModule gives DIGEST-MD5 with its username and password, a
// Krb5LoginModule gives Kerberos (GSSAPI). Without a JAAS configuration
// (java.security.auth.login.config), or with zookeeper.sasl.client=false,
// there is no SASL and it returns nil. A JAAS file that cannot be read,
// or lacks the section, is an error (Java's client would log it, report
// AuthFailed and go on without SASL).
func (p *clientProps) saslOption() (client.Option, error) {
	enabled, err := p.boolProp(propSASLEnabled, true)
	if err != nil {
		return nil, err
	}
	path, ok := p.get(propJAAS)
	if !enabled || !ok || path == "" {
		return nil, nil
	}
	name := defaultSASLSection
	if v, ok := p.get(propSASLSection); ok && v != "" {
		name = v
	}
	jaas, err := sasl.LoadJAAS(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %s=%s: %w", p.where(propJAAS), propJAAS, path, err)
	}
	sec, ok := jaas.Section(name)
	if !ok {
		return nil, fmt.Errorf("JAAS configuration %s has no section %q (the section %s names; default %q)", path, name, propSASLSection, defaultSASLSection)
	}
	if user, password, ok := sec.DigestCredentials(); ok {
		if user == "" {
			return nil, fmt.Errorf("%s:%d: section %s: %s has no username option", path, sec.Line, name, sasl.DigestLoginModule)
		}
		return client.WithSASL(client.DigestMD5(user, password)), nil
	}
	if krb, ok := sec.Kerberos(); ok {
		return p.kerberosOption(path, sec, krb)
	}
	return nil, fmt.Errorf("%s:%d: section %s has neither %s nor %s", path, sec.Line, name, sasl.DigestLoginModule, sasl.Krb5LoginModule)
}

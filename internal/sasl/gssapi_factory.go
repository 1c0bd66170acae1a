package sasl

import (
	"errors"
	"fmt"
)

func init() { gssapiServerFactory = newGSSAPIServerFactory }

// newGSSAPIServerFactory builds the GSSAPI server mechanism from a JAAS
// Server section's Krb5LoginModule, as ZooKeeper's server logs in with it:
// the service principal's keys come from the keytab (useKeyTab=true,
// keyTab, principal). A section without a keytab cannot accept tickets and
// is refused; zkd does not log in to the KDC at start (Java does, unless
// isInitiator=false), since accepting tickets needs only the keytab.
func newGSSAPIServerFactory(section *JAASSection, krb Krb5Options, opts ServerOptions) (ServerFactory, error) {
	if !krb.UseKeyTab || krb.KeyTab == "" {
		return nil, errors.New("Krb5LoginModule: zkd's GSSAPI server needs useKeyTab=true and keyTab=<file> (the service's keys)")
	}
	if krb.Principal == "" {
		return nil, errors.New("Krb5LoginModule: no principal (e.g. principal=\"zookeeper/host@REALM\")")
	}
	var rules AuthToLocal
	if opts.AuthToLocal != "" {
		var err error
		if rules, err = ParseAuthToLocal(opts.AuthToLocal); err != nil {
			return nil, err
		}
	}
	path := opts.Krb5Conf
	if path == "" {
		path = Krb5ConfPath()
	}
	conf, err := LoadKrb5Conf(path)
	if err != nil {
		return nil, fmt.Errorf("Krb5LoginModule: %w", err)
	}
	a, err := NewGSSAPIAcceptor(GSSAPIConfig{
		Principal:                krb.Principal,
		Keytab:                   krb.KeyTab,
		Krb5Conf:                 conf,
		RemoveHostFromPrincipal:  opts.RemoveHostFromPrincipal,
		RemoveRealmFromPrincipal: opts.RemoveRealmFromPrincipal,
		AuthToLocal:              rules,
		Log:                      opts.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("Krb5LoginModule: %w", err)
	}
	if opts.Log != nil {
		opts.Log.Info("SASL GSSAPI: accepting Kerberos tickets", "principal", a.Principal(), "keytab", krb.KeyTab, "krb5conf", path)
	}
	return func(string) (Server, error) { return a.NewServer(), nil }, nil
}

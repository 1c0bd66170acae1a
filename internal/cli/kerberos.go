package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/sasl"
)

// kerberosOption returns the WithSASL option of a JAAS section with a
// Krb5LoginModule: GSSAPI logged in from the module's ticket cache
// (useTicketCache) or keytab (useKeyTab), asking for the ticket of the
// server principal ZooKeeper's Java client asks for
// (zookeeper.server.principal, else <zookeeper.sasl.client.username>/<host>
// with the host canonicalized unless
// zookeeper.sasl.client.canonicalize.hostname=false, in the realm
// zookeeper.server.realm if set). The Kerberos configuration is
// java.security.krb5.conf, else $KRB5_CONFIG, else /etc/krb5.conf.
func (p *clientProps) kerberosOption(path string, sec *sasl.JAASSection, krb sasl.Krb5Options) (client.Option, error) {
	at := fmt.Sprintf("%s:%d: section %s", path, sec.Line, sec.Name)
	k := client.Kerberos{Principal: krb.Principal, Krb5Conf: p.krb5ConfPath()}
	switch {
	case krb.UseTicketCache && (!krb.UseKeyTab || fileExists(p.ticketCache(krb))):
		// Java tries the ticket cache first and falls back on the keytab.
		k.TicketCache = p.ticketCache(krb)
	case krb.UseKeyTab:
		if krb.KeyTab == "" || krb.Principal == "" {
			return nil, fmt.Errorf("%s: useKeyTab=true needs keyTab and principal options", at)
		}
		k.Keytab = krb.KeyTab
	default:
		return nil, fmt.Errorf("%s: %s has neither useKeyTab=true nor useTicketCache=true (zkd cli does not prompt for a password)", at, sasl.Krb5LoginModule)
	}
	canonicalize, err := p.boolProp(propCanonicalize, true)
	if err != nil {
		return nil, err
	}
	k.NoCanonicalize = !canonicalize
	k.ServerPrincipal, _ = p.get(propPrincipal)
	k.ServiceName, _ = p.get(propServiceName)
	k.ServerRealm, _ = p.get(propRealm)
	mech, err := client.GSSAPI(k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", at, err)
	}
	return client.WithSASL(mech), nil
}

// ticketCache is the credential cache Java's Krb5LoginModule reads: the
// ticketCache option, else $KRB5CCNAME, else /tmp/krb5cc_<uid>.
func (p *clientProps) ticketCache(krb sasl.Krb5Options) string {
	if krb.TicketCache != "" {
		return krb.TicketCache
	}
	if v := p.getenv("KRB5CCNAME"); v != "" {
		return strings.TrimPrefix(v, "FILE:")
	}
	return "/tmp/krb5cc_" + strconv.Itoa(os.Getuid())
}

// krb5ConfPath is java.security.krb5.conf, else the first entry of
// $KRB5_CONFIG, else /etc/krb5.conf.
func (p *clientProps) krb5ConfPath() string {
	if v, ok := p.get(propKrb5Conf); ok && v != "" {
		return v
	}
	if v := p.getenv("KRB5_CONFIG"); v != "" {
		return strings.Split(v, ":")[0]
	}
	return "/etc/krb5.conf"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

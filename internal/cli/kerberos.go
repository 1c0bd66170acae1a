package cli

import (
	"fmt"
	"net"
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
	cfg := sasl.GSSAPIClientConfig{Principal: krb.Principal}
	switch {
	case krb.UseTicketCache && (!krb.UseKeyTab || fileExists(p.ticketCache(krb))):
		// Java tries the ticket cache first and falls back on the keytab.
		cfg.CCache = p.ticketCache(krb)
	case krb.UseKeyTab:
		if krb.KeyTab == "" || krb.Principal == "" {
			return nil, fmt.Errorf("%s: useKeyTab=true needs keyTab and principal options", at)
		}
		cfg.Keytab = krb.KeyTab
	default:
		return nil, fmt.Errorf("%s: %s has neither useKeyTab=true nor useTicketCache=true (zkd cli does not prompt for a password)", at, sasl.Krb5LoginModule)
	}
	confPath := p.krb5ConfPath()
	conf, err := sasl.LoadKrb5Conf(confPath)
	if err != nil {
		return nil, fmt.Errorf("Kerberos for %s: %w", at, err)
	}
	cfg.Krb5Conf = conf
	canonicalize, err := p.boolProp(propCanonicalize, true)
	if err != nil {
		return nil, err
	}
	server := sasl.ServerPrincipalOptions{NoCanonicalize: !canonicalize}
	server.Principal, _ = p.get(propPrincipal)
	server.Username, _ = p.get(propServiceName)
	realm, _ := p.get(propRealm)
	clientRealm := conf.LibDefaults.DefaultRealm
	if _, r, ok := strings.Cut(krb.Principal, "@"); ok {
		clientRealm = r
	}
	return client.WithSASL(func(host string) (client.SASLMechanism, error) {
		var ip net.IP
		if addrs, err := net.LookupIP(host); err == nil && len(addrs) > 0 {
			ip = addrs[0]
		}
		service, err := serviceName(sasl.ServerPrincipal(host, ip, server), realm, clientRealm)
		if err != nil {
			return nil, err
		}
		return sasl.NewGSSAPIClient(cfg, service)
	}), nil
}

// serviceName returns the server principal without its realm, as the
// GSSAPI client takes it (it asks the client's realm's KDC). A principal
// in another realm than the client's (from zookeeper.server.principal or
// zookeeper.server.realm) is an error: zkd cli does not do cross-realm
// authentication.
func serviceName(principal, serverRealm, clientRealm string) (string, error) {
	name, r, ok := strings.Cut(principal, "@")
	if !ok {
		r = serverRealm
	}
	if r != "" && clientRealm != "" && r != clientRealm {
		return "", fmt.Errorf("server principal %s is in realm %s, not the client's %s: zkd cli does not do cross-realm Kerberos", name, r, clientRealm)
	}
	return name, nil
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

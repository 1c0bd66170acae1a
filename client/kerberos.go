package client

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/zkd/zkd/internal/sasl"
)

// Kerberos names the credentials and the server principal of SASL GSSAPI
// (Kerberos) authentication, as a JAAS Client section with
// Krb5LoginModule and ZooKeeper's client properties name them for the
// Java client.
type Kerberos struct {
	// Principal is the client's principal, "alice@EXAMPLE.COM" (without a
	// realm: krb5.conf's default_realm). It may be empty with TicketCache:
	// the cache's principal is used.
	Principal string
	// Exactly one of Keytab (a keytab file holding Principal's keys),
	// Password and TicketCache (a credential cache file, as kinit writes
	// it) gives the credentials.
	Keytab, Password, TicketCache string
	// Krb5Conf is the path of the Kerberos configuration naming the
	// realm's KDCs; "" means $KRB5_CONFIG (its first entry), else
	// /etc/krb5.conf.
	Krb5Conf string
	// ServerPrincipal, when set, is the server's principal
	// (zookeeper.server.principal). Otherwise it is
	// "<ServiceName>/<host>", host being the server's canonical host
	// name unless NoCanonicalize (zookeeper.sasl.client.username,
	// zookeeper.sasl.client.canonicalize.hostname=false).
	ServerPrincipal string
	ServiceName     string // default "zookeeper"
	NoCanonicalize  bool
	// ServerRealm is the server principal's realm when ServerPrincipal
	// has none (zookeeper.server.realm); it must be the client's: there is
	// no cross-realm authentication.
	ServerRealm string
}

// GSSAPI returns, for WithSASL, the Kerberos GSSAPI mechanism with k's
// credentials. It reads the Kerberos configuration now; each connection
// logs in to the KDC and asks for a ticket to the server's principal, as
// ZooKeeper's Java client does.
func GSSAPI(k Kerberos) (func(host string) (SASLMechanism, error), error) {
	cfg := sasl.GSSAPIClientConfig{Principal: k.Principal, Keytab: k.Keytab, Password: k.Password, CCache: k.TicketCache}
	path := k.Krb5Conf
	if path == "" {
		path = sasl.Krb5ConfPath()
	}
	conf, err := sasl.LoadKrb5Conf(path)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: Kerberos: %w", err)
	}
	cfg.Krb5Conf = conf
	// Fail now on credentials the mechanism would refuse at every
	// connection.
	if _, err := sasl.NewGSSAPIClient(cfg, "zookeeper/check"); err != nil {
		return nil, fmt.Errorf("zookeeper: Kerberos: %w", err)
	}
	clientRealm := conf.LibDefaults.DefaultRealm
	if _, r, ok := strings.Cut(k.Principal, "@"); ok {
		clientRealm = r
	}
	server := sasl.ServerPrincipalOptions{Principal: k.ServerPrincipal, Username: k.ServiceName, NoCanonicalize: k.NoCanonicalize}
	return func(host string) (SASLMechanism, error) {
		var ip net.IP
		if addrs, err := net.LookupIP(host); err == nil && len(addrs) > 0 {
			ip = addrs[0]
		}
		service, err := serviceName(sasl.ServerPrincipal(host, ip, server), k.ServerRealm, clientRealm)
		if err != nil {
			return nil, err
		}
		return sasl.NewGSSAPIClient(cfg, service)
	}, nil
}

// serviceName returns the server principal without its realm, as the
// GSSAPI client takes it (it asks the client's realm's KDC, and would take
// "@REALM" for part of the host). A principal in another realm than the
// client's is an error.
func serviceName(principal, serverRealm, clientRealm string) (string, error) {
	name, r, ok := strings.Cut(principal, "@")
	if !ok {
		r = serverRealm
	}
	if r != "" && clientRealm != "" && r != clientRealm {
		return "", errors.New("server principal " + name + " is in realm " + r + ", not the client's " + clientRealm + ": cross-realm Kerberos is not supported")
	}
	return name, nil
}

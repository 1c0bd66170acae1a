package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/peer"
	"github.com/zkd/zkd/internal/sasl"
)

// The DIGEST-MD5 names of ZooKeeper's quorum SASL (QuorumAuth): the
// digest-uri is protocol/serverName, and serverName is the realm offered.
const (
	quorumSASLProtocol   = "zookeeper-quorum"
	quorumSASLServerName = "zk-quorum-sasl-md5"
)

// quorumHostPattern in quorum.auth.kerberos.servicePrincipal stands for
// the host name of the server a learner connects to.
const quorumHostPattern = "_HOST"

// quorumSASL returns how this server authenticates to and checks the other
// servers (quorum.auth.*), or nil when quorum SASL is off. The JAAS file is
// the one -Djava.security.auth.login.config names, with the sections
// quorum.auth.server.saslLoginContext (default QuorumServer: the users
// peers may log in as, or with Krb5LoginModule this server's Kerberos
// service principal) and quorum.auth.learner.saslLoginContext (default
// QuorumLearner: this server's own credentials, a DIGEST-MD5 user or a
// Kerberos principal).
func quorumSASL(cfg *config.Config, log *slog.Logger) (*peer.QuorumSASL, error) {
	q := cfg.QuorumSASL
	if !q.Enable {
		return nil, nil
	}
	file := cfg.JAASConfigFile()
	if file == "" {
		return nil, fmt.Errorf("quorum.auth.enableSasl=true needs a JAAS file: set -D%s in SERVER_JVMFLAGS", config.JAASConfigKey)
	}
	jaas, err := sasl.LoadJAAS(file)
	if err != nil {
		return nil, fmt.Errorf("quorum.auth.enableSasl: %w", err)
	}
	out := &peer.QuorumSASL{Require: q.ServerRequire}
	hosts := newQuorumHosts(cfg)

	server, ok := jaas.Section(q.ServerLoginContext)
	if !ok {
		return nil, fmt.Errorf("quorum.auth.enableSasl: JAAS file %s has no section %s (quorum.auth.server.saslLoginContext)", file, q.ServerLoginContext)
	}
	serverMech := sasl.MechDigestMD5
	if krb, ok := server.Kerberos(); ok {
		serverMech = sasl.MechGSSAPI
		a, err := quorumKerberosAcceptor(cfg, krb, hosts, log)
		if err != nil {
			return nil, fmt.Errorf("quorum.auth.enableSasl: JAAS file %s section %s: %w", file, q.ServerLoginContext, err)
		}
		out.Server = func(string) (sasl.Server, error) { return a.NewServer(), nil }
		log.Info("servers prove themselves to this one with Kerberos", "principal", a.Principal(), "keytab", krb.KeyTab,
			"member_hosts", hosts.members())
	} else {
		users := server.DigestUsers()
		if len(users) == 0 {
			return nil, fmt.Errorf("quorum.auth.enableSasl: JAAS file %s section %s lists no user_<name> entries for %s", file, q.ServerLoginContext, sasl.DigestLoginModule)
		}
		out.Server = func(string) (sasl.Server, error) {
			return sasl.NewDigestMD5Server(sasl.DigestMD5ServerConfig{Users: users, Protocol: quorumSASLProtocol, ServerName: quorumSASLServerName}), nil
		}
	}

	learnerMech := ""
	if q.LearnerRequire {
		learner, ok := jaas.Section(q.LearnerLoginContext)
		if !ok {
			return nil, fmt.Errorf("quorum.auth.learnerRequireSasl: JAAS file %s has no section %s (quorum.auth.learner.saslLoginContext)", file, q.LearnerLoginContext)
		}
		if krb, ok := learner.Kerberos(); ok {
			learnerMech = sasl.MechGSSAPI
			if out.Learner, err = quorumKerberosLearner(cfg, krb, hosts); err != nil {
				return nil, fmt.Errorf("quorum.auth.learnerRequireSasl: JAAS file %s section %s: %w", file, q.LearnerLoginContext, err)
			}
			log.Info("this server proves itself to the others with Kerberos", "principal", krb.Principal, "keytab", krb.KeyTab,
				"service_principal", q.KerberosServicePrincipal)
		} else {
			learnerMech = sasl.MechDigestMD5
			user, password, ok := learner.DigestCredentials()
			if !ok || user == "" {
				return nil, fmt.Errorf("quorum.auth.learnerRequireSasl: JAAS file %s section %s has no %s with a username and password", file, q.LearnerLoginContext, sasl.DigestLoginModule)
			}
			out.Learner = func(string) (sasl.Client, error) {
				return sasl.NewDigestMD5Client(sasl.DigestMD5ClientConfig{Username: user, Password: password,
					Protocol: quorumSASLProtocol, ServerName: quorumSASLServerName}), nil
			}
		}
	}
	log.Info("servers authenticate each other with SASL", "mechanism", serverMech, "learner_mechanism", learnerMech, "jaas", file,
		"server_section", q.ServerLoginContext, "learner_authenticates", q.LearnerRequire, "peers_must_authenticate", q.ServerRequire)
	return out, nil
}

// quorumKerberosAcceptor builds the GSSAPI acceptor of a QuorumServer
// section with Krb5LoginModule. As in ZooKeeper 3.8
// (SaslQuorumServerCallbackHandler), a peer is let in when the principal
// it authenticated as is the authorization id it asks for, and that
// principal has the form service/host@REALM with host the host name of a
// server.N line.
func quorumKerberosAcceptor(cfg *config.Config, krb sasl.Krb5Options, hosts *quorumHosts, log *slog.Logger) (*sasl.GSSAPIAcceptor, error) {
	if !krb.UseKeyTab || krb.KeyTab == "" {
		return nil, fmt.Errorf("%s: zkd accepts Kerberos tickets from a keytab: set useKeyTab=true and keyTab=<file>", sasl.Krb5LoginModule)
	}
	// Java takes the service name and host of its acceptor from the
	// principal, and cannot accept without both.
	if name, _, _ := strings.Cut(krb.Principal, "@"); !strings.Contains(name, "/") {
		return nil, fmt.Errorf("%s: principal %q is not of the form service/host@REALM (e.g. zkquorum/zk1.example.com@EXAMPLE.COM)", sasl.Krb5LoginModule, krb.Principal)
	}
	path := krb5ConfPath(cfg)
	conf, err := sasl.LoadKrb5Conf(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sasl.Krb5LoginModule, err)
	}
	a, err := sasl.NewGSSAPIAcceptor(sasl.GSSAPIConfig{
		Principal: krb.Principal,
		Keytab:    krb.KeyTab,
		Krb5Conf:  conf,
		Log:       log,
		Authorize: hosts.authorize,
	})
	if err != nil {
		return nil, fmt.Errorf("%s (krb5.conf %s): %w", sasl.Krb5LoginModule, path, err)
	}
	return a, nil
}

// quorumKerberosLearner returns the GSSAPI client side of a QuorumLearner
// section with Krb5LoginModule: it logs in from the keytab and asks for a
// ticket to quorum.auth.kerberos.servicePrincipal of the server it
// connects to.
func quorumKerberosLearner(cfg *config.Config, krb sasl.Krb5Options, hosts *quorumHosts) (func(host string) (sasl.Client, error), error) {
	if !krb.UseKeyTab || krb.KeyTab == "" || krb.Principal == "" {
		return nil, fmt.Errorf("%s: zkd logs in to other servers from a keytab: set useKeyTab=true, keyTab=<file> and principal", sasl.Krb5LoginModule)
	}
	if _, err := os.ReadFile(krb.KeyTab); err != nil {
		return nil, fmt.Errorf("%s: keyTab: %w", sasl.Krb5LoginModule, err)
	}
	conf, err := sasl.LoadKrb5Conf(krb5ConfPath(cfg))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sasl.Krb5LoginModule, err)
	}
	c := sasl.GSSAPIClientConfig{Principal: krb.Principal, Keytab: krb.KeyTab, Krb5Conf: conf}
	if _, err := sasl.NewGSSAPIClient(c, "zkquorum/check"); err != nil {
		return nil, fmt.Errorf("%s: %w", sasl.Krb5LoginModule, err)
	}
	principal := cfg.QuorumSASL.KerberosServicePrincipal
	realm := cfg.Props["zookeeper.server.realm"]
	return func(host string) (sasl.Client, error) {
		service := quorumServicePrincipal(principal, hosts.hostname(host))
		if realm != "" && !strings.Contains(service, "@") {
			service += "@" + realm
		}
		return sasl.NewGSSAPIClient(c, service)
	}, nil
}

// krb5ConfPath is the Kerberos configuration a server reads:
// java.security.krb5.conf, else KRB5_CONFIG, else /etc/krb5.conf.
func krb5ConfPath(cfg *config.Config) string {
	if path := cfg.Props["java.security.krb5.conf"]; path != "" {
		return path
	}
	return sasl.Krb5ConfPath()
}

// quorumServicePrincipal is the principal a learner asks a ticket for when
// it connects to the server whose host name is host: as ZooKeeper 3.8's
// SecurityUtils.getServerPrincipal, principal with a second component of
// exactly "_HOST" replaced by host in lower case, and any other principal
// (including "zkquorum/_HOST@REALM", whose second component is
// "_HOST@REALM") as it is.
func quorumServicePrincipal(principal, host string) string {
	parts := strings.Split(principal, "/")
	if len(parts) != 2 || parts[1] != quorumHostPattern {
		return principal
	}
	return parts[0] + "/" + strings.ToLower(host)
}

// quorumHosts are the host names of the servers, as ZooKeeper 3.8's
// QuorumServer.hostname: the host of the server.N line's (last) address as
// written, or its canonical name with
// zookeeper.kerberos.canonicalizeHostNames=true.
type quorumHosts struct {
	// byServer holds each server's host name, in server.N order.
	byServer []string
	// byAddr maps the host of each address of the server.N lines to its
	// server's host name, for the host a learner dials.
	byAddr map[string]string
}

func newQuorumHosts(cfg *config.Config) *quorumHosts {
	canonicalize := strings.EqualFold(cfg.Props["zookeeper.kerberos.canonicalizeHostNames"], "true")
	h := &quorumHosts{byAddr: make(map[string]string)}
	for _, s := range cfg.Servers {
		addrs := []string{s.QuorumAddr, s.ElectionAddr}
		for _, more := range s.MoreAddrs {
			addrs = append(addrs, more.QuorumAddr, more.ElectionAddr)
		}
		last := s.QuorumAddr
		if n := len(s.MoreAddrs); n > 0 {
			last = s.MoreAddrs[n-1].QuorumAddr
		}
		name, _, err := net.SplitHostPort(last)
		if err != nil {
			continue
		}
		if canonicalize {
			name = canonicalHostName(name)
		}
		h.byServer = append(h.byServer, name)
		for _, a := range addrs {
			if host, _, err := net.SplitHostPort(a); err == nil {
				if _, seen := h.byAddr[host]; !seen {
					h.byAddr[host] = name
				}
			}
		}
	}
	return h
}

// canonicalHostName is what Java's QuorumServer keeps of host with
// zookeeper.kerberos.canonicalizeHostNames=true: the canonical name of
// its (first) address, or host itself when the address has none.
func canonicalHostName(host string) string {
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return host
	}
	ip := ips[0]
	for _, a := range ips {
		if a.To4() != nil { // Java prefers IPv4 addresses by default
			ip = a
			break
		}
	}
	if name := sasl.CanonicalHostName(ip); name != "" {
		return name
	}
	return host
}

// hostname is the host name of the server a learner dials at host, as
// ZooKeeper names it for _HOST; host itself for an address no server.N
// line has.
func (h *quorumHosts) hostname(host string) string {
	if name, ok := h.byAddr[host]; ok {
		return name
	}
	return host
}

// members returns the distinct host names, for the log.
func (h *quorumHosts) members() []string {
	out := slices.Clone(h.byServer)
	slices.Sort(out)
	return slices.Compact(out)
}

// errNotQuorumMember refuses a Kerberos peer whose principal names no
// member's host.
var errNotQuorumMember = errors.New("its host is not one of the server.N host names")

// authorize decides on a Kerberos peer as ZooKeeper 3.8's
// SaslQuorumServerCallbackHandler does: the authenticated principal must
// be the authorization id, and split at '/' and '@' it must have exactly
// three parts, the second being a member's host name (compared exactly).
// A principal without a host part is refused.
func (h *quorumHosts) authorize(authenticationID, authorizationID string) error {
	if authenticationID != authorizationID {
		return errors.New("a server must authorize as the principal it authenticated as")
	}
	parts := javaSplit(authorizationID, "/@")
	if len(parts) != 3 {
		return fmt.Errorf("the principal is not of the form service/host@REALM, so %w", errNotQuorumMember)
	}
	if !slices.Contains(h.byServer, parts[1]) {
		return fmt.Errorf("%w (%s)", errNotQuorumMember, strings.Join(h.members(), ", "))
	}
	return nil
}

// javaSplit splits s at every character of seps and drops trailing empty
// parts, as Java's String.split with a character class does.
func javaSplit(s, seps string) []string {
	var parts []string
	start := 0
	for i, r := range s {
		if strings.ContainsRune(seps, r) {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

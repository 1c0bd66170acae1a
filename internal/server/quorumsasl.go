package server

import (
	"fmt"
	"log/slog"

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

// quorumSASL returns how this server authenticates to and checks the other
// servers (quorum.auth.*), or nil when quorum SASL is off. The JAAS file is
// the one -Djava.security.auth.login.config names, with the sections
// quorum.auth.server.saslLoginContext (default QuorumServer: the users
// peers may log in as) and quorum.auth.learner.saslLoginContext (default
// QuorumLearner: this server's own credentials).
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

	server, ok := jaas.Section(q.ServerLoginContext)
	if !ok {
		return nil, fmt.Errorf("quorum.auth.enableSasl: JAAS file %s has no section %s (quorum.auth.server.saslLoginContext)", file, q.ServerLoginContext)
	}
	if _, krb := server.Kerberos(); krb {
		return nil, fmt.Errorf("quorum.auth.enableSasl: JAAS file %s section %s logs in with Kerberos; zkd authenticates servers to each other with DIGEST-MD5 only", file, q.ServerLoginContext)
	}
	users := server.DigestUsers()
	if len(users) == 0 {
		return nil, fmt.Errorf("quorum.auth.enableSasl: JAAS file %s section %s lists no user_<name> entries for %s", file, q.ServerLoginContext, sasl.DigestLoginModule)
	}
	out.Server = func(string) (sasl.Server, error) {
		return sasl.NewDigestMD5Server(sasl.DigestMD5ServerConfig{Users: users, Protocol: quorumSASLProtocol, ServerName: quorumSASLServerName}), nil
	}

	if q.LearnerRequire {
		learner, ok := jaas.Section(q.LearnerLoginContext)
		if !ok {
			return nil, fmt.Errorf("quorum.auth.learnerRequireSasl: JAAS file %s has no section %s (quorum.auth.learner.saslLoginContext)", file, q.LearnerLoginContext)
		}
		if _, krb := learner.Kerberos(); krb {
			return nil, fmt.Errorf("quorum.auth.learnerRequireSasl: JAAS file %s section %s logs in with Kerberos; zkd authenticates servers to each other with DIGEST-MD5 only", file, q.LearnerLoginContext)
		}
		user, password, ok := learner.DigestCredentials()
		if !ok || user == "" {
			return nil, fmt.Errorf("quorum.auth.learnerRequireSasl: JAAS file %s section %s has no %s with a username and password", file, q.LearnerLoginContext, sasl.DigestLoginModule)
		}
		out.Learner = func(string) (sasl.Client, error) {
			return sasl.NewDigestMD5Client(sasl.DigestMD5ClientConfig{Username: user, Password: password,
				Protocol: quorumSASLProtocol, ServerName: quorumSASLServerName}), nil
		}
	}
	log.Info("servers authenticate each other with SASL", "mechanism", sasl.MechDigestMD5, "jaas", file,
		"server_section", q.ServerLoginContext, "learner_authenticates", q.LearnerRequire, "peers_must_authenticate", q.ServerRequire)
	return out, nil
}

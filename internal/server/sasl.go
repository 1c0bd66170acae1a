package server

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/zkd/zkd/internal/acl"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/sasl"
)

// saslSettings is the client port's SASL and enforced-authentication
// configuration (client-protocol.md §10.8, §10.9), fixed at start.
type saslSettings struct {
	// newServer starts one exchange; nil when no JAAS server section is
	// configured, in which case op 102 is answered {xid, 0, 0} with a null
	// token, as ZooKeeper does.
	newServer   sasl.ServerFactory
	mechanism   string
	superUsers  []string
	allowFailed bool
	enforce     config.EnforcedAuth
	// inProgress holds the connections whose exchange has started and not
	// ended, with when it started (core-owned).
	inProgress map[*connState]time.Time
}

// saslConn is one connection's SASL exchange.
type saslConn struct {
	srv sasl.Server
	// over is set once the exchange succeeded or failed: a connection
	// gets one exchange, as a Java server's SaslServer takes no step
	// after its last.
	over bool
}

// saslReply is what a sasl request is answered with once it reaches the
// head of its connection's queue.
type saslReply struct {
	token []byte
	code  jute.Code
	close bool
}

// newSASLSettings reads the SASL configuration the way ZooKeeper 3.8's
// ServerCnxnFactory.configureSaslLogin does: when the JAAS file
// (-Djava.security.auth.login.config) has the section named by
// zookeeper.sasl.serverconfig (default "Server"), clients may
// authenticate with the mechanism that section implies. A JAAS file that
// cannot be read or parsed is an error (ZooKeeper exits); no file, or a
// file without the section, means no SASL (ZooKeeper says nothing; zkd
// warns when a file or section was named).
func newSASLSettings(cfg *config.Config, log *slog.Logger) (*saslSettings, error) {
	enforce, err := cfg.EnforcedAuth()
	if err != nil {
		return nil, err
	}
	st := &saslSettings{
		superUsers:  cfg.SASLSuperUsers(),
		allowFailed: cfg.AllowSaslFailedClients(),
		enforce:     enforce,
		inProgress:  make(map[*connState]time.Time),
	}
	file := cfg.JAASConfigFile()
	name, explicit := cfg.SASLServerSection()
	if file == "" {
		if explicit {
			log.Warn("no SASL on the client port: zookeeper.sasl.serverconfig names a JAAS section, but no JAAS file is set",
				"section", name, "property", config.JAASConfigKey)
		}
		return st, nil
	}
	jaas, err := sasl.LoadJAAS(file)
	if err != nil {
		return nil, fmt.Errorf("no SASL server section can be read (%s): %w", config.JAASConfigKey, err)
	}
	section, ok := jaas.Section(name)
	if !ok {
		log.Warn("no SASL on the client port: the JAAS file has no server section", "jaas", file, "section", name)
		return st, nil
	}
	superPassword, _ := cfg.SASLSuperPassword()
	opts := sasl.ServerOptions{
		SuperPassword:            superPassword,
		RemoveHostFromPrincipal:  cfg.Props["zookeeper.kerberos.removeHostFromPrincipal"] == "true",
		RemoveRealmFromPrincipal: cfg.Props["zookeeper.kerberos.removeRealmFromPrincipal"] == "true",
		AuthToLocal:              cfg.Props["zookeeper.security.auth_to_local"],
		Krb5Conf:                 cfg.Props["java.security.krb5.conf"],
		Log:                      log,
	}
	st.newServer, st.mechanism, err = sasl.NewServerFactory(file, section, opts)
	if err != nil {
		return nil, err
	}
	log.Info("SASL authentication on the client port", "mechanism", st.mechanism, "jaas", file, "section", name,
		"sasl_provider", cfg.SASLProviderEnabled())
	if st.mechanism == sasl.MechDigestMD5 && len(section.DigestUsers()) == 0 && superPassword == "" {
		log.Warn("the JAAS section defines no DIGEST-MD5 user (user_<name>=\"<password>\"): every SASL client will fail",
			"jaas", file, "section", name)
	}
	return st, nil
}

// saslStep runs one sasl request (op 102) on arrival: identities change at
// once, so that requests prepared before the reply is sent see them; the
// reply keeps its place in the connection's queue.
func (s *Server) saslStep(cs *connState, p *pending) {
	st := s.saslConf
	token := p.req.Body.(*jute.SASLToken).Token
	if st.newServer == nil {
		// ZooKeeper logs "cnxn.saslServer is null" and answers OK with a
		// null token.
		s.log.Info("sasl request on a server without SASL configured", "peer", cs.c.Remote(), "session", cs.session)
		p.sasl = &saslReply{}
		return
	}
	if cs.sasl == nil {
		srv, err := st.newServer(cs.c.Remote().Addr().String())
		if err != nil {
			s.saslFailed(cs, p, err)
			return
		}
		cs.sasl = &saslConn{srv: srv}
		st.inProgress[cs] = p.at
	}
	if cs.sasl.over {
		s.saslFailed(cs, p, errors.New("the connection's SASL exchange has already ended"))
		return
	}
	reply, done, err := cs.sasl.srv.Next(token)
	if err != nil {
		s.saslFailed(cs, p, err)
		return
	}
	p.sasl = &saslReply{token: reply}
	if !done {
		return
	}
	cs.sasl.over = true
	delete(st.inProgress, cs)
	id := cs.sasl.srv.AuthorizationID()
	added := acl.SASLIdentities(id, st.superUsers)
	merged := slices.Clone(cs.ids)
	for _, a := range added {
		if !slices.Contains(merged, a) {
			merged = append(merged, a)
		}
	}
	cs.ids = merged
	s.log.Info("SASL authentication succeeded", "peer", cs.c.Remote(), "session", cs.session,
		"mechanism", st.mechanism, "id", id, "super", len(added) > 1)
}

// saslFailed answers a failed exchange as ZooKeeper 3.8 does: AUTHFAILED
// (SESSIONCLOSEDREQUIRESASLAUTH when SASL is required) with a null token,
// then the connection is closed — unless zookeeper.allowSaslFailedClients
// is set and SASL is not required, when the reply is OK with a null token
// and the connection stays.
func (s *Server) saslFailed(cs *connState, p *pending, err error) {
	st := s.saslConf
	delete(st.inProgress, cs)
	cs.sasl = &saslConn{over: true}
	s.stats.authFailed++
	if st.allowFailed && !st.enforce.SASLRequired {
		s.log.Warn("SASL authentication failed; keeping the connection (zookeeper.allowSaslFailedClients)",
			"peer", cs.c.Remote(), "session", cs.session, "reason", err)
		p.sasl = &saslReply{}
		return
	}
	code := jute.ErrAuthFailed
	if st.enforce.SASLRequired {
		code = jute.ErrSessionClosedRequireSASL
	}
	s.log.Warn("SASL authentication failed; closing the connection", "peer", cs.c.Remote(), "session", cs.session,
		"reason", err, "reply", code)
	p.sasl = &saslReply{code: code, close: true}
	cs.refused = true
}

// answerSASL sends the reply of a sasl request: header {xid, 0, code} and
// a SetSASLResponse token (null on failure and without SASL).
func (s *Server) answerSASL(cs *connState, p *pending) {
	r := p.sasl
	if r == nil {
		r = &saslReply{}
	}
	hdr := jute.ReplyHeader{Xid: p.xid, Err: r.code}
	if r.close {
		cs.closing = true
		cs.c.SendThenClose(hdr, &jute.SASLToken{})
		s.stats.sent++
		return
	}
	s.send(cs, hdr, &jute.SASLToken{Token: r.token})
}

// enforceAuth reports whether a request may run on a connection under
// enforced authentication (§10.9): auth and sasl requests always may; any
// other needs an identity of a required scheme. A refused request is
// answered SESSIONCLOSEDREQUIRESASLAUTH and the connection closed, and
// nothing the connection sends after it runs.
func (s *Server) enforceAuth(cs *connState, p *pending) bool {
	e := s.saslConf.enforce
	if !e.Enabled || p.op == jute.OpAuth || p.op == jute.OpSASL {
		return true
	}
	for _, id := range cs.ids {
		if slices.Contains(e.Schemes, id.Scheme) {
			return true
		}
	}
	schemes := make([]string, len(cs.ids))
	for i, id := range cs.ids {
		schemes[i] = id.Scheme
	}
	s.log.Warn("client has not authenticated with a required scheme; closing the connection", "peer", cs.c.Remote(),
		"session", cs.session, "op", p.op, "has", schemes, "required", e.Schemes)
	p.immediate = jute.ErrSessionClosedRequireSASL
	cs.refused = true
	return false
}

// expireSASL closes the connections whose SASL exchange has not finished
// within their session timeout. ZooKeeper leaves such a connection open as
// long as the client keeps pinging; zkd does not let an exchange that
// never ends hold a connection.
func (s *Server) expireSASL(now time.Time) {
	for cs, started := range s.saslConf.inProgress {
		limit := time.Duration(max(cs.stats.timeout, int32(s.cfg.MinSessionTimeout))) * time.Millisecond
		if now.Sub(started) < limit || cs.closing {
			continue
		}
		delete(s.saslConf.inProgress, cs)
		s.log.Warn("SASL exchange not finished within the session timeout; closing the connection",
			"peer", cs.c.Remote(), "session", cs.session, "started", started, "timeout", limit)
		cs.closing = true
		cs.c.Close()
	}
}

// saslClosed forgets a closed connection's exchange, logging one that was
// cut off half-way.
func (s *Server) saslClosed(cs *connState) {
	if _, ok := s.saslConf.inProgress[cs]; ok {
		delete(s.saslConf.inProgress, cs)
		s.log.Info("connection closed during a SASL exchange", "peer", cs.c.Remote(), "session", cs.session)
	}
}

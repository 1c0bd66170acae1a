package sasl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The names ZooKeeper gives DIGEST-MD5 on the client port: the service
// ("protocol") and server name that make up the digest-uri, and the realm
// the server offers, which Java derives from the server name.
const (
	DigestProtocol   = "zookeeper"
	DigestServerName = "zk-sasl-md5"
)

// ErrBadCredentials is wrapped by the DIGEST-MD5 server's error when the
// user is unknown or the password does not match.
var ErrBadCredentials = errors.New("bad username or password")

// digestURI is the digest-uri ZooKeeper's client sends and its server
// expects.
func digestURI(protocol, serverName string) string { return protocol + "/" + serverName }

// digestBytes converts a user name, realm or password to the bytes RFC
// 2831 §2.1.2.1 hashes when charset=utf-8 is in use: ISO 8859-1 if every
// character fits in it, UTF-8 otherwise.
func digestBytes(s string) []byte {
	if !utf8.ValidString(s) {
		return []byte(s)
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return []byte(s)
		}
		out = append(out, byte(r))
	}
	return out
}

// digestResponse computes the response-value of RFC 2831 §2.1.2.1 for qop
// "auth". prefix is "AUTHENTICATE" for the client's response and "" for
// the server's rspauth.
func digestResponse(prefix, user, realm, password, nonce, cnonce, nc, authzid, uri string) string {
	inner := md5.New()
	inner.Write(digestBytes(user))
	inner.Write([]byte{':'})
	inner.Write(digestBytes(realm))
	inner.Write([]byte{':'})
	inner.Write(digestBytes(password))
	a1 := inner.Sum(nil)
	a1 = append(a1, ':')
	a1 = append(a1, nonce...)
	a1 = append(a1, ':')
	a1 = append(a1, cnonce...)
	if authzid != "" {
		a1 = append(a1, ':')
		a1 = append(a1, authzid...)
	}
	ha1 := md5.Sum(a1)
	ha2 := md5.Sum([]byte(prefix + ":" + uri))
	kd := hex.EncodeToString(ha1[:]) + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + hex.EncodeToString(ha2[:])
	sum := md5.Sum([]byte(kd))
	return hex.EncodeToString(sum[:])
}

// newNonce returns 30 random bytes in base64 (40 characters), read from r.
func newNonce(r io.Reader) (string, error) {
	b := make([]byte, 30)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("DIGEST-MD5 nonce: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// digestDefaults fills in ZooKeeper's protocol and server name and the
// system's random source where a configuration leaves them unset.
func digestDefaults(protocol, serverName *string, r *io.Reader) {
	if *protocol == "" {
		*protocol = DigestProtocol
	}
	if *serverName == "" {
		*serverName = DigestServerName
	}
	if *r == nil {
		*r = rand.Reader
	}
}

// DigestMD5ServerConfig is what a DIGEST-MD5 server needs: the users of the
// JAAS Server section and the names ZooKeeper uses.
type DigestMD5ServerConfig struct {
	// Users maps user names to passwords (the user_<name> options).
	Users map[string]string
	// SuperPassword, when set, is the password of user "super"
	// (zookeeper.SASLAuthenticationProvider.superPassword); it takes
	// precedence over a user_super entry, as in ZooKeeper.
	SuperPassword string
	// Protocol and ServerName make up the expected digest-uri and the
	// realm offered; "" means DigestProtocol and DigestServerName.
	Protocol, ServerName string
	// Rand is the source of nonces; nil means crypto/rand.
	Rand io.Reader
}

// digestServer is the server side of one DIGEST-MD5 exchange (RFC 2831,
// qop "auth" only, algorithm md5-sess, charset utf-8).
type digestServer struct {
	cfg   DigestMD5ServerConfig
	step  int
	nonce string
	authz string
}

// NewDigestMD5Server returns the server side of one DIGEST-MD5 exchange,
// sending the challenge ZooKeeper's Java server sends: realm = the server
// name, a 40-character nonce, charset utf-8, algorithm md5-sess, and no qop
// directive (so qop "auth", the only one accepted). The client's first
// token is ignored: DIGEST-MD5 has no initial response.
func NewDigestMD5Server(cfg DigestMD5ServerConfig) Server {
	digestDefaults(&cfg.Protocol, &cfg.ServerName, &cfg.Rand)
	return &digestServer{cfg: cfg}
}

// AuthorizationID implements Server.
func (s *digestServer) AuthorizationID() string { return s.authz }

// Next implements Server.
func (s *digestServer) Next(token []byte) ([]byte, bool, error) {
	s.step++
	switch s.step {
	case 1:
		// DIGEST-MD5 has no initial response; Java's server ignores
		// whatever the first token holds, and so does this one.
		nonce, err := newNonce(s.cfg.Rand)
		if err != nil {
			return nil, false, err
		}
		s.nonce = nonce
		challenge := "realm=" + quote(s.cfg.ServerName) + ",nonce=" + quote(nonce) +
			",charset=utf-8,algorithm=md5-sess" // no qop: RFC 2831's default, auth

		return []byte(challenge), false, nil
	case 2:
		return s.verify(token)
	}
	return nil, false, errors.New("DIGEST-MD5: the exchange is already complete")
}

// verify checks the client's digest-response and returns rspauth.
func (s *digestServer) verify(token []byte) ([]byte, bool, error) {
	if len(token) >= maxDigestToken {
		return nil, false, fmt.Errorf("DIGEST-MD5: response of %d bytes, at most %d allowed", len(token), maxDigestToken-1)
	}
	d, err := single(token, false)
	if err != nil {
		return nil, false, fmt.Errorf("DIGEST-MD5: malformed response: %w", err)
	}
	need := func(name string) (string, error) {
		v, ok := d.get(name)
		if !ok {
			return "", fmt.Errorf("DIGEST-MD5: response has no %s", name)
		}
		return v, nil
	}
	user, err := need("username")
	if err != nil {
		return nil, false, err
	}
	if cs, ok := d.get("charset"); ok && !strings.EqualFold(cs, "utf-8") {
		return nil, false, fmt.Errorf("DIGEST-MD5: unsupported charset %q", cs)
	}
	if nonce, err := need("nonce"); err != nil {
		return nil, false, err
	} else if nonce != s.nonce {
		return nil, false, errors.New("DIGEST-MD5: nonce does not match the challenge")
	}
	cnonce, err := need("cnonce")
	if err != nil {
		return nil, false, err
	}
	nc, err := need("nc")
	if err != nil {
		return nil, false, err
	}
	if nc != "00000001" {
		return nil, false, fmt.Errorf("DIGEST-MD5: nonce-count %q, expected 00000001", nc)
	}
	if qop, ok := d.get("qop"); ok && qop != "auth" {
		return nil, false, fmt.Errorf("DIGEST-MD5: qop %q not offered (only auth)", qop)
	}
	uri, err := need("digest-uri")
	if err != nil {
		return nil, false, err
	}
	if want := digestURI(s.cfg.Protocol, s.cfg.ServerName); !strings.EqualFold(uri, want) {
		return nil, false, fmt.Errorf("DIGEST-MD5: digest-uri %q, expected %q", uri, want)
	}
	got, err := need("response")
	if err != nil {
		return nil, false, err
	}
	realm := ""
	if len(d.realms) > 0 {
		realm = d.realms[0]
	}
	authzid, _ := d.get("authzid")
	password, known := s.password(user)
	if !known {
		return nil, false, fmt.Errorf("DIGEST-MD5: user %q: %w", user, ErrBadCredentials)
	}
	want := digestResponse("AUTHENTICATE", user, realm, password, s.nonce, cnonce, nc, authzid, uri)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) != 1 {
		return nil, false, fmt.Errorf("DIGEST-MD5: user %q: %w", user, ErrBadCredentials)
	}
	// ZooKeeper authorizes every authenticated user as itself, whatever
	// authzid the client asked for.
	s.authz = user
	rspauth := digestResponse("", user, realm, password, s.nonce, cnonce, nc, authzid, uri)
	s.step = 3
	return []byte("rspauth=" + rspauth), true, nil
}

// password looks up a user's password the way ZooKeeper's server callback
// does: the super password first for "super", then the user_ entries.
func (s *digestServer) password(user string) (string, bool) {
	if user == "super" && s.cfg.SuperPassword != "" {
		return s.cfg.SuperPassword, true
	}
	p, ok := s.cfg.Users[user]
	return p, ok
}

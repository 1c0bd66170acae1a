package sasl

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"
)

// DigestMD5ClientConfig is what a DIGEST-MD5 client needs: the credentials
// of a JAAS Client section's DigestLoginModule.
type DigestMD5ClientConfig struct {
	Username, Password string
	// AuthzID, if set, is sent as the authorization id; ZooKeeper ignores
	// it and authorizes the user as itself. Java's client sends none.
	AuthzID string
	// Protocol and ServerName make up the digest-uri; "" means
	// DigestProtocol and DigestServerName, as ZooKeeper's client uses.
	Protocol, ServerName string
	// Rand is the source of the cnonce; nil means crypto/rand.
	Rand io.Reader
}

// digestClient is the client side of one DIGEST-MD5 exchange.
type digestClient struct {
	cfg     DigestMD5ClientConfig
	step    int
	rspauth string
}

// NewDigestMD5Client returns the client side of one DIGEST-MD5 exchange as
// ZooKeeper's Java client runs it: an empty first token, the response to
// the server's challenge (qop auth, the server's first realm), then a check
// of the server's rspauth.
func NewDigestMD5Client(cfg DigestMD5ClientConfig) Client {
	digestDefaults(&cfg.Protocol, &cfg.ServerName, &cfg.Rand)
	return &digestClient{cfg: cfg}
}

// Start implements Client: DIGEST-MD5 has no initial response.
func (c *digestClient) Start() ([]byte, error) { return []byte{}, nil }

// Next implements Client.
func (c *digestClient) Next(challenge []byte) ([]byte, bool, error) {
	c.step++
	switch c.step {
	case 1:
		return c.respond(challenge)
	case 2:
		d, err := single(challenge, false)
		if err != nil {
			return nil, false, fmt.Errorf("DIGEST-MD5: malformed server reply: %w", err)
		}
		got, ok := d.get("rspauth")
		if !ok {
			return nil, false, errors.New("DIGEST-MD5: the server's reply has no rspauth")
		}
		if subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(c.rspauth)) != 1 {
			return nil, false, errors.New("DIGEST-MD5: the server's rspauth is wrong (it does not know the password)")
		}
		return nil, true, nil
	}
	return nil, false, errors.New("DIGEST-MD5: the exchange is already complete")
}

// respond answers the server's digest-challenge.
func (c *digestClient) respond(challenge []byte) ([]byte, bool, error) {
	if len(challenge) >= 2048 {
		return nil, false, fmt.Errorf("DIGEST-MD5: challenge of %d bytes, at most 2047 allowed", len(challenge))
	}
	d, err := single(challenge, true)
	if err != nil {
		return nil, false, fmt.Errorf("DIGEST-MD5: malformed challenge: %w", err)
	}
	nonce, ok := d.get("nonce")
	if !ok {
		return nil, false, errors.New("DIGEST-MD5: the challenge has no nonce")
	}
	if alg, _ := d.get("algorithm"); alg != "md5-sess" {
		return nil, false, fmt.Errorf("DIGEST-MD5: the challenge's algorithm is %q, not md5-sess", alg)
	}
	if qops, ok := d.get("qop"); ok && !hasToken(qops, "auth") {
		return nil, false, fmt.Errorf("DIGEST-MD5: the server offers qop %q, not auth", qops)
	}
	utf8, _ := d.get("charset")
	realm := ""
	if len(d.realms) > 0 {
		realm = d.realms[0]
	}
	cnonce, err := newNonce(c.cfg.Rand)
	if err != nil {
		return nil, false, err
	}
	const nc = "00000001"
	uri := digestURI(c.cfg.Protocol, c.cfg.ServerName)
	resp := digestResponse("AUTHENTICATE", c.cfg.Username, realm, c.cfg.Password, nonce, cnonce, nc, c.cfg.AuthzID, uri)
	c.rspauth = digestResponse("", c.cfg.Username, realm, c.cfg.Password, nonce, cnonce, nc, c.cfg.AuthzID, uri)
	var b strings.Builder
	if strings.EqualFold(utf8, "utf-8") {
		b.WriteString("charset=utf-8,")
	}
	b.WriteString("username=" + quote(c.cfg.Username))
	if len(d.realms) > 0 {
		b.WriteString(",realm=" + quote(realm))
	}
	b.WriteString(",nonce=" + quote(nonce) + ",nc=" + nc + ",cnonce=" + quote(cnonce) +
		",digest-uri=" + quote(uri) + ",maxbuf=65536,response=" + resp + ",qop=auth")
	if c.cfg.AuthzID != "" {
		b.WriteString(",authzid=" + quote(c.cfg.AuthzID))
	}
	return []byte(b.String()), false, nil
}

// hasToken reports whether the comma-separated list holds tok.
func hasToken(list, tok string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.TrimSpace(t) == tok {
			return true
		}
	}
	return false
}

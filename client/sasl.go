package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/sasl"
)

// SASLMechanism is the client side of one SASL exchange (DIGEST-MD5,
// GSSAPI, ...), as WithSASL's function returns it for each connection. It
// is used by one goroutine at a time.
type SASLMechanism interface {
	// Start returns the initial token to send (empty when the mechanism
	// has no initial response, as DIGEST-MD5).
	Start() ([]byte, error)
	// Next consumes the server's token and returns the token to send
	// back. done is true when the mechanism expects no further challenge;
	// a non-nil token returned with done is still sent, and the server's
	// answer to it ends the exchange.
	Next(challenge []byte) (response []byte, done bool, err error)
}

// SASLError is why a SASL exchange failed: the server refused it (Err is
// its Code, usually ErrAuthFailed) or the mechanism gave up (Err says
// why). It matches ErrAuthFailed with errors.Is.
type SASLError struct {
	Server string // the server's address
	Err    error
}

// Error returns "zookeeper: SASL authentication with <server> failed:
// <cause>".
func (e *SASLError) Error() string {
	return fmt.Sprintf("zookeeper: SASL authentication with %s failed: %v", e.Server, e.Err)
}

// Unwrap returns ErrAuthFailed and the cause.
func (e *SASLError) Unwrap() []error { return []error{ErrAuthFailed, e.Err} }

// authenticate runs the SASL exchange on a connection whose session was
// just established, before its reader and writer start, so that nothing
// else goes out first — as Java's client holds back every request but the
// exchange's (ClientCnxnSocket defers "non-priming" packets while
// authentication is in progress). Its requests take ordinary xids.
//
// A *SASLError means the credentials were refused or the mechanism
// failed; any other error means the connection failed.
func (c *Client) authenticate(cn *conn) error {
	mech, err := c.opts.sasl(hostOf(cn.addr))
	if err != nil {
		return &SASLError{Server: cn.addr, Err: err}
	}
	tok, err := mech.Start()
	if err != nil {
		return &SASLError{Server: cn.addr, Err: err}
	}
	if tok == nil {
		tok = []byte{} // an empty token, not a null one, as Java sends
	}
	for {
		challenge, err := c.saslRound(cn, tok)
		if err != nil {
			return err
		}
		resp, done, err := mech.Next(challenge)
		if err != nil {
			return &SASLError{Server: cn.addr, Err: err}
		}
		if !done {
			if resp == nil {
				resp = []byte{}
			}
			tok = resp
			continue
		}
		if resp != nil {
			// The last token (GSSAPI's security layer choice): the
			// server's answer says whether it accepted it.
			if _, err := c.saslRound(cn, resp); err != nil {
				return err
			}
		}
		return nil
	}
}

// saslRound sends one sasl request holding tok and returns the token of
// its reply. A refusal is a *SASLError.
func (c *Client) saslRound(cn *conn, tok []byte) ([]byte, error) {
	xid := c.nextXid(jute.OpSASL)
	if err := cn.write(appendRequest(nil, xid, jute.OpSASL, &jute.SASLToken{Token: tok})); err != nil {
		return nil, err
	}
	for {
		cn.nc.SetReadDeadline(time.Now().Add(cn.readTimeout))
		frame, err := readFrame(cn.nc, nil, c.opts.maxFrame)
		if err != nil {
			return nil, fmt.Errorf("read sasl reply from %s: %w", cn.addr, err)
		}
		d := jute.NewDecoder(frame)
		d.MaxLen = c.opts.maxFrame
		var h jute.ReplyHeader
		h.Decode(d)
		if d.Err() != nil {
			return nil, fmt.Errorf("decode sasl reply header from %s: %w", cn.addr, d.Err())
		}
		switch h.Xid {
		case jute.XidNotification:
			var ev jute.WatcherEvent
			ev.Decode(d)
			if d.Err() != nil {
				return nil, fmt.Errorf("decode notification from %s: %w", cn.addr, d.Err())
			}
			c.watches.dispatch(eventFromJute(&ev))
			continue
		case jute.XidPing:
			continue
		case xid:
		default:
			return nil, fmt.Errorf("reply from %s: xid %d answers no outstanding request (sasl xid %d)", cn.addr, h.Xid, xid)
		}
		if h.Err != jute.OK {
			// Apache ZooKeeper answers AUTHFAILED (or, when SASL is
			// required, SESSIONCLOSEDREQUIRESASLAUTH) and closes the
			// connection (§10.8).
			return nil, &SASLError{Server: cn.addr, Err: h.Err}
		}
		var r jute.SASLToken
		r.Decode(d)
		if d.Err() != nil {
			return nil, fmt.Errorf("decode sasl reply from %s: %w", cn.addr, d.Err())
		}
		return r.Token, nil
	}
}

// isSASLError reports whether err is a failed SASL exchange rather than a
// failed connection.
func isSASLError(err error) bool {
	var se *SASLError
	return errors.As(err, &se)
}

// DigestMD5 returns, for WithSASL, the DIGEST-MD5 mechanism with the
// credentials a JAAS Client section's DigestLoginModule gives ZooKeeper's
// Java client (username, password). The server knows the user as
// sasl:<username>.
func DigestMD5(username, password string) func(host string) (SASLMechanism, error) {
	return func(string) (SASLMechanism, error) {
		return sasl.NewDigestMD5Client(sasl.DigestMD5ClientConfig{Username: username, Password: password}), nil
	}
}

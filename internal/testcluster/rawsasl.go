package testcluster

import (
	"github.com/zkd/zkd/internal/jute"
)

// SASLResult is how a SASL exchange over a RawClient ended.
type SASLResult struct {
	// Header is the last reply's header: err 0 when the server accepted the
	// exchange, AUTHFAILED or SESSIONCLOSEDREQUIRESASLAUTH when it did not.
	Header jute.ReplyHeader
	// NullToken is set when the last reply's token was null (length -1).
	NullToken bool
	// Closed is set when the server closed the connection instead of
	// answering.
	Closed bool
	// ClientErr is the client mechanism's error, if it gave up.
	ClientErr error
	// Steps counts the sasl requests sent.
	Steps int
}

// SASL runs a SASL exchange the way ZooKeeper's Java client does: the
// initial token in an op 102 request with xid, then each reply's token to
// next, whose response goes out with the following xid, until next says it
// is done and has nothing more to send, a reply carries an error, or the
// connection closes. start and next are a SASL client mechanism's Start
// result and Next method.
func (c *RawClient) SASL(xid int32, start []byte, next func(challenge []byte) ([]byte, bool, error)) SASLResult {
	c.t.Helper()
	var r SASLResult
	token := start
	for {
		c.Send(xid, jute.OpSASL, &jute.SASLToken{Token: token})
		r.Steps++
		h, d, _, closed := c.ReplyOrClosed()
		if closed {
			r.Closed = true
			return r
		}
		r.Header = h
		if h.Xid != xid {
			c.t.Fatalf("RawClient: sasl reply xid %d, want %d", h.Xid, xid)
		}
		var resp jute.SASLToken
		resp.Decode(d)
		if d.Err() != nil {
			c.t.Fatalf("RawClient: decode sasl reply: %v", d.Err())
		}
		r.NullToken = resp.Token == nil
		if h.Err != jute.OK {
			return r
		}
		out, done, err := next(resp.Token)
		if err != nil {
			r.ClientErr = err
			return r
		}
		if done && out == nil {
			return r
		}
		token = out
		xid++
	}
}

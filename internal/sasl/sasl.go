// Package sasl implements the SASL mechanisms ZooKeeper clients and servers
// use on the client port (client-protocol.md §10.8): DIGEST-MD5 (RFC 2831)
// and Kerberos GSSAPI (RFC 4752), both the server and the client side, and
// the JAAS login configuration files that name their credentials.
//
// A mechanism is a step function over opaque tokens: the server feeds each
// token of a sasl request (op 102) to [Server.Next] and sends back what it
// returns; the client does the same with [Client.Next]. The package does no
// network I/O and starts no goroutines, with one exception: the GSSAPI
// client's Start asks the KDC for tickets (gokrb5 starts a renewal
// goroutine for the login, stopped before Start returns). Callers own the
// exchange.
package sasl

// Server is the server side of one SASL exchange. It is not safe for
// concurrent use.
type Server interface {
	// Next consumes the client's token and returns the token to send back.
	// done is true once the client is authenticated; the returned token
	// (possibly empty) is still sent. A non-nil error means authentication
	// failed; the error says why, for the log, and never holds a secret.
	Next(token []byte) (reply []byte, done bool, err error)
	// AuthorizationID is the authenticated identity once Next reported
	// done, "" before.
	AuthorizationID() string
}

// Client is the client side of one SASL exchange. It is not safe for
// concurrent use.
type Client interface {
	// Start returns the initial token (which may be empty) to send.
	Start() ([]byte, error)
	// Next consumes the server's token and returns the token to send back.
	// done is true when the client expects no further challenge; a token
	// returned with done must still be sent if it is non-nil.
	Next(challenge []byte) (response []byte, done bool, err error)
}

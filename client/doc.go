// Package client is a Go client for ZooKeeper-compatible servers (zkd and
// Apache ZooKeeper 3.5 and later).
//
// # Sessions
//
// Connect opens a session on one of the given servers, tried in a random
// order, and returns once the session exists. The Client then keeps it
// alive: it pings when idle for a third of the negotiated session timeout and
// drops a connection that has been silent for two thirds of it. When a
// connection is lost it reconnects, with exponential backoff and full
// jitter, and resumes the same session; it then re-sends the credentials
// given to AddAuth and re-registers every watch (setWatches), so watches
// survive reconnects and a change made while disconnected fires on
// reconnect. If the server says the session has expired, the Client is
// done: every call returns ErrSessionExpired and a new Client is needed.
//
// State changes (Connected, Disconnected, SaslAuthenticated, Expired,
// AuthFailed, Closed) are reported on Events.
//
// # Security
//
// WithTLS makes every connection TLS (a server's secureClientPort), with a
// client certificate if the configuration has one. WithSASL authenticates
// every connection with SASL right after its session handshake, before
// any other request: DigestMD5 and GSSAPI (Kerberos) give the mechanisms
// ZooKeeper's Java client uses. A server that refuses the credentials
// stops the Client (AuthFailed); calls then fail with a *SASLError.
//
// # Operations and errors
//
// Every operation takes a context.Context first. Cancelling it makes the
// call return the context's error at once; a request already sent may
// still take effect on the server.
//
// Requests are pipelined on one connection and answered in order. When the
// connection is lost, requests already written to it fail with
// ErrConnectionLoss: a write that fails this way may or may not have been
// applied, and the Client never retries it. Requests made while the Client is
// reconnecting wait for the new connection (or their context).
//
// Errors returned by operations are *Error (or *MultiError for Multi),
// wrapping a Code such as ErrNoNode or ErrBadVersion, or ErrClosed, or a
// context error; test them with errors.Is:
//
//	if errors.Is(err, client.ErrNoNode) { ... }
//
// # Watches
//
// GetW, ExistsW and ChildrenW leave a one-shot watch and return a channel
// that receives exactly one Event and is then closed. AddWatch leaves a
// persistent (optionally recursive) watch: its Watcher delivers every event
// in order until Watcher.Remove or the end of the Client. When the Client
// ends (Close, session expiry, failed authentication) every watch receives a
// final event of type EventNone whose State and Err say why. Connection loss
// alone does not end a watch.
//
// # Goroutines
//
// A Client runs one goroutine for its session, two per live connection
// (reader and writer), one that delivers Events, and one per Watcher. Close
// stops them all and waits for them; call it even after the session expired.
package client

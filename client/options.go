package client

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"time"
)

// Option configures a Client in Connect.
type Option func(*options)

type options struct {
	sessionTimeout time.Duration
	seed           uint64
	seeded         bool
	fixedOrder     bool
	dial           func(ctx context.Context, network, addr string) (net.Conn, error)
	log            *slog.Logger
	minBackoff     time.Duration
	maxBackoff     time.Duration
	canBeReadOnly  bool
	maxFrame       int
	sessionID      int64
	sessionPasswd  []byte
	failFast       bool
	tls            func(host string) (*tls.Config, error)
	sasl           func(host string) (SASLMechanism, error)
}

func defaultOptions() options {
	var d net.Dialer
	return options{
		sessionTimeout: 10 * time.Second,
		dial:           d.DialContext,
		log:            slog.New(slog.DiscardHandler),
		minBackoff:     50 * time.Millisecond,
		maxBackoff:     5 * time.Second,
		maxFrame:       4 << 20,
	}
}

// WithSessionTimeout sets the session timeout to ask for (default 10s). The
// server clamps it into its own [minSessionTimeout, maxSessionTimeout].
func WithSessionTimeout(d time.Duration) Option {
	return func(o *options) { o.sessionTimeout = d }
}

// WithSeed seeds the Client's randomness (server order and backoff jitter),
// for reproducible tests. Without it the seed is random.
func WithSeed(seed uint64) Option {
	return func(o *options) { o.seed, o.seeded = seed, true }
}

// WithFixedServerOrder makes the Client try the servers in the order given
// to Connect instead of a random one.
func WithFixedServerOrder() Option {
	return func(o *options) { o.fixedOrder = true }
}

// WithDialer replaces the function that opens connections (default: a
// net.Dialer).
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(o *options) { o.dial = dial }
}

// WithLogger sets where the Client logs connection changes (default:
// nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithBackoff bounds the delay between reconnection attempts (default 50ms
// to 5s). The n-th consecutive failed attempt waits a uniformly random time
// below min·2ⁿ, capped by max and by a third of the session timeout.
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) { o.minBackoff, o.maxBackoff = min, max }
}

// WithReadOnly lets the Client use a server in read-only mode (the
// handshake's readOnly flag; §13).
func WithReadOnly(ok bool) Option {
	return func(o *options) { o.canBeReadOnly = ok }
}

// WithMaxFrameSize sets the largest reply frame the Client accepts (default
// 4 MiB); a larger one is treated as connection loss.
func WithMaxFrameSize(n int) Option {
	return func(o *options) { o.maxFrame = n }
}

// WithSession makes Connect reattach to an existing session, given its id
// and password (Client.SessionID, Client.SessionPassword), instead of
// creating one: for a process that restarts and wants its ephemeral nodes
// and watches' session back. If the server no longer has the session,
// Connect fails with ErrSessionExpired. The Client that held the session
// before should be gone: the server disconnects it when the new Client
// attaches, and two live Clients on one session keep taking it from each
// other. Closing either ends the session.
func WithSession(id int64, password []byte) Option {
	return func(o *options) { o.sessionID, o.sessionPasswd = id, password }
}

// WithFailFast makes requests that wait for a connection fail with
// ErrConnectionLoss (never sent) as soon as a connection attempt fails,
// as ZooKeeper's Java client does, instead of waiting until the Client is
// connected again or their context ends; and Connect fails (wrapping
// ErrConnectionLoss) once every server has refused a first attempt. For
// tools such as a shell, where an answer now matters more than an answer
// later.
func WithFailFast() Option {
	return func(o *options) { o.failFast = true }
}

// WithTLS makes the Client speak TLS on every connection, as ZooKeeper
// clients with zookeeper.client.secure=true do (the server's
// secureClientPort). The handshake runs within the connect timeout, before
// the ZooKeeper handshake; every reconnection does it again. When
// cfg.ServerName is empty, each connection verifies the certificate
// against the host of the server it dials. cfg is not modified.
func WithTLS(cfg *tls.Config) Option {
	return WithTLSFor(func(host string) (*tls.Config, error) {
		if cfg.ServerName != "" {
			return cfg, nil
		}
		c := cfg.Clone()
		c.ServerName = host
		return c, nil
	})
}

// WithTLSFor is WithTLS with a configuration made for each connection
// from the host of the server it dials (as given to Connect), for
// verification that depends on it. An error fails that connection
// attempt.
func WithTLSFor(config func(host string) (*tls.Config, error)) Option {
	return func(o *options) { o.tls = config }
}

// WithSASL makes the Client authenticate with SASL (client-protocol.md
// §10.8) on every connection, as ZooKeeper's Java client does when its
// JAAS configuration has a Client section: right after the session is
// established and before any other request, newMech is called with the
// host of the server (as given to Connect) and the exchange runs in sasl
// (op 102) requests. Requests made meanwhile wait for it.
//
// Success is reported as a StateSaslAuthenticated event. If the server
// refuses the credentials, or the mechanism fails, the Client stops with
// StateAuthFailed and its calls fail with a *SASLError (which matches
// ErrAuthFailed); a refusal on the first connection makes Connect fail
// with it.
func WithSASL(newMech func(host string) (SASLMechanism, error)) Option {
	return func(o *options) { o.sasl = newMech }
}

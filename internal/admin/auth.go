package admin

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/zkd/zkd/internal/jute"
)

// Authorizer authenticates AdminServer callers and checks their rights,
// as ZooKeeper 3.9's AdminServer does with its authentication providers and
// the ACL of a znode. The server implements it.
type Authorizer interface {
	// Authenticate returns the identities the credentials auth prove under
	// scheme for a caller at remote (auth is nil when the header names only
	// the scheme, as for "ip"). ok is false when the scheme is unknown or
	// the credentials prove nothing.
	Authenticate(scheme string, auth []byte, remote netip.Addr) (ids []jute.Id, ok bool)
	// Allowed reports whether ids hold every permission bit of perm on the
	// znode at path. An error (no such node, a server that does not
	// answer) means it could not be decided.
	Allowed(ids []jute.Id, perm int32, path string) (bool, error)
}

// authPath and authPerm are what a command that needs authentication
// checks: every permission on the root, as ZooKeeper 3.9's snapshot and
// restore commands do.
const (
	authPath       = "/"
	authPerm int32 = jute.PermAll
)

// ZooKeeper 3.9's answers when a command's auth check fails, with their
// HTTP statuses.
const (
	authMissing = "Auth info is missing for the command" // 401
	authFailed  = "Not authenticated"                    // 401
	authDenied  = "Not authorized"                       // 403
	authError   = "Error occurred during auth"           // 500
)

// authorize runs ZooKeeper 3.9's check for a command that needs
// authentication: the Authorization header is "<scheme>" or "<scheme>
// <credentials>" (for example "digest alice:secret" or "ip"), the scheme's
// provider turns it into identities, and they need every permission on
// the root znode. It returns the HTTP status and error message of a
// refusal, or 0 and "" to go ahead.
func (h *handler) authorize(r *http.Request) (int, string) {
	header, ok := r.Header["Authorization"]
	if !ok {
		return http.StatusUnauthorized, authMissing
	}
	parts := strings.Split(strings.Join(header, ","), " ")
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1] // as Java's String.split drops them
	}
	if len(parts) > 2 {
		return http.StatusUnauthorized, authFailed
	}
	var auth []byte
	if len(parts) == 2 {
		auth = []byte(parts[1])
	}
	ids, ok := h.auth.Authenticate(parts[0], auth, remoteAddr(r))
	if !ok || len(ids) == 0 {
		return http.StatusUnauthorized, authFailed
	}
	allowed, err := h.auth.Allowed(ids, authPerm, authPath)
	switch {
	case err != nil:
		return http.StatusInternalServerError, authError
	case !allowed:
		return http.StatusForbidden, authDenied
	}
	return 0, ""
}

// remoteAddr returns the caller's IP address (the zero Addr if the
// request does not say).
func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

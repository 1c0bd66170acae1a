package server

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/zkd/zkd/internal/admin"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// adminAuth implements admin.Authorizer with the client port's
// authentication providers (digest, with the super digest, and ip; x509
// needs TLS, which zkd does not have) and the data tree's ACLs.
type adminAuth struct{ s *Server }

// Authenticate implements admin.Authorizer. Digest needs credentials: a
// bare "digest" proves nothing (ZooKeeper 3.9 fails it too).
func (a adminAuth) Authenticate(scheme string, auth []byte, remote netip.Addr) ([]jute.Id, bool) {
	if scheme == "digest" && auth == nil {
		return nil, false
	}
	return a.s.aclConf.Authenticate(scheme, auth, remote)
}

// Allowed implements admin.Authorizer: each bit of perm is checked on its
// own against the node's ACL, as ZooKeeper 3.9.5 does (ZOOKEEPER-4964).
func (a adminAuth) Allowed(ids []jute.Id, perm int32, path string) (bool, error) {
	var acl []jute.ACL
	found := false
	if !a.s.query(func() {
		if n, ok := a.s.tree.Get(path); ok {
			acl, found = n.ACL, true
		}
	}) {
		return false, errors.New("the server did not answer")
	}
	if !found {
		return false, fmt.Errorf("no node %s", path)
	}
	for bit := int32(1); bit <= perm; bit <<= 1 {
		if perm&bit != 0 && !a.s.aclConf.Check(acl, bit, ids) {
			return false, nil
		}
	}
	return true, nil
}

// adminOptions configures the AdminServer's handler.
func (s *Server) adminOptions(ac config.AdminServer) admin.HandlerOptions {
	opts := admin.HandlerOptions{CommandURL: ac.CommandURL}
	if ac.CommandAuth {
		opts.Auth = adminAuth{s}
	}
	return opts
}

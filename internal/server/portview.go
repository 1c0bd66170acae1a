package server

import "github.com/zkd/zkd/internal/admin"

// portView is the server as a four-letter word sees it on one client
// port. ZooKeeper runs cons, stat and crst on the connection factory the
// command came in on, so each lists or resets only that port's
// connections (the secure port's, or the plaintext and unified port's);
// the totals (srvr's Connections, mntr) cover both.
type portView struct {
	*Server
	secure bool
}

// Snapshot implements admin.Source.
func (v portView) Snapshot(d admin.Detail) admin.Snapshot {
	snap := v.Server.Snapshot(d)
	kept := snap.Connections[:0]
	for _, c := range snap.Connections {
		if c.Secure == v.secure {
			kept = append(kept, c)
		}
	}
	snap.Connections = kept
	return snap
}

// ResetConnectionStats implements admin.Source.
func (v portView) ResetConnectionStats() {
	v.query(func() {
		for c, cs := range v.conns {
			if c.OnSecurePort() == v.secure {
				cs.stats.reset()
			}
		}
	})
}

package sim

import (
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

// check runs the invariants that hold after every step.
func (s *Sim) check() {
	for _, n := range s.nodes {
		if s.err != nil {
			return
		}
		if n.up && n.serving {
			s.verify(n)
		}
	}
}

// verify checks that a serving node's applied history agrees with the
// committed one. What a serving leader applied beyond it is committed
// (its initial history, established by a quorum, or a delivery); a
// learner may only lag.
func (s *Sim) verify(n *node) {
	for i := n.verified; i < len(n.applied); i++ {
		h := n.applied[i]
		if i > 0 && h.zxid <= n.applied[i-1].zxid {
			s.fail("n%d applied %v after %v", n.id, h.zxid, n.applied[i-1].zxid)
			return
		}
		if i < len(s.committed) {
			if c := s.committed[i]; c != h {
				s.fail("n%d diverges from the committed history at position %d: it applied %v (%x), committed is %v (%x)",
					n.id, i, h.zxid, h.sum, c.zxid, c.sum)
				return
			}
			continue
		}
		if n.leader == nil {
			s.fail("n%d (%s) applied %v, beyond the committed history (last %v)", n.id, n.state(), h.zxid, s.lastCommitted())
			return
		}
		s.committed = append(s.committed, h)
		s.index[h.zxid] = i
	}
	n.verified = len(n.applied)
}

func (s *Sim) lastCommitted() jute.Zxid {
	if len(s.committed) == 0 {
		return 0
	}
	return s.committed[len(s.committed)-1].zxid
}

// checkLeaderHistory runs when a leader becomes established in epoch e:
// it must hold every transaction committed in an earlier epoch (newer
// leaders may have committed more since, in later epochs).
func (n *node) checkLeaderHistory() {
	s := n.s
	e := n.leader.Epoch()
	for i, c := range s.committed {
		if int64(c.zxid.Epoch()) >= e {
			break
		}
		if i >= len(n.applied) {
			s.fail("n%d established epoch %d without committed %v (it has %d of %d transactions)", n.id, e, c.zxid, len(n.applied), len(s.committed))
			return
		}
	}
	s.verify(n)
}

// converged reports whether the healed ensemble is quiet: every node up
// and serving one leader in one epoch, nothing pending, every tree at the
// same zxid.
func (s *Sim) converged() bool {
	var l *node
	for _, n := range s.nodes {
		if !n.up || !n.serving || len(n.writeQ) > 0 {
			return false
		}
		if n.leader != nil {
			if l != nil {
				return false
			}
			l = n
		}
	}
	if l == nil || l.leader.PendingProposals() > 0 {
		return false
	}
	for _, n := range s.nodes {
		if n != l && (n.learner == nil || n.leaderID != l.id || n.learner.Epoch() != l.leader.Epoch() ||
			n.tree.LastZxid() != l.tree.LastZxid()) {
			return false
		}
	}
	return true
}

// checkConverged checks the end state: every node holds exactly the
// committed history, with the same tree as a fresh tree that applied it,
// and every acknowledged write is in it.
func (s *Sim) checkConverged() {
	want := s.reference(s.committed)
	for _, n := range s.nodes {
		s.verify(n)
		if s.err != nil {
			return
		}
		if len(n.applied) != len(s.committed) {
			s.fail("n%d applied %d transactions, %d are committed", n.id, len(n.applied), len(s.committed))
			return
		}
		if d := n.tree.Digest(); d != want {
			s.fail("n%d's tree digest %x differs from the committed history's %x", n.id, d, want)
			return
		}
	}
	for _, a := range s.acked {
		i, ok := s.index[a.zxid]
		if !ok || s.committed[i] != a {
			s.fail("acknowledged write %v was lost", a.zxid)
			return
		}
	}
	s.tracef("converged: %d committed, %d acked, digest %x", len(s.committed), len(s.acked), want)
}

// reference is the digest of a fresh tree that applied h.
func (s *Sim) reference(h []hist) int64 {
	t := tree.New()
	for _, e := range h {
		txn := s.txns[e.sum]
		if txn == nil {
			s.fail("history holds %v (%x), which no client proposed", e.zxid, e.sum)
			return 0
		}
		t.Apply(txn)
	}
	return t.Digest()
}

package tree

import (
	"cmp"
	"hash"
	"hash/adler32"
	"io"
	"slices"

	"github.com/zkd/zkd/internal/jute"
)

// SnapshotWriter serializes a tree in ZooKeeper 3.8's snapshot format a
// slice at a time, so that the goroutine owning the tree can keep applying
// transactions between slices. Like ZooKeeper's, the result is a fuzzy
// snapshot (§3.7): each node is written as it is when the walk reaches
// it, so the file may hold changes made after the snapshot began, and
// restore makes it exact by replaying the log from the starting zxid + 1
// (the zxid to put in the file name: Zxid).
//
// Work happens in two resumable walks over the tree, each an explicit
// stack of paths in pre-order. The first finds the ACL lists in use and
// numbers them; the second writes the nodes after the header, sessions and
// ACL map. A node deleted before a walk reaches it is skipped; a node
// created after the walk passed its parent is missing, and replay creates
// it.
//
// ACL lists that appear after the map was written. The map has to precede
// the nodes. Every node that existed when the snapshot started and still
// exists when the second walk reaches it was seen by the first walk, with
// the list it had then, and that list is in the map. So a node whose list
// is not in the map got it from a transaction newer than the start. Two
// cases, both made whole by replay:
//   - the node was created after the start (czxid > Zxid): it and its
//     subtree are left out, and replay creates them with their lists;
//   - otherwise a setACL after the start changed its list: the node is
//     written with ref 0, which is never in the map, and replay's setACL
//     replaces it. ZooKeeper's reader loads such a ref (it logs that the
//     ref is not in its cache and fails requests for that ACL until
//     replaced); ReadSnapshot gives the node an empty list until replay.
//
// Neither happens when the whole snapshot is written by one Step.
//
// Digest trailer: the file ends with (zxid, 2, digest) naming the tree's
// digest after zxid. It is honest in two cases: DigestFunc is set (the
// owner keeps a running digest and reports it when the trailer is
// written), or everything was written by a single Step (nothing can have
// changed, so the digest of the written nodes is the tree's after
// LastZxid). Otherwise the writer records zxid 0, "no digest", which
// ZooKeeper's reader accepts and treats as nothing to compare. A tree at
// zxid 0 also records no digest, as ZooKeeper does.
//
// Byte compatibility: siblings and sessions come out in Java's hash
// orders (snapshot_order.go), and ACL lists are numbered 1, 2, ... in the
// order of the creation zxid of their first user, as Java allocates them.
// For trees written by a ZooKeeper server the output is then the same,
// byte for byte (checked on every snapshot of the fixtures). Where Java's
// history differs from those estimates, only the order of siblings and
// sessions and the ACL ref numbers differ, which every reader accepts.
type SnapshotWriter struct {
	// DigestFunc, if set, is called once, when the trailer is written, and
	// returns the last applied zxid and the tree digest after it.
	DigestFunc func() (jute.Zxid, int64)
	// Wire selects the form a leader sends after SNAP (storage spec §3.9):
	// sessions, ACL map, nodes and the end marker, without the file
	// header, seals or digest trailer. Set it before the first Step.
	Wire bool

	t        *Tree
	start    jute.Zxid
	sessions []SessionTimeout

	phase int
	steps int
	stack []string
	kids  []childOrder

	uses map[*jute.ACL]*aclUse // first walk: lists in use
	refs map[*jute.ACL]int64   // second walk: their refs

	sum    hash.Hash32
	mark   int // bytes of the current encoder already summed
	digest int64

	written, skipped, dangling int
}

const (
	phaseScan = iota
	phaseNodes
	phaseDone
)

// aclUse records how early a list was first used, to number refs in the
// order Java allocated them.
type aclUse struct {
	list  []jute.ACL
	class int // 0: a node that never had setACL uses it; 1: only set by setACL
	czxid jute.Zxid
}

// NewSnapshot starts a snapshot of the tree as it is now, with the given
// global sessions (copied). The sessions are written in the order Java's
// HashMap iterates them (see javaSessionOrder).
func (t *Tree) NewSnapshot(sessions []SessionTimeout) *SnapshotWriter {
	w := &SnapshotWriter{
		t:        t,
		start:    t.lastZxid,
		sessions: slices.Clone(sessions),
		stack:    []string{RootPath},
		uses:     make(map[*jute.ACL]*aclUse),
		sum:      adler32.New(),
	}
	javaSessionOrder(w.sessions)
	return w
}

// Zxid returns the tree's last zxid when the snapshot started: the zxid of
// the snapshot's file name.
func (w *SnapshotWriter) Zxid() jute.Zxid { return w.start }

// Nodes returns the number of node records written so far.
func (w *SnapshotWriter) Nodes() int { return w.written }

// Fuzzy reports how many nodes were left out or written with a dangling
// ACL ref because their list appeared after the map was written.
func (w *SnapshotWriter) Fuzzy() (skipped, dangling int) { return w.skipped, w.dangling }

// Step appends the next part of the snapshot to e, doing at most maxNodes
// units of work (one unit per node visited by either walk; at least one),
// and reports whether the snapshot is complete. It does no I/O: the caller
// ships e's bytes to a writer, and may Reset e between calls. After done,
// Step appends nothing.
func (w *SnapshotWriter) Step(e *jute.Encoder, maxNodes int) (done bool) {
	if w.phase == phaseDone {
		return true
	}
	w.steps++
	w.mark = e.Len()
	budget := max(maxNodes, 1)
	if w.phase == phaseScan {
		budget = w.scan(budget)
		if len(w.stack) > 0 {
			return false
		}
		w.writeHead(e)
		w.stack = append(w.stack, RootPath)
		w.phase = phaseNodes
	}
	w.writeNodes(e, budget)
	if len(w.stack) > 0 {
		w.sync(e)
		return false
	}
	w.writeTrailer(e)
	w.phase = phaseDone
	w.stack, w.kids, w.uses, w.refs = nil, nil, nil, nil
	return true
}

// sync adds the bytes appended to e since the last sync to the checksum.
func (w *SnapshotWriter) sync(e *jute.Encoder) {
	w.sum.Write(e.Bytes()[w.mark:])
	w.mark = e.Len()
}

// usesOpenRef reports whether the node is written with ref -1: ZooKeeper
// creates its built-in nodes with no ACL list (ref -1, OPEN_ACL_UNSAFE);
// any list set later gets a ref from the map.
func usesOpenRef(path string, n *Node) bool {
	return (path == RootPath || path == ZKPath || path == QuotaPath) &&
		n.Stat.Aversion == 0 && isOpenACL(n.ACL)
}

// aclID identifies an interned list (equal lists share storage).
func aclID(l []jute.ACL) *jute.ACL {
	if len(l) == 0 {
		return nil
	}
	return &l[0]
}

// scan runs the first walk and returns the budget left.
func (w *SnapshotWriter) scan(budget int) int {
	for budget > 0 && len(w.stack) > 0 {
		p := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		budget--
		n, ok := w.t.nodes[p]
		if !ok {
			continue
		}
		for c := range n.children {
			w.stack = append(w.stack, join(p, c))
		}
		if usesOpenRef(p, n) {
			continue
		}
		class := 0
		if n.Stat.Aversion > 0 {
			class = 1
		}
		id := aclID(n.ACL)
		u := w.uses[id]
		if u == nil {
			w.uses[id] = &aclUse{list: n.ACL, class: class, czxid: n.Stat.Czxid}
		} else if class < u.class || class == u.class && n.Stat.Czxid < u.czxid {
			u.class, u.czxid = class, n.Stat.Czxid
		}
	}
	return budget
}

// writeHead numbers the lists found by the first walk and writes the file
// header, the sessions and the ACL map. Java numbers lists 1, 2, ... as
// they first appear and iterates its map in ref order; the order of first
// use is estimated from the creation zxids of the nodes using each list
// (lists only ever set by setACL last).
func (w *SnapshotWriter) writeHead(e *jute.Encoder) {
	uses := make([]*aclUse, 0, len(w.uses))
	for _, u := range w.uses {
		uses = append(uses, u)
	}
	slices.SortFunc(uses, func(a, b *aclUse) int {
		if c := cmp.Compare(a.class, b.class); c != 0 {
			return c
		}
		if c := cmp.Compare(a.czxid, b.czxid); c != 0 {
			return c
		}
		return compareACLs(a.list, b.list)
	})
	w.refs = make(map[*jute.ACL]int64, len(uses))
	for i, u := range uses {
		w.refs[aclID(u.list)] = int64(i + 1)
	}
	w.uses = nil

	if !w.Wire {
		e.Int(SnapshotMagic)
		e.Int(SnapshotVersion)
		e.Long(snapshotDBID)
	}
	e.Int(int32(len(w.sessions)))
	for _, s := range w.sessions {
		e.Long(int64(s.ID))
		e.Int(s.Timeout)
	}
	e.Int(int32(len(uses)))
	for i, u := range uses {
		e.Long(int64(i + 1))
		e.Int(int32(len(u.list)))
		for j := range u.list {
			u.list[j].Encode(e)
		}
	}
}

func compareACLs(a, b []jute.ACL) int {
	for i := range min(len(a), len(b)) {
		if c := cmp.Compare(a[i].Perms, b[i].Perms); c != 0 {
			return c
		}
		if c := cmp.Compare(a[i].ID.Scheme, b[i].ID.Scheme); c != 0 {
			return c
		}
		if c := cmp.Compare(a[i].ID.ID, b[i].ID.ID); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// writeNodes runs the second walk.
func (w *SnapshotWriter) writeNodes(e *jute.Encoder, budget int) {
	for budget > 0 && len(w.stack) > 0 {
		p := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		budget--
		n, ok := w.t.nodes[p]
		if !ok {
			continue
		}
		ref := openACLRef
		if !usesOpenRef(p, n) {
			r, ok := w.refs[aclID(n.ACL)]
			switch {
			case ok:
				ref = r
			case n.Stat.Czxid > w.start && p != RootPath:
				w.skipped++
				continue
			default:
				ref = danglingACLRef
				w.dangling++
			}
		}
		if p == RootPath {
			e.String("")
		} else {
			e.String(p)
		}
		e.Buffer(n.Data)
		e.Long(ref)
		n.Stat.Encode(e)
		w.written++
		w.digest += NodeDigest(p, n)
		w.pushChildren(p, n)
	}
}

// writeTrailer ends the file: the end-of-nodes marker, seal #1, the digest
// trailer and seal #2.
func (w *SnapshotWriter) writeTrailer(e *jute.Encoder) {
	e.String(endOfNodes)
	if w.Wire {
		return
	}
	w.sync(e)
	e.Long(int64(w.sum.Sum32()))
	e.String(endOfNodes)

	var zxid jute.Zxid
	var digest int64
	switch {
	case w.DigestFunc != nil:
		zxid, digest = w.DigestFunc()
	case w.steps == 1:
		zxid, digest = w.t.lastZxid, w.digest
	}
	if zxid <= 0 {
		zxid, digest = 0, 0
	}
	e.Long(int64(zxid))
	e.Int(DigestVersion)
	e.Long(digest)
	w.sync(e)
	e.Long(int64(w.sum.Sum32()))
	e.String(endOfNodes)
	w.mark = e.Len()
}

// WriteSnapshotOnce writes a complete snapshot of the tree, with the given
// sessions and the tree's digest, to out. It holds the tree for the whole
// write: use it in tools and tests, or when nothing else runs.
func (t *Tree) WriteSnapshotOnce(out io.Writer, sessions []SessionTimeout) error {
	w := t.NewSnapshot(sessions)
	w.DigestFunc = func() (jute.Zxid, int64) { return t.lastZxid, t.Digest() }
	e := jute.NewEncoder(make([]byte, 0, 256<<10))
	for {
		e.Reset()
		done := w.Step(e, 4096)
		if _, err := out.Write(e.Bytes()); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

package tree

import (
	"cmp"
	"hash/adler32"
	"io"
	"slices"

	"github.com/zkd/zkd/internal/jute"
)

// frozen is the read side of a tree: its tables as of one moment. A
// View's frozen is a private copy that the owner never writes into; the
// owner's own (Tree.live) shares its tables and is only used on the
// owner's goroutine.
type frozen struct {
	recs     pages[record]
	kids     pages[kidList]
	chunks   [][]byte
	acls     [][]jute.ACL
	limit    nodeID // ids below limit may be in use
	count    int
	lastZxid jute.Zxid
	// zk and quota are /zookeeper and /zookeeper/quota (0 if missing).
	zk, quota nodeID
}

func (f *frozen) rec(id nodeID) *record { return f.recs.at(uint32(id)) }

func (f *frozen) blobAt(r *record) []byte { return f.chunks[r.blob.chunk()][r.blob.off():] }

func (f *frozen) name(r *record) string { return unsafeString(blobName(f.blobAt(r))) }

func (f *frozen) parsed(r *record) parsedBlob { return parseBlob(f.blobAt(r)) }

func (f *frozen) kidIDs(r *record) []nodeID {
	if r.kids == 0 {
		return nil
	}
	return f.kids.at(r.kids).flat()
}

// live returns the tree's tables without copying them, for reading on
// the owner's goroutine while nothing changes the tree.
func (t *Tree) live() *frozen {
	return &frozen{recs: t.recs, kids: t.kids, chunks: t.blobs.chunks, acls: t.acls,
		limit: t.nextID, count: t.count, lastZxid: t.lastZxid, zk: t.find(ZKPath), quota: t.find(QuotaPath)}
}

// View is the tree as it was when Freeze returned it: read-only, and safe
// to read from any goroutine while the tree's owner goes on applying
// transactions. It costs the owner a copy of each page (512 nodes) it
// writes while the view is live, never time in proportion to the tree.
// The owner releases it when the reader is done; until then the owner
// keeps copying.
type View struct {
	f        frozen
	t        *Tree
	released bool
}

// Freeze returns a consistent view of the tree as it is now. It runs on
// the owner's goroutine and costs a copy of the page tables (a few
// thousand pointers for a million nodes).
func (t *Tree) Freeze() *View {
	t.cow.frozen = t.cow.epoch
	t.cow.epoch++
	t.cow.views++
	f := *t.live()
	f.recs = t.recs.clone()
	f.kids = t.kids.clone()
	f.chunks = slices.Clone(t.blobs.chunks)
	f.acls = t.acls[:len(t.acls):len(t.acls)]
	return &View{f: f, t: t}
}

// Release ends the view; the tree stops copying pages for it. Like every
// change to the tree, it runs on the owner's goroutine, after the reader
// is done (the hand-over must order the reader's last read before it). A
// second call does nothing.
func (v *View) Release() {
	if !v.released {
		v.released = true
		v.t.cow.views--
	}
}

// Zxid returns the tree's last applied zxid when the view was taken: the
// zxid for the snapshot's file name.
func (v *View) Zxid() jute.Zxid { return v.f.lastZxid }

// NodeCount returns the number of znodes in the view.
func (v *View) NodeCount() int { return v.f.count }

// Snapshot format (storage-and-quorum.md §3.2) as written. A snapshot
// written from a view is consistent: it holds exactly the tree after
// Zxid, so its digest trailer is always exact and restore replays the log
// from Zxid+1 onto it (replaying transactions the snapshot already holds
// is harmless, as for ZooKeeper's fuzzy snapshots).
//
// Byte compatibility: sessions come out in Java's HashMap order, siblings
// in the tree's own order (a loaded snapshot's, or by name) or, with
// WriteOptions.JavaSiblingOrder, in Java's HashSet order
// (snapshot_order.go), and ACL lists are numbered 1, 2, ... in the order
// of the creation zxid of their first user, as Java allocates them. A
// ZooKeeper snapshot loaded and written again is the same, byte for byte,
// and so is a tree built by ZooKeeper's transactions written in Java order
// (both checked on every snapshot of the fixtures). Where Java's history
// differs from those estimates, only the order of siblings and sessions
// and the ACL ref numbers differ, which every reader accepts.

// WriteOptions control WriteSnapshot.
type WriteOptions struct {
	// Wire selects the form a leader sends after SNAP (storage spec §3.9):
	// sessions, ACL map, nodes and the end marker, without the file
	// header, seals or digest trailer.
	Wire bool
	// JavaSiblingOrder writes siblings in the order ZooKeeper's HashSet
	// would iterate them (snapshot_order.go), so that a tree built by
	// ZooKeeper's own transactions comes out byte for byte as ZooKeeper
	// writes it. It costs a hash and a sort of every child list, about
	// half the time of the whole snapshot. Without it siblings come in
	// the order the tree keeps them: by name, or as the snapshot the tree
	// was loaded from listed them (so a loaded tree that did not change
	// is written back byte for byte either way). Readers accept any
	// order (a parent only has to come before its children).
	JavaSiblingOrder bool
}

// WriteSnapshot writes the view and the given global sessions (copied;
// written in Java's HashMap order) to out in ZooKeeper 3.8's snapshot
// format, and returns the number of nodes written. It may run on any
// goroutine.
func (v *View) WriteSnapshot(out io.Writer, sessions []SessionTimeout, opts WriteOptions) (int, error) {
	return writeSnapshot(&v.f, out, sessions, opts)
}

func writeSnapshot(f *frozen, out io.Writer, sessions []SessionTimeout, opts WriteOptions) (int, error) {
	w := &snapWriter{f: f, out: out, wire: opts.Wire, javaOrder: opts.JavaSiblingOrder, sum: adler32.New()}
	w.enc = jute.NewEncoder(make([]byte, 0, 256<<10))
	sessions = slices.Clone(sessions)
	javaSessionOrder(sessions)
	w.writeHead(sessions)
	w.writeNodes()
	w.writeTrailer()
	return w.written, w.err
}

// WriteSnapshotOnce writes a complete snapshot of the tree, with the given
// sessions, to out. It reads the tree in place, without a view: nothing
// may change the tree meanwhile (readers may run alongside).
func (t *Tree) WriteSnapshotOnce(out io.Writer, sessions []SessionTimeout) error {
	_, err := writeSnapshot(t.live(), out, sessions, WriteOptions{})
	return err
}

// snapWriter writes one snapshot from a frozen tree.
type snapWriter struct {
	f         *frozen
	out       io.Writer
	wire      bool
	javaOrder bool
	enc       *jute.Encoder
	sum       interface {
		Write([]byte) (int, error)
		Sum32() uint32
	}
	err     error
	written int
	digest  int64

	scratch   []byte // for nodeCRCWith
	lookAhead byte   // the sum of writeNodes' look-ahead loads, unused

	refs  []int64 // ACL index → ref written, 0 until numbered
	zkID  nodeID  // /zookeeper
	quota nodeID  // /zookeeper/quota
	kids  []childOrder
}

// flush hands the encoded bytes to the checksum and the output once
// enough have gathered (or always, when force is set).
func (w *snapWriter) flush(force bool) {
	if w.enc.Len() < 192<<10 && !force {
		return
	}
	b := w.enc.Bytes()
	w.sum.Write(b)
	if w.err == nil {
		_, w.err = w.out.Write(b)
	}
	w.enc.Reset()
}

// usesOpenRef reports whether the node is written with ref -1: ZooKeeper
// creates its built-in nodes with no ACL list (ref -1, OPEN_ACL_UNSAFE);
// any list set later gets a ref from the map.
func (w *snapWriter) usesOpenRef(id nodeID, r *record, st *blobStat) bool {
	return (id == rootID || id == w.zkID || id == w.quota) && st.aversion == 0 && isOpenACL(w.f.acls[r.acl])
}

// aclUse records how early a list was first used, to number refs in the
// order Java allocated them.
type aclUse struct {
	acl   uint32
	class int // 0: a node that never had setACL uses it; 1: only set by setACL
	czxid jute.Zxid
}

// writeHead numbers the lists in use and writes the file header, the
// sessions and the ACL map. Java numbers lists 1, 2, ... as they first
// appear and iterates its map in ref order; the order of first use is
// estimated from the creation zxids of the nodes using each list (lists
// only ever set by setACL last).
func (w *snapWriter) writeHead(sessions []SessionTimeout) {
	f := w.f
	w.zkID, w.quota = f.zk, f.quota
	uses := make([]aclUse, len(f.acls))
	seen := make([]bool, len(f.acls))
	for id := rootID; id < f.limit; id++ {
		r := f.rec(id)
		if r.parent == 0 && id != rootID {
			continue // a free record
		}
		st := f.parsed(r).st
		if w.usesOpenRef(id, r, &st) {
			continue // ref -1
		}
		class := 0
		if st.aversion > 0 {
			class = 1
		}
		u := &uses[r.acl]
		czxid := jute.Zxid(st.czxid)
		if !seen[r.acl] {
			seen[r.acl] = true
			*u = aclUse{acl: r.acl, class: class, czxid: czxid}
		} else if class < u.class || class == u.class && czxid < u.czxid {
			u.class, u.czxid = class, czxid
		}
	}
	order := make([]aclUse, 0, len(uses))
	for i, u := range uses {
		if seen[i] {
			order = append(order, u)
		}
	}
	slices.SortFunc(order, func(a, b aclUse) int {
		if c := cmp.Compare(a.class, b.class); c != 0 {
			return c
		}
		if c := cmp.Compare(a.czxid, b.czxid); c != 0 {
			return c
		}
		return compareACLs(f.acls[a.acl], f.acls[b.acl])
	})
	w.refs = make([]int64, len(f.acls))
	for i, u := range order {
		w.refs[u.acl] = int64(i + 1)
	}

	e := w.enc
	if !w.wire {
		e.Int(SnapshotMagic)
		e.Int(SnapshotVersion)
		e.Long(snapshotDBID)
	}
	e.Int(int32(len(sessions)))
	for _, s := range sessions {
		e.Long(int64(s.ID))
		e.Int(s.Timeout)
	}
	e.Int(int32(len(order)))
	for i, u := range order {
		list := f.acls[u.acl]
		e.Long(int64(i + 1))
		e.Int(int32(len(list)))
		for j := range list {
			list[j].Encode(e)
		}
	}
	w.flush(false)
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

// walkItem is a node waiting to be written and the length of its
// parent's path in the path buffer.
type walkItem struct {
	id        nodeID
	parentLen int
}

// writeNodes writes every node in pre-order, siblings in Java's order.
func (w *snapWriter) writeNodes() {
	f := w.f
	path := make([]byte, 0, 256)
	stack := []walkItem{{rootID, 0}}
	var touched byte // keeps the look-ahead loads below from being dropped
	for len(stack) > 0 && w.err == nil {
		// Siblings sit far apart in memory (each was created among other
		// nodes), so every node costs cache misses for its record and its
		// blob. Loading the record of the node 16 places ahead on the stack
		// and the blob of the one 8 ahead lets those misses overlap with
		// this node's work instead of following it one by one.
		if n := len(stack); n > 16 {
			touched += byte(f.rec(stack[n-17].id).cversion)
		}
		if n := len(stack); n > 8 {
			touched += f.blobAt(f.rec(stack[n-9].id))[4]
		}
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		r := f.rec(it.id)
		b := f.parsed(r)
		path = path[:it.parentLen]
		if it.id != rootID {
			path = append(path, '/')
			path = append(path, b.name...)
		}
		ref := openACLRef
		if !w.usesOpenRef(it.id, r, &b.st) {
			ref = w.refs[r.acl]
		}
		e := w.enc
		e.Buffer(path) // the root's path is ""
		e.Buffer(b.data)
		e.Long(ref)
		st := statOf(r, &b.st)
		st.Encode(e)
		w.written++
		w.digest += int64(nodeCRCWith(&w.scratch, digestPath(path), b.data, &st))
		stack = w.pushChildren(stack, r, len(path))
		w.flush(false)
	}
	w.lookAhead = touched
}

// digestPath is the path a node is hashed under: "/" for the root.
func digestPath(p []byte) string {
	if len(p) == 0 {
		return RootPath
	}
	return unsafeString(p)
}

// writeTrailer ends the file: the end-of-nodes marker, seal #1, the digest
// trailer and seal #2.
func (w *snapWriter) writeTrailer() {
	e := w.enc
	e.String(endOfNodes)
	if w.wire {
		w.flush(true)
		return
	}
	w.flush(true)
	e.Long(int64(w.sum.Sum32()))
	e.String(endOfNodes)
	zxid, digest := w.f.lastZxid, w.digest
	if zxid <= 0 {
		// A tree at zxid 0 records no digest, as ZooKeeper does.
		zxid, digest = 0, 0
	}
	e.Long(int64(zxid))
	e.Int(DigestVersion)
	e.Long(digest)
	w.flush(true)
	e.Long(int64(w.sum.Sum32()))
	e.String(endOfNodes)
	w.flush(true)
}

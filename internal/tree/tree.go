package tree

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/zkd/zkd/internal/jute"
)

// Special paths present in every tree.
const (
	RootPath   = "/"
	ZKPath     = "/zookeeper"
	QuotaPath  = "/zookeeper/quota"
	ConfigPath = "/zookeeper/config"
)

// Markers stored in ephemeralOwner for non-ephemeral kinds (§5.7).
const (
	containerOwner int64 = math.MinInt64       // 0x8000000000000000
	ttlOwnerMask   int64 = -0x100000000000000  // 0xFF00000000000000
	MaxTTL         int64 = 0xFFFFFFFFFF        // largest TTL in ms
	ttlValueMask   int64 = 0x000000FFFFFFFFFF  // low 40 bits
	ttlTypeMask    int64 = 0x00FFFF0000000000  // extended-type code, 0 = TTL
	highByteMask   int64 = ^0x00FFFFFFFFFFFFFF // top byte
)

// Node is a copy of one znode's content, as Get returns it. Data and ACL
// are shared with the tree and must not be modified; they stay valid (as
// they were) after the tree changes.
type Node struct {
	// Data is the node's data; nil means null data.
	Data []byte
	// ACL is the node's access list; lists are shared between nodes with
	// equal lists.
	ACL []jute.ACL
	// Stat is the stored metadata (internal cversion and owner encodings).
	Stat        jute.StatPersisted
	id          nodeID
	numChildren int32
}

// NumChildren returns the number of children.
func (n *Node) NumChildren() int { return int(n.numChildren) }

// IsEphemeral reports whether the node is owned by a session.
func (n *Node) IsEphemeral() bool { return OwnerSession(n.Stat.EphemeralOwner) != 0 }

// IsContainer reports whether the node is a container.
func (n *Node) IsContainer() bool { return n.Stat.EphemeralOwner == containerOwner }

// TTL returns the node's TTL in ms, or 0 if it is not a TTL node.
func (n *Node) TTL() int64 { return ttlOf(n.Stat.EphemeralOwner) }

// PublicStat returns the Stat clients see (§5.1, §5.5, §5.7).
func (n *Node) PublicStat() jute.Stat {
	s := &n.Stat
	nc := n.numChildren
	return jute.Stat{
		Czxid: s.Czxid, Mzxid: s.Mzxid, Ctime: s.Ctime, Mtime: s.Mtime,
		Version: s.Version, Cversion: 2*s.Cversion - nc, Aversion: s.Aversion,
		EphemeralOwner: OwnerSession(s.EphemeralOwner),
		DataLength:     int32(len(n.Data)), NumChildren: nc, Pzxid: s.Pzxid,
	}
}

// OwnerSession maps a stored ephemeralOwner to the session that owns the
// node, or 0 for persistent, container and TTL nodes.
func OwnerSession(owner int64) int64 {
	if owner == containerOwner || ttlOf(owner) != 0 {
		return 0
	}
	return owner
}

func ttlOf(owner int64) int64 {
	if owner&highByteMask == ttlOwnerMask && owner&ttlTypeMask == 0 {
		return owner & ttlValueMask
	}
	return 0
}

// TTLOwner returns the ephemeralOwner value that marks a TTL node.
func TTLOwner(ttl int64) int64 { return ttlOwnerMask | (ttl & ttlValueMask) }

// ContainerOwner is the ephemeralOwner value that marks a container.
const ContainerOwner = containerOwner

// Trigger is a watch event fired by a transaction.
type Trigger struct {
	Type jute.EventType
	Path string
	// ACL is the list that decides who may see the event: the node's own
	// (as it was, for a deletion), or the parent's for NodeChildrenChanged.
	ACL []jute.ACL
}

// Tree is the znode tree. The zero value is not usable; call New.
type Tree struct {
	recs  pages[record]
	kids  pages[kidList]
	blobs arena
	idx   index
	cow   cowState

	freeIDs  []nodeID
	nextID   nodeID // next never-used id
	freeKids []uint32
	nextKids uint32
	count    int // nodes

	acls     [][]jute.ACL      // interned lists by index
	aclIndex map[string]uint32 // aclKey → index in acls

	ephemerals map[int64]map[nodeID]struct{}
	containers map[nodeID]struct{}
	ttls       map[nodeID]struct{}
	dataSize   int64 // Σ len(data) over all nodes
	pathSize   int64 // Σ len(path) over all nodes
	lastZxid   jute.Zxid
	quotas     map[string]struct{} // paths with a registered quota
	// listed keeps the child names Children built for nodes with many
	// children until a child comes or goes, so that listing a large,
	// unchanging child set again costs nothing.
	listed map[nodeID][]string
	// encoded keeps, likewise, the jute encoding of such a list.
	encoded map[nodeID][]byte
}

// listedMin is the number of children from which Children keeps its
// answer; smaller lists are cheaper to build again than to keep.
const listedMin = 64

// New returns a fresh tree with ZooKeeper's four built-in nodes (§9.3).
func New() *Tree {
	t := emptyTree()
	open := t.intern(openACL)
	read := t.intern([]jute.ACL{{Perms: jute.PermRead, ID: jute.Id{Scheme: "world", ID: "anyone"}}})
	// Built-in nodes are linked without counting child creations, so / and
	// /zookeeper report cversion -1 and -2 like ZooKeeper.
	root := t.addNode(0, RootPath, "", []byte{}, open, jute.StatPersisted{})
	zk := t.addNode(root, ZKPath, Base(ZKPath), []byte{}, open, jute.StatPersisted{})
	t.addNode(zk, QuotaPath, Base(QuotaPath), []byte{}, open, jute.StatPersisted{})
	t.addNode(zk, ConfigPath, Base(ConfigPath), []byte{}, read, jute.StatPersisted{Aversion: -1})
	return t
}

// emptyTree returns a tree without any node.
func emptyTree() *Tree {
	t := &Tree{
		aclIndex:   make(map[string]uint32),
		listed:     make(map[nodeID][]string),
		encoded:    make(map[nodeID][]byte),
		ephemerals: make(map[int64]map[nodeID]struct{}),
		containers: make(map[nodeID]struct{}),
		ttls:       make(map[nodeID]struct{}),
		nextID:     rootID,
		nextKids:   1,
	}
	t.idx.seed = maphash.MakeSeed()
	t.cow.epoch = 1
	return t
}

// rec returns a record for reading.
func (t *Tree) rec(id nodeID) *record { return t.recs.at(uint32(id)) }

// mrec returns a record for writing.
func (t *Tree) mrec(id nodeID) *record { return t.recs.mut(uint32(id), &t.cow) }

// blobAt returns the arena from a record's blob on.
func (t *Tree) blobAt(r *record) []byte {
	return t.blobs.chunks[r.blob.chunk()][r.blob.off():]
}

// parsed returns a node's blob content.
func (t *Tree) parsed(id nodeID) parsedBlob { return parseBlob(t.blobAt(t.rec(id))) }

// nameOf returns a node's name ("" for the root).
func (t *Tree) nameOf(id nodeID) string { return unsafeString(blobName(t.blobAt(t.rec(id)))) }

// writeBlob stores a node's blob and returns where.
func (t *Tree) writeBlob(id nodeID, st *blobStat, name string, data []byte) blobRef {
	ref, buf := t.blobs.alloc(blobLen(st, name, data))
	encodeBlob(buf, id, st, name, data)
	return ref
}

// newID returns an unused record.
func (t *Tree) newID() nodeID {
	if n := len(t.freeIDs); n > 0 {
		id := t.freeIDs[n-1]
		t.freeIDs = t.freeIDs[:n-1]
		return id
	}
	id := t.nextID
	t.nextID++
	t.recs.ensure(uint32(id), &t.cow)
	return id
}

// addNode links a new node under parent (0 for the root) and returns its
// id. path is the node's full path, name its last component.
func (t *Tree) addNode(parent nodeID, path, name string, data []byte, acl uint32, st jute.StatPersisted) nodeID {
	id := t.newID()
	bs := splitStat(&st)
	*t.mrec(id) = record{
		blob: t.writeBlob(id, &bs, name, data), pzxid: int64(st.Pzxid),
		parent: parent, acl: acl, cversion: st.Cversion,
	}
	t.count++
	t.dataSize += int64(len(data))
	t.pathSize += int64(len(path))
	if parent != 0 {
		t.idx.insert(t.idx.hash(path), id)
		t.insertKid(parent, id, name)
	}
	return id
}

// removeNode unlinks a node without children from its parent and the
// index and frees it. path is its full path.
func (t *Tree) removeNode(id nodeID, path string) {
	r := t.rec(id)
	b := t.parsed(id)
	name := unsafeString(b.name)
	parent := r.parent
	if parent != 0 {
		t.idx.remove(t.idx.hash(path), id)
		t.removeKid(parent, id, name)
	}
	t.count--
	t.dataSize -= int64(len(b.data))
	t.pathSize -= int64(len(path))
	if k := t.rec(id).kids; k != 0 {
		t.freeKidList(k)
	}
	delete(t.listed, id)
	delete(t.encoded, id)
	t.blobs.kill(t.rec(id).blob, b.size)
	*t.mrec(id) = record{}
	t.freeIDs = append(t.freeIDs, id)
}

// rewrite replaces a node's blob: its data and the blob's Stat fields.
func (t *Tree) rewrite(id nodeID, st *blobStat, data []byte) {
	old := t.parsed(id)
	oldRef := t.rec(id).blob
	ref := t.writeBlob(id, st, unsafeString(old.name), data)
	t.dataSize += int64(len(data) - len(old.data))
	t.mrec(id).blob = ref
	t.blobs.kill(oldRef, old.size)
}

// setNodeData replaces a node's data and nothing else.
func (t *Tree) setNodeData(id nodeID, data []byte) {
	st := t.parsed(id).st
	t.rewrite(id, &st, data)
}

// find returns the node at path, or 0.
func (t *Tree) find(path string) nodeID {
	if path == RootPath || path == "" {
		return rootID
	}
	slots := t.idx.slots
	if len(slots) == 0 || path[0] != '/' {
		return 0
	}
	h := t.idx.hash(path)
	mask := uint32(len(slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := slots[i]
		if s.id == 0 {
			return 0
		}
		if s.hash == h && t.spells(s.id, path) {
			return s.id
		}
	}
}

// spells reports whether the names from the root down to id make path.
func (t *Tree) spells(id nodeID, path string) bool {
	for id != rootID {
		r := t.rec(id)
		name := blobName(t.blobAt(r))
		i := len(path) - len(name) - 1
		if i < 0 || path[i] != '/' || path[i+1:] != string(name) {
			return false
		}
		path = path[:i]
		id = r.parent
		if id == 0 {
			return false
		}
	}
	return path == ""
}

// node returns the Node for a record.
func (t *Tree) node(id nodeID) Node {
	r := t.rec(id)
	b := parseBlob(t.blobAt(r))
	n := Node{Data: b.data, ACL: t.acls[r.acl], id: id, Stat: statOf(r, &b.st)}
	if r.kids != 0 {
		n.numChildren = int32(t.kids.at(r.kids).len())
	}
	return n
}

// appendKidIDs appends a node's children to dst, in their list's order
// (by name unless the list is still as a snapshot loaded it; see
// sortKids), and returns the extended slice.
func (t *Tree) appendKidIDs(dst []nodeID, r *record) []nodeID {
	if r.kids == 0 {
		return dst
	}
	for run := range t.kids.at(r.kids).runs {
		dst = append(dst, run...)
	}
	return dst
}

// mutKids returns parent's child list for changing, allocating one if the
// node has none and copying it if a view may read it.
func (t *Tree) mutKids(parent nodeID) *kidList {
	r := t.rec(parent)
	if r.kids == 0 {
		k := t.nextKids
		if n := len(t.freeKids); n > 0 {
			k = t.freeKids[n-1]
			t.freeKids = t.freeKids[:n-1]
		} else {
			t.nextKids++
			t.kids.ensure(k, &t.cow)
		}
		t.mrec(parent).kids = k
		l := t.kids.mut(k, &t.cow)
		*l = kidList{epoch: t.cow.epoch}
		return l
	}
	l := t.kids.mut(r.kids, &t.cow)
	if t.cow.shared(l.epoch) {
		// A chunked list copies its chunk table; each chunk is copied
		// when it changes (mutChunk).
		l.ids = slices.Clone(l.ids)
		if l.big != nil {
			b := *l.big
			b.chunks = slices.Clone(b.chunks)
			l.big = &b
		}
		l.epoch = t.cow.epoch
	}
	return l
}

// mutChunk returns chunk ci of a list returned by mutKids for changing,
// copying its ids first if a view may read them.
func (t *Tree) mutChunk(l *kidList, ci int) *kidChunk {
	c := &l.big.chunks[ci]
	if t.cow.shared(c.epoch) {
		c.ids = slices.Clone(c.ids)
		c.epoch = t.cow.epoch
	}
	return c
}

// chunkKids cuts a flat list returned by mutKids into chunks of half the
// largest size, so that each has room to grow.
func (t *Tree) chunkKids(l *kidList) {
	step := max(kidChunkMax/2, 1)
	l.big = &kidChunks{}
	for i := 0; i < len(l.ids); i += step {
		l.big.chunks = append(l.big.chunks, kidChunk{ids: slices.Clone(l.ids[i:min(i+step, len(l.ids))]), epoch: t.cow.epoch})
	}
	l.big.n = int32(len(l.ids))
	l.ids = nil
}

// sortKids sorts parent's children by name if they are not yet: a list
// loaded from a snapshot is sorted the first time it is needed in order.
func (t *Tree) sortKids(parent nodeID) {
	r := t.rec(parent)
	if r.kids == 0 || !t.kids.at(r.kids).unsorted {
		return
	}
	l := t.mutKids(parent)
	type named struct {
		name string
		id   nodeID
	}
	tmp := make([]named, len(l.ids))
	for i, id := range l.ids {
		tmp[i] = named{t.nameOf(id), id}
	}
	slices.SortFunc(tmp, func(a, b named) int { return strings.Compare(a.name, b.name) })
	for i, n := range tmp {
		l.ids[i] = n.id
	}
	l.unsorted = false
	if len(l.ids) > flatKidsMax {
		t.chunkKids(l)
	}
}

// samePath reports whether two nodes have the same parent and name.
func (t *Tree) samePath(a, b nodeID) bool {
	return t.rec(a).parent == t.rec(b).parent && t.nameOf(a) == t.nameOf(b)
}

// kidPos returns where name sits, or would sit, in a sorted child list:
// the chunk (0 in a flat list) and the index in it. A name between two
// chunks goes at the end of the first.
func (t *Tree) kidPos(l *kidList, name string) (ci, i int, found bool) {
	if l.big == nil {
		i, found = t.searchKids(l.ids, name)
		return 0, i, found
	}
	// The last chunk whose first name is not after name, or the first.
	ci = sort.Search(len(l.big.chunks), func(j int) bool { return t.nameOf(l.big.chunks[j].ids[0]) > name })
	ci = max(ci-1, 0)
	i, found = t.searchKids(l.big.chunks[ci].ids, name)
	return ci, i, found
}

// searchKids returns where name sits, or would sit, in sorted ids.
func (t *Tree) searchKids(ids []nodeID, name string) (int, bool) {
	return slices.BinarySearchFunc(ids, name, func(id nodeID, name string) int {
		return strings.Compare(t.nameOf(id), name)
	})
}

func (t *Tree) insertKid(parent, id nodeID, name string) {
	delete(t.listed, parent)
	delete(t.encoded, parent)
	t.sortKids(parent)
	l := t.mutKids(parent)
	if l.big == nil {
		// Names made in increasing order (sequential znodes: queues,
		// locks, elections) go at the end: one comparison instead of a
		// search.
		if n := len(l.ids); n > 0 && t.nameOf(l.ids[n-1]) < name {
			l.ids = append(l.ids, id)
		} else {
			i, _ := t.searchKids(l.ids, name)
			l.ids = slices.Insert(l.ids, i, id)
		}
		if len(l.ids) > flatKidsMax {
			t.chunkKids(l)
		}
		return
	}
	ci := len(l.big.chunks) - 1
	last := l.big.chunks[ci].ids
	i := len(last)
	if t.nameOf(last[i-1]) > name {
		ci, i, _ = t.kidPos(l, name)
	}
	c := t.mutChunk(l, ci)
	c.ids = slices.Insert(c.ids, i, id)
	l.big.n++
	if len(c.ids) > kidChunkMax {
		// Split in half; but a name appended after all others (sequential
		// znodes) starts a chunk of its own, so that a list that only
		// grows at its end keeps its chunks full.
		at := len(c.ids) / 2
		if ci == len(l.big.chunks)-1 && i == len(c.ids)-1 {
			at = i
		}
		tail := kidChunk{ids: slices.Clone(c.ids[at:]), epoch: t.cow.epoch}
		c.ids = c.ids[:at]
		l.big.chunks = slices.Insert(l.big.chunks, ci+1, tail)
	}
}

func (t *Tree) removeKid(parent, id nodeID, name string) {
	r := t.rec(parent)
	if r.kids == 0 {
		return
	}
	t.sortKids(parent)
	ci, i, ok := t.kidPos(t.kids.at(t.rec(parent).kids), name)
	if !ok {
		return
	}
	delete(t.listed, parent)
	delete(t.encoded, parent)
	l := t.mutKids(parent)
	if l.big == nil {
		l.ids = slices.Delete(l.ids, i, i+1)
	} else {
		t.removeChunked(l, ci, i)
	}
	if l.len() == 0 {
		k := r.kids
		t.mrec(parent).kids = 0
		t.freeKidList(k)
	}
}

// removeChunked removes child i of chunk ci from a chunked list returned
// by mutKids, merging a chunk that became small into its neighbour and
// making a list that became short flat again.
func (t *Tree) removeChunked(l *kidList, ci, i int) {
	c := t.mutChunk(l, ci)
	c.ids = slices.Delete(c.ids, i, i+1)
	l.big.n--
	switch {
	case int(l.big.n) <= flatKidsMax/2:
		l.ids = l.flat()
		l.big = nil
	case len(c.ids) == 0:
		l.big.chunks = slices.Delete(l.big.chunks, ci, ci+1)
	case len(c.ids) < kidChunkMax/4 && len(l.big.chunks) > 1:
		// Merge with the next chunk, or with the previous one if this
		// is the last, when the two fit in a chunk of half the largest
		// size.
		if ci == len(l.big.chunks)-1 {
			ci--
		}
		a, b := l.big.chunks[ci].ids, l.big.chunks[ci+1].ids
		if len(a)+len(b) <= max(kidChunkMax/2, 1) {
			merged := kidChunk{ids: slices.Concat(a, b), epoch: t.cow.epoch}
			l.big.chunks[ci] = merged
			l.big.chunks = slices.Delete(l.big.chunks, ci+1, ci+2)
		}
	}
}

func (t *Tree) freeKidList(k uint32) {
	*t.kids.mut(k, &t.cow) = kidList{}
	t.freeKids = append(t.freeKids, k)
}

// intern returns the index of a shared list equal to acl.
func (t *Tree) intern(acl []jute.ACL) uint32 {
	k := aclKey(acl)
	if i, ok := t.aclIndex[k]; ok {
		return i
	}
	t.acls = append(t.acls, slices.Clone(acl))
	i := uint32(len(t.acls) - 1)
	t.aclIndex[k] = i
	return i
}

// aclKey is an unambiguous encoding of an ACL list, the interning key.
func aclKey(acl []jute.ACL) string {
	var b []byte
	for _, a := range acl {
		b = binary.BigEndian.AppendUint32(b, uint32(a.Perms))
		b = binary.BigEndian.AppendUint32(b, uint32(len(a.ID.Scheme)))
		b = append(b, a.ID.Scheme...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(a.ID.ID)))
		b = append(b, a.ID.ID...)
	}
	return string(b)
}

// Parent returns the parent path of p ("/" for top-level nodes).
func Parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return RootPath
	}
	return p[:i]
}

// Base returns the last component of p.
func Base(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// Get returns the node at path. The empty path names the root too, as in
// ZooKeeper, whose node map keeps the root under both "" and "/".
func (t *Tree) Get(path string) (Node, bool) {
	id := t.find(path)
	if id == 0 {
		return Node{}, false
	}
	return t.node(id), true
}

// Children returns the names of n's children in sorted order. The slice
// may be shared with earlier and later callers and must not be modified;
// it stays valid (as the list at the time of the call) after the tree
// changes.
func (t *Tree) Children(n Node) []string {
	if n.id == 0 || n.numChildren == 0 {
		return []string{}
	}
	if out, ok := t.listed[n.id]; ok {
		return out
	}
	t.sortKids(n.id)
	l := t.kids.at(t.rec(n.id).kids)
	out := make([]string, 0, l.len())
	for run := range l.runs {
		for _, id := range run {
			out = append(out, t.nameOf(id))
		}
	}
	if len(out) >= listedMin {
		t.listed[n.id] = out
	}
	return out
}

// EncodedChildren returns the names of n's children in sorted order as a
// jute vector of strings, the body of a getChildren reply. Like Children's
// answer, the slice may be shared and must not be modified; listing a
// large child set again costs nothing until it changes.
func (t *Tree) EncodedChildren(n Node) []byte {
	if b, ok := t.encoded[n.id]; ok {
		return b
	}
	names := t.Children(n)
	e := jute.NewEncoder(nil)
	e.Strings(names)
	b := e.Bytes()
	if len(names) >= listedMin {
		t.encoded[n.id] = b
	}
	return b
}

// CountDescendants returns the number of nodes below path, excluding it.
func (t *Tree) CountDescendants(path string) int {
	if path == "" {
		// ZooKeeper counts the map keys under "" — which include "/" itself.
		return t.CountDescendants(RootPath) + 1
	}
	id := t.find(path)
	if id == 0 {
		return 0
	}
	total := 0
	stack := []nodeID{id}
	for len(stack) > 0 {
		top := len(stack) - 1
		stack = t.appendKidIDs(stack[:top], t.rec(stack[top]))
		total += len(stack) - top
	}
	return total
}

func join(parent, child string) string {
	if parent == RootPath {
		return "/" + child
	}
	return parent + "/" + child
}

// pathOf builds a node's full path from its ancestors' names.
func (t *Tree) pathOf(id nodeID) string {
	if id == rootID {
		return RootPath
	}
	var names []string
	size := 0
	for ; id != rootID && id != 0; id = t.rec(id).parent {
		n := t.nameOf(id)
		names = append(names, n)
		size += 1 + len(n)
	}
	var b strings.Builder
	b.Grow(size)
	for i := len(names) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(names[i])
	}
	return b.String()
}

// pathsOf returns the sorted paths of a set of nodes.
func (t *Tree) pathsOf(set map[nodeID]struct{}) []string {
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, t.pathOf(id))
	}
	slices.Sort(out)
	return out
}

// Ephemerals returns the paths of the ephemeral nodes owned by session, in
// sorted order.
func (t *Tree) Ephemerals(session int64) []string { return t.pathsOf(t.ephemerals[session]) }

// EphemeralOwners returns every session that owns ephemeral nodes.
func (t *Tree) EphemeralOwners() []int64 {
	out := make([]int64, 0, len(t.ephemerals))
	for s := range t.ephemerals {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// EphemeralCount returns the number of ephemeral nodes.
func (t *Tree) EphemeralCount() int {
	n := 0
	for _, s := range t.ephemerals {
		n += len(s)
	}
	return n
}

// NodeCount returns the number of znodes.
func (t *Tree) NodeCount() int { return t.count }

// ApproximateDataSize returns Σ(path length + data length) over the nodes,
// as ZooKeeper's zk_approximate_data_size reports it.
func (t *Tree) ApproximateDataSize() int64 { return t.dataSize + t.pathSize }

// LastZxid returns the zxid of the last transaction applied.
func (t *Tree) LastZxid() jute.Zxid { return t.lastZxid }

// SetLastZxid sets the last applied zxid (restore from a snapshot).
func (t *Tree) SetLastZxid(z jute.Zxid) { t.lastZxid = z }

// ReapCandidates returns the containers that are empty and have had a child
// and the TTL nodes that are empty and whose TTL has passed since their last
// modification, at time now (ms). Containers never used are included when
// maxNeverUsed > 0 and they are older than that (§5.8).
func (t *Tree) ReapCandidates(now, maxNeverUsed int64) []string {
	var out []string
	for id := range t.containers {
		r := t.rec(id)
		if r.kids != 0 {
			continue
		}
		if r.cversion > 0 || (maxNeverUsed > 0 && now-t.parsed(id).st.mtime > maxNeverUsed) {
			out = append(out, t.pathOf(id))
		}
	}
	for id := range t.ttls {
		r := t.rec(id)
		if st := t.parsed(id).st; r.kids == 0 && now-st.mtime > ttlOf(st.owner) {
			out = append(out, t.pathOf(id))
		}
	}
	slices.Sort(out)
	return out
}

// indexOwner files a node under the index its stored owner selects
// (§3.4). TTL encodings count only with extended types; without them
// ZooKeeper takes the value for a session id.
func (t *Tree) indexOwner(id nodeID, owner int64, extendedTypes bool) {
	switch {
	case owner == 0:
	case owner == containerOwner:
		t.containers[id] = struct{}{}
	case extendedTypes && ttlOf(owner) != 0:
		t.ttls[id] = struct{}{}
	default:
		set := t.ephemerals[owner]
		if set == nil {
			set = make(map[nodeID]struct{})
			t.ephemerals[owner] = set
		}
		set[id] = struct{}{}
	}
}

// unindexOwner removes a node from whichever owner index holds it.
func (t *Tree) unindexOwner(id nodeID, owner int64) {
	delete(t.containers, id)
	delete(t.ttls, id)
	if set := t.ephemerals[owner]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(t.ephemerals, owner)
		}
	}
}

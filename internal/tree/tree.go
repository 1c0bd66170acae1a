package tree

import (
	"encoding/binary"
	"math"
	"slices"
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

// Node is one znode. Its fields are read-only outside this package; Data
// is never modified in place (setData replaces the slice), so a reader may
// keep a reference to it after the tree changes.
type Node struct {
	// Data is the node's data; nil means null data.
	Data []byte
	// ACL is the node's access list; lists are shared between nodes with
	// equal lists and must not be modified.
	ACL []jute.ACL
	// Stat is the stored metadata (internal cversion and owner encodings).
	Stat     jute.StatPersisted
	children map[string]struct{}
}

// NumChildren returns the number of children.
func (n *Node) NumChildren() int { return len(n.children) }

// IsEphemeral reports whether the node is owned by a session.
func (n *Node) IsEphemeral() bool { return OwnerSession(n.Stat.EphemeralOwner) != 0 }

// IsContainer reports whether the node is a container.
func (n *Node) IsContainer() bool { return n.Stat.EphemeralOwner == containerOwner }

// TTL returns the node's TTL in ms, or 0 if it is not a TTL node.
func (n *Node) TTL() int64 { return ttlOf(n.Stat.EphemeralOwner) }

// PublicStat returns the Stat clients see (§5.1, §5.5, §5.7).
func (n *Node) PublicStat() jute.Stat {
	s := &n.Stat
	nc := int32(len(n.children))
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
	nodes      map[string]*Node
	ephemerals map[int64]map[string]struct{}
	containers map[string]struct{}
	ttls       map[string]struct{}
	acls       map[string][]jute.ACL // interned ACL lists
	dataSize   int64                 // Σ len(data) over all nodes
	pathSize   int64                 // Σ len(path) over all nodes
	lastZxid   jute.Zxid
	quotas     map[string]struct{} // paths with a registered quota
	// sorted caches the sorted child names of nodes with many children,
	// built by Children and dropped when the node's children change, so
	// that listing a large, unchanging child set costs no sort.
	sorted map[*Node][]string
}

// sortedCacheMin is the number of children from which Children keeps its
// sorted answer; smaller lists are cheaper to sort again than to cache.
const sortedCacheMin = 64

// New returns a fresh tree with ZooKeeper's four built-in nodes (§9.3).
func New() *Tree {
	t := &Tree{
		nodes:      make(map[string]*Node),
		ephemerals: make(map[int64]map[string]struct{}),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
		acls:       make(map[string][]jute.ACL),
		sorted:     make(map[*Node][]string),
	}
	open := t.intern([]jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}})
	read := t.intern([]jute.ACL{{Perms: jute.PermRead, ID: jute.Id{Scheme: "world", ID: "anyone"}}})
	// Built-in nodes are linked without counting child creations, so / and
	// /zookeeper report cversion -1 and -2 like ZooKeeper.
	t.put(RootPath, &Node{Data: []byte{}, ACL: open})
	t.put(ZKPath, &Node{Data: []byte{}, ACL: open})
	t.put(QuotaPath, &Node{Data: []byte{}, ACL: open})
	t.put(ConfigPath, &Node{Data: []byte{}, ACL: read, Stat: jute.StatPersisted{Aversion: -1}})
	return t
}

func (t *Tree) put(path string, n *Node) {
	t.nodes[path] = n
	t.dataSize += int64(len(n.Data))
	t.pathSize += int64(len(path))
	if path != RootPath {
		p := t.nodes[Parent(path)]
		if p.children == nil {
			p.children = make(map[string]struct{})
		}
		p.children[Base(path)] = struct{}{}
		delete(t.sorted, p)
	}
}

// intern returns a shared copy of an ACL list equal to acl.
func (t *Tree) intern(acl []jute.ACL) []jute.ACL {
	k := aclKey(acl)
	if l, ok := t.acls[k]; ok {
		return l
	}
	l := slices.Clone(acl)
	t.acls[k] = l
	return l
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
func (t *Tree) Get(path string) (*Node, bool) {
	if path == "" {
		path = RootPath
	}
	n, ok := t.nodes[path]
	return n, ok
}

// Children returns the names of n's children in sorted order. The slice
// may be shared with earlier and later callers and must not be modified;
// it stays valid (as the list at the time of the call) after the tree
// changes. Listing a large child set again costs nothing until it changes.
func (t *Tree) Children(n *Node) []string {
	if out, ok := t.sorted[n]; ok {
		return out
	}
	out := make([]string, 0, len(n.children))
	for c := range n.children {
		out = append(out, c)
	}
	slices.Sort(out)
	if len(out) >= sortedCacheMin {
		t.sorted[n] = out
	}
	return out
}

// CountDescendants returns the number of nodes below path, excluding it.
func (t *Tree) CountDescendants(path string) int {
	if path == "" {
		// ZooKeeper counts the map keys under "" — which include "/" itself.
		return t.CountDescendants(RootPath) + 1
	}
	if _, ok := t.nodes[path]; !ok {
		return 0
	}
	total := 0
	stack := []string{path}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for c := range t.nodes[p].children {
			total++
			stack = append(stack, join(p, c))
		}
	}
	return total
}

func join(parent, child string) string {
	if parent == RootPath {
		return "/" + child
	}
	return parent + "/" + child
}

// Ephemerals returns the paths of the ephemeral nodes owned by session, in
// sorted order.
func (t *Tree) Ephemerals(session int64) []string {
	set := t.ephemerals[session]
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

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
func (t *Tree) NodeCount() int { return len(t.nodes) }

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
	for p := range t.containers {
		n := t.nodes[p]
		if len(n.children) > 0 {
			continue
		}
		if n.Stat.Cversion > 0 || (maxNeverUsed > 0 && now-n.Stat.Mtime > maxNeverUsed) {
			out = append(out, p)
		}
	}
	for p := range t.ttls {
		n := t.nodes[p]
		if len(n.children) == 0 && now-n.Stat.Mtime > n.TTL() {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

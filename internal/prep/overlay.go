package prep

import (
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

// NodeInfo is what prep needs to know about a node.
type NodeInfo struct {
	Stat        jute.StatPersisted
	ACL         []jute.ACL
	NumChildren int32
	// DataLen is the length of the node's data.
	DataLen int
}

type change struct {
	zxid    jute.Zxid
	info    NodeInfo
	deleted bool
}

// Overlay is the tree as it will be once every prepared transaction is
// applied. Lookups fall through to the parent overlay, then to the tree.
type Overlay struct {
	tree    *tree.Tree
	parent  *Overlay
	changes map[string]*change
	// touched lists (zxid, path) in the order changes were made, so that
	// Applied retires a transaction's changes without scanning them all.
	touched []touch
	// quota lists, in zxid order, how the prepared transactions change
	// the usage of quotas (see checkQuota).
	quota []quotaDelta
}

type touch struct {
	zxid jute.Zxid
	path string
}

// NewOverlay returns an empty overlay over t.
func NewOverlay(t *tree.Tree) *Overlay {
	return &Overlay{tree: t, changes: make(map[string]*change)}
}

func (o *Overlay) child() *Overlay {
	return &Overlay{tree: o.tree, parent: o, changes: make(map[string]*change)}
}

// merge moves a child overlay's changes into o.
func (o *Overlay) merge(c *Overlay) {
	for p, ch := range c.changes {
		o.changes[p] = ch
	}
	o.touched = append(o.touched, c.touched...)
	o.quota = append(o.quota, c.quota...)
}

// Lookup returns the node at path as prepared transactions will leave it.
func (o *Overlay) Lookup(path string) (NodeInfo, bool) {
	for l := o; l != nil; l = l.parent {
		if ch, ok := l.changes[path]; ok {
			return ch.info, !ch.deleted
		}
	}
	n, ok := o.tree.Get(path)
	if !ok {
		return NodeInfo{}, false
	}
	return NodeInfo{Stat: n.Stat, ACL: n.ACL, NumChildren: int32(n.NumChildren()), DataLen: len(n.Data)}, true
}

// Pending returns the number of paths with pending changes.
func (o *Overlay) Pending() int { return len(o.changes) }

// Applied retires the pending changes made by the transaction with zxid;
// later changes to the same paths stay.
func (o *Overlay) Applied(zxid jute.Zxid) {
	n := 0
	for _, t := range o.touched {
		if t.zxid > zxid {
			break
		}
		if ch, ok := o.changes[t.path]; ok && ch.zxid <= zxid {
			delete(o.changes, t.path)
		}
		n++
	}
	clear(o.touched[:n])
	o.touched = o.touched[n:]
	n = 0
	for n < len(o.quota) && o.quota[n].zxid <= zxid {
		n++
	}
	clear(o.quota[:n])
	o.quota = o.quota[n:]
}

// Reset drops every pending change (after a failure of the commit step,
// when nothing prepared will be applied).
func (o *Overlay) Reset() {
	clear(o.changes)
	o.touched = nil
	o.quota = nil
}

func (o *Overlay) set(path string, zxid jute.Zxid, info NodeInfo, deleted bool) {
	o.changes[path] = &change{zxid: zxid, info: info, deleted: deleted}
	o.touched = append(o.touched, touch{zxid: zxid, path: path})
}

// ephemerals returns the session's ephemeral paths as they will be.
func (o *Overlay) ephemerals(session jute.SessionID) []string {
	seen := make(map[string]bool)
	var out []string
	for l := o; l != nil; l = l.parent {
		for p, ch := range l.changes {
			if seen[p] {
				continue
			}
			seen[p] = true
			if !ch.deleted && ch.info.Stat.EphemeralOwner == int64(session) {
				out = append(out, p)
			}
		}
	}
	for _, p := range o.tree.Ephemerals(int64(session)) {
		if !seen[p] {
			if _, ok := o.Lookup(p); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// record notes the effect of a successful sub-transaction.
func (o *Overlay) record(h *jute.TxnHeader, rec jute.Record) {
	switch r := rec.(type) {
	case *jute.CreateTxn:
		owner := int64(0)
		if r.Ephemeral {
			owner = int64(h.ClientID)
		}
		o.created(h, r.Path, len(r.Data), r.ACL, owner, r.ParentCVersion)
	case *jute.CreateContainerTxn:
		o.created(h, r.Path, len(r.Data), r.ACL, tree.ContainerOwner, r.ParentCVersion)
	case *jute.CreateTTLTxn:
		o.created(h, r.Path, len(r.Data), r.ACL, tree.TTLOwner(r.TTL), r.ParentCVersion)
	case *jute.DeleteTxn:
		o.deleted(h.Zxid, r.Path)
	case *jute.SetDataTxn:
		info, _ := o.Lookup(r.Path)
		o.quotaChange(h.Zxid, r.Path, 0, int64(len(r.Data)-info.DataLen))
		info.DataLen = len(r.Data)
		info.Stat.Version = r.Version
		info.Stat.Mzxid = h.Zxid
		info.Stat.Mtime = h.Time
		o.set(r.Path, h.Zxid, info, false)
	case *jute.SetACLTxn:
		info, _ := o.Lookup(r.Path)
		info.ACL = r.ACL
		info.Stat.Aversion = r.Version
		o.set(r.Path, h.Zxid, info, false)
	case *jute.CloseSessionTxn:
		for _, p := range r.Paths {
			o.deleted(h.Zxid, p)
		}
	case *jute.MultiTxn:
		for _, op := range r.Ops {
			o.record(h, op.Record)
		}
	}
}

func (o *Overlay) created(h *jute.TxnHeader, path string, dataLen int, acl []jute.ACL, owner int64, parentCV int32) {
	o.set(path, h.Zxid, NodeInfo{
		Stat:    jute.StatPersisted{Czxid: h.Zxid, Mzxid: h.Zxid, Pzxid: h.Zxid, Ctime: h.Time, Mtime: h.Time, EphemeralOwner: owner},
		ACL:     acl,
		DataLen: dataLen,
	}, false)
	o.quotaChange(h.Zxid, path, 1, int64(dataLen))
	pp := tree.Parent(path)
	parent, _ := o.Lookup(pp)
	parent.Stat.Cversion = parentCV
	parent.Stat.Pzxid = h.Zxid
	parent.NumChildren++
	o.set(pp, h.Zxid, parent, false)
}

func (o *Overlay) deleted(zxid jute.Zxid, path string) {
	info, ok := o.Lookup(path)
	if !ok {
		return
	}
	o.set(path, zxid, info, true)
	o.quotaChange(zxid, path, -1, -int64(info.DataLen))
	pp := tree.Parent(path)
	parent, _ := o.Lookup(pp)
	parent.NumChildren--
	if zxid > parent.Stat.Pzxid {
		parent.Stat.Pzxid = zxid
	}
	o.set(pp, zxid, parent, false)
}

// quotaChange notes that the transaction zxid changes the nodes and bytes
// under path; it matters only while a quota may cover path.
func (o *Overlay) quotaChange(zxid jute.Zxid, path string, count, bytes int64) {
	if _, ok := o.tree.QuotaRoot(path); !ok {
		return
	}
	o.quota = append(o.quota, quotaDelta{zxid: zxid, path: path, count: count, bytes: bytes})
}

package tree

import (
	"github.com/zkd/zkd/internal/jute"
)

// Result is the outcome of applying one transaction or one sub-operation of
// a multi.
type Result struct {
	// Type is the txn type (jute.OpError for an error result).
	Type jute.OpCode
	// Err is the error code; OK on success.
	Err jute.Code
	// Path is the created node's path, for creates.
	Path string
	// Stat is the node's Stat after a create, setData or setACL.
	Stat jute.Stat
	// Multi holds the per-op results of a multi.
	Multi []Result
	// Deleted lists the ephemeral paths a closeSession removed.
	Deleted []string
}

// Apply applies a committed transaction and returns its result and the
// watch triggers it fired, in firing order. Errors that replay tolerates
// (NONODE on delete, NODEEXISTS on create) come back in Result.Err and leave
// the tree as it was.
func (t *Tree) Apply(txn *jute.Txn) (Result, []Trigger) {
	var trig []Trigger
	res := t.apply(&txn.Header, txn.Header.Type, txn.Record, &trig)
	if txn.Header.Zxid > t.lastZxid {
		t.lastZxid = txn.Header.Zxid
	}
	return res, trig
}

func (t *Tree) apply(h *jute.TxnHeader, typ jute.OpCode, rec jute.Record, trig *[]Trigger) Result {
	res := Result{Type: typ}
	switch r := rec.(type) {
	case *jute.CreateTxn:
		owner := int64(0)
		if r.Ephemeral {
			owner = int64(h.ClientID)
		}
		res.Path, res.Stat, res.Err = t.create(h, typ, r.Path, r.Data, r.ACL, owner, r.ParentCVersion, trig)
	case *jute.CreateContainerTxn:
		res.Path, res.Stat, res.Err = t.create(h, typ, r.Path, r.Data, r.ACL, containerOwner, r.ParentCVersion, trig)
	case *jute.CreateTTLTxn:
		res.Path, res.Stat, res.Err = t.create(h, typ, r.Path, r.Data, r.ACL, TTLOwner(r.TTL), r.ParentCVersion, trig)
	case *jute.DeleteTxn:
		res.Err = t.delete(h.Zxid, r.Path, trig)
	case *jute.SetDataTxn:
		res.Stat, res.Err = t.setData(h, r, trig)
	case *jute.SetACLTxn:
		n, ok := t.nodes[r.Path]
		if !ok {
			res.Err = jute.ErrNoNode
			break
		}
		n.ACL = t.intern(r.ACL)
		n.Stat.Aversion = r.Version
		res.Stat = n.PublicStat()
	case *jute.CheckVersionTxn:
		if n, ok := t.nodes[r.Path]; ok {
			res.Stat = n.PublicStat()
		}
	case *jute.ErrorTxn:
		res.Type = jute.OpError
		res.Err = r.Err
	case *jute.MultiTxn:
		res.Multi = t.applyMulti(h, r, trig)
	case *jute.CreateSessionTxn:
		// Sessions live outside the tree.
	case *jute.CloseSessionTxn:
		res.Deleted = t.closeSession(h, r, trig)
	case nil:
		if typ == jute.OpCloseSession {
			res.Deleted = t.closeSession(h, &jute.CloseSessionTxn{}, trig)
		}
	}
	return res
}

func (t *Tree) applyMulti(h *jute.TxnHeader, m *jute.MultiTxn, trig *[]Trigger) []Result {
	out := make([]Result, len(m.Ops))
	failedAt := -1
	for i, op := range m.Ops {
		if op.Type == jute.OpError {
			failedAt = i
			break
		}
	}
	if failedAt >= 0 {
		// A failed multi applies nothing (storage-and-quorum.md §2.6): ops
		// before the failure report OK, the failing op its error, later
		// ops RUNTIMEINCONSISTENCY.
		for i, op := range m.Ops {
			code := jute.OK
			switch {
			case i == failedAt:
				code = jute.ErrRuntimeInconsistency
				if e, ok := op.Record.(*jute.ErrorTxn); ok {
					code = e.Err
				}
			case i > failedAt:
				code = jute.ErrRuntimeInconsistency
			}
			out[i] = Result{Type: jute.OpError, Err: code}
		}
		return out
	}
	for i, op := range m.Ops {
		out[i] = t.apply(h, op.Type, op.Record, trig)
	}
	return out
}

func (t *Tree) create(h *jute.TxnHeader, typ jute.OpCode, path string, data []byte, acl []jute.ACL, owner int64, parentCV int32, trig *[]Trigger) (string, jute.Stat, jute.Code) {
	parentPath := Parent(path)
	parent, ok := t.nodes[parentPath]
	if !ok || path == RootPath {
		return "", jute.Stat{}, jute.ErrNoNode
	}
	if _, exists := t.nodes[path]; exists {
		// Fuzzy-snapshot fixup of replay (§2.7), create only.
		if typ == jute.OpCreate && parentCV > parent.Stat.Cversion {
			parent.Stat.Cversion = parentCV
			parent.Stat.Pzxid = h.Zxid
		}
		return "", jute.Stat{}, jute.ErrNodeExists
	}
	if parentCV == -1 {
		parentCV = parent.Stat.Cversion + 1
	}
	if parentCV > parent.Stat.Cversion {
		parent.Stat.Cversion = parentCV
		parent.Stat.Pzxid = h.Zxid
	}
	n := &Node{
		Data: data,
		ACL:  t.intern(acl),
		Stat: jute.StatPersisted{
			Czxid: h.Zxid, Mzxid: h.Zxid, Pzxid: h.Zxid,
			Ctime: h.Time, Mtime: h.Time, EphemeralOwner: owner,
		},
	}
	t.put(path, n)
	t.quotaOnCreate(path, n)
	switch {
	case owner == containerOwner:
		t.containers[path] = struct{}{}
	case ttlOf(owner) != 0:
		t.ttls[path] = struct{}{}
	case owner != 0:
		set := t.ephemerals[owner]
		if set == nil {
			set = make(map[string]struct{})
			t.ephemerals[owner] = set
		}
		set[path] = struct{}{}
	}
	*trig = append(*trig, Trigger{jute.EventNodeCreated, path, n.ACL}, Trigger{jute.EventNodeChildrenChanged, parentPath, parent.ACL})
	return path, n.PublicStat(), jute.OK
}

func (t *Tree) delete(zxid jute.Zxid, path string, trig *[]Trigger) jute.Code {
	n, ok := t.nodes[path]
	if !ok || path == RootPath {
		// Replaying onto a fuzzy snapshot that already lacks the node: the
		// parent's pzxid still moves, as it did when the delete first ran.
		if parent, ok := t.nodes[Parent(path)]; ok && path != RootPath && zxid > parent.Stat.Pzxid {
			parent.Stat.Pzxid = zxid
		}
		return jute.ErrNoNode
	}
	parentPath := Parent(path)
	parent, ok := t.nodes[parentPath]
	if !ok {
		return jute.ErrNoNode // cannot happen in a consistent tree; never panic
	}
	delete(parent.children, Base(path))
	delete(t.sorted, parent)
	if zxid > parent.Stat.Pzxid {
		parent.Stat.Pzxid = zxid
	}
	// A node deleted with children only happens when replaying onto a fuzzy
	// snapshot that caught children created after this delete; the log
	// creates them again, so they go too rather than linger parentless.
	for _, c := range t.Children(n) {
		t.unlink(join(path, c))
	}
	t.unlink(path)
	*trig = append(*trig, Trigger{jute.EventNodeDeleted, path, n.ACL}, Trigger{jute.EventNodeChildrenChanged, parentPath, parent.ACL})
	return jute.OK
}

// unlink removes a node and everything below it from the node map and
// the indexes, without firing anything. The caller detaches it from its
// parent.
func (t *Tree) unlink(path string) {
	n, ok := t.nodes[path]
	if !ok {
		return
	}
	for _, c := range t.Children(n) {
		t.unlink(join(path, c))
	}
	delete(t.nodes, path)
	delete(t.sorted, n)
	t.quotaOnDelete(path, n)
	t.dataSize -= int64(len(n.Data))
	t.pathSize -= int64(len(path))
	// A node sits in at most one index; which one can depend on how it was
	// loaded (TTL owners are ephemerals when extended types are off), so
	// remove it from wherever it is.
	delete(t.containers, path)
	delete(t.ttls, path)
	if set := t.ephemerals[n.Stat.EphemeralOwner]; set != nil {
		delete(set, path)
		if len(set) == 0 {
			delete(t.ephemerals, n.Stat.EphemeralOwner)
		}
	}
}

func (t *Tree) setData(h *jute.TxnHeader, r *jute.SetDataTxn, trig *[]Trigger) (jute.Stat, jute.Code) {
	n, ok := t.nodes[r.Path]
	if !ok {
		return jute.Stat{}, jute.ErrNoNode
	}
	t.dataSize += int64(len(r.Data) - len(n.Data))
	t.quotaAdjust(r.Path, 0, int64(len(r.Data)-len(n.Data)))
	n.Data = r.Data
	n.Stat.Version = r.Version
	n.Stat.Mzxid = h.Zxid
	n.Stat.Mtime = h.Time
	*trig = append(*trig, Trigger{jute.EventNodeDataChanged, r.Path, n.ACL})
	return n.PublicStat(), jute.OK
}

func (t *Tree) closeSession(h *jute.TxnHeader, r *jute.CloseSessionTxn, trig *[]Trigger) []string {
	var deleted []string
	for _, p := range r.Paths {
		if t.delete(h.Zxid, p, trig) == jute.OK {
			deleted = append(deleted, p)
		}
	}
	for _, p := range t.Ephemerals(int64(h.ClientID)) {
		if t.delete(h.Zxid, p, trig) == jute.OK {
			deleted = append(deleted, p)
		}
	}
	return deleted
}

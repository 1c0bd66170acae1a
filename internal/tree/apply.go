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
	t.compact()
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
		id := t.find(r.Path)
		if id == 0 {
			res.Err = jute.ErrNoNode
			break
		}
		acl := t.intern(r.ACL)
		t.mrec(id).acl = acl
		b := t.parsed(id)
		b.st.aversion = r.Version
		t.rewrite(id, &b.st, b.data)
		res.Stat = t.publicStat(id)
	case *jute.CheckVersionTxn:
		if id := t.find(r.Path); id != 0 {
			res.Stat = t.publicStat(id)
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

// publicStat returns the Stat clients see of a node.
func (t *Tree) publicStat(id nodeID) jute.Stat {
	n := t.node(id)
	return n.PublicStat()
}

func (t *Tree) create(h *jute.TxnHeader, typ jute.OpCode, path string, data []byte, acl []jute.ACL, owner int64, parentCV int32, trig *[]Trigger) (string, jute.Stat, jute.Code) {
	parentPath := Parent(path)
	parent := t.find(parentPath)
	if parent == 0 || path == RootPath || len(path) < 2 || path[0] != '/' {
		return "", jute.Stat{}, jute.ErrNoNode
	}
	name := Base(path)
	pr := t.rec(parent)
	if t.find(path) != 0 {
		// Fuzzy-snapshot fixup of replay (§2.7), create only.
		if typ == jute.OpCreate && parentCV > pr.cversion {
			m := t.mrec(parent)
			m.cversion = parentCV
			m.pzxid = int64(h.Zxid)
		}
		return "", jute.Stat{}, jute.ErrNodeExists
	}
	if parentCV == -1 {
		parentCV = pr.cversion + 1
	}
	if parentCV > pr.cversion {
		m := t.mrec(parent)
		m.cversion = parentCV
		m.pzxid = int64(h.Zxid)
	}
	aclIdx := t.intern(acl)
	id := t.addNode(parent, path, name, data, aclIdx, jute.StatPersisted{
		Czxid: h.Zxid, Mzxid: h.Zxid, Pzxid: h.Zxid,
		Ctime: h.Time, Mtime: h.Time, EphemeralOwner: owner,
	})
	t.quotaOnCreate(path, len(data))
	t.indexOwner(id, owner, true)
	*trig = append(*trig, Trigger{jute.EventNodeCreated, path, t.acls[aclIdx]}, Trigger{jute.EventNodeChildrenChanged, parentPath, t.acls[t.rec(parent).acl]})
	return path, t.publicStat(id), jute.OK
}

func (t *Tree) delete(zxid jute.Zxid, path string, trig *[]Trigger) jute.Code {
	id := t.find(path)
	if id == 0 || id == rootID {
		// Replaying onto a fuzzy snapshot that already lacks the node: the
		// parent's pzxid still moves, as it did when the delete first ran.
		if path != RootPath && path != "" {
			if parent := t.find(Parent(path)); parent != 0 && int64(zxid) > t.rec(parent).pzxid {
				t.mrec(parent).pzxid = int64(zxid)
			}
		}
		return jute.ErrNoNode
	}
	parentPath := Parent(path)
	r := t.rec(id)
	parent := r.parent
	acl := t.acls[r.acl]
	// A node deleted with children only happens when replaying onto a fuzzy
	// snapshot that caught children created after this delete; the log
	// creates them again, so they go too rather than linger parentless.
	t.unlink(id, path)
	if int64(zxid) > t.rec(parent).pzxid {
		t.mrec(parent).pzxid = int64(zxid)
	}
	*trig = append(*trig, Trigger{jute.EventNodeDeleted, path, acl}, Trigger{jute.EventNodeChildrenChanged, parentPath, t.acls[t.rec(parent).acl]})
	return jute.OK
}

// unlink removes a node and everything below it from the tree and the
// indexes, without firing anything.
func (t *Tree) unlink(id nodeID, path string) {
	// A copy: each child's unlink changes the list.
	for _, c := range t.appendKidIDs(nil, t.rec(id)) {
		t.unlink(c, join(path, t.nameOf(c)))
	}
	b := t.parsed(id)
	t.quotaOnDelete(path, len(b.data))
	// A node sits in at most one index; which one can depend on how it was
	// loaded (TTL owners are ephemerals when extended types are off), so
	// remove it from wherever it is.
	t.unindexOwner(id, b.st.owner)
	t.removeNode(id, path)
}

func (t *Tree) setData(h *jute.TxnHeader, r *jute.SetDataTxn, trig *[]Trigger) (jute.Stat, jute.Code) {
	id := t.find(r.Path)
	if id == 0 {
		return jute.Stat{}, jute.ErrNoNode
	}
	b := t.parsed(id)
	t.quotaAdjust(r.Path, 0, int64(len(r.Data)-len(b.data)))
	b.st.version = r.Version
	b.st.mzxid = int64(h.Zxid)
	b.st.mtime = h.Time
	t.rewrite(id, &b.st, r.Data)
	*trig = append(*trig, Trigger{jute.EventNodeDataChanged, r.Path, t.acls[t.rec(id).acl]})
	return t.publicStat(id), jute.OK
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

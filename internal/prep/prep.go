package prep

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/zkd/zkd/internal/acl"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

// Settings are the server options that change what prep accepts.
type Settings struct {
	ACL acl.Settings
	// ExtendedTypes enables TTL nodes (zookeeper.extendedTypesEnabled).
	ExtendedTypes bool
	// ReconfigEnabled selects RECONFIGDISABLED vs UNIMPLEMENTED for reconfig
	// on a standalone server.
	ReconfigEnabled bool
	// EnforceQuota makes creates and setData beyond a hard quota fail with
	// QUOTAEXCEEDED (zookeeper.enforceQuota, 3.7+; see quota.go).
	EnforceQuota bool
	// Warn, when set, receives the warnings of quota checks (a limit
	// exceeded, a quota that cannot be read) with the request's path, for
	// the server's log.
	Warn func(msg, path string)
}

// Request is a write request as prep sees it.
type Request struct {
	Session jute.SessionID
	Cxid    int32
	Op      jute.OpCode
	// Body is the decoded request record; nil when it failed to decode
	// (the transaction becomes MARSHALLINGERROR).
	Body jute.Record
	// Identities are the caller's authenticated ids (ip, digest, super).
	Identities []jute.Id
	// Timeout is the negotiated timeout, for createSession.
	Timeout int32
	// Fail, when not OK, makes the write fail with this code: a check the
	// caller made before preparing (SESSIONMOVED on a leader).
	Fail jute.Code
}

// Preparer builds transactions. It owns an Overlay and must be used by one
// goroutine.
type Preparer struct {
	Settings Settings
	Overlay  *Overlay
	// QuotaExceeded counts the QUOTAEXCEEDED failures so far.
	QuotaExceeded QuotaExceeded
	// brokenQuota is set by a quota check that could not parse a quota's
	// text: the whole request fails with MARSHALLINGERROR.
	brokenQuota bool
}

// New returns a Preparer over t.
func New(t *tree.Tree, s Settings) *Preparer {
	return &Preparer{Settings: s, Overlay: NewOverlay(t)}
}

// IsWrite reports whether op is a transaction (consumes a zxid).
func IsWrite(op jute.OpCode) bool {
	switch op {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL, jute.OpDelete,
		jute.OpSetData, jute.OpSetACL, jute.OpMulti, jute.OpReconfig, jute.OpCreateSession, jute.OpCloseSession:
		return true
	}
	return false
}

// Prepare builds the transaction for a write request with the given zxid
// and time (ms), and records its effects in the overlay.
func (p *Preparer) Prepare(req *Request, zxid jute.Zxid, now int64) *jute.Txn {
	h := jute.TxnHeader{ClientID: req.Session, Cxid: req.Cxid, Zxid: zxid, Time: now, Type: req.Op}
	txn := &jute.Txn{Header: h}
	if req.Fail != jute.OK {
		txn.Header.Type = jute.OpError
		txn.Record = &jute.ErrorTxn{Err: req.Fail}
		return txn
	}
	if req.Body == nil {
		txn.Header.Type = jute.OpError
		txn.Record = &jute.ErrorTxn{Err: jute.ErrMarshallingError}
		return txn
	}
	switch req.Op {
	case jute.OpMulti:
		txn.Record = p.multi(&txn.Header, req)
		return txn
	case jute.OpCreateSession:
		txn.Record = &jute.CreateSessionTxn{Timeout: req.Timeout}
		return txn
	case jute.OpCloseSession:
		rec := &jute.CloseSessionTxn{Paths: p.Overlay.ephemerals(req.Session)}
		if rec.Paths == nil {
			rec.Paths = []string{}
		}
		txn.Record = rec
		p.Overlay.record(&txn.Header, rec)
		return txn
	case jute.OpDeleteContainer:
		// Only the server's own reaper may delete containers; a client's
		// op 20 fails like in ZooKeeper 3.8, consuming a zxid.
		txn.Header.Type = jute.OpError
		txn.Record = &jute.ErrorTxn{Err: jute.ErrBadArguments}
		return txn
	case jute.OpReconfig:
		code := jute.ErrReconfigDisabled
		if p.Settings.ReconfigEnabled {
			code = jute.ErrUnimplemented
		}
		txn.Header.Type = jute.OpError
		txn.Record = &jute.ErrorTxn{Err: code}
		return txn
	}
	p.brokenQuota = false
	rec, code := p.one(p.Overlay, &txn.Header, req.Op, req.Body, req.Identities)
	if code != jute.OK {
		txn.Header.Type = jute.OpError
		txn.Record = &jute.ErrorTxn{Err: code}
		return txn
	}
	txn.Record = rec
	p.Overlay.record(&txn.Header, rec)
	return txn
}

func (p *Preparer) multi(h *jute.TxnHeader, req *Request) jute.Record {
	m := req.Body.(*jute.MultiRequest)
	for _, op := range m.Ops {
		switch op.Type {
		case jute.OpGetData, jute.OpGetChildren:
			// Reads have no place in a write multi.
			h.Type = jute.OpError
			return &jute.ErrorTxn{Err: jute.ErrMarshallingError}
		}
	}
	scratch := p.Overlay.child()
	ops := make([]jute.TxnOp, 0, len(m.Ops))
	p.brokenQuota = false
	for i, op := range m.Ops {
		rec, code := p.one(scratch, h, op.Type, op.Req, req.Identities)
		if p.brokenQuota {
			// ZooKeeper fails the whole multi, not just the op.
			h.Type = jute.OpError
			return &jute.ErrorTxn{Err: code}
		}
		if code != jute.OK {
			// Like ZooKeeper, keep the sub-txns that passed, then the
			// error, then RUNTIMEINCONSISTENCY for the rest; nothing is
			// applied (storage-and-quorum.md §2.6).
			failed := append(ops, jute.TxnOp{Type: jute.OpError, Record: &jute.ErrorTxn{Err: code}})
			for range m.Ops[i+1:] {
				failed = append(failed, jute.TxnOp{Type: jute.OpError, Record: &jute.ErrorTxn{Err: jute.ErrRuntimeInconsistency}})
			}
			return &jute.MultiTxn{Ops: failed}
		}
		scratch.record(h, rec)
		ops = append(ops, jute.TxnOp{Type: op.Type, Record: rec})
	}
	p.Overlay.merge(scratch)
	return &jute.MultiTxn{Ops: ops}
}

// one prepares a single (possibly multi-contained) write against o.
func (p *Preparer) one(o *Overlay, h *jute.TxnHeader, op jute.OpCode, body jute.Record, ids []jute.Id) (jute.Record, jute.Code) {
	switch op {
	case jute.OpCreate, jute.OpCreate2, jute.OpCreateContainer:
		r, ok := body.(*jute.CreateRequest)
		if !ok {
			return nil, jute.ErrMarshallingError
		}
		return p.create(o, op, r.Path, r.Data, r.ACL, r.Flags, 0, false, ids)
	case jute.OpCreateTTL:
		r, ok := body.(*jute.CreateTTLRequest)
		if !ok {
			return nil, jute.ErrMarshallingError
		}
		return p.create(o, op, r.Path, r.Data, r.ACL, r.Flags, r.TTL, true, ids)
	case jute.OpDelete:
		r, ok := body.(*jute.DeleteRequest)
		if !ok {
			return nil, jute.ErrMarshallingError
		}
		return p.delete(o, r, ids)
	case jute.OpSetData:
		r, ok := body.(*jute.SetDataRequest)
		if !ok {
			return nil, jute.ErrMarshallingError
		}
		// Check order: client-protocol.md §4.3.5 (quota before version).
		n, code := p.permitted(o, r.Path, jute.PermWrite, ids)
		if code != jute.OK {
			return nil, code
		}
		if code := p.quota(r.Path, 0, int64(len(r.Data)-n.DataLen)); code != jute.OK {
			return nil, code
		}
		if r.Version != -1 && r.Version != n.Stat.Version {
			return nil, jute.ErrBadVersion
		}
		return &jute.SetDataTxn{Path: r.Path, Data: r.Data, Version: n.Stat.Version + 1}, jute.OK
	case jute.OpSetACL:
		r, ok := body.(*jute.SetACLRequest)
		if !ok {
			return nil, jute.ErrMarshallingError
		}
		if !ValidPath(r.Path) {
			return nil, jute.ErrBadArguments
		}
		list, valid := p.Settings.ACL.Normalize(r.ACL, ids)
		if !valid {
			return nil, jute.ErrInvalidACL
		}
		n, exists := o.Lookup(r.Path)
		if !exists {
			return nil, jute.ErrNoNode
		}
		if !p.Settings.ACL.Check(n.ACL, jute.PermAdmin, ids) {
			return nil, jute.ErrNoAuth
		}
		if r.Version != -1 && r.Version != n.Stat.Aversion {
			return nil, jute.ErrBadVersion
		}
		return &jute.SetACLTxn{Path: r.Path, ACL: list, Version: n.Stat.Aversion + 1}, jute.OK
	case jute.OpCheck:
		r, ok := body.(*jute.CheckVersionRequest)
		if !ok {
			return nil, jute.ErrMarshallingError
		}
		n, code := p.versioned(o, r.Path, jute.PermRead, r.Version, ids)
		if code != jute.OK {
			return nil, code
		}
		return &jute.CheckVersionTxn{Path: r.Path, Version: n.Stat.Version + 1}, jute.OK
	}
	return nil, jute.ErrMarshallingError
}

// versioned runs the checks of check (op 13), in ZooKeeper's order: full
// path validation, existence, permission, then the expected data version
// (-1 matches any).
func (p *Preparer) versioned(o *Overlay, path string, perm int32, version int32, ids []jute.Id) (NodeInfo, jute.Code) {
	n, code := p.permitted(o, path, perm, ids)
	if code != jute.OK {
		return NodeInfo{}, code
	}
	if version != -1 && version != n.Stat.Version {
		return NodeInfo{}, jute.ErrBadVersion
	}
	return n, jute.OK
}

// permitted runs the first checks of setData and check: full path
// validation, existence, then permission.
func (p *Preparer) permitted(o *Overlay, path string, perm int32, ids []jute.Id) (NodeInfo, jute.Code) {
	if !ValidPath(path) {
		return NodeInfo{}, jute.ErrBadArguments
	}
	n, exists := o.Lookup(path)
	if !exists {
		return NodeInfo{}, jute.ErrNoNode
	}
	if !p.Settings.ACL.Check(n.ACL, perm, ids) {
		return NodeInfo{}, jute.ErrNoAuth
	}
	return n, jute.OK
}

// quota runs checkQuota and notes a broken quota for the caller.
func (p *Preparer) quota(path string, dCount, dBytes int64) jute.Code {
	code, broken := p.checkQuota(path, dCount, dBytes)
	if broken {
		p.brokenQuota = true
	}
	return code
}

func (p *Preparer) create(o *Overlay, op jute.OpCode, path string, data []byte, aclList []jute.ACL, flags int32, ttl int64, hasTTL bool, ids []jute.Id) (jute.Record, jute.Code) {
	// Check order: client-protocol.md §4.3.1.
	if flags < 0 || flags > jute.ModePersistentSequentialWithTTL {
		return nil, jute.ErrBadArguments
	}
	ttlMode := flags == jute.ModePersistentWithTTL || flags == jute.ModePersistentSequentialWithTTL
	if ttlMode && !p.Settings.ExtendedTypes {
		return nil, jute.ErrUnimplemented
	}
	if ttlMode != hasTTL || (hasTTL && (ttl < 1 || ttl > tree.MaxTTL)) {
		return nil, jute.ErrBadArguments
	}
	if !strings.Contains(path, "/") || strings.IndexByte(path, 0) >= 0 {
		return nil, jute.ErrBadArguments
	}
	list, valid := p.Settings.ACL.Normalize(aclList, ids)
	if !valid {
		return nil, jute.ErrInvalidACL
	}
	parentPath := path[:strings.LastIndexByte(path, '/')]
	if parentPath == "" {
		parentPath = tree.RootPath
	}
	parent, exists := o.Lookup(parentPath)
	if !exists {
		return nil, jute.ErrNoNode
	}
	if !p.Settings.ACL.Check(parent.ACL, jute.PermCreate, ids) {
		return nil, jute.ErrNoAuth
	}
	if flags == jute.ModePersistentSequential || flags == jute.ModeEphemeralSequential || flags == jute.ModePersistentSequentialWithTTL {
		// %010d of the parent's child counter, like ZooKeeper (§5.6).
		path += fmt.Sprintf("%010d", parent.Stat.Cversion)
	}
	if !ValidPath(path) {
		return nil, jute.ErrBadArguments
	}
	if _, taken := o.Lookup(path); taken {
		return nil, jute.ErrNodeExists
	}
	if tree.OwnerSession(parent.Stat.EphemeralOwner) != 0 {
		return nil, jute.ErrNoChildrenForEphemerals
	}
	if code := p.quota(path, 1, int64(len(data))); code != jute.OK {
		return nil, code
	}
	cv := parent.Stat.Cversion + 1
	switch {
	case op == jute.OpCreateContainer:
		return &jute.CreateContainerTxn{Path: path, Data: data, ACL: list, ParentCVersion: cv}, jute.OK
	case op == jute.OpCreateTTL:
		return &jute.CreateTTLTxn{Path: path, Data: data, ACL: list, ParentCVersion: cv, TTL: ttl}, jute.OK
	}
	ephemeral := flags == jute.ModeEphemeral || flags == jute.ModeEphemeralSequential
	return &jute.CreateTxn{Path: path, Data: data, ACL: list, Ephemeral: ephemeral, ParentCVersion: cv}, jute.OK
}

func (p *Preparer) delete(o *Overlay, r *jute.DeleteRequest, ids []jute.Id) (jute.Record, jute.Code) {
	// Check order: client-protocol.md §4.3.2.
	switch r.Path {
	case tree.RootPath, tree.ZKPath, tree.QuotaPath, tree.ConfigPath:
		return nil, jute.ErrBadArguments
	}
	if !strings.Contains(r.Path, "/") || strings.IndexByte(r.Path, 0) >= 0 {
		return nil, jute.ErrBadArguments
	}
	parentPath := r.Path[:strings.LastIndexByte(r.Path, '/')]
	if parentPath == "" {
		parentPath = tree.RootPath
	}
	parent, exists := o.Lookup(parentPath)
	if !exists {
		return nil, jute.ErrNoNode
	}
	if !p.Settings.ACL.Check(parent.ACL, jute.PermDelete, ids) {
		return nil, jute.ErrNoAuth
	}
	n, exists := o.Lookup(r.Path)
	if !exists {
		return nil, jute.ErrNoNode
	}
	if r.Version != -1 && r.Version != n.Stat.Version {
		return nil, jute.ErrBadVersion
	}
	if n.NumChildren > 0 {
		return nil, jute.ErrNotEmpty
	}
	return &jute.DeleteTxn{Path: r.Path}, jute.OK
}

// ReapTxn builds the deleteContainer transaction the container/TTL reaper
// issues for path, or nil if the node no longer qualifies (it gained a child
// or is gone in the overlay).
func (p *Preparer) ReapTxn(path string, zxid jute.Zxid, now int64) *jute.Txn {
	n, ok := p.Overlay.Lookup(path)
	if !ok || n.NumChildren > 0 {
		return nil
	}
	h := jute.TxnHeader{Zxid: zxid, Time: now, Type: jute.OpDeleteContainer}
	rec := &jute.DeleteTxn{Path: path}
	p.Overlay.record(&h, rec)
	return &jute.Txn{Header: h, Record: rec}
}

// ValidPath reports whether path is a valid znode path (§9.1).
func ValidPath(path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	if path == "/" {
		return true
	}
	if path[len(path)-1] == '/' {
		return false
	}
	if !utf8.ValidString(path) {
		return false
	}
	for _, comp := range strings.Split(path[1:], "/") {
		if comp == "" || comp == "." || comp == ".." {
			return false
		}
	}
	for _, r := range path {
		switch {
		case r == 0,
			r >= 0x01 && r <= 0x1f,
			r >= 0x7f && r <= 0x9f,
			r >= 0xd800 && r <= 0xf8ff,
			r >= 0xfff0 && r <= 0xffff,
			r >= 0x10000:
			return false
		}
	}
	return true
}

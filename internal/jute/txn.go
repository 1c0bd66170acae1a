package jute

import "fmt"

// This file holds the transaction records, spec storage-and-quorum.md §0.3
// and §2.3: what the server logs, replicates and applies.

// TxnHeader precedes every transaction.
type TxnHeader struct {
	ClientID SessionID
	Cxid     int32
	Zxid     Zxid
	Time     int64
	Type     OpCode
}

// Encode writes the header.
func (h *TxnHeader) Encode(e *Encoder) {
	e.Long(int64(h.ClientID))
	e.Int(h.Cxid)
	e.Long(int64(h.Zxid))
	e.Long(h.Time)
	e.Int(int32(h.Type))
}

// Decode reads the header.
func (h *TxnHeader) Decode(d *Decoder) {
	h.ClientID = SessionID(d.Long())
	h.Cxid = d.Int()
	h.Zxid = Zxid(d.Long())
	h.Time = d.Long()
	h.Type = OpCode(d.Int())
}

// TxnDigest is the tree digest a transaction should leave behind.
type TxnDigest struct {
	Version    int32
	TreeDigest int64
}

// Encode writes the digest.
func (t *TxnDigest) Encode(e *Encoder) { e.Int(t.Version); e.Long(t.TreeDigest) }

// Decode reads the digest.
func (t *TxnDigest) Decode(d *Decoder) { t.Version = d.Int(); t.TreeDigest = d.Long() }

// CreateTxn creates a persistent, ephemeral or sequential node.
type CreateTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	Ephemeral      bool
	ParentCVersion int32
}

// Encode writes the txn.
func (t *CreateTxn) Encode(e *Encoder) {
	e.String(t.Path)
	e.Buffer(t.Data)
	EncodeACLs(e, t.ACL)
	e.Bool(t.Ephemeral)
	e.Int(t.ParentCVersion)
}

// Decode reads the txn.
func (t *CreateTxn) Decode(d *Decoder) {
	t.Path = d.String()
	t.Data = d.BufferCopy()
	t.ACL = DecodeACLs(d)
	t.Ephemeral = d.Bool()
	t.ParentCVersion = d.Int()
}

// CreateTTLTxn creates a TTL node.
type CreateTTLTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
	TTL            int64
}

// Encode writes the txn.
func (t *CreateTTLTxn) Encode(e *Encoder) {
	e.String(t.Path)
	e.Buffer(t.Data)
	EncodeACLs(e, t.ACL)
	e.Int(t.ParentCVersion)
	e.Long(t.TTL)
}

// Decode reads the txn.
func (t *CreateTTLTxn) Decode(d *Decoder) {
	t.Path = d.String()
	t.Data = d.BufferCopy()
	t.ACL = DecodeACLs(d)
	t.ParentCVersion = d.Int()
	t.TTL = d.Long()
}

// CreateContainerTxn creates a container node.
type CreateContainerTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
}

// Encode writes the txn.
func (t *CreateContainerTxn) Encode(e *Encoder) {
	e.String(t.Path)
	e.Buffer(t.Data)
	EncodeACLs(e, t.ACL)
	e.Int(t.ParentCVersion)
}

// Decode reads the txn.
func (t *CreateContainerTxn) Decode(d *Decoder) {
	t.Path = d.String()
	t.Data = d.BufferCopy()
	t.ACL = DecodeACLs(d)
	t.ParentCVersion = d.Int()
}

// DeleteTxn deletes a node (delete and deleteContainer).
type DeleteTxn struct{ Path string }

// Encode writes the txn.
func (t *DeleteTxn) Encode(e *Encoder) { e.String(t.Path) }

// Decode reads the txn.
func (t *DeleteTxn) Decode(d *Decoder) { t.Path = d.String() }

// SetDataTxn replaces a node's data; Version is the new version.
type SetDataTxn struct {
	Path    string
	Data    []byte
	Version int32
}

// Encode writes the txn.
func (t *SetDataTxn) Encode(e *Encoder) { e.String(t.Path); e.Buffer(t.Data); e.Int(t.Version) }

// Decode reads the txn.
func (t *SetDataTxn) Decode(d *Decoder) {
	t.Path = d.String()
	t.Data = d.BufferCopy()
	t.Version = d.Int()
}

// CheckVersionTxn is a successful check inside a multi.
type CheckVersionTxn struct {
	Path    string
	Version int32
}

// Encode writes the txn.
func (t *CheckVersionTxn) Encode(e *Encoder) { e.String(t.Path); e.Int(t.Version) }

// Decode reads the txn.
func (t *CheckVersionTxn) Decode(d *Decoder) { t.Path = d.String(); t.Version = d.Int() }

// SetACLTxn replaces a node's ACL; Version is the new aversion.
type SetACLTxn struct {
	Path    string
	ACL     []ACL
	Version int32
}

// Encode writes the txn.
func (t *SetACLTxn) Encode(e *Encoder) { e.String(t.Path); EncodeACLs(e, t.ACL); e.Int(t.Version) }

// Decode reads the txn.
func (t *SetACLTxn) Decode(d *Decoder) {
	t.Path = d.String()
	t.ACL = DecodeACLs(d)
	t.Version = d.Int()
}

// CreateSessionTxn opens a session with a negotiated timeout.
type CreateSessionTxn struct{ Timeout int32 }

// Encode writes the txn.
func (t *CreateSessionTxn) Encode(e *Encoder) { e.Int(t.Timeout) }

// Decode reads the txn.
func (t *CreateSessionTxn) Decode(d *Decoder) { t.Timeout = d.Int() }

// CloseSessionTxn closes a session and deletes its ephemeral nodes.
type CloseSessionTxn struct{ Paths []string }

// Encode writes the txn.
func (t *CloseSessionTxn) Encode(e *Encoder) {
	if t.Paths == nil {
		e.Int(0)
		return
	}
	e.Strings(t.Paths)
}

// Decode reads the txn.
func (t *CloseSessionTxn) Decode(d *Decoder) { t.Paths = d.Strings() }

// ErrorTxn records a write that failed in prep; it changes nothing.
type ErrorTxn struct{ Err Code }

// Encode writes the txn.
func (t *ErrorTxn) Encode(e *Encoder) { e.Int(int32(t.Err)) }

// Decode reads the txn.
func (t *ErrorTxn) Decode(d *Decoder) { t.Err = Code(d.Int()) }

// TxnOp is one sub-transaction of a MultiTxn.
type TxnOp struct {
	Type   OpCode
	Record Record
}

// MultiTxn is an atomic group of sub-transactions.
type MultiTxn struct{ Ops []TxnOp }

// Encode writes each sub-record as a {type, buffer} pair.
func (t *MultiTxn) Encode(e *Encoder) {
	e.Int(int32(len(t.Ops)))
	sub := NewEncoder(nil)
	for _, op := range t.Ops {
		e.Int(int32(op.Type))
		sub.Reset()
		op.Record.Encode(sub)
		e.Buffer(sub.Bytes())
	}
}

// Decode reads the sub-records.
func (t *MultiTxn) Decode(d *Decoder) {
	n := d.Count(8)
	t.Ops = make([]TxnOp, 0, max(n, 0))
	for range n {
		typ := OpCode(d.Int())
		data := d.Buffer()
		if d.Err() != nil {
			return
		}
		rec := NewTxnRecord(typ)
		if rec == nil {
			d.Fail(fmt.Errorf("jute: unknown sub-txn type %d", typ))
			return
		}
		sub := NewDecoder(data)
		sub.MaxLen = d.MaxLen
		rec.Decode(sub)
		if sub.Err() != nil {
			d.Fail(fmt.Errorf("jute: sub-txn %v: %w", typ, sub.Err()))
			return
		}
		t.Ops = append(t.Ops, TxnOp{Type: typ, Record: rec})
	}
}

// NewTxnRecord returns an empty record for a txn type, or nil if the type
// is unknown.
func NewTxnRecord(t OpCode) Record {
	switch t {
	case OpCreate, OpCreate2:
		return &CreateTxn{}
	case OpCreateTTL:
		return &CreateTTLTxn{}
	case OpCreateContainer:
		return &CreateContainerTxn{}
	case OpDelete, OpDeleteContainer:
		return &DeleteTxn{}
	case OpSetData, OpReconfig:
		return &SetDataTxn{}
	case OpCheck:
		return &CheckVersionTxn{}
	case OpSetACL:
		return &SetACLTxn{}
	case OpMulti:
		return &MultiTxn{}
	case OpCreateSession:
		return &CreateSessionTxn{}
	case OpCloseSession:
		return &CloseSessionTxn{}
	case OpError:
		return &ErrorTxn{}
	}
	return nil
}

// Txn is a whole transaction: header, record and optional digest.
type Txn struct {
	Header TxnHeader
	Record Record     // nil only for a legacy closeSession without a record
	Digest *TxnDigest // nil when absent
}

// Encode writes header, record and digest back to back (a log entry's
// payload).
func (t *Txn) Encode(e *Encoder) {
	t.Header.Encode(e)
	if t.Record != nil {
		t.Record.Encode(e)
	}
	if t.Digest != nil {
		t.Digest.Encode(e)
	}
}

// DecodeTxn parses a log entry's payload, following ZooKeeper's reader rules
// (storage-and-quorum.md §2.3): a create that ends early is the legacy
// CreateTxnV0, a closeSession without a record has none, and a digest is
// read when bytes remain.
func DecodeTxn(buf []byte) (*Txn, error) {
	d := NewDecoder(buf)
	// Any buffer or string that fits in the payload is accepted: the
	// writer's jute.maxbuffer may have been larger than the default, and
	// the entry's own length is already bounded by MaxTxnSize.
	d.MaxLen = max(len(buf), 1)
	t := &Txn{}
	t.Header.Decode(d)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("txn header: %w", err)
	}
	rec := NewTxnRecord(t.Header.Type)
	if rec == nil {
		return nil, fmt.Errorf("txn zxid %v: unknown type %d", t.Header.Zxid, t.Header.Type)
	}
	start := d.Offset()
	if t.Header.Type == OpCloseSession && d.Remaining() == 0 {
		return t, nil
	}
	rec.Decode(d)
	if err := d.Err(); err != nil {
		if t.Header.Type != OpCreate {
			return nil, fmt.Errorf("txn zxid %v type %v: %w", t.Header.Zxid, t.Header.Type, err)
		}
		// Legacy CreateTxnV0: no parentCVersion.
		d = NewDecoder(buf[start:])
		d.MaxLen = max(len(buf), 1)
		c := &CreateTxn{Path: d.String(), Data: d.BufferCopy(), ACL: DecodeACLs(d), Ephemeral: d.Bool(), ParentCVersion: -1}
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("txn zxid %v create: %w", t.Header.Zxid, err)
		}
		t.Record = c
		return t, nil
	}
	t.Record = rec
	if d.Remaining() >= 12 && t.Header.Type != OpError {
		t.Digest = &TxnDigest{}
		t.Digest.Decode(d)
	}
	return t, nil
}

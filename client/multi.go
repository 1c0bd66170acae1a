package client

import (
	"context"
	"fmt"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// Op is one operation of a Multi: CreateOp, DeleteOp, SetOp or CheckOp.
type Op interface {
	opName() string
	opPath() string
	record() (jute.OpCode, jute.Record)
}

// CreateOp creates a node, as Create (or CreateTTL when TTL is set) does.
type CreateOp struct {
	Path string
	Data []byte
	Mode CreateMode
	ACL  []ACL
	TTL  time.Duration // only for the TTL modes
}

// DeleteOp deletes a node, as Delete does.
type DeleteOp struct {
	Path    string
	Version int32
}

// SetOp replaces a node's data, as Set does.
type SetOp struct {
	Path    string
	Data    []byte
	Version int32
}

// CheckOp fails the Multi unless the node exists with data version Version
// (any version for AnyVersion).
type CheckOp struct {
	Path    string
	Version int32
}

func (o CreateOp) opName() string { return "create" }
func (o DeleteOp) opName() string { return "delete" }
func (o SetOp) opName() string    { return "setData" }
func (o CheckOp) opName() string  { return "check" }

func (o CreateOp) opPath() string { return o.Path }
func (o DeleteOp) opPath() string { return o.Path }
func (o SetOp) opPath() string    { return o.Path }
func (o CheckOp) opPath() string  { return o.Path }

func (o CreateOp) record() (jute.OpCode, jute.Record) {
	return createRecord(o.Path, o.Data, o.Mode, o.ACL, o.TTL)
}

func (o DeleteOp) record() (jute.OpCode, jute.Record) {
	return jute.OpDelete, &jute.DeleteRequest{Path: o.Path, Version: o.Version}
}

func (o SetOp) record() (jute.OpCode, jute.Record) {
	return jute.OpSetData, &jute.SetDataRequest{Path: o.Path, Data: o.Data, Version: o.Version}
}

func (o CheckOp) record() (jute.OpCode, jute.Record) {
	return jute.OpCheck, &jute.CheckVersionRequest{Path: o.Path, Version: o.Version}
}

// OpResult is the outcome of one op of a Multi.
type OpResult struct {
	// Path is the created node's actual path, for a CreateOp.
	Path string
	// Stat is the node's new Stat, for a CreateOp or SetOp. (ZooKeeper
	// servers before 3.8.2 return no Stat for creates inside a multi.)
	Stat Stat
	// Err is nil for an op of a multi that succeeded. In a multi that was
	// rolled back it is nil for the ops before the one that failed (they
	// were undone), an *Error wrapping that op's Code for the failing op,
	// and one wrapping ErrRuntimeInconsistency for the ops after it (they
	// were not tried) (§7.3).
	Err error
}

// Multi runs ops as one transaction: all of them take effect, atomically,
// or none does. On success it returns one OpResult per op. If an op fails,
// it returns the results and a *MultiError naming the first failing op
// and wrapping its Code.
func (c *Client) Multi(ctx context.Context, ops ...Op) ([]OpResult, error) {
	req := &jute.MultiRequest{Ops: make([]jute.MultiOp, len(ops))}
	for i, o := range ops {
		t, rec := o.record()
		req.Ops[i] = jute.MultiOp{Type: t, Req: rec}
	}
	var resp jute.MultiResponse
	if err := c.call(ctx, "multi", "", jute.OpMulti, req, &resp, nil); err != nil {
		return nil, err
	}
	if len(resp.Results) != len(ops) {
		return nil, wrap("multi", "", fmt.Errorf("%w: %d results for %d ops", ErrMarshallingError, len(resp.Results), len(ops)))
	}
	out := make([]OpResult, len(ops))
	var first error
	for i, r := range resp.Results {
		if r.Type == jute.OpError {
			if r.Err != jute.OK {
				out[i].Err = wrap(ops[i].opName(), ops[i].opPath(), r.Err)
				if first == nil {
					first = &MultiError{Index: i, Op: ops[i], Err: r.Err}
				}
			}
			continue
		}
		switch body := r.Resp.(type) {
		case *jute.PathResponse:
			out[i].Path = body.Path
		case *jute.Create2Response:
			out[i].Path = body.Path
			out[i].Stat = statFromJute(&body.Stat)
		case *jute.StatResponse:
			out[i].Stat = statFromJute(&body.Stat)
		}
	}
	return out, first
}

// ReadOp is one read of a MultiRead: GetOp or ChildrenOp.
type ReadOp interface {
	opPath() string
	readRecord() (jute.OpCode, jute.Record)
}

// GetOp reads a node's data and Stat, as Get does.
type GetOp struct{ Path string }

// ChildrenOp lists a node's children, as Children does (without the Stat).
type ChildrenOp struct{ Path string }

func (o GetOp) opPath() string      { return o.Path }
func (o ChildrenOp) opPath() string { return o.Path }

func (o GetOp) readRecord() (jute.OpCode, jute.Record) {
	return jute.OpGetData, &jute.PathWatchRequest{Path: o.Path}
}

func (o ChildrenOp) readRecord() (jute.OpCode, jute.Record) {
	return jute.OpGetChildren, &jute.PathWatchRequest{Path: o.Path}
}

// ReadResult is the outcome of one op of a MultiRead.
type ReadResult struct {
	Data     []byte   // GetOp
	Stat     Stat     // GetOp
	Children []string // ChildrenOp
	Err      error    // an *Error wrapping this op's Code if it failed
}

// MultiRead runs reads in one request (ZooKeeper 3.6+). The reads are not
// a snapshot: each runs on its own, and one failing (ErrNoNode, ErrNoAuth)
// does not stop the others; its ReadResult carries the error. The returned
// error is for the request as a whole.
func (c *Client) MultiRead(ctx context.Context, ops ...ReadOp) ([]ReadResult, error) {
	req := &jute.MultiRequest{Ops: make([]jute.MultiOp, len(ops))}
	for i, o := range ops {
		t, rec := o.readRecord()
		req.Ops[i] = jute.MultiOp{Type: t, Req: rec}
	}
	var resp jute.MultiResponse
	if err := c.call(ctx, "multiRead", "", jute.OpMultiRead, req, &resp, nil); err != nil {
		return nil, err
	}
	if len(resp.Results) != len(ops) {
		return nil, wrap("multiRead", "", fmt.Errorf("%w: %d results for %d ops", ErrMarshallingError, len(resp.Results), len(ops)))
	}
	out := make([]ReadResult, len(ops))
	for i, r := range resp.Results {
		if r.Type == jute.OpError {
			if r.Err != jute.OK {
				out[i].Err = wrap(opNameOf(ops[i]), ops[i].opPath(), r.Err)
			}
			continue
		}
		switch body := r.Resp.(type) {
		case *jute.GetDataResponse:
			out[i].Data = body.Data
			out[i].Stat = statFromJute(&body.Stat)
		case *jute.GetChildrenResponse:
			out[i].Children = body.Children
			if out[i].Children == nil {
				out[i].Children = []string{}
			}
		}
	}
	return out, nil
}

func opNameOf(o ReadOp) string {
	if _, ok := o.(GetOp); ok {
		return "getData"
	}
	return "getChildren"
}

package jute

import (
	"errors"
	"fmt"
)

// ErrBadMultiOp is the decode error for an op type that a multi or
// multiRead may not carry; servers answer it with MARSHALLINGERROR.
var ErrBadMultiOp = errors.New("jute: op type not allowed in multi")

// MultiHeader precedes each op of a multi request or response (§7).
type MultiHeader struct {
	Type OpCode
	Done bool
	Err  Code
}

// Encode writes the header.
func (h *MultiHeader) Encode(e *Encoder) { e.Int(int32(h.Type)); e.Bool(h.Done); e.Int(int32(h.Err)) }

// Decode reads the header.
func (h *MultiHeader) Decode(d *Decoder) {
	h.Type = OpCode(d.Int())
	h.Done = d.Bool()
	h.Err = Code(d.Int())
}

// MultiOp is one operation of a multi or multiRead request.
type MultiOp struct {
	Type OpCode
	Req  Record
}

// MultiRequest is the body of multi (14) and multiRead (22).
type MultiRequest struct {
	Ops []MultiOp
}

// newMultiOpRecord returns an empty request record for an op type allowed
// in some multi, or nil.
func newMultiOpRecord(t OpCode) Record {
	switch t {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}
	case OpCreateTTL:
		return &CreateTTLRequest{}
	case OpDelete:
		return &DeleteRequest{}
	case OpSetData:
		return &SetDataRequest{}
	case OpCheck:
		return &CheckVersionRequest{}
	case OpGetData, OpGetChildren:
		return &PathWatchRequest{}
	}
	return nil
}

// Encode writes the ops and the terminating header.
func (r *MultiRequest) Encode(e *Encoder) {
	for _, op := range r.Ops {
		h := MultiHeader{Type: op.Type, Done: false, Err: -1}
		h.Encode(e)
		op.Req.Encode(e)
	}
	end := MultiHeader{Type: -1, Done: true, Err: -1}
	end.Encode(e)
}

// Decode reads ops until a header with Done set. An op type no multi may
// carry fails with ErrBadMultiOp.
func (r *MultiRequest) Decode(d *Decoder) {
	r.Ops = r.Ops[:0]
	for d.Err() == nil {
		var h MultiHeader
		h.Decode(d)
		if d.Err() != nil || h.Done {
			return
		}
		rec := newMultiOpRecord(h.Type)
		if rec == nil {
			d.Fail(fmt.Errorf("%w: %v", ErrBadMultiOp, h.Type))
			return
		}
		rec.Decode(d)
		r.Ops = append(r.Ops, MultiOp{Type: h.Type, Req: rec})
	}
}

// MultiResult is one op's result in a multi response. Err != OK means an
// error result (header type -1 with an ErrorResponse body); otherwise Type
// and Resp describe the success body (Resp may be nil for delete/check).
type MultiResult struct {
	Type OpCode
	Err  Code
	Resp Record
}

// MultiResponse is the answer to multi and multiRead.
type MultiResponse struct {
	Results []MultiResult
}

// Encode writes the results and the terminating header.
func (r *MultiResponse) Encode(e *Encoder) {
	for _, res := range r.Results {
		if res.Type == OpError {
			h := MultiHeader{Type: OpError, Err: res.Err}
			h.Encode(e)
			e.Int(int32(res.Err))
			continue
		}
		h := MultiHeader{Type: res.Type, Err: OK}
		h.Encode(e)
		if res.Resp != nil {
			res.Resp.Encode(e)
		}
	}
	end := MultiHeader{Type: -1, Done: true, Err: -1}
	end.Encode(e)
}

// Decode reads results until a header with Done set.
func (r *MultiResponse) Decode(d *Decoder) {
	r.Results = r.Results[:0]
	for d.Err() == nil {
		var h MultiHeader
		h.Decode(d)
		if d.Err() != nil || h.Done {
			return
		}
		var rec Record
		switch h.Type {
		case OpError:
			rec = &IntResponse{}
		case OpCreate:
			rec = &PathResponse{}
		case OpCreate2, OpCreateContainer, OpCreateTTL:
			rec = &Create2Response{}
		case OpSetData:
			rec = &StatResponse{}
		case OpGetData:
			rec = &GetDataResponse{}
		case OpGetChildren:
			rec = &GetChildrenResponse{}
		case OpDelete, OpCheck:
		default:
			d.Fail(fmt.Errorf("%w: result type %v", ErrBadMultiOp, h.Type))
			return
		}
		if rec != nil {
			rec.Decode(d)
		}
		res := MultiResult{Type: h.Type, Err: h.Err, Resp: rec}
		if h.Type == OpError {
			res.Err = Code(rec.(*IntResponse).Value)
			res.Resp = nil
		}
		r.Results = append(r.Results, res)
	}
}

// NewRequest returns an empty request record for a client opcode, or nil if
// the opcode is not one a client may send. Requests without a body (ping,
// closeSession, whoAmI) return Empty; check (13) returns its record although
// it belongs only inside a multi.
func NewRequest(op OpCode) Record {
	// The ops a multi carries have the same records at top level (check
	// only makes sense inside a multi; callers treat it as unknown).
	if r := newMultiOpRecord(op); r != nil {
		return r
	}
	switch op {
	case OpExists, OpGetChildren2:
		return &PathWatchRequest{}
	case OpGetACL, OpSync, OpGetEphemerals, OpGetAllChildrenNumber:
		return &PathRequest{}
	case OpSetACL:
		return &SetACLRequest{}
	case OpMulti, OpMultiRead:
		return &MultiRequest{}
	case OpReconfig:
		return &ReconfigRequest{}
	case OpCheckWatches, OpRemoveWatches:
		return &WatchesRequest{}
	case OpAddWatch:
		return &AddWatchRequest{}
	case OpSetWatches:
		return &SetWatches{}
	case OpSetWatches2:
		return &SetWatches{V2: true}
	case OpAuth:
		return &AuthPacket{}
	case OpSASL:
		return &SASLToken{}
	case OpPing, OpCloseSession, OpWhoAmI:
		return &Empty{}
	}
	return nil
}

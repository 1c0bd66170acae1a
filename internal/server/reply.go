package server

import (
	"errors"
	"strings"
	"time"

	"github.com/zkd/zkd/internal/acl"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
	"github.com/zkd/zkd/internal/watch"
)

// answer sends the reply for a request that has reached the head of its
// connection's queue.
func (s *Server) answer(p *pending) {
	if p.barrier {
		return // a placeholder: nothing to send
	}
	cs := p.cs
	defer s.recordLatency(cs, p)
	if p.connect != nil {
		if p.err != nil {
			cs.closing = true
			cs.c.Close()
			return
		}
		s.establish(cs, cs.session, p.timeout)
		return
	}
	if p.immediate != jute.OK {
		hdr := jute.ReplyHeader{Xid: p.xid, Zxid: s.tree.LastZxid(), Err: p.immediate}
		if p.immediate == jute.ErrAuthFailed || p.immediate == jute.ErrSessionClosedRequireSASL {
			hdr.Zxid = 0
			cs.closing = true
			cs.c.SendThenClose(hdr, nil)
			return
		}
		s.send(cs, hdr, nil)
		return
	}
	if p.write {
		s.answerWrite(p)
		return
	}
	s.answerRead(p)
}

func (s *Server) send(cs *connState, hdr jute.ReplyHeader, body jute.Encodable) {
	cs.stats.lastZxid = hdr.Zxid
	cs.c.Send(hdr, body)
	s.stats.sent++
}

func (s *Server) recordLatency(cs *connState, p *pending) {
	elapsed := time.Since(p.at)
	now := p.at.Add(elapsed)
	ms := elapsed.Milliseconds()
	s.stats.latency.add(ms)
	cs.stats.latency.add(ms)
	cs.stats.lastLatency = ms
	cs.stats.lastResponse = now.Sub(s.started).Milliseconds()
	switch {
	case p.write:
		s.zkMetrics.updateLatency.Observe(ms, now)
	case p.op == jute.OpAuth || p.op == jute.OpSASL:
		// ZooKeeper answers these beside its pipeline and times neither.
	default:
		s.zkMetrics.readLatency.Observe(ms, now)
	}
}

// answerWrite replies to an applied (or failed) write.
func (s *Server) answerWrite(p *pending) {
	cs := p.cs
	hdr := jute.ReplyHeader{Xid: p.xid, Zxid: p.txn.Header.Zxid}
	if p.err != nil {
		if errors.Is(p.err, storage.ErrLogBroken) {
			// Whether the write reached the disk is unknown: the client
			// must not be told it failed. Connection loss says "unknown".
			cs.closing = true
			cs.c.Close()
			return
		}
		// The commit step failed and nothing was applied. The zxid is the
		// last applied one: the failed write's zxid will never exist.
		hdr.Zxid = s.tree.LastZxid()
		hdr.Err = jute.ErrSystemError
		s.send(cs, hdr, nil)
		return
	}
	res := &p.result
	if p.txn.Header.Type == jute.OpError {
		hdr.Err = res.Err
		s.send(cs, hdr, nil)
		return
	}
	switch p.op {
	case jute.OpCloseSession:
		cs.closing = true
		cs.stats.lastZxid = hdr.Zxid
		cs.c.SendThenClose(hdr, nil)
		s.stats.sent++
		return
	case jute.OpMulti:
		s.send(cs, hdr, multiResponse(p.txn.Record.(*jute.MultiTxn), res.Multi))
		return
	}
	if res.Err != jute.OK {
		hdr.Err = res.Err
		s.send(cs, hdr, nil)
		return
	}
	s.send(cs, hdr, writeBody(p.op, res))
}

// writeBody is the success response of a single write.
func writeBody(op jute.OpCode, res *tree.Result) jute.Encodable {
	switch op {
	case jute.OpCreate:
		return &jute.PathResponse{Path: res.Path}
	case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		return &jute.Create2Response{Path: res.Path, Stat: res.Stat}
	case jute.OpSetData, jute.OpSetACL:
		return &jute.StatResponse{Stat: res.Stat}
	}
	return nil
}

func multiResponse(m *jute.MultiTxn, results []tree.Result) *jute.MultiResponse {
	out := &jute.MultiResponse{Results: make([]jute.MultiResult, len(results))}
	for i, r := range results {
		if r.Type == jute.OpError || r.Err != jute.OK {
			out.Results[i] = jute.MultiResult{Type: jute.OpError, Err: r.Err}
			continue
		}
		switch m.Ops[i].Type {
		case jute.OpCreate:
			out.Results[i] = jute.MultiResult{Type: jute.OpCreate, Resp: &jute.PathResponse{Path: r.Path}}
		case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
			out.Results[i] = jute.MultiResult{Type: jute.OpCreate2, Resp: &jute.Create2Response{Path: r.Path, Stat: r.Stat}}
		case jute.OpSetData:
			out.Results[i] = jute.MultiResult{Type: jute.OpSetData, Resp: &jute.StatResponse{Stat: r.Stat}}
		default:
			out.Results[i] = jute.MultiResult{Type: m.Ops[i].Type}
		}
	}
	return out
}

// answerRead executes a request that is not a transaction against the
// current tree and replies.
func (s *Server) answerRead(p *pending) {
	cs := p.cs
	r := p.req
	last := s.tree.LastZxid()
	hdr := jute.ReplyHeader{Xid: p.xid, Zxid: last}
	if r.Unknown || (r.DecodeErr == nil && r.Body == nil) {
		s.unknownOp(cs, p)
		return
	}
	if r.DecodeErr != nil {
		hdr.Err = jute.ErrMarshallingError
		s.send(cs, hdr, nil)
		return
	}
	switch p.op {
	case jute.OpPing:
		hdr.Xid = jute.XidPing
		s.send(cs, hdr, nil)
		return
	case jute.OpAuth:
		hdr.Zxid = 0
		s.send(cs, hdr, nil)
		return
	case jute.OpSASL:
		s.answerSASL(cs, p)
		return
	}
	body, code := s.read(cs, p)
	hdr.Err = code
	if code != jute.OK && !(p.op == jute.OpMultiRead && body != nil) {
		body = nil
	}
	s.send(cs, hdr, body)
}

func (s *Server) unknownOp(cs *connState, p *pending) {
	s.log.Info("unknown opcode; closing connection", "peer", cs.c.Remote(), "op", int32(p.op))
	cs.closing = true
	cs.c.SendThenClose(jute.ReplyHeader{Xid: p.xid, Zxid: -1, Err: jute.ErrUnimplemented}, nil)
	s.stats.sent++
}

// read runs one read-side operation. It returns the body or an error code.
func (s *Server) read(cs *connState, p *pending) (jute.Encodable, jute.Code) {
	ids := p.ids
	switch p.op {
	case jute.OpExists:
		r := p.req.Body.(*jute.PathWatchRequest)
		if strings.IndexByte(r.Path, 0) >= 0 {
			return nil, jute.ErrBadArguments
		}
		n, ok := s.tree.Get(r.Path)
		if ok && !s.aclConf.Check(n.ACL, jute.PermRead, ids) {
			return nil, jute.ErrNoAuth
		}
		if r.Watch {
			s.watches.Add(cs.watcher, watch.Data, r.Path)
		}
		if !ok {
			return nil, jute.ErrNoNode
		}
		return &jute.StatResponse{Stat: n.PublicStat()}, jute.OK
	case jute.OpGetData:
		r := p.req.Body.(*jute.PathWatchRequest)
		n, code := s.readable(r.Path, jute.PermRead, ids)
		if code != jute.OK {
			return nil, code
		}
		if r.Watch {
			s.watches.Add(cs.watcher, watch.Data, r.Path)
		}
		return &jute.GetDataResponse{Data: n.Data, Stat: n.PublicStat()}, jute.OK
	case jute.OpGetChildren, jute.OpGetChildren2:
		r := p.req.Body.(*jute.PathWatchRequest)
		n, code := s.readable(r.Path, jute.PermRead, ids)
		if code != jute.OK {
			return nil, code
		}
		if r.Watch {
			s.watches.Add(cs.watcher, watch.Child, r.Path)
		}
		if p.op == jute.OpGetChildren {
			return &jute.EncodedChildren{Vector: s.tree.EncodedChildren(n)}, jute.OK
		}
		st := n.PublicStat()
		return &jute.EncodedChildren{Vector: s.tree.EncodedChildren(n), Stat: &st}, jute.OK
	case jute.OpGetACL:
		r := p.req.Body.(*jute.PathRequest)
		n, code := s.readable(r.Path, jute.PermRead|jute.PermAdmin, ids)
		if code != jute.OK {
			return nil, code
		}
		list := n.ACL
		if !s.aclConf.Check(n.ACL, jute.PermAdmin, ids) {
			list = acl.MaskDigests(list)
		}
		return &jute.GetACLResponse{ACL: list, Stat: n.PublicStat()}, jute.OK
	case jute.OpGetAllChildrenNumber:
		r := p.req.Body.(*jute.PathRequest)
		if _, code := s.readable(r.Path, jute.PermRead, ids); code != jute.OK {
			return nil, code
		}
		return &jute.IntResponse{Value: int32(s.tree.CountDescendants(r.Path))}, jute.OK
	case jute.OpGetEphemerals:
		r := p.req.Body.(*jute.PathRequest)
		prefix := strings.TrimSpace(r.Path)
		var out []string
		for _, e := range s.tree.Ephemerals(int64(cs.session)) {
			if prefix == "" || prefix == "/" || strings.HasPrefix(e, r.Path) {
				out = append(out, e)
			}
		}
		if out == nil {
			out = []string{}
		}
		return &jute.StringsResponse{Strings: out}, jute.OK
	case jute.OpSync:
		return &jute.PathResponse{Path: p.req.Body.(*jute.PathRequest).Path}, jute.OK
	case jute.OpWhoAmI:
		return &jute.WhoAmIResponse{Infos: s.aclConf.WhoAmI(ids)}, jute.OK
	case jute.OpAddWatch:
		r := p.req.Body.(*jute.AddWatchRequest)
		switch r.Mode {
		case jute.AddWatchPersistent:
			s.watches.Add(cs.watcher, watch.Persistent, r.Path)
		case jute.AddWatchPersistentRecursive:
			s.watches.Add(cs.watcher, watch.Recursive, r.Path)
		default:
			return nil, jute.ErrMarshallingError
		}
		return &jute.IntResponse{}, jute.OK
	case jute.OpCheckWatches, jute.OpRemoveWatches:
		r := p.req.Body.(*jute.WatchesRequest)
		var found, valid bool
		if p.op == jute.OpCheckWatches {
			found, valid = s.watches.Check(cs.watcher, r.Type, r.Path)
		} else {
			found, valid = s.watches.Remove(cs.watcher, r.Type, r.Path)
		}
		switch {
		case !valid:
			return nil, jute.ErrMarshallingError
		case !found:
			return nil, jute.ErrNoWatcher
		}
		return nil, jute.OK
	case jute.OpSetWatches, jute.OpSetWatches2:
		s.setWatches(cs, p.req.Body.(*jute.SetWatches))
		return nil, jute.OK
	case jute.OpMultiRead:
		return s.multiRead(cs, p)
	}
	return nil, jute.ErrUnimplemented
}

// readable returns the node at path if it exists and ids hold perm on it.
func (s *Server) readable(path string, perm int32, ids []jute.Id) (tree.Node, jute.Code) {
	n, ok := s.tree.Get(path)
	if !ok {
		return tree.Node{}, jute.ErrNoNode
	}
	if !s.aclConf.Check(n.ACL, perm, ids) {
		return tree.Node{}, jute.ErrNoAuth
	}
	return n, jute.OK
}

func (s *Server) multiRead(cs *connState, p *pending) (jute.Encodable, jute.Code) {
	m := p.req.Body.(*jute.MultiRequest)
	out := &jute.MultiResponse{}
	writes := 0
	for _, op := range m.Ops {
		if op.Type != jute.OpGetData && op.Type != jute.OpGetChildren {
			writes++
		}
	}
	switch {
	case writes == len(m.Ops) && writes > 0:
		// ZooKeeper 3.8 answers a multiRead of only write ops with
		// MARSHALLINGERROR and an empty result list after the header.
		return &jute.MultiResponse{}, jute.ErrMarshallingError
	case writes > 0:
		return nil, jute.ErrMarshallingError
	}
	for _, op := range m.Ops {
		r := op.Req.(*jute.PathWatchRequest)
		n, code := s.readable(r.Path, jute.PermRead, p.ids)
		switch {
		case code != jute.OK:
			out.Results = append(out.Results, jute.MultiResult{Type: jute.OpError, Err: code})
		case op.Type == jute.OpGetData:
			out.Results = append(out.Results, jute.MultiResult{Type: jute.OpGetData, Resp: &jute.GetDataResponse{Data: n.Data, Stat: n.PublicStat()}})
		default:
			out.Results = append(out.Results, jute.MultiResult{Type: jute.OpGetChildren, Resp: &jute.GetChildrenResponse{Children: s.tree.Children(n)}})
		}
	}
	return out, jute.OK
}

// setWatches re-registers a reconnecting client's watches, firing at once
// the events it evidently missed (§6.6).
func (s *Server) setWatches(cs *connState, r *jute.SetWatches) {
	notify := func(t jute.EventType, path string) {
		cs.c.Send(jute.ReplyHeader{Xid: jute.XidNotification, Zxid: -1},
			&jute.WatcherEvent{Type: t, State: jute.StateSyncConnected, Path: path})
		s.stats.sent++
	}
	for _, path := range r.Data {
		n, ok := s.tree.Get(path)
		switch {
		case !ok:
			notify(jute.EventNodeDeleted, path)
		case n.Stat.Mzxid > r.RelativeZxid:
			notify(jute.EventNodeDataChanged, path)
		default:
			s.watches.Add(cs.watcher, watch.Data, path)
		}
	}
	for _, path := range r.Exist {
		if _, ok := s.tree.Get(path); ok {
			notify(jute.EventNodeCreated, path)
		} else {
			s.watches.Add(cs.watcher, watch.Data, path)
		}
	}
	for _, path := range r.Child {
		n, ok := s.tree.Get(path)
		switch {
		case !ok:
			notify(jute.EventNodeDeleted, path)
		case n.Stat.Pzxid > r.RelativeZxid:
			notify(jute.EventNodeChildrenChanged, path)
		default:
			s.watches.Add(cs.watcher, watch.Child, path)
		}
	}
	for _, path := range r.Persistent {
		s.watches.Add(cs.watcher, watch.Persistent, path)
	}
	for _, path := range r.PersistentRecursive {
		s.watches.Add(cs.watcher, watch.Recursive, path)
	}
}

package server

import (
	"fmt"
	"time"

	"github.com/zkd/zkd/internal/clientport"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/prep"
	"github.com/zkd/zkd/internal/session"
	"github.com/zkd/zkd/internal/tree"
	"github.com/zkd/zkd/internal/watch"
)

// connState is the core's view of one connection.
type connState struct {
	c       *clientport.Conn
	watcher watch.WatcherID
	session jute.SessionID
	// established is set once the handshake has been answered.
	established bool
	// closing is set when no further request will be answered.
	closing bool
	ids     []jute.Id // identities; replaced, never modified in place
	queue   []*pending
	// incoming holds requests read and not started (schedule.go); ready
	// is set while the connection is on the scheduler's list;
	// writeBytes is the request bytes of its writes in queue.
	incoming     arrivals
	ready        bool
	writeBytes   int64
	stats        connStats
	readOnlyByte bool
	// sasl is the connection's SASL exchange, nil before it starts
	// (sasl.go); refused is set once a reply that closes the connection
	// (a failed SASL exchange, enforced authentication) is decided:
	// nothing the connection sends after it runs.
	sasl    *saslConn
	refused bool
}

// pending is a request (or internal transaction) that has not been
// answered yet.
type pending struct {
	cs  *connState // nil for internal transactions (expiry, reaper)
	req *clientport.Request
	ids []jute.Id // the caller's identities when the request arrived
	txn *jute.Txn
	// result holds a write's outcome once done, err its failure.
	result tree.Result
	err    error
	// barriers lists the placeholders waiting on this write (see barrier).
	barriers []*pending
	connect  *jute.ConnectRequest
	at       time.Time
	// charged is what the request counts against its connection's
	// writeBytes while queued.
	charged int64
	// sasl is the answer of a sasl request, decided on arrival.
	sasl *saslReply

	// The small fields sit together, so that a pending fits its
	// allocation size class (a pending is allocated for every request).
	xid     int32
	op      jute.OpCode
	timeout int32
	// immediate, when non-zero, is an error answer decided on arrival.
	immediate jute.Code
	write     bool
	// done is set once a write has been applied or failed.
	done bool
	// poisoned marks a write prepared before an earlier write failed to
	// commit; it is expected to fail too.
	poisoned bool
	// barrier marks a placeholder that holds a resumed session's new
	// connection until the writes of its old connection are done.
	barrier bool
}

func (s *Server) handleConnect(c *clientport.Conn, req *jute.ConnectRequest, at time.Time) {
	cs := &connState{c: c, watcher: watch.WatcherID(c.ID), readOnlyByte: req.HasReadOnly}
	cs.ids = s.connIdentities(c)
	cs.stats.reset()
	s.conns[c] = cs
	s.byWatcher[cs.watcher] = cs
	s.zkMetrics.connectionRequests++
	s.zkMetrics.bytesReceived += connectFrameSize(req)
	if t := s.connThrottle; t.enabled() {
		admitted := t.admit(t.cost(req.SessionID != 0), s.nowMS())
		s.zkMetrics.tokenDeficit.Observe(int64(t.deficit()), s.taken)
		if !admitted {
			// ZooKeeper closes the connection without an answer.
			s.zkMetrics.connectionRejected++
			s.log.Warn("connection refused by the connection throttle", "peer", c.Remote(),
				"drop_probability", t.drop, "tokens_left", t.tokens)
			cs.closing = true
			c.Close()
			return
		}
	}
	if s.notServing() {
		// ZooKeeper closes client connections until its ensemble has a
		// leader and this server has synchronized with it.
		s.log.Debug("refusing client: not serving while there is no leader", "peer", c.Remote())
		cs.closing = true
		c.Close()
		return
	}
	if req.LastZxidSeen > s.tree.LastZxid() {
		s.log.Warn("refusing client that has seen a newer zxid than this server",
			"peer", c.Remote(), "client_zxid", req.LastZxidSeen, "server_zxid", s.tree.LastZxid())
		cs.closing = true
		c.Close()
		return
	}
	timeout := max(min(req.Timeout, int32(s.cfg.MaxSessionTimeout)), int32(s.cfg.MinSessionTimeout))
	if req.SessionID == 0 {
		id := s.sessions.NextID()
		cs.session = id
		s.owners[id] = cs
		if s.role.learning() {
			p := &pending{cs: cs, op: jute.OpCreateSession, connect: req, timeout: timeout, at: at}
			s.zkMetrics.requestsQueued++
			s.forward(cs, p, nil, timeout)
			return
		}
		if s.role == roleLeader {
			s.sessionOwners[id] = s.cfg.MyID
		}
		p := s.submit(cs, &prep.Request{Session: id, Op: jute.OpCreateSession, Body: &jute.Empty{}, Timeout: timeout}, nil)
		p.connect = req
		p.timeout = timeout
		p.at = at
		return
	}
	// Resume: any other connection bound to the session goes first, even if
	// the password turns out to be wrong (§2.3 step 6). ZooKeeper counts
	// the attempt as a revalidation either way.
	s.zkMetrics.connectionRevalidates++
	if other := s.owners[req.SessionID]; other != nil && other != cs {
		s.runQueued(other) // what it sent before this handshake goes first
		other.closing = true
		other.c.Close()
	}
	if s.role.learning() && s.passwords.Valid(req.SessionID, req.Passwd) {
		s.revalidateOnLeader(cs, req, timeout, at)
		return
	}
	sess, ok := s.sessions.Get(req.SessionID)
	if !ok || sess.Closing || !s.passwords.Valid(req.SessionID, req.Passwd) {
		// (A session whose close is in flight is Closing too.)
		s.log.Info("invalid session on reconnect", "peer", c.Remote(), "session", req.SessionID)
		cs.closing = true
		c.SendConnectResponse(&jute.ConnectResponse{Passwd: make([]byte, session.PasswordLen), HasReadOnly: req.HasReadOnly}, true)
		return
	}
	cs.session = req.SessionID
	s.owners[req.SessionID] = cs
	s.sessions.SetTimeout(req.SessionID, timeout, s.nowMS())
	if s.role == roleLeader {
		s.sessionOwners[req.SessionID] = s.cfg.MyID
	}
	s.establish(cs, req.SessionID, timeout)
	// Writes the session sent on its old connection may still be in
	// flight; nothing on the new one may overtake them.
	if last := s.lastWrite[req.SessionID]; last != nil && !last.done {
		barrier := &pending{cs: cs, write: true, barrier: true}
		last.barriers = append(last.barriers, barrier)
		s.queueUp(cs, barrier)
	}
}

// establish answers a successful handshake.
func (s *Server) establish(cs *connState, id jute.SessionID, timeout int32) {
	cs.established = true
	cs.stats.timeout = timeout
	cs.c.SetIdleTimeout(time.Duration(timeout) * time.Millisecond)
	cs.c.SendConnectResponse(&jute.ConnectResponse{
		Timeout: timeout, SessionID: id, Passwd: s.passwords.For(id), HasReadOnly: cs.readOnlyByte,
	}, false)
	s.log.Debug("session established", "session", id, "peer", cs.c.Remote(), "timeout_ms", timeout)
}

func (s *Server) handleClosed(c *clientport.Conn) {
	cs := s.conns[c]
	if cs == nil {
		return
	}
	if !cs.closing {
		// Not the server's doing: the client went away or a read failed.
		s.zkMetrics.connectionDrops++
	}
	cs.closing = true
	s.saslClosed(cs)
	delete(s.conns, c)
	delete(s.byWatcher, cs.watcher)
	if s.owners[cs.session] == cs {
		delete(s.owners, cs.session)
	}
	s.watches.RemoveWatcher(cs.watcher)
}

func (s *Server) handleRequest(c *clientport.Conn, r *clientport.Request, at time.Time) {
	s.zkMetrics.bytesReceived += 4 + int64(r.Size)
	cs := s.conns[c]
	if cs == nil || cs.closing || cs.refused {
		return
	}
	s.stats.received++
	if r.Header.Type != jute.OpAuth && r.Header.Type != jute.OpSASL {
		// ZooKeeper answers auth and SASL packets beside its pipeline.
		s.zkMetrics.requestsQueued++
		s.zkMetrics.prepQueueTime.Observe(s.taken.Sub(at).Milliseconds(), s.taken)
	}
	if r.DecodeErr != nil {
		s.log.Info("malformed request", "peer", cs.c.Remote(), "session", cs.session, "op", r.Header.Type, "err", r.DecodeErr)
	}
	cs.stats.lastCxid = r.Header.Xid
	cs.stats.lastOp = r.Header.Type
	if cs.session != 0 {
		if s.role.learning() {
			s.clientTouches[cs.session] = cs.stats.timeout
		} else {
			s.sessions.Touch(cs.session, s.nowMS())
		}
	}
	p := &pending{cs: cs, xid: r.Header.Xid, op: r.Header.Type, req: r, ids: cs.ids, at: at}
	if !s.enforceAuth(cs, p) {
		s.enqueue(cs, p)
		return
	}
	sess, live := s.sessions.Get(cs.session)
	createInFlight := !cs.established && cs.session != 0
	switch {
	case !live && !createInFlight, live && sess.Closing:
		p.immediate = jute.ErrSessionExpired
	case r.Header.Type == jute.OpAuth && r.Body != nil:
		// Identities change on arrival so that later requests, prepared
		// before this reply is sent, see them; the reply stays in order.
		s.auth(cs, p)
	case r.Header.Type == jute.OpSASL && r.Body != nil:
		s.saslStep(cs, p)
	case s.role.learning() && (prep.IsWrite(r.Header.Type) && !r.Unknown || r.Header.Type == jute.OpDeleteContainer):
		s.forwardWrite(cs, p)
		return
	case s.role.learning() && r.Header.Type == jute.OpSync && r.DecodeErr == nil:
		s.forwardSync(cs, p)
		return
	case prep.IsWrite(r.Header.Type) && !r.Unknown:
		s.prepareWrite(cs, p)
		return
	case r.Header.Type == jute.OpDeleteContainer:
		s.submit(cs, &prep.Request{Session: cs.session, Cxid: p.xid, Op: p.op, Body: &jute.Empty{}}, p)
		return
	}
	s.enqueue(cs, p)
}

// forwardWrite sends a client write on a learner to the leader.
func (s *Server) forwardWrite(cs *connState, p *pending) {
	var body []byte
	if p.req.DecodeErr == nil && p.req.Body != nil {
		body = jute.Encode(p.req.Body)
	}
	if p.op == jute.OpCloseSession {
		if sess, ok := s.sessions.Get(cs.session); ok {
			sess.Closing = true
		}
	}
	s.forward(cs, p, body, 0)
}

// prepareWrite prepares a client write and hands it to the committer.
func (s *Server) prepareWrite(cs *connState, p *pending) {
	var body jute.Record
	if p.req.DecodeErr == nil {
		body = p.req.Body
	}
	if p.op == jute.OpCloseSession {
		if sess, ok := s.sessions.Get(cs.session); ok {
			sess.Closing = true
		}
	}
	req := &prep.Request{Session: cs.session, Cxid: p.xid, Op: p.op, Body: body, Identities: p.ids}
	if p.op != jute.OpCloseSession && !s.ownedBy(cs.session, s.cfg.MyID) {
		req.Fail = jute.ErrSessionMoved
	}
	s.submit(cs, req, p)
}

// submit prepares a transaction, queues it behind the connection's earlier
// requests and passes it to the committer.
func (s *Server) submit(cs *connState, req *prep.Request, p *pending) *pending {
	start := time.Now()
	if p == nil {
		// A session's creation or expiry enters the pipeline here.
		p = &pending{cs: cs, op: req.Op, at: start}
		s.zkMetrics.requestsQueued++
	}
	p.write = true
	p.txn = s.prep.Prepare(req, s.nextZxid, start.UnixMilli())
	s.recordPrep(p.txn, start)
	s.nextZxid++
	s.inflight = append(s.inflight, p)
	if cs != nil {
		s.queueUp(cs, p)
	}
	if req.Session != 0 {
		s.lastWrite[req.Session] = p
	}
	s.committer.Commit(p.txn)
	return p
}

// recordPrep records the preparation of txn, which began at start.
func (s *Server) recordPrep(txn *jute.Txn, start time.Time) {
	took := time.Since(start)
	now := start.Add(took)
	ms := took.Milliseconds()
	m := s.zkMetrics
	m.prepProcessTime.Observe(ms, now)
	if txn.Header.Type == jute.OpCloseSession {
		m.closeSessionPrepTime.Observe(ms, now)
	}
	m.changesQueued += changeRecords(txn.Record)
}

// enqueue answers p now if nothing is ahead of it, or queues it.
func (s *Server) enqueue(cs *connState, p *pending) {
	s.queueUp(cs, p)
	if len(cs.queue) == 1 {
		s.drain(cs)
	}
}

func (s *Server) auth(cs *connState, p *pending) {
	pkt := p.req.Body.(*jute.AuthPacket)
	ids, ok := s.aclConf.Authenticate(pkt.Scheme, pkt.Auth, cs.c.Remote().Addr())
	if pkt.Scheme == "x509" {
		ids, ok = s.x509Identities(cs.c) // the certificate, not the packet, as in ZooKeeper
	}
	if !ok {
		s.stats.authFailed++
		p.immediate = jute.ErrAuthFailed
		s.log.Info("authentication failed", "peer", cs.c.Remote(), "scheme", pkt.Scheme)
		return
	}
	merged := make([]jute.Id, 0, len(cs.ids)+len(ids))
	merged = append(merged, cs.ids...)
	for _, id := range ids {
		dup := false
		for _, have := range merged {
			if have == id {
				dup = true
			}
		}
		if !dup {
			merged = append(merged, id)
		}
	}
	cs.ids = merged
}

// handleCommitted applies a batch of committed transactions in order, or
// fails them when the commit step failed.
func (s *Server) handleCommitted(batch []*jute.Txn, err error) {
	for _, txn := range batch {
		if len(s.inflight) == 0 || s.inflight[0].txn != txn {
			// The tree and the log would diverge from here: stop.
			panic(fmt.Sprintf("committer delivered zxid %v out of order (%d in flight)", txn.Header.Zxid, len(s.inflight)))
		}
		p := s.inflight[0]
		s.inflight[0] = nil
		s.inflight = s.inflight[1:]
		s.zkMetrics.changesRemoved += changeRecords(txn.Record)
		if err != nil {
			s.commitFailed(p, err)
			continue
		}
		s.apply(p)
	}
}

// commitFailed fails a transaction the committer could not make durable.
// The first failure poisons everything prepared so far, since it was
// prepared on top of changes that will not happen: the overlay is dropped,
// zxids restart after the last applied one, and the committer resumes
// with what is prepared from now on.
func (s *Server) commitFailed(p *pending, err error) {
	s.finished(p)
	p.err = err
	p.done = true
	if !p.poisoned {
		s.log.Error("write failed: not durable", "zxid", p.txn.Header.Zxid, "err", err)
		for _, q := range s.inflight {
			q.poisoned = true
		}
		s.prep.Overlay.Reset()
		// zxids keep increasing: the failed ones are simply never used, so
		// nothing on disk can ever be mistaken for a later transaction.
		s.committer.Resume()
	}
	if p.txn.Header.Type == jute.OpCloseSession {
		// Let the session expire (or close) again later.
		if sess, ok := s.sessions.Get(p.txn.Header.ClientID); ok {
			sess.Closing = false
			s.sessions.Touch(sess.ID, s.nowMS())
		}
	}
	if p.cs != nil {
		s.drain(p.cs)
	}
}

// apply applies one committed transaction: tree, sessions, watches, and
// then the replies it unblocks.
func (s *Server) apply(p *pending) {
	txn := p.txn
	// The transaction's time is the wall clock when it was prepared; a
	// clock step back reads as 0.
	s.zkMetrics.propagationLatency.Observe(max(s.wallMS()-txn.Header.Time, 0), s.taken)
	res, triggers := s.tree.Apply(txn)
	s.prep.Overlay.Applied(txn.Header.Zxid)
	p.result = res
	p.done = true
	s.finished(p)
	switch txn.Header.Type {
	case jute.OpCreateSession:
		rec := txn.Record.(*jute.CreateSessionTxn)
		s.sessions.Add(txn.Header.ClientID, rec.Timeout, s.nowMS())
		s.log.Info("session created", "session", txn.Header.ClientID, "timeout_ms", rec.Timeout)
	case jute.OpCloseSession:
		id := txn.Header.ClientID
		s.sessions.Remove(id)
		delete(s.sessionOwners, id)
		if owner := s.owners[id]; owner != nil {
			delete(s.owners, id)
			if owner != p.cs {
				// Expired: the attached connection closes without a word.
				owner.closing = true
				owner.c.Close()
			}
		}
		s.log.Info("session closed", "session", id, "ephemerals_deleted", len(res.Deleted))
	}
	zxid := txn.Header.Zxid
	for _, t := range triggers {
		s.fire(t, zxid)
	}
	if p.cs != nil {
		s.drain(p.cs)
	}
}

// finished releases what waited on a write that is now applied or failed.
func (s *Server) finished(p *pending) {
	if p.txn != nil && s.lastWrite[p.txn.Header.ClientID] == p {
		delete(s.lastWrite, p.txn.Header.ClientID)
	}
	for _, b := range p.barriers {
		b.done = true
		s.drain(b.cs)
	}
	p.barriers = nil
}

// fire delivers one trigger's notification to every watcher it reaches
// that may read the node (ZooKeeper 3.8.4+/3.9.2+ ACL filtering).
func (s *Server) fire(t tree.Trigger, zxid jute.Zxid) {
	watchers := s.watches.Trigger(t.Type, t.Path)
	if len(watchers) == 0 {
		return
	}
	if r := s.zkMetrics.watchRecorder(t.Type); r != nil {
		r.Observe(int64(len(watchers)), s.taken)
	}
	ev := &jute.WatcherEvent{Type: t.Type, State: jute.StateSyncConnected, Path: t.Path}
	for _, w := range watchers {
		cs := s.connByWatcher(w)
		if cs == nil || cs.closing {
			continue
		}
		if !s.aclConf.Check(t.ACL, jute.PermRead, cs.ids) {
			continue
		}
		cs.c.Send(jute.ReplyHeader{Xid: jute.XidNotification, Zxid: zxid}, ev)
		s.stats.sent++
	}
}

func (s *Server) connByWatcher(w watch.WatcherID) *connState { return s.byWatcher[w] }

// drain answers the connection's queued requests from the head until it
// reaches a write that is not applied yet.
func (s *Server) drain(cs *connState) {
	for len(cs.queue) > 0 {
		p := cs.queue[0]
		if p.write && !p.done {
			return
		}
		cs.queue[0] = nil
		cs.queue = cs.queue[1:]
		s.dequeued(cs, p)
		if cs.closing && p.connect == nil {
			continue
		}
		s.answer(p)
	}
	cs.queue = nil
}

package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/admin"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/peer"
	"github.com/zkd/zkd/internal/prep"
	"github.com/zkd/zkd/internal/session"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
	"github.com/zkd/zkd/internal/zab"
)

// role is what the server does in its ensemble; the core goroutine owns it.
type role uint8

const (
	roleStandalone role = iota
	roleLooking         // no client service until an election and sync finish
	roleLeader
	roleFollower
	roleObserver
)

func (r role) String() string {
	switch r {
	case roleLooking:
		return "looking"
	case roleLeader:
		return "leader"
	case roleFollower:
		return "follower"
	case roleObserver:
		return "observer"
	}
	return "standalone"
}

// learning reports whether the server forwards writes to a leader.
func (r role) learning() bool { return r == roleFollower || r == roleObserver }

// peerCommitter is the commit step of a leader: prepared transactions go
// to ZAB, and come back through the peer's Deliver once a quorum has
// logged them.
type peerCommitter struct{ p *peer.Peer }

func (c peerCommitter) Start(func([]*jute.Txn, error)) {}
func (c peerCommitter) Commit(txn *jute.Txn)           { c.p.Propose(txn) }
func (c peerCommitter) Resume()                        {}
func (c peerCommitter) Close() error                   { return nil }

// stateMachine adapts the server to peer.StateMachine: every call becomes
// an event on the core goroutine, and the synchronous ones wait for it.
type stateMachine struct{ s *Server }

func (m stateMachine) push(f func()) { m.s.inbox.push(event{kind: evQuery, query: f}) }

// call runs f on the core and waits for its result.
func (m stateMachine) call(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	m.push(func() { done <- f() })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m stateMachine) Looking()         { m.push(m.s.becomeLooking) }
func (m stateMachine) Lead(epoch int64) { m.push(func() { m.s.becomeLeader(epoch) }) }
func (m stateMachine) Learn(observer bool, leader int64) {
	m.push(func() { m.s.becomeLearner(observer, leader) })
}
func (m stateMachine) Deliver(batch []zab.Delivery)        { m.push(func() { m.s.deliver(batch) }) }
func (m stateMachine) Forwarded(reqs []zab.Request)        { m.push(func() { m.s.forwarded(reqs) }) }
func (m stateMachine) Touched(touches []jute.SessionTouch) { m.push(func() { m.s.touched(touches) }) }
func (m stateMachine) Rolled()                             { m.s.inbox.push(event{kind: evSnapshot}) }
func (m stateMachine) Revalidate(reqs []zab.RevalidateRequest) {
	m.push(func() { m.s.revalidate(reqs) })
}
func (m stateMachine) Revalidated(replies []jute.RevalidateReply) {
	m.push(func() { m.s.revalidated(replies) })
}

// WireSnapshot freezes the applied tree and sessions on the core, between
// two of its events, and encodes them on a goroutine of their own while
// the core goes on; done gets the bytes.
func (m stateMachine) WireSnapshot(done func([]byte, jute.Zxid, error)) {
	m.push(func() {
		v := m.s.tree.Freeze()
		sessions := m.s.sessionList()
		m.s.snapWG.Go(func() {
			defer m.s.background()()
			var buf bytes.Buffer
			_, err := v.WriteSnapshot(&buf, sessions, tree.WriteOptions{Wire: true})
			m.s.releaseView(v)
			done(buf.Bytes(), v.Zxid(), err)
		})
	})
}

// loadedSnapshot is a tree and sessions a leader sent.
type loadedSnapshot struct {
	tree     *tree.Tree
	sessions []tree.SessionTimeout
}

// ReadSnapshot parses a SNAP stream; it touches no server state.
func (m stateMachine) ReadSnapshot(r *bufio.Reader, zxid jute.Zxid) (any, error) {
	t, sessions, _, err := tree.ReadSnapshot(r, tree.ReadOptions{Zxid: zxid, ExtendedTypes: m.s.cfg.ExtendedTypesEnabled(),
		MaxBuffer: m.s.cfg.JuteMaxBuffer(), Wire: true})
	if err != nil {
		return nil, err
	}
	return &loadedSnapshot{tree: t, sessions: sessions}, nil
}

// InstallSnapshot replaces the tree and sessions with the leader's.
func (m stateMachine) InstallSnapshot(ctx context.Context, snap any, zxid jute.Zxid) error {
	ls, ok := snap.(*loadedSnapshot)
	if !ok {
		return fmt.Errorf("install snapshot: unexpected %T", snap)
	}
	return m.call(ctx, func() error {
		sessions := make(map[jute.SessionID]int32, len(ls.sessions))
		for _, st := range ls.sessions {
			sessions[st.ID] = st.Timeout
		}
		m.s.replaceState(ls.tree, sessions)
		m.s.log.Info("loaded the leader's snapshot", "zxid", zxid, "znodes", ls.tree.NodeCount(), "sessions", len(sessions))
		return nil
	})
}

// Reload rebuilds the state from disk after a TRUNC.
func (m stateMachine) Reload(ctx context.Context) (jute.Zxid, error) {
	var last jute.Zxid
	err := m.call(ctx, func() error {
		r, err := m.s.restore(m.s.fs)
		if err != nil {
			return err
		}
		m.s.replaceState(r.tree, r.sessions)
		last = r.lastZxid
		m.s.log.Info("reloaded the database after truncating the log", "last_zxid", last, "znodes", r.tree.NodeCount())
		return nil
	})
	return last, err
}

// SaveSnapshot writes a snapshot of the applied state and syncs it.
func (m stateMachine) SaveSnapshot(ctx context.Context) error {
	return m.call(ctx, func() error {
		snapDir, _ := m.s.dataDirs()
		c, err := storage.ParseCompression(m.s.cfg.SnapshotCompression())
		if err != nil {
			return err
		}
		path, err := storage.WriteSnapshot(m.s.fs, snapDir, m.s.tree, m.s.sessionList(), c)
		if err != nil {
			return err
		}
		m.s.log.Info("wrote snapshot", "file", path)
		return nil
	})
}

// sessionList lists the live sessions for a snapshot.
func (s *Server) sessionList() []tree.SessionTimeout {
	sessions := make(map[jute.SessionID]int32)
	for _, sess := range s.sessions.All() {
		sessions[sess.ID] = sess.Timeout
	}
	return sessionTimeouts(sessions)
}

// replaceState swaps in a new tree and session table (SNAP or TRUNC);
// the server is not serving clients then.
func (s *Server) replaceState(t *tree.Tree, sessions map[jute.SessionID]int32) {
	s.abortSnapshot()
	s.tree = t
	exceeded := s.prep.QuotaExceeded // a counter: it outlives the tree
	s.prep = prep.New(t, prep.Settings{
		ACL: s.aclConf, ExtendedTypes: s.cfg.ExtendedTypesEnabled(), ReconfigEnabled: s.cfg.ReconfigEnabled,
		EnforceQuota: s.cfg.EnforceQuota(), Warn: logQuotaWarning,
	})
	s.prep.QuotaExceeded = exceeded
	for _, sess := range s.sessions.All() {
		s.sessions.Remove(sess.ID)
	}
	now := s.nowMS()
	for id, timeout := range sessions {
		s.sessions.Add(id, timeout, now)
	}
	s.sessions.Untrack()
}

// becomeLooking stops client service: every connection closes and writes
// in flight are abandoned, so their clients see a connection loss (the
// outcome is unknown to them, as it is in ZooKeeper).
func (s *Server) becomeLooking() {
	s.role = roleLooking
	s.lookingSince = s.clock()
	for c, cs := range s.conns {
		cs.closing = true
		s.dropQueue(cs)
		c.Close()
	}
	for _, p := range s.inflight {
		p.done = true
	}
	s.inflight = nil
	clear(s.lastWrite)
	clear(s.forwardedBySession)
	clear(s.revalidating)
	clear(s.clientTouches)
	s.pendingSyncs = nil
	s.prep.Overlay.Reset()
	// A close or expiry in flight may never commit now: the next leader
	// decides again, so no session stays marked as closing here.
	for _, sess := range s.sessions.All() {
		sess.Closing = false
	}
	s.sessions.Untrack()
}

// becomeLeader starts client service as the leader of epoch.
func (s *Server) becomeLeader(epoch int64) {
	s.role = roleLeader
	s.lastReap = time.Now() // the first reaping one interval from now, as in ZooKeeper
	clear(s.sessionOwners)  // the first server to use a session claims it
	s.recordElection()
	s.nextZxid = jute.MakeZxid(uint32(epoch), 1)
	s.prep.Overlay.Reset()
	// A new leader gives every session a full timeout (storage spec §6.2).
	s.sessions.RestartClocks(s.nowMS())
	s.log.Info("serving clients", "mode", "leader", "epoch", epoch, "sessions", s.sessions.Len())
}

// becomeLearner starts client service as a follower or observer.
func (s *Server) becomeLearner(observer bool, leader int64) {
	s.role = roleFollower
	if observer {
		s.role = roleObserver
	}
	s.recordElection()
	s.sessions.Untrack()
	s.log.Info("serving clients", "mode", s.role.String(), "leader", leader)
}

// recordElection records the time from LOOKING to serving again.
func (s *Server) recordElection() {
	now := s.clock()
	s.zkMetrics.electionTime.Observe(now.Sub(s.lookingSince).Milliseconds(), now)
}

// deliver applies committed transactions and sync answers in order.
func (s *Server) deliver(batch []zab.Delivery) {
	for _, d := range batch {
		if d.Sync {
			s.syncAnswered()
			continue
		}
		txn := d.Txn
		s.zkMetrics.commits++
		if len(s.inflight) > 0 && s.inflight[0].txn == txn {
			s.handleCommitted([]*jute.Txn{txn}, nil)
			continue
		}
		s.applyRemote(txn)
	}
}

// applyRemote applies a transaction this server did not prepare: on a
// learner every transaction, on a leader the log's fast-forward. A
// transaction for a request this server forwarded answers it.
func (s *Server) applyRemote(txn *jute.Txn) {
	if txn.Header.Zxid <= s.tree.LastZxid() {
		return // already applied (a fast-forward after a sync, say)
	}
	p := s.takeForwarded(txn.Header.ClientID, txn.Header.Cxid, txn.Header.Type)
	if p == nil {
		p = &pending{write: true, op: txn.Header.Type, at: s.taken}
	}
	p.txn = txn
	s.apply(p)
}

// takeForwarded returns the oldest request of session id this server
// forwarded, if the transaction (cxid, type) is its answer. Transactions
// do not say which server forwarded them, so a session used through two
// servers at once (a client that moved while its old connection lingers)
// can present the same cxid twice; the type tells most such pairs apart.
func (s *Server) takeForwarded(id jute.SessionID, cxid int32, typ jute.OpCode) *pending {
	q := s.forwardedBySession[id]
	if len(q) == 0 || q[0].xid != cxid || (typ != jute.OpError && typ != q[0].op) {
		return nil
	}
	p := q[0]
	q[0] = nil
	if len(q) == 1 {
		delete(s.forwardedBySession, id)
	} else {
		s.forwardedBySession[id] = q[1:]
	}
	return p
}

// forward sends a client write from this learner to the leader; the reply
// goes out when its transaction is delivered.
func (s *Server) forward(cs *connState, p *pending, body []byte, timeout int32) {
	p.write = true
	if cs != nil {
		s.queueUp(cs, p)
	}
	s.forwardedBySession[cs.session] = append(s.forwardedBySession[cs.session], p)
	if p.op == jute.OpCreateSession {
		e := jute.NewEncoder(make([]byte, 0, 4))
		e.Int(timeout)
		body = e.Bytes()
	}
	s.peer.Forward(jute.ForwardedRequest{Session: cs.session, Cxid: p.xid, Op: p.op, Body: body}, p.ids)
}

// forwardSync sends a client's sync to the leader; the answer comes as a
// sync Delivery after everything committed before the leader saw it.
func (s *Server) forwardSync(cs *connState, p *pending) {
	p.write = true // waits in the connection's queue like a write
	s.queueUp(cs, p)
	s.pendingSyncs = append(s.pendingSyncs, p)
	var body []byte
	if p.req.Body != nil {
		body = jute.Encode(p.req.Body)
	}
	s.peer.Forward(jute.ForwardedRequest{Session: cs.session, Cxid: p.xid, Op: jute.OpSync, Body: body}, p.ids)
}

// syncAnswered completes the oldest forwarded sync.
func (s *Server) syncAnswered() {
	if len(s.pendingSyncs) == 0 {
		return
	}
	p := s.pendingSyncs[0]
	s.pendingSyncs[0] = nil
	s.pendingSyncs = s.pendingSyncs[1:]
	p.write, p.done = false, true // answered as a read, now in order
	if p.cs != nil {
		s.drain(p.cs)
	}
}

// forwarded prepares the requests learners forwarded (leader).
func (s *Server) forwarded(reqs []zab.Request) {
	if s.role != roleLeader {
		return
	}
	now := s.clock()
	for _, r := range reqs {
		req := &prep.Request{Session: r.Session, Cxid: r.Cxid, Op: r.Op, Identities: r.Auth}
		switch r.Op {
		case jute.OpCreateSession:
			var timeout int32
			if len(r.Body) >= 4 {
				timeout = int32(uint32(r.Body[0])<<24 | uint32(r.Body[1])<<16 | uint32(r.Body[2])<<8 | uint32(r.Body[3]))
			}
			req.Body, req.Timeout = &jute.Empty{}, timeout
		case jute.OpCloseSession:
			req.Body = &jute.Empty{}
			if sess, ok := s.sessions.Get(r.Session); ok {
				sess.Closing = true
			}
		case jute.OpDeleteContainer:
			req.Body = &jute.Empty{}
		default:
			if !prep.IsWrite(r.Op) {
				s.log.Warn("a learner forwarded a request that is not a write", "from", r.From, "op", r.Op)
				continue
			}
			if rec := jute.NewRequest(r.Op); rec != nil && jute.Decode(r.Body, rec) == nil {
				req.Body = rec
			}
		}
		switch r.Op {
		case jute.OpCreateSession:
			s.sessionOwners[r.Session] = r.From
		case jute.OpCloseSession:
		default:
			if !s.ownedBy(r.Session, r.From) {
				req.Fail = jute.ErrSessionMoved
			}
		}
		s.zkMetrics.requestsQueued++
		s.submit(nil, req, &pending{op: r.Op, xid: r.Cxid, at: now})
	}
}

// ownedBy reports whether server sid may write for session id: the server
// that created the session, or that the client last moved to, owns it
// (ZooKeeper answers anyone else SESSIONMOVED). A session nobody claimed
// yet since this leader began is claimed by the first server that uses it.
func (s *Server) ownedBy(id jute.SessionID, sid int64) bool {
	if s.role != roleLeader {
		return true
	}
	owner, ok := s.sessionOwners[id]
	if !ok {
		if _, live := s.sessions.Get(id); live {
			s.sessionOwners[id] = sid
		}
		return true
	}
	return owner == sid
}

// touched applies the session touches learners reported (leader).
func (s *Server) touched(touches []jute.SessionTouch) {
	if s.role != roleLeader {
		return
	}
	now := s.nowMS()
	for _, t := range touches {
		// The learner's timeout is the one its client negotiated last.
		if t.Timeout > 0 {
			s.sessions.SetTimeout(t.Session, t.Timeout, now)
		} else {
			s.sessions.Touch(t.Session, now)
		}
	}
}

// revalidate answers learners asking whether sessions are alive (leader).
func (s *Server) revalidate(reqs []zab.RevalidateRequest) {
	now := s.nowMS()
	for _, r := range reqs {
		valid := s.role == roleLeader && s.sessions.Touch(r.Session, now)
		if valid && r.Timeout > 0 {
			s.sessions.SetTimeout(r.Session, r.Timeout, now)
		}
		if valid {
			s.sessionOwners[r.Session] = r.From
		}
		s.peer.Revalidated(r.From, r.Session, valid)
	}
}

// revalidateOnLeader holds a learner's handshake for a resumed session
// until the leader says whether the session is alive (and makes this
// server its owner), as ZooKeeper's learners do (storage spec §5.9): the
// leader, not this server's possibly lagging copy, decides.
func (s *Server) revalidateOnLeader(cs *connState, req *jute.ConnectRequest, timeout int32, at time.Time) {
	id := req.SessionID
	cs.session = id
	s.owners[id] = cs
	p := &pending{cs: cs, op: jute.OpCreateSession, connect: req, timeout: timeout, write: true, at: at}
	s.queueUp(cs, p)
	s.revalidating[id] = append(s.revalidating[id], p)
	s.peer.RevalidateSession(id, timeout)
}

// revalidated completes held handshakes with the leader's answers.
func (s *Server) revalidated(replies []jute.RevalidateReply) {
	for _, r := range replies {
		q := s.revalidating[r.Session]
		if len(q) == 0 {
			continue
		}
		p := q[0]
		if len(q) == 1 {
			delete(s.revalidating, r.Session)
		} else {
			s.revalidating[r.Session] = q[1:]
		}
		cs := p.cs
		if cs.closing {
			continue
		}
		if !r.Valid {
			s.log.Info("invalid session on reconnect", "peer", cs.c.Remote(), "session", r.Session)
			cs.closing = true
			s.dropQueue(cs)
			cs.c.SendConnectResponse(&jute.ConnectResponse{Passwd: make([]byte, session.PasswordLen), HasReadOnly: p.connect.HasReadOnly}, true)
			continue
		}
		s.sessions.SetTimeout(r.Session, p.timeout, s.nowMS())
		p.done = true
		s.drain(cs)
		// Requests the session forwarded on an older connection go first.
		if fw := s.forwardedBySession[r.Session]; len(fw) > 0 {
			barrier := &pending{cs: cs, write: true, barrier: true}
			last := fw[len(fw)-1]
			last.barriers = append(last.barriers, barrier)
			s.queueUp(cs, barrier)
		}
	}
}

// notServing reports whether client requests must be refused now.
func (s *Server) notServing() bool { return s.role == roleLooking }

// quorumStatus is what srvr and mntr show of the ensemble.
func (s *Server) quorumStatus(now time.Time) *admin.QuorumStatus {
	st := s.peer.Status()
	q := &admin.QuorumStatus{QuorumSize: st.QuorumSize, LastProposalSize: -1, MinProposalSize: -1, MaxProposalSize: -1}
	switch s.role {
	case roleLeader:
		q.PeerState = "leading - broadcast"
		q.Learners = st.Followers + st.Observers
		q.SyncedFollowers, q.SyncedObservers, q.PendingSyncs = st.SyncedFollowers, st.SyncedObservers, st.PendingSyncs
		q.LeaderUptime = now.Sub(st.LeaderSince)
		q.LastProposalSize, q.MinProposalSize, q.MaxProposalSize = st.LastProposalSize, st.MinProposalSize, st.MaxProposalSize
	case roleFollower:
		q.PeerState = "following - broadcast"
	case roleObserver:
		q.PeerState = "observing - broadcast"
	default:
		q.PeerState = "looking"
	}
	return q
}

// ensembleLogStats are the metrics of the ensemble's log writer, which runs
// in the peer: ZooKeeper's fsynctime and sync processor batch sizes.
type ensembleLogStats struct {
	mu     sync.Mutex // guards the fields below: the log writer adds, the core reads
	fsync  admin.Recorder
	batch  admin.Recorder
	queued int64
}

// synced records one durable batch (called by the peer's log writer).
func (e *ensembleLogStats) synced(took time.Duration, txns int) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fsync.Observe(took.Milliseconds(), now)
	e.batch.Observe(int64(txns), now)
	e.queued += int64(txns)
}

// fill puts the log writer's metrics into snap.
func (e *ensembleLogStats) fill(snap *admin.Snapshot, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	snap.Summaries["fsynctime"] = e.fsync.Summary(now)
	snap.Summaries["sync_processor_queue_flush_time_ms"] = e.fsync.Summary(now)
	snap.Summaries["sync_processor_batch_size"] = e.batch.Summary(now)
	snap.Counters["sync_processor_request_queued"] = e.queued
}

// reset forgets them (srst).
func (e *ensembleLogStats) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fsync, e.batch, e.queued = admin.Recorder{}, admin.Recorder{}, 0
}

package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/fle"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/zab"
)

// StateMachine is the replicated database a Peer drives: the server's
// tree, sessions and client connections. internal/server implements it.
//
// The methods without a result hand work to the state machine's own
// goroutine and return at once, in order: a state machine applies
// Deliver batches in the order given, and the synchronous methods run
// after everything handed over before them.
type StateMachine interface {
	// Looking stops client service: every connection closes, writes in
	// flight are abandoned (their outcome is unknown to their clients).
	Looking()
	// Lead starts client service as the leader of epoch: writes are
	// prepared here, with zxids after epoch<<32, and go to Peer.Propose.
	Lead(epoch int64)
	// Learn starts client service as a follower (or observer): writes are
	// forwarded with Peer.Forward and answered when they are delivered.
	Learn(observer bool, leader int64)
	// Deliver applies committed transactions and sync answers in order.
	Deliver(batch []zab.Delivery)
	// Forwarded hands the leader requests learners forwarded.
	Forwarded(reqs []zab.Request)
	// Touched reports session touches learners sent with their pings.
	Touched(touches []jute.SessionTouch)
	// Revalidate asks the leader's state machine about sessions; it
	// answers each with Peer.Revalidated.
	Revalidate(reqs []zab.RevalidateRequest)
	// Revalidated hands a learner the leader's answers.
	Revalidated(replies []jute.RevalidateReply)
	// Rolled reports a log roll (time for a background snapshot).
	Rolled()

	// WireSnapshot encodes the applied state in the form sent after SNAP
	// (storage spec §3.9) and hands it, with the zxid it is as of, to
	// done, from any goroutine. It returns at once: the peer keeps
	// pinging its learners meanwhile.
	WireSnapshot(done func(data []byte, zxid jute.Zxid, err error))
	// ReadSnapshot parses a SNAP stream (up to, not including, the end
	// marker) without touching the live state; it runs on a link's reader.
	ReadSnapshot(r *bufio.Reader, zxid jute.Zxid) (any, error)
	// InstallSnapshot replaces the state with one ReadSnapshot returned.
	InstallSnapshot(ctx context.Context, snap any, zxid jute.Zxid) error
	// Reload rebuilds the state from disk (after a TRUNC) and returns its
	// last zxid.
	Reload(ctx context.Context) (jute.Zxid, error)
	// SaveSnapshot writes a durable snapshot of the applied state.
	SaveSnapshot(ctx context.Context) error
}

// Config configures a Peer.
type Config struct {
	Cfg *config.Config
	// Log is the transaction log, positioned after the restored state;
	// the Peer owns it from New on.
	Log        *storage.Log
	LogOptions storage.LogOptions
	FS         storage.FS
	// SnapDir and LogDir are dataDir/version-2 and dataLogDir/version-2.
	SnapDir, LogDir string
	// LastZxid is the last zxid in the log (and applied by the state
	// machine) at start.
	LastZxid jute.Zxid
	// History is the tail of the log replayed at start, oldest first and
	// contiguous, for DIFF syncs should this server lead.
	History []*jute.Txn
	// Synced, if set, is called on the log writer's goroutine after each
	// durable batch with the fsync's duration and the batch's size (for
	// metrics).
	Synced func(took time.Duration, txns int)
	// TLS, when set, runs the election and quorum connections over TLS
	// (sslQuorum=true).
	TLS *QuorumTLS
	// SASL, when set, authenticates servers to each other
	// (quorum.auth.*).
	SASL   *QuorumSASL
	Logger *slog.Logger
}

// Status is what the peer reports for four-letter words and metrics.
type Status struct {
	State           jute.PeerState
	Leader          int64
	Epoch           int64
	Serving         bool
	SyncedFollowers int
	Followers       int
	Observers       int
	// QuorumSize is the number of voters.
	QuorumSize int
	// Leader only: when it began serving, observers in sync, learner
	// syncs waiting for proposals, and proposal data sizes (last, min,
	// max; -1 before the first).
	LeaderSince                       time.Time
	SyncedObservers, PendingSyncs     int
	LastProposalSize, MinProposalSize int64
	MaxProposalSize                   int64
}

// Peer is one server of an ensemble: it elects a leader with the other
// servers and then leads, follows or observes, driving the state machine.
// One goroutine (the loop) owns the election and ZAB state.
type Peer struct {
	cfg      Config
	zc       *config.Config
	log      *slog.Logger
	sm       StateMachine
	cnx      *CnxManager
	writer   *logWriter
	quorumLn net.Listener
	observer bool
	voters   []int64

	inbox *inbox

	// Loop-owned state.
	election      *fle.Election
	leader        *zab.Leader
	learner       *zab.Learner
	role          jute.PeerState
	gen           uint64 // role generation; bumped on every role change
	links         map[int64]*quorumLink
	pendingLinks  map[*quorumLink]bool // accepted, not yet named
	leaderLink    *quorumLink
	leaderID      int64
	acceptedEpoch int64
	currentEpoch  int64
	lastLogged    jute.Zxid
	snapshots     map[int64][]byte // SNAP data waiting for Leader.SnapshotReady's message
	// recent are the proposals logged last, oldest first, for a new
	// leader's DIFF syncs; contiguous (a SNAP empties it).
	recent []zab.Proposal
	// syncReplaced is set when this learner role truncated the log or
	// installed a snapshot: ending it before the sync completes reloads
	// the state from disk, since transactions applied during the sync are
	// logged only at NEWLEADER.
	syncReplaced bool
	// readingSnap is set while the leader link's reader reads a SNAP
	// stream.
	readingSnap  bool
	lookingSince time.Time
	started      time.Time
	ctx          context.Context

	statusMu sync.Mutex // guards status
	status   Status

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds a peer; it does nothing until Start.
func New(cfg Config, sm StateMachine) (*Peer, error) {
	zc := cfg.Cfg
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	me, ok := zc.Server(zc.MyID)
	if !ok {
		return nil, fmt.Errorf("myid %d names no server.%d line in %s", zc.MyID, zc.MyID, zc.File)
	}
	p := &Peer{cfg: cfg, zc: zc, log: cfg.Logger, sm: sm, observer: me.Role == config.RoleObserver,
		inbox: newInbox(), links: make(map[int64]*quorumLink), pendingLinks: make(map[*quorumLink]bool),
		lastLogged: cfg.LastZxid, snapshots: make(map[int64][]byte)}
	for _, t := range cfg.History {
		p.recent = append(p.recent, zab.NewProposal(t))
	}
	for _, s := range zc.Voters() {
		p.voters = append(p.voters, s.ID)
	}
	p.status.QuorumSize = len(p.voters)
	acc, cur, err := storage.LoadEpochs(cfg.FS, cfg.SnapDir, cfg.LastZxid)
	if err != nil {
		return nil, err
	}
	p.acceptedEpoch, p.currentEpoch = acc, cur
	peers := make(map[int64]string)
	for _, s := range zc.Servers {
		peers[s.ID] = s.ElectionAddr
	}
	tick := time.Duration(zc.TickTime) * time.Millisecond
	p.cnx = NewCnxManager(CnxConfig{MyID: zc.MyID, ListenAddr: me.ElectionAddr, ListenOnAllIPs: zc.QuorumListenOnAllIPs,
		Peers: peers, ConnectTimeout: zc.CnxTimeout(), HandshakeTimeout: tick * time.Duration(max(zc.SyncLimit, 1)), TLS: cfg.TLS, SASL: cfg.SASL, Logger: p.log})
	p.election = fle.New(fle.Config{ID: zc.MyID, Voters: p.voters, Observer: p.observer, ConfigText: configText(zc)})
	b := zc.LogBatching()
	group := storage.GroupCommit{FlushDelay: b.FlushDelay, PollTime: b.PollTime, MaxBatch: b.MaxBatch}
	p.writer = newLogWriter(cfg.Log, cfg.FS, cfg.LogDir, cfg.SnapDir, cfg.LogOptions, zc.SnapCount(), zc.FsyncWarningThreshold(), group, p.log)
	p.writer.persisted = func(z jute.Zxid) { p.inbox.push(event{kind: evPersisted, zxid: z}) }
	p.writer.rolled = sm.Rolled
	p.writer.synced = cfg.Synced
	p.writer.failed = func(err error) { p.inbox.push(event{kind: evLogFailed, err: err}) }
	return p, nil
}

// configText is the committed configuration as notifications carry it
// (storage spec §7.2): version 0 with reconfig disabled.
func configText(zc *config.Config) string {
	var b []byte
	for _, s := range zc.Servers {
		b = fmt.Appendf(b, "server.%d=%s\n", s.ID, serverSpec(s))
	}
	b = append(b, "version=0"...)
	return string(b)
}

// serverSpec writes a member as §7.2 does: host:quorum:election:role and
// the client address when there is one.
func serverSpec(s config.Server) string {
	qh, qp, _ := net.SplitHostPort(s.QuorumAddr)
	_, ep, _ := net.SplitHostPort(s.ElectionAddr)
	v := qh + ":" + qp + ":" + ep + ":" + s.Role
	if s.ClientAddr != "" {
		v += ";" + s.ClientAddr
	}
	return v
}

// Start listens on the election and quorum ports and begins the first
// election.
func (p *Peer) Start(ctx context.Context) error {
	me, _ := p.zc.Server(p.zc.MyID)
	addr := me.QuorumAddr
	if p.zc.QuorumListenOnAllIPs {
		_, port, _ := net.SplitHostPort(addr)
		addr = net.JoinHostPort("", port)
	}
	ln, err := listenRetry(ctx, addr, p.zc.ElectionPortBindRetry())
	if err != nil {
		return fmt.Errorf("listen on quorum port %s: %w", addr, err)
	}
	p.quorumLn = ln
	ctx, p.cancel = context.WithCancel(ctx)
	p.ctx = ctx
	if err := p.cnx.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("election port: %w", err)
	}
	p.started = time.Now()
	p.writer.start()
	p.wg.Go(func() { p.acceptLoop(ctx) })
	p.wg.Go(func() { p.run(ctx) })
	return nil
}

// listenRetry binds addr, retrying a few times while it is taken
// (electionPortBindRetry, default 3).
func listenRetry(ctx context.Context, addr string, tries int) (net.Listener, error) {
	var err error
	for i := range max(tries, 1) {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		if i+1 < tries {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
	return nil, err
}

// Close stops the peer: links, listeners, the loop and the log.
func (p *Peer) Close() error {
	if p.cancel == nil {
		return p.writer.log.Close()
	}
	p.cancel()
	p.quorumLn.Close()
	p.wg.Wait()
	p.cnx.Close()
	return p.writer.close()
}

// Status returns the peer's state for monitoring.
func (p *Peer) Status() Status {
	p.statusMu.Lock()
	defer p.statusMu.Unlock()
	s := p.status
	return s
}

// Propose hands the leader a transaction its state machine prepared.
func (p *Peer) Propose(txn *jute.Txn) { p.inbox.push(event{kind: evPropose, txn: txn}) }

// Forward sends a client request to the leader (learners).
func (p *Peer) Forward(req jute.ForwardedRequest, auth []jute.Id) {
	p.inbox.push(event{kind: evForward, req: req, auth: auth})
}

// Touch reports client activity on sessions (id → negotiated timeout) to
// the leader with the next PING reply (learners). The peer owns touches
// from then on.
func (p *Peer) Touch(touches map[jute.SessionID]int32) {
	p.inbox.push(event{kind: evTouch, touches: touches})
}

// RevalidateSession asks the leader whether a session is alive (learners).
func (p *Peer) RevalidateSession(session jute.SessionID, timeout int32) {
	p.inbox.push(event{kind: evRevalidate, session: session, timeout: timeout})
}

// Revalidated answers a learner's revalidation (leader).
func (p *Peer) Revalidated(sid int64, session jute.SessionID, valid bool) {
	p.inbox.push(event{kind: evRevalidated, sid: sid, session: session, valid: valid})
}

// eventKind tells the loop what happened.
type eventKind uint8

const (
	evPersisted eventKind = iota
	evLogFailed
	evPropose
	evForward
	evTouch
	evRevalidate
	evRevalidated
	evAccepted     // a learner connected to the quorum port
	evPacket       // a packet arrived on a quorum link
	evLinkClosed   // a quorum link died
	evLeaderLink   // the connection to the leader is up (or failed: err)
	evSnapReading  // a link's reader started reading a SNAP stream
	evSnapshotDone // the state machine encoded a snapshot for learner sid
)

type event struct {
	kind    eventKind
	zxid    jute.Zxid
	err     error
	txn     *jute.Txn
	req     jute.ForwardedRequest
	auth    []jute.Id
	session jute.SessionID
	timeout int32
	sid     int64
	valid   bool
	link    *quorumLink
	packet  jute.QuorumPacket
	snap    any
	// touches are sessions clients used (evTouch).
	touches map[jute.SessionID]int32
	// snapData is an encoded SNAP stream (evSnapshotDone).
	snapData []byte
	// gen is the role generation the event belongs to (evSnapshotDone,
	// a failed evLeaderLink).
	gen uint64
}

// inbox is the loop's unbounded queue: producers never block.
type inbox struct {
	mu     sync.Mutex // guards items
	items  []event
	signal chan struct{}
}

func newInbox() *inbox { return &inbox{signal: make(chan struct{}, 1)} }

func (q *inbox) push(e event) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *inbox) popAll(buf []event) []event {
	q.mu.Lock()
	buf, q.items = q.items, buf[:0]
	q.mu.Unlock()
	return buf
}

func (p *Peer) nowMS() int64 { return time.Since(p.started).Milliseconds() }

// tickDuration is tickTime.
func (p *Peer) tickDuration() time.Duration { return time.Duration(p.zc.TickTime) * time.Millisecond }

// run is the loop: it owns the election and ZAB state.
func (p *Peer) run(ctx context.Context) {
	half := time.NewTicker(max(p.tickDuration()/2, time.Millisecond))
	defer half.Stop()
	fleTick := time.NewTicker(20 * time.Millisecond)
	defer fleTick.Stop()
	p.lookForLeader()
	var batch []event
	for {
		select {
		case <-ctx.Done():
			p.endRole("shutting down")
			return
		case m, ok := <-p.cnx.Recv():
			if !ok {
				return
			}
			n, err := jute.DecodeNotification(m.Data)
			if err != nil {
				p.log.Debug("dropping an election message", "peer", m.From, "err", err)
				continue
			}
			p.election.Step(p.nowMS(), m.From, n)
			p.flushElection()
		case <-fleTick.C:
			p.election.Tick(p.nowMS())
			p.flushElection()
		case <-half.C:
			switch {
			case p.leader != nil:
				p.leader.Tick()
			case p.learner != nil:
				if p.readingSnap {
					p.learner.Heard()
				}
				p.learner.Tick()
			}
			p.flushZab()
		case <-p.inbox.signal:
			batch = p.inbox.popAll(batch)
			for i := range batch {
				p.handle(&batch[i])
				batch[i] = event{}
			}
			p.flushZab()
		}
		p.updateStatus()
	}
}

// lookForLeader enters LOOKING and starts an election round.
func (p *Peer) lookForLeader() {
	p.role = jute.Looking
	p.lookingSince = time.Now()
	p.setStatus(func(s *Status) { s.State, s.Serving, s.Leader = jute.Looking, false, 0 })
	p.log.Info("looking for a leader", "last_zxid", p.lastLogged, "current_epoch", p.currentEpoch)
	p.election.Start(p.nowMS(), p.lastLogged, p.currentEpoch)
	p.flushElection()
}

// flushElection sends the election's messages and acts on its decision.
func (p *Peer) flushElection() {
	if !p.election.HasReady() {
		return
	}
	r := p.election.Ready()
	for _, m := range r.Messages {
		p.cnx.Send(m.To, m.Notification.Encode())
	}
	if r.Reconnect {
		p.cnx.ConnectAll()
	}
	if r.Decided == nil || p.role != jute.Looking {
		return
	}
	v := *r.Decided
	took := time.Since(p.lookingSince)
	p.log.Info("election decided", "state", v.State.String(), "leader", v.Leader, "zxid", v.Zxid,
		"round", v.Round, "peer_epoch", v.PeerEpoch, "took", took)
	p.gen++
	p.leaderID = v.Leader
	switch v.State {
	case jute.Leading:
		p.lead()
	case jute.Following, jute.Observing:
		p.follow(v.Leader, v.State)
	}
}

// lead starts leading: ZAB discovery begins with this server's own epoch.
func (p *Peer) lead() {
	p.role = jute.Leading
	p.setStatus(func(s *Status) { s.State, s.Leader = jute.Leading, p.zc.MyID })
	hist := p.history()
	p.leader = zab.NewLeader(p.zabConfig(), zab.LeaderState{AcceptedEpoch: p.acceptedEpoch, CurrentEpoch: p.currentEpoch,
		LastZxid: p.lastLogged, History: hist})
	// Learners that connected while this server was still electing.
	for l := range p.pendingLinks {
		l.gen = p.gen
		early := l.early
		l.early = nil
		for _, pkt := range early {
			p.packet(&event{kind: evPacket, link: l, packet: pkt})
		}
	}
	p.flushZab()
}

// history returns the tail of the log a new leader DIFFs learners from:
// the proposals logged most recently, kept in memory (reading them back
// from the log would delay the leader's start by a replay of the segment).
func (p *Peer) history() []zab.Proposal {
	last, err := p.writer.barrier()
	if err != nil {
		p.log.Warn("could not wait for the log", "err", err)
		return nil
	}
	p.lastLogged = max(p.lastLogged, last)
	i := len(p.recent)
	for i > 0 && p.recent[i-1].Zxid > p.lastLogged {
		i--
	}
	return slices.Clone(p.recent[:i])
}

// recentLimit is how many logged proposals the peer keeps for DIFF syncs
// (ZooKeeper's commitLogCount default).
const recentLimit = 500

// logged records proposals handed to the log writer, in order.
func (p *Peer) logged(ps []zab.Proposal) {
	p.recent = append(p.recent, ps...)
	if n := len(p.recent); n > 2*recentLimit {
		p.recent = slices.Clone(p.recent[n-recentLimit:])
	}
}

// truncatedRecent forgets the kept proposals after zxid.
func (p *Peer) truncatedRecent(zxid jute.Zxid) {
	i := len(p.recent)
	for i > 0 && p.recent[i-1].Zxid > zxid {
		i--
	}
	p.recent = p.recent[:i]
}

func (p *Peer) zabConfig() zab.Config {
	return zab.Config{ID: p.zc.MyID, Voters: p.voters, InitLimit: p.zc.InitLimit, SyncLimit: p.zc.SyncLimit, CommitLogCount: 500}
}

// follow connects to the leader's quorum port in the background.
func (p *Peer) follow(leader int64, state jute.PeerState) {
	p.role = state
	for l := range p.pendingLinks {
		l.close()
		delete(p.pendingLinks, l)
	}
	p.setStatus(func(s *Status) { s.State, s.Leader = state, leader })
	srv, ok := p.zc.Server(leader)
	if !ok {
		p.endRole(fmt.Sprintf("elected leader %d is not in the configuration", leader))
		return
	}
	gen := p.gen
	limit := p.zc.ConnectToLearnerMasterLimit
	if limit <= 0 {
		limit = p.zc.InitLimit
	}
	timeout := p.tickDuration() * time.Duration(max(limit, 1))
	ctx := p.ctx
	p.wg.Go(func() {
		var conn net.Conn
		var err error
		// Five tries, within one connect timeout in all (as Java bounds them).
		deadline := time.Now().Add(timeout)
		for i := range 5 {
			d := net.Dialer{Deadline: deadline}
			if conn, err = d.DialContext(ctx, "tcp", srv.QuorumAddr); err == nil {
				break
			}
			if i < 4 && time.Until(deadline) > 100*time.Millisecond {
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
		if err == nil {
			raw := conn
			if conn, err = p.cfg.TLS.secureDial(ctx, raw, srv.QuorumAddr, max(time.Until(deadline), time.Second)); err != nil {
				raw.Close()
			}
		}
		if err == nil {
			host, _, _ := net.SplitHostPort(srv.QuorumAddr)
			if err = p.cfg.SASL.authenticate(conn, conn, host, max(time.Until(deadline), time.Second)); err != nil {
				conn.Close()
			}
		}
		if err != nil {
			p.inbox.push(event{kind: evLeaderLink, err: fmt.Errorf("connect to leader %d at %s: %w", leader, srv.QuorumAddr, err), gen: gen})
			return
		}
		p.inbox.push(event{kind: evLeaderLink, link: newQuorumLink(conn, leader, gen)})
	})
}

// endRole leaves LEADING, FOLLOWING or OBSERVING: links close, the log
// catches up, the state machine stops serving and applies what the log
// holds beyond what it applied (ZooKeeper's fast-forward), and a new
// election starts unless the peer is shutting down.
func (p *Peer) endRole(why string) {
	if p.role == jute.Looking && p.leader == nil && p.learner == nil {
		if p.ctx.Err() == nil {
			return
		}
	}
	p.log.Info("leaving role", "role", p.role.String(), "reason", why)
	p.gen++
	for sid, l := range p.links {
		l.close()
		delete(p.links, sid)
	}
	for l := range p.pendingLinks {
		l.close()
		delete(p.pendingLinks, l)
	}
	if p.leaderLink != nil {
		p.leaderLink.close()
		p.leaderLink = nil
	}
	clear(p.snapshots)
	if last, err := p.writer.barrier(); err != nil {
		p.log.Error("the transaction log failed while leaving the role", "err", err)
	} else {
		p.lastLogged = max(p.lastLogged, last)
	}
	// Proposals a failed batch never logged must not be DIFFed to anyone.
	p.truncatedRecent(p.writer.lastZxid())
	// The role may have committed proposals in the events handled just
	// before this one, in the same batch: their deliveries wait in a
	// Ready that flushZab never executes now, and Uncommitted no longer
	// lists them. They are delivered first, then the uncommitted ones.
	var unflushed []zab.Delivery
	var pending []zab.Proposal
	switch {
	case p.leader != nil:
		unflushed = p.leader.Ready().Deliveries
		pending = p.leader.Uncommitted()
	case p.learner != nil:
		if r := p.learner.Ready(); !r.Truncate && !r.LoadSnapshot {
			unflushed = r.Deliveries
		}
		pending = p.learner.Uncommitted()
	}
	reload := p.learner != nil && !p.learner.Serving() && p.syncReplaced
	p.leader, p.learner, p.syncReplaced, p.readingSnap = nil, nil, false, false
	p.sm.Looking()
	if reload && p.ctx.Err() == nil {
		// The sync replaced the state and applied commits whose proposals
		// are not logged yet: the disk is the truth.
		if last, err := p.sm.Reload(p.ctx); err != nil {
			p.log.Error("reload after an unfinished sync", "err", err)
		} else {
			p.lastLogged = last
			p.truncatedRecent(last)
		}
	} else {
		var ff []zab.Delivery
		for _, d := range unflushed {
			if !d.Sync && d.Txn.Header.Zxid <= p.lastLogged {
				ff = append(ff, zab.Delivery{Txn: d.Txn})
			}
		}
		for _, pr := range pending {
			if pr.Zxid <= p.lastLogged {
				ff = append(ff, zab.Delivery{Txn: pr.Txn})
			}
		}
		if len(ff) > 0 {
			p.sm.Deliver(ff)
		}
	}
	if p.ctx.Err() != nil {
		return
	}
	p.lookForLeader()
}

// acceptLoop takes learner connections on the quorum port.
func (p *Peer) acceptLoop(ctx context.Context) {
	for {
		conn, err := p.quorumLn.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Warn("quorum port accept failed", "err", err)
			continue
		}
		if p.cfg.TLS == nil && (p.cfg.SASL == nil || p.cfg.SASL.Server == nil) {
			p.inbox.push(event{kind: evAccepted, link: newQuorumLink(conn, 0, 0)})
			continue
		}
		// The handshakes run beside the accept loop so that a peer that
		// never finishes them holds up no other.
		timeout := p.tickDuration() * time.Duration(max(p.zc.InitLimit, 1))
		p.wg.Go(func() {
			if secured, err := p.admitLearner(ctx, conn, timeout); err == nil {
				p.inbox.push(event{kind: evAccepted, link: newQuorumLink(secured, 0, 0)})
			}
		})
	}
}

// admitLearner runs the TLS and SASL handshakes of an accepted learner
// connection and returns the connection to use, or an error when the
// learner is refused (the connection is then closed and the reason
// logged).
func (p *Peer) admitLearner(ctx context.Context, conn net.Conn, timeout time.Duration) (net.Conn, error) {
	remote := conn.RemoteAddr().String()
	secured, _, err := p.cfg.TLS.secureAccept(ctx, conn, timeout)
	if err != nil {
		p.log.Warn("dropping quorum connection that failed TLS", "remote", remote, "err", err)
		conn.Close()
		return nil, err
	}
	if p.cfg.SASL == nil || p.cfg.SASL.Server == nil {
		return secured, nil
	}
	br := bufio.NewReader(secured)
	if err := p.cfg.SASL.check(secured, br, timeout); err != nil {
		p.log.Warn("dropping quorum connection that failed SASL", "remote", remote, "err", err)
		secured.Close()
		return nil, err
	}
	return &peekedConn{Conn: secured, r: br}, nil
}

// startLink runs a link's reader and writer.
func (p *Peer) startLink(l *quorumLink, learnerSide bool) {
	tick := p.tickDuration()
	readTimeout := tick * time.Duration(max(p.zc.InitLimit, p.zc.SyncLimit, 1))
	maxString := 2*p.zc.JuteMaxBuffer() + 1<<20
	p.wg.Go(func() {
		if err := l.writeLoop(readTimeout); err != nil {
			p.log.Debug("quorum link write failed", "peer", l.sid, "err", err)
		}
		l.close()
	})
	p.wg.Go(func() {
		r := bufio.NewReaderSize(l.conn, 64<<10)
		for {
			l.conn.SetReadDeadline(time.Now().Add(readTimeout))
			pkt, err := readPacket(r, maxString)
			if err != nil {
				p.inbox.push(event{kind: evLinkClosed, link: l, err: err})
				l.close()
				return
			}
			ev := event{kind: evPacket, link: l, packet: pkt}
			if learnerSide && pkt.Type == jute.PacketSnap {
				// The stream may take longer than initLimit: the loop counts
				// it as hearing from the leader until it is read.
				p.inbox.push(event{kind: evSnapReading, link: l})
				l.conn.SetReadDeadline(time.Time{})
				snap, err := p.sm.ReadSnapshot(r, pkt.Zxid)
				if err == nil {
					var marker string
					if marker, err = readString(r, 64); err == nil && marker != jute.SnapshotEndMarker {
						err = fmt.Errorf("SNAP ends with %q, want %q", marker, jute.SnapshotEndMarker)
					}
				}
				if err != nil {
					p.inbox.push(event{kind: evLinkClosed, link: l, err: fmt.Errorf("read SNAP from the leader: %w", err)})
					l.close()
					return
				}
				ev.snap = snap
			}
			p.inbox.push(ev)
		}
	})
}

// handle runs one inbox event on the loop.
func (p *Peer) handle(ev *event) {
	switch ev.kind {
	case evPersisted:
		p.lastLogged = max(p.lastLogged, ev.zxid)
		switch {
		case p.leader != nil:
			p.leader.Persisted(ev.zxid)
		case p.learner != nil:
			p.learner.Persisted(ev.zxid)
		}
	case evLogFailed:
		p.log.Error("transaction log write failed", "err", ev.err)
		p.endRole("the transaction log failed: " + ev.err.Error())
	case evPropose:
		if p.leader == nil {
			return // the state machine learns of the role change by Looking
		}
		if int64(ev.txn.Header.Zxid.Epoch()) != p.leader.Epoch() {
			return // prepared in an earlier leadership: the state machine abandons it at Looking
		}
		if err := p.leader.Propose(ev.txn); err != nil && !errors.Is(err, zab.ErrZxidRollover) {
			// The state machine waits for this transaction: without it
			// nothing after it could ever commit. Leaving the role makes it
			// abandon everything in flight (Looking).
			p.endRole("proposal refused: " + err.Error())
		}
	case evForward:
		if p.learner != nil {
			if err := p.learner.Forward(ev.req, ev.auth); err != nil {
				p.log.Debug("request not forwarded", "session", ev.req.Session, "err", err)
			}
		}
	case evTouch:
		if p.learner != nil {
			for id, timeout := range ev.touches {
				p.learner.Touch(id, timeout)
			}
		}
	case evRevalidate:
		if p.learner != nil {
			if err := p.learner.Revalidate(ev.session, ev.timeout); err != nil {
				p.sm.Revalidated([]jute.RevalidateReply{{Session: ev.session, Valid: false}})
			}
		}
	case evRevalidated:
		if p.leader != nil {
			p.leader.Revalidated(ev.sid, ev.session, ev.valid)
		}
	case evAccepted:
		// A learner may decide before this server does: while LOOKING its
		// connection waits, in case this server ends up leading.
		if p.role != jute.Leading && p.role != jute.Looking {
			ev.link.close()
			return
		}
		ev.link.gen = p.gen
		p.pendingLinks[ev.link] = true
		p.startLink(ev.link, false)
	case evLeaderLink:
		p.leaderConnected(ev)
	case evPacket:
		p.packet(ev)
	case evLinkClosed:
		p.linkClosed(ev)
	case evSnapshotDone:
		p.snapshotDone(ev)
	case evSnapReading:
		if ev.link == p.leaderLink && ev.link.gen == p.gen {
			p.readingSnap = true
		}
	}
}

func (p *Peer) leaderConnected(ev *event) {
	if ev.link == nil {
		if ev.gen == p.gen && p.learner == nil {
			p.endRole(ev.err.Error())
		}
		return
	}
	if ev.link.gen != p.gen || p.role == jute.Looking || p.role == jute.Leading {
		ev.link.close()
		return
	}
	p.leaderLink = ev.link
	p.startLink(ev.link, true)
	p.learner = zab.NewLearner(p.zabConfig(), zab.LearnerState{AcceptedEpoch: p.acceptedEpoch, CurrentEpoch: p.currentEpoch,
		LastZxid: p.lastLogged, Observer: p.role == jute.Observing})
	p.log.Info("connected to the leader", "leader", p.leaderID, "addr", ev.link.conn.RemoteAddr().String())
}

func (p *Peer) packet(ev *event) {
	l := ev.link
	if l.gen != p.gen {
		return
	}
	if p.learner != nil && l == p.leaderLink {
		p.readingSnap = false
		p.noteSyncMode(ev.packet.Type)
		p.learner.Step(ev.packet, ev.snap)
		return
	}
	if p.leader == nil {
		if p.role == jute.Looking && p.pendingLinks[l] && len(l.early) < 16 {
			l.early = append(l.early, ev.packet)
		}
		return
	}
	if p.pendingLinks[l] {
		// The first packet names the learner (FOLLOWERINFO/OBSERVERINFO).
		delete(p.pendingLinks, l)
		var info jute.LearnerInfo
		if err := jute.Decode(ev.packet.Data, &info); err != nil || info.ServerID == p.zc.MyID {
			p.log.Warn("dropping a quorum connection that did not introduce itself", "addr", l.conn.RemoteAddr().String(), "packet", ev.packet.Type.String())
			l.close()
			return
		}
		if _, ok := p.zc.Server(info.ServerID); !ok {
			p.log.Warn("dropping a learner that is not in the configuration", "sid", info.ServerID)
			l.close()
			return
		}
		l.sid = info.ServerID
		if old := p.links[l.sid]; old != nil {
			old.close()
		}
		p.links[l.sid] = l
		p.leader.Connected(l.sid)
		p.log.Info("learner connected", "sid", l.sid, "addr", l.conn.RemoteAddr().String())
	}
	if p.links[l.sid] != l {
		return
	}
	p.leader.Step(l.sid, ev.packet)
}

func (p *Peer) linkClosed(ev *event) {
	l := ev.link
	if l.gen != p.gen {
		return
	}
	if l == p.leaderLink {
		p.endRole("lost the leader: " + ev.err.Error())
		return
	}
	delete(p.pendingLinks, l)
	if p.links[l.sid] == l {
		delete(p.links, l.sid)
		delete(p.snapshots, l.sid)
		if p.leader != nil {
			p.leader.Disconnected(l.sid)
		}
		p.log.Info("learner disconnected", "sid", l.sid, "err", ev.err)
	}
}

// snapshotDone sends a learner the SNAP it waited for.
func (p *Peer) snapshotDone(ev *event) {
	if ev.gen != p.gen || p.leader == nil || p.links[ev.sid] == nil {
		return // the role or the learner's link is gone
	}
	if ev.err != nil {
		p.log.Error("snapshot for a SNAP sync failed", "sid", ev.sid, "err", ev.err)
		p.links[ev.sid].close()
		return
	}
	p.snapshots[ev.sid] = ev.snapData
	p.log.Info("synchronizing learner", "sid", ev.sid, "mode", "SNAP", "zxid", ev.zxid, "bytes", len(ev.snapData))
	p.leader.SnapshotReady(ev.sid, ev.zxid)
}

// noteSyncMode logs how this learner is synchronized.
func (p *Peer) noteSyncMode(t jute.PacketType) {
	switch t {
	case jute.PacketDiff, jute.PacketTrunc, jute.PacketSnap:
		p.log.Info("synchronizing with the leader", "mode", t.String(), "leader", p.leaderID)
	}
}

// flushZab executes the active ZAB role's Ready (see zab's package doc for
// the order), repeating while executing it produced more work.
func (p *Peer) flushZab() {
	for range 100 {
		switch {
		case p.leader != nil && p.leader.HasReady():
			p.executeLeader(p.leader.Ready())
		case p.learner != nil && p.learner.HasReady():
			p.executeLearner(p.learner.Ready())
		default:
			return
		}
	}
}

func (p *Peer) persistEpochs(r *zab.Ready) error {
	if r.AcceptedEpoch != 0 {
		if err := storage.WriteEpoch(p.cfg.FS, p.cfg.SnapDir, storage.AcceptedEpochFile, r.AcceptedEpoch); err != nil {
			return err
		}
		p.acceptedEpoch = r.AcceptedEpoch
		p.log.Info("accepted epoch", "epoch", r.AcceptedEpoch)
	}
	if r.CurrentEpoch != 0 {
		if err := storage.WriteEpoch(p.cfg.FS, p.cfg.SnapDir, storage.CurrentEpochFile, r.CurrentEpoch); err != nil {
			return err
		}
		p.currentEpoch = r.CurrentEpoch
		p.log.Info("current epoch", "epoch", r.CurrentEpoch)
	}
	return nil
}

func (p *Peer) executeLeader(r zab.Ready) {
	if err := p.persistEpochs(&r); err != nil {
		p.endRole("persist epoch: " + err.Error())
		return
	}
	if len(r.Deliveries) > 0 {
		p.sm.Deliver(r.Deliveries)
	}
	for _, sid := range r.SnapshotFor {
		gen := p.gen
		p.sm.WireSnapshot(func(data []byte, zxid jute.Zxid, err error) {
			p.inbox.push(event{kind: evSnapshotDone, sid: sid, gen: gen, snapData: data, zxid: zxid, err: err})
		})
	}
	for _, m := range r.Messages {
		l := p.links[m.To]
		if l == nil {
			continue
		}
		o := outgoing{packet: m.Packet}
		if m.Snapshot {
			o.snapshot = p.snapshots[m.To]
			delete(p.snapshots, m.To)
		}
		switch m.Packet.Type {
		case jute.PacketDiff, jute.PacketTrunc:
			p.log.Info("synchronizing learner", "sid", m.To, "mode", m.Packet.Type.String(), "zxid", m.Packet.Zxid)
		}
		l.send(o)
	}
	if len(r.Append) > 0 {
		p.writer.append(r.Append)
		p.logged(r.Append)
	}
	for _, sid := range r.Disconnect {
		if l := p.links[sid]; l != nil {
			l.close()
			delete(p.links, sid)
			p.leader.Disconnected(sid)
			p.log.Info("dropped learner", "sid", sid)
		}
	}
	if len(r.Requests) > 0 {
		p.sm.Forwarded(r.Requests)
	}
	if len(r.Touches) > 0 {
		p.sm.Touched(r.Touches)
	}
	if len(r.Revalidate) > 0 {
		p.sm.Revalidate(r.Revalidate)
	}
	if r.Serving {
		epoch := p.leader.Epoch()
		p.election.SetPeerEpoch(epoch)
		p.setStatus(func(s *Status) { s.Serving, s.Epoch, s.LeaderSince = true, epoch, time.Now() })
		p.log.Info("leading", "epoch", epoch, "learners", len(p.links))
		p.sm.Lead(epoch)
	}
	if r.Err != nil {
		p.endRole(r.Err.Error())
	}
}

func (p *Peer) executeLearner(r zab.Ready) {
	if err := p.persistEpochs(&r); err != nil {
		p.endRole("persist epoch: " + err.Error())
		return
	}
	if r.Truncate {
		if err := p.writer.truncateTo(r.TruncateTo); err != nil {
			p.endRole(err.Error())
			return
		}
		p.syncReplaced = true
		p.truncatedRecent(r.TruncateTo)
		last, err := p.sm.Reload(p.ctx)
		if err != nil {
			p.endRole("reload after TRUNC: " + err.Error())
			return
		}
		p.lastLogged = last
	}
	if r.LoadSnapshot {
		// Whatever the log holds after the snapshot is not the leader's
		// history: it must not be replayed after a restart.
		if err := p.writer.truncateTo(r.SnapshotZxid); err != nil {
			p.endRole("cut the log back to the leader's snapshot: " + err.Error())
			return
		}
		p.syncReplaced = true
		p.recent = nil
		if err := p.sm.InstallSnapshot(p.ctx, r.Snapshot, r.SnapshotZxid); err != nil {
			p.endRole("install the leader's snapshot: " + err.Error())
			return
		}
		p.lastLogged = r.SnapshotZxid
	}
	if len(r.Deliveries) > 0 {
		p.sm.Deliver(r.Deliveries)
	}
	if r.TakeSnapshot {
		if err := p.sm.SaveSnapshot(p.ctx); err != nil {
			p.endRole("snapshot at NEWLEADER: " + err.Error())
			return
		}
		p.learner.SnapshotTaken()
	}
	if p.leaderLink != nil {
		for _, m := range r.Messages {
			p.leaderLink.send(outgoing{packet: m.Packet})
		}
	}
	if len(r.Append) > 0 {
		p.writer.append(r.Append)
		p.logged(r.Append)
	}
	if len(r.Revalidated) > 0 {
		p.sm.Revalidated(r.Revalidated)
	}
	if r.Serving {
		epoch := p.learner.Epoch()
		p.election.SetPeerEpoch(epoch)
		p.setStatus(func(s *Status) { s.Serving, s.Epoch = true, epoch })
		p.log.Info("serving", "role", p.role.String(), "leader", p.leaderID, "epoch", epoch)
		p.sm.Learn(p.role == jute.Observing, p.leaderID)
	}
	if r.Err != nil {
		p.endRole(r.Err.Error())
	}
}

func (p *Peer) setStatus(f func(*Status)) {
	p.statusMu.Lock()
	f(&p.status)
	p.statusMu.Unlock()
}

// updateStatus copies the leader's counts for monitoring.
func (p *Peer) updateStatus() {
	if p.leader == nil {
		return
	}
	synced := p.leader.SyncedFollowers()
	observers, syncs := p.leader.SyncedObservers(), p.leader.PendingSyncs()
	last, smallest, largest := p.leader.ProposalSizes()
	var followers, obs int
	for observer := range maps.Values(p.leader.Learners()) {
		if observer {
			obs++
		} else {
			followers++
		}
	}
	p.setStatus(func(s *Status) {
		s.SyncedFollowers, s.Followers, s.Observers = synced, followers, obs
		s.SyncedObservers, s.PendingSyncs = observers, syncs
		s.LastProposalSize, s.MinProposalSize, s.MaxProposalSize = last, smallest, largest
	})
}

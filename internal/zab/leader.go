package zab

import (
	"errors"
	"fmt"
	"slices"

	"github.com/zkd/zkd/internal/jute"
)

// LeaderState is what a new leader starts from: its persisted epochs, the
// last zxid in its log and the tail of its committed history (the last
// CommitLogCount transactions, oldest first) for DIFF syncs.
type LeaderState struct {
	AcceptedEpoch, CurrentEpoch int64
	LastZxid                    jute.Zxid
	History                     []Proposal
}

// leaderPhase is where the leader is in ZAB (§5.3-§5.5).
type leaderPhase uint8

const (
	leaderDiscovery leaderPhase = iota // gathering FOLLOWERINFO to pick the epoch
	leaderEpochAck                     // waiting for a quorum of ACKEPOCH
	leaderSync                         // waiting for a quorum of NEWLEADER ACKs
	leaderBroadcast                    // serving
)

// learnerStage is where one learner is in its handshake.
type learnerStage uint8

const (
	stageConnected   learnerStage = iota // link open, nothing heard
	stageInfo                            // FOLLOWERINFO/OBSERVERINFO received
	stageEpochSent                       // LEADERINFO sent
	stageAckedEpoch                      // ACKEPOCH received, sync not started
	stageAwaitSnap                       // waiting for the driver's snapshot
	stageSynced                          // sync sent, NEWLEADER sent, awaiting its ACK
	stageAckedLeader                     // ACKed NEWLEADER, UPTODATE not yet sent
	stageUpToDate                        // UPTODATE sent: broadcasting
)

// learnerHandler is the leader's view of one learner (ZooKeeper's
// LearnerHandler, without the thread).
type learnerHandler struct {
	sid           int64
	observer      bool
	stage         learnerStage
	acceptedEpoch int64
	peerZxid      jute.Zxid // from ACKEPOCH
	lastHeard     int       // tick count when a packet last arrived
	forwarding    bool      // in the broadcast set
	sentUpTo      jute.Zxid // highest zxid queued to it (committed or proposed)
}

// outstanding is a proposal waiting for its quorum.
type outstanding struct {
	Proposal
	acks     []int64
	proposed int // tick it was proposed at
	syncs    []int64
}

// Leader is the leader's side of ZAB. It is not safe for concurrent use.
type Leader struct {
	cfg   Config
	phase leaderPhase
	ready Ready
	ticks int // half ticks since start
	// phaseStart is the tick the current wait (discovery, epoch ack,
	// NEWLEADER ack) began.
	phaseStart int

	acceptedEpoch, currentEpoch int64
	epoch                       int64 // the epoch being established
	lastZxid                    jute.Zxid
	lastProposed, lastCommitted jute.Zxid
	// lastTxn is the newest committed transaction; lastCommitted may be the
	// epoch's base zxid (counter 0), which names no transaction.
	lastTxn   jute.Zxid
	persisted jute.Zxid

	learners map[int64]*learnerHandler
	// committed is the in-memory tail of the committed history.
	committed []Proposal
	pending   []*outstanding
	// epochAcks are the voters whose ACKEPOCH counted towards the epoch
	// quorum (kept across their reconnections, as Java's set is).
	epochAcks []int64
	// newLeaderAcks are the voters that ACKed NEWLEADER (the leader
	// included once its state is durable).
	newLeaderAcks []int64
	serving       bool
	failed        bool
	// sizes are the last, smallest and largest proposal (data bytes), -1
	// before the first.
	sizes [3]int64
}

// ErrZxidRollover ends a leadership whose zxid counter is exhausted: the
// next election starts a new epoch (§5.5).
var ErrZxidRollover = errors.New("zxid lower 32 bits have rolled over; a new epoch is needed")

// NewLeader returns a leader in discovery, counting its own epoch.
func NewLeader(cfg Config, st LeaderState) *Leader {
	l := &Leader{
		cfg: cfg, acceptedEpoch: st.AcceptedEpoch, currentEpoch: st.CurrentEpoch,
		lastZxid: st.LastZxid, lastCommitted: st.LastZxid, lastTxn: st.LastZxid, lastProposed: st.LastZxid, persisted: st.LastZxid,
		learners: make(map[int64]*learnerHandler), sizes: [3]int64{-1, -1, -1},
	}
	l.committed = append(l.committed, st.History...)
	l.trimCommitted()
	l.maybeDecideEpoch()
	return l
}

// Epoch returns the epoch being established or established.
func (l *Leader) Epoch() int64 { return l.epoch }

// Serving reports whether the leader has a quorum synchronized.
func (l *Leader) Serving() bool { return l.serving }

// LastProposed returns the zxid of the newest proposal.
func (l *Leader) LastProposed() jute.Zxid { return l.lastProposed }

// Ready returns and clears the pending work.
func (l *Leader) Ready() Ready {
	r := l.ready
	l.ready = Ready{}
	return r
}

// HasReady reports whether Ready has work.
func (l *Leader) HasReady() bool { return !l.ready.empty() }

func (l *Leader) send(to int64, p jute.QuorumPacket) {
	l.ready.Messages = append(l.ready.Messages, Message{To: to, Packet: p})
}

func (l *Leader) fail(err error) {
	if l.failed {
		return
	}
	l.failed = true
	l.ready.Err = err
}

// Connected registers a new learner link; a link the learner had before
// is forgotten (the driver has replaced it).
func (l *Leader) Connected(sid int64) {
	l.learners[sid] = &learnerHandler{sid: sid, lastHeard: l.ticks}
}

// Disconnected forgets a learner whose link closed.
func (l *Leader) Disconnected(sid int64) {
	delete(l.learners, sid)
}

// drop closes a learner's link.
func (l *Leader) drop(h *learnerHandler) {
	delete(l.learners, h.sid)
	l.ready.Disconnect = append(l.ready.Disconnect, h.sid)
}

// Step handles one packet from learner sid.
func (l *Leader) Step(sid int64, p jute.QuorumPacket) {
	h := l.learners[sid]
	if h == nil || l.failed {
		return
	}
	h.lastHeard = l.ticks
	switch h.stage {
	case stageConnected:
		l.stepInfo(h, p)
	case stageEpochSent:
		l.stepAckEpoch(h, p)
	case stageInfo, stageAckedEpoch, stageAwaitSnap:
		// Nothing is expected until the leader has sent something.
		l.drop(h)
	case stageSynced:
		if p.Type != jute.PacketAck || p.Zxid != jute.MakeZxid(uint32(l.epoch), 0) {
			// The first packet after ACKEPOCH must be the NEWLEADER ACK (§5.4).
			l.drop(h)
			return
		}
		h.stage = stageAckedLeader
		if !h.observer {
			l.newLeaderAcks = append(l.newLeaderAcks, h.sid)
		}
		l.maybeServe()
		if l.serving && h.stage == stageAckedLeader {
			l.upToDate(h)
		}
	default:
		l.stepBroadcast(h, p)
	}
}

func (l *Leader) stepInfo(h *learnerHandler, p jute.QuorumPacket) {
	if p.Type != jute.PacketFollowerInfo && p.Type != jute.PacketObserverInfo {
		l.drop(h)
		return
	}
	var info jute.LearnerInfo
	if err := jute.Decode(p.Data, &info); err != nil || info.ServerID != h.sid {
		l.drop(h)
		return
	}
	h.observer = p.Type == jute.PacketObserverInfo || !l.cfg.IsVoter(h.sid)
	h.acceptedEpoch = int64(p.Zxid.Epoch())
	h.stage = stageInfo
	if l.phase == leaderDiscovery {
		l.maybeDecideEpoch()
		return
	}
	l.sendLeaderInfo(h)
}

// maybeDecideEpoch picks the new epoch once the leader and a quorum of
// voters have reported their accepted epochs (§5.3 step 2).
func (l *Leader) maybeDecideEpoch() {
	if l.phase != leaderDiscovery {
		return
	}
	ids := []int64{l.cfg.ID}
	maxEpoch := l.acceptedEpoch
	for _, h := range l.learners {
		if h.stage == stageInfo {
			ids = append(ids, h.sid)
			maxEpoch = max(maxEpoch, h.acceptedEpoch)
		}
	}
	if !l.cfg.IsQuorum(ids) {
		return
	}
	l.epoch = maxEpoch + 1
	l.acceptedEpoch = l.epoch
	l.ready.AcceptedEpoch = l.epoch
	l.phase = leaderEpochAck
	l.phaseStart = l.ticks
	for _, sid := range l.sortedLearners() {
		if h := l.learners[sid]; h.stage == stageInfo {
			l.sendLeaderInfo(h)
		}
	}
	l.maybeEpochAcked()
}

func (l *Leader) sendLeaderInfo(h *learnerHandler) {
	e := jute.NewEncoder(nil)
	e.Int(jute.ZabProtocolVersion)
	l.send(h.sid, packet(jute.PacketLeaderInfo, jute.MakeZxid(uint32(l.epoch), 0), e.Bytes()))
	h.stage = stageEpochSent
}

func (l *Leader) stepAckEpoch(h *learnerHandler, p jute.QuorumPacket) {
	if p.Type != jute.PacketAckEpoch {
		l.drop(h)
		return
	}
	cur, err := jute.DecodeAckEpoch(p.Data)
	if err != nil {
		l.drop(h)
		return
	}
	if cur != -1 {
		// A learner more recent than the leader cannot follow it (§5.3 step 4).
		if int64(cur) > l.currentEpoch || (int64(cur) == l.currentEpoch && p.Zxid > l.lastZxid) {
			l.drop(h)
			return
		}
	}
	if cur != -1 && !h.observer && p.Zxid != -1 && !slices.Contains(l.epochAcks, h.sid) {
		// Only a learner that had not accepted this epoch before counts: an
		// ACKEPOCH of -1 may come from a server another leader of the same
		// epoch already holds (§5.3; Java's waitForEpochAck).
		l.epochAcks = append(l.epochAcks, h.sid)
	}
	h.peerZxid = p.Zxid
	h.stage = stageAckedEpoch
	if l.phase == leaderEpochAck {
		l.maybeEpochAcked()
		return
	}
	l.syncLearner(h)
}

// maybeEpochAcked completes discovery once a quorum has acknowledged the
// epoch (§5.3 step 4), then starts every acknowledged learner's sync.
func (l *Leader) maybeEpochAcked() {
	if l.phase != leaderEpochAck {
		return
	}
	if !l.cfg.IsQuorum(append([]int64{l.cfg.ID}, l.epochAcks...)) {
		return
	}
	l.currentEpoch = l.epoch
	l.ready.CurrentEpoch = l.epoch
	l.phase = leaderSync
	l.phaseStart = l.ticks
	// The leader's own NEWLEADER "ack": its epoch is persisted by this Ready.
	l.newLeaderAcks = []int64{l.cfg.ID}
	for _, sid := range l.sortedLearners() {
		if h := l.learners[sid]; h.stage == stageAckedEpoch {
			l.syncLearner(h)
		}
	}
	l.maybeServe()
}

// syncLearner chooses DIFF, TRUNC or SNAP for a learner (§5.4) and queues
// the history it needs.
func (l *Leader) syncLearner(h *learnerHandler) {
	peer := h.peerZxid
	last := l.lastTxn
	minC, maxC := last, last
	if len(l.committed) > 0 {
		minC, maxC = l.committed[0].Zxid, l.committed[len(l.committed)-1].Zxid
	}
	peerNew := peer.Counter() == 0
	switch {
	case peer == last:
		l.send(h.sid, packet(jute.PacketDiff, peer, nil))
		h.sentUpTo = peer
	case peer > maxC && !peerNew:
		l.send(h.sid, packet(jute.PacketTrunc, maxC, nil))
		h.sentUpTo = maxC
	case len(l.committed) > 0 && minC <= peer && peer <= maxC:
		if !l.diffFrom(h, peer) {
			l.snapSync(h)
			return
		}
	default:
		l.snapSync(h)
		return
	}
	l.startForwarding(h)
}

// diffFrom walks the committed history from peer (queueCommittedProposals):
// DIFF or TRUNC then PROPOSAL+COMMIT pairs. It returns false when only a
// SNAP will do.
func (l *Leader) diffFrom(h *learnerHandler, peer jute.Zxid) bool {
	prev := jute.Zxid(0)
	first := true
	for i, p := range l.committed {
		if p.Zxid < peer {
			prev = p.Zxid
			continue
		}
		if first {
			first = false
			switch {
			case p.Zxid == peer:
				l.send(h.sid, packet(jute.PacketDiff, l.committed[len(l.committed)-1].Zxid, nil))
				h.sentUpTo = peer
				continue
			case peer.Counter() == 0:
				l.send(h.sid, packet(jute.PacketDiff, l.committed[len(l.committed)-1].Zxid, nil))
			case p.Zxid.Epoch() != peer.Epoch() || i == 0:
				return false
			default:
				l.send(h.sid, packet(jute.PacketTrunc, prev, nil))
			}
		}
		l.send(h.sid, packet(jute.PacketProposal, p.Zxid, p.Data))
		l.send(h.sid, packet(jute.PacketCommit, p.Zxid, nil))
		h.sentUpTo = p.Zxid
	}
	if first {
		if peer.Counter() != 0 {
			return false
		}
		l.send(h.sid, packet(jute.PacketDiff, maxCommitted(l.committed, peer), nil))
		h.sentUpTo = peer
	}
	return true
}

func maxCommitted(c []Proposal, def jute.Zxid) jute.Zxid {
	if len(c) == 0 {
		return def
	}
	return c[len(c)-1].Zxid
}

func (l *Leader) snapSync(h *learnerHandler) {
	h.stage = stageAwaitSnap
	l.ready.SnapshotFor = append(l.ready.SnapshotFor, h.sid)
}

// SnapshotReady sends a SNAP sync to learner sid: the driver took a
// snapshot of the applied state as of zxid, which it writes after the SNAP
// packet.
func (l *Leader) SnapshotReady(sid int64, zxid jute.Zxid) {
	h := l.learners[sid]
	if h == nil || h.stage != stageAwaitSnap || l.failed {
		return
	}
	if zxid > l.lastTxn {
		l.drop(h)
		return
	}
	l.ready.Messages = append(l.ready.Messages, Message{To: sid, Packet: packet(jute.PacketSnap, zxid, nil), Snapshot: true})
	h.sentUpTo = zxid
	// The committed history must reach back to the snapshot, or the
	// transactions between them would never reach the learner.
	if zxid < l.lastTxn && (len(l.committed) == 0 || l.committed[0].Zxid > zxid+1) {
		l.drop(h)
		return
	}
	l.startForwarding(h)
}

// startForwarding queues what the learner has not been sent yet, adds it to
// the broadcast set, and sends NEWLEADER (§5.4 "startForwarding").
func (l *Leader) startForwarding(h *learnerHandler) {
	for _, p := range l.committed {
		if p.Zxid > h.sentUpTo {
			l.send(h.sid, packet(jute.PacketProposal, p.Zxid, p.Data))
			l.send(h.sid, packet(jute.PacketCommit, p.Zxid, nil))
			h.sentUpTo = p.Zxid
		}
	}
	if !h.observer {
		for _, o := range l.pending {
			if o.Zxid > h.sentUpTo {
				l.send(h.sid, packet(jute.PacketProposal, o.Zxid, o.Data))
				h.sentUpTo = o.Zxid
			}
		}
	}
	h.forwarding = true
	l.send(h.sid, packet(jute.PacketNewLeader, jute.MakeZxid(uint32(l.epoch), 0), nil))
	h.stage = stageSynced
}

// maybeServe starts broadcast once a quorum has ACKed NEWLEADER.
func (l *Leader) maybeServe() {
	if l.phase != leaderSync || !l.cfg.IsQuorum(l.newLeaderAcks) {
		return
	}
	l.phase = leaderBroadcast
	l.serving = true
	l.ready.Serving = true
	base := jute.MakeZxid(uint32(l.epoch), 0)
	if l.lastCommitted < base {
		l.lastCommitted = base
	}
	if l.lastProposed < base {
		l.lastProposed = base
	}
	for _, sid := range l.sortedLearners() {
		if h := l.learners[sid]; h.stage == stageAckedLeader {
			l.upToDate(h)
		}
	}
}

func (l *Leader) upToDate(h *learnerHandler) {
	l.send(h.sid, packet(jute.PacketUpToDate, -1, nil))
	h.stage = stageUpToDate
}

func (l *Leader) stepBroadcast(h *learnerHandler, p jute.QuorumPacket) {
	switch p.Type {
	case jute.PacketAck:
		if h.observer || p.Zxid.Counter() == 0 {
			return
		}
		l.ack(h.sid, p.Zxid)
	case jute.PacketPing:
		touches, err := jute.DecodeTouches(p.Data)
		if err != nil {
			l.drop(h)
			return
		}
		l.ready.Touches = append(l.ready.Touches, touches...)
	case jute.PacketRequest:
		var fr jute.ForwardedRequest
		if err := jute.Decode(p.Data, &fr); err != nil {
			l.drop(h)
			return
		}
		if fr.Op == jute.OpSync {
			l.sync(h.sid)
			return
		}
		l.ready.Requests = append(l.ready.Requests, Request{From: h.sid, ForwardedRequest: fr, Auth: p.Auth})
	case jute.PacketRevalidate:
		var rv jute.Revalidate
		if err := jute.Decode(p.Data, &rv); err != nil {
			l.drop(h)
			return
		}
		l.ready.Revalidate = append(l.ready.Revalidate, RevalidateRequest{From: h.sid, Revalidate: rv})
	default:
		l.drop(h)
	}
}

// sync answers a learner's SYNC once every proposal outstanding now has
// committed (§5.8).
func (l *Leader) sync(sid int64) {
	if len(l.pending) == 0 {
		l.send(sid, packet(jute.PacketSync, 0, nil))
		return
	}
	last := l.pending[len(l.pending)-1]
	last.syncs = append(last.syncs, sid)
}

// Revalidated answers a learner's REVALIDATE.
func (l *Leader) Revalidated(sid int64, session jute.SessionID, valid bool) {
	if l.learners[sid] == nil {
		return
	}
	l.send(sid, packet(jute.PacketRevalidate, -1, jute.Encode(&jute.RevalidateReply{Session: session, Valid: valid})))
}

// Propose broadcasts a transaction the leader's server prepared; its zxid
// must follow the last proposed one. The transaction is committed (and
// delivered) once a quorum has logged it.
func (l *Leader) Propose(txn *jute.Txn) error {
	if !l.serving || l.failed {
		return errors.New("zab: not serving as leader")
	}
	z := txn.Header.Zxid
	if z.Counter() == 0xffffffff {
		l.fail(ErrZxidRollover)
		return ErrZxidRollover
	}
	if z != l.lastProposed+1 || z.Epoch() != int32(l.epoch) {
		return fmt.Errorf("zab: proposal zxid %v does not follow %v in epoch %d", z, l.lastProposed, l.epoch)
	}
	p := NewProposal(txn)
	n := int64(len(p.Data))
	l.sizes[0], l.sizes[2] = n, max(l.sizes[2], n)
	if l.sizes[1] < 0 || n < l.sizes[1] {
		l.sizes[1] = n
	}
	l.lastProposed = z
	l.pending = append(l.pending, &outstanding{Proposal: p, proposed: l.ticks})
	l.ready.Append = append(l.ready.Append, p)
	for _, sid := range l.sortedLearners() {
		if h := l.learners[sid]; h.forwarding && !h.observer {
			l.send(sid, packet(jute.PacketProposal, z, p.Data))
			h.sentUpTo = z
		}
	}
	return nil
}

// Persisted reports that the leader's own log holds everything up to zxid.
func (l *Leader) Persisted(zxid jute.Zxid) {
	if zxid <= l.persisted {
		return
	}
	l.persisted = zxid
	for _, o := range l.pending {
		if o.Zxid <= zxid && !slices.Contains(o.acks, l.cfg.ID) {
			o.acks = append(o.acks, l.cfg.ID)
		}
	}
	l.tryCommit()
}

func (l *Leader) ack(sid int64, zxid jute.Zxid) {
	for _, o := range l.pending {
		if o.Zxid == zxid {
			if !slices.Contains(o.acks, sid) {
				o.acks = append(o.acks, sid)
			}
			break
		}
	}
	l.tryCommit()
}

// tryCommit commits proposals in zxid order while the oldest has a quorum.
func (l *Leader) tryCommit() {
	for len(l.pending) > 0 && l.cfg.IsQuorum(l.pending[0].acks) {
		o := l.pending[0]
		l.pending[0] = nil
		l.pending = l.pending[1:]
		l.lastCommitted, l.lastTxn = o.Zxid, o.Zxid
		l.committed = append(l.committed, o.Proposal)
		l.trimCommitted()
		l.ready.Deliveries = append(l.ready.Deliveries, Delivery{Txn: o.Txn})
		for _, sid := range l.sortedLearners() {
			h := l.learners[sid]
			switch {
			case !h.forwarding:
			case h.observer && o.Zxid > h.sentUpTo:
				l.send(sid, packet(jute.PacketInform, o.Zxid, o.Data))
				h.sentUpTo = o.Zxid
			case !h.observer && h.sentUpTo >= o.Zxid:
				// Only proposals the follower was sent (§5.4).
				l.send(sid, packet(jute.PacketCommit, o.Zxid, nil))
			}
		}
		for _, sid := range o.syncs {
			if l.learners[sid] != nil {
				l.send(sid, packet(jute.PacketSync, 0, nil))
			}
		}
	}
	if len(l.pending) == 0 {
		l.pending = nil
	}
}

func (l *Leader) trimCommitted() {
	if n := l.cfg.commitLogCount(); len(l.committed) > n {
		l.committed = slices.Delete(l.committed, 0, len(l.committed)-n)
	}
}

// Tick advances time by half a tick: pings every half tick, liveness
// checks every full tick (§5.5, §5.10).
func (l *Leader) Tick() {
	if l.failed {
		return
	}
	l.ticks++
	ticks := l.ticks / 2
	switch l.phase {
	case leaderDiscovery, leaderEpochAck, leaderSync:
		if (l.ticks-l.phaseStart)/2 >= l.cfg.InitLimit {
			l.fail(fmt.Errorf("zab: no quorum of followers within initLimit (%d ticks) while %s", l.cfg.InitLimit, l.phaseName()))
		}
		return
	}
	for _, sid := range l.sortedLearners() {
		h := l.learners[sid]
		if h.stage >= stageSynced {
			l.send(sid, packet(jute.PacketPing, l.lastProposed, nil))
		}
		if len(l.pending) > 0 && !h.observer && h.stage == stageUpToDate && !slices.Contains(l.pending[0].acks, sid) &&
			(l.ticks-l.pending[0].proposed)/2 > l.cfg.SyncLimit {
			l.drop(h)
		}
	}
	if l.ticks%2 != 0 {
		return
	}
	synced := []int64{l.cfg.ID}
	for _, h := range l.learners {
		if h.stage >= stageSynced && !h.observer && (l.ticks-h.lastHeard)/2 <= l.cfg.SyncLimit {
			synced = append(synced, h.sid)
		}
	}
	if !l.cfg.IsQuorum(synced) {
		l.fail(fmt.Errorf("zab: not hearing a quorum of followers within syncLimit (%d ticks) at tick %d", l.cfg.SyncLimit, ticks))
	}
}

// SyncedFollowers returns how many voting learners are synchronized and
// heard from within syncLimit.
func (l *Leader) SyncedFollowers() int {
	n := 0
	for _, h := range l.learners {
		if h.stage == stageUpToDate && !h.observer && (l.ticks-h.lastHeard)/2 <= l.cfg.SyncLimit {
			n++
		}
	}
	return n
}

// Learners returns the ids of the connected learners and whether each is
// an observer.
func (l *Leader) Learners() map[int64]bool {
	out := make(map[int64]bool, len(l.learners))
	for sid, h := range l.learners {
		out[sid] = h.observer
	}
	return out
}

// ProposalSizes returns the data size of the last, the smallest and the
// largest proposal, -1 each before the first.
func (l *Leader) ProposalSizes() (last, smallest, largest int64) {
	return l.sizes[0], l.sizes[1], l.sizes[2]
}

// PendingProposals returns how many proposals wait for a quorum.
func (l *Leader) PendingProposals() int { return len(l.pending) }

// SyncedObservers returns how many observers are synchronized and heard
// from within syncLimit.
func (l *Leader) SyncedObservers() int {
	n := 0
	for _, h := range l.learners {
		if h.stage == stageUpToDate && h.observer && (l.ticks-h.lastHeard)/2 <= l.cfg.SyncLimit {
			n++
		}
	}
	return n
}

// PendingSyncs returns how many learner syncs wait for proposals to commit.
func (l *Leader) PendingSyncs() int {
	n := 0
	for _, o := range l.pending {
		n += len(o.syncs)
	}
	return n
}

func (l *Leader) phaseName() string {
	switch l.phase {
	case leaderDiscovery:
		return "gathering epochs"
	case leaderEpochAck:
		return "waiting for epoch acks"
	case leaderSync:
		return "waiting for NEWLEADER acks"
	}
	return "broadcasting"
}

func (l *Leader) sortedLearners() []int64 {
	ids := make([]int64, 0, len(l.learners))
	for sid := range l.learners {
		ids = append(ids, sid)
	}
	slices.Sort(ids)
	return ids
}

// Uncommitted returns the proposals not committed yet, oldest first: when
// the leadership ends, they are in the leader's log and become part of its
// state (ZooKeeper fast-forwards its database from the log).
func (l *Leader) Uncommitted() []Proposal {
	out := make([]Proposal, len(l.pending))
	for i, o := range l.pending {
		out[i] = o.Proposal
	}
	return out
}

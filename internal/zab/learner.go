package zab

import (
	"errors"
	"fmt"
	"slices"

	"github.com/zkd/zkd/internal/jute"
)

// LearnerState is what a learner starts from: its persisted epochs and the
// last zxid in its log.
type LearnerState struct {
	AcceptedEpoch, CurrentEpoch int64
	LastZxid                    jute.Zxid
	// Observer makes the learner an observer: OBSERVERINFO, INFORM, no
	// ACKs.
	Observer bool
}

// learnerPhase is where a learner is in ZAB.
type learnerPhase uint8

const (
	learnerInfoSent      learnerPhase = iota // waiting for LEADERINFO
	learnerEpochAcked                        // waiting for DIFF/TRUNC/SNAP
	learnerSyncing                           // receiving history until NEWLEADER
	learnerNewLeader                         // NEWLEADER received, its ACK not sent yet
	learnerAwaitUpToDate                     // NEWLEADER ACKed, waiting for UPTODATE
	learnerBroadcast                         // serving
)

// Learner is a follower's or observer's side of ZAB. It is not safe for
// concurrent use.
type Learner struct {
	cfg   Config
	st    LearnerState
	phase learnerPhase
	ready Ready
	ticks int
	// lastHeard is the half tick the leader was last heard from.
	lastHeard int

	newEpoch  int64
	lastZxid  jute.Zxid // the newest transaction logged or queued to be
	persisted jute.Zxid
	// proposals are logged (or queued to be) but not committed yet.
	proposals []Proposal
	// acked is the newest zxid ACKed.
	acked jute.Zxid
	// unacked are the zxids of the proposals logged (or queued to be) and
	// not ACKed yet, oldest first. A follower ACKs each once it is
	// durable, even if its COMMIT came first: a Java leader drops a
	// follower whose oldest un-ACKed proposal waits longer than syncLimit
	// (§5.5).
	unacked []jute.Zxid
	// snapZxid is the zxid of the SNAP this sync started with, else 0.
	// A Java leader's snapshot is fuzzy: proposals it queued before
	// serializing may already be in it, and they arrive after SNAP with
	// their COMMITs. Those at or below snapZxid are skipped (§5.4).
	snapZxid jute.Zxid
	// needSnapshot is set by SNAP and TRUNC: NEWLEADER takes a snapshot.
	needSnapshot bool
	// held are proposals received during the sync, before NEWLEADER: they go to
	// the log only with NEWLEADER, after the snapshot, as in ZooKeeper
	// (packetsNotCommitted). Logged earlier, they would follow a SNAP that
	// is not on disk yet, and a role ending before NEWLEADER would leave
	// a hole in the log.
	held []Proposal
	// deferred are the commits received before NEWLEADER: they are
	// delivered with NEWLEADER, in the same Ready as the snapshot and the
	// epoch that cover them, so that nothing is applied ahead of what the
	// disk can vouch for.
	deferred []Delivery
	// snapshotPending is set from NEWLEADER until the driver reports the
	// snapshot it asked for durable (SnapshotTaken).
	snapshotPending bool
	// newLeaderNeeds is the zxid that must be durable before NEWLEADER is
	// ACKed: everything received before NEWLEADER.
	newLeaderNeeds jute.Zxid
	touches        map[jute.SessionID]int32
	failed         bool
}

// NewLearner returns a learner that has just connected to the leader; the
// first Ready holds its FOLLOWERINFO or OBSERVERINFO.
func NewLearner(cfg Config, st LearnerState) *Learner {
	l := &Learner{cfg: cfg, st: st, lastZxid: st.LastZxid, persisted: st.LastZxid, acked: st.LastZxid,
		touches: make(map[jute.SessionID]int32)}
	typ := jute.PacketFollowerInfo
	if st.Observer {
		typ = jute.PacketObserverInfo
	}
	info := jute.LearnerInfo{ServerID: cfg.ID, ProtocolVersion: jute.ZabProtocolVersion}
	l.send(packet(typ, jute.MakeZxid(uint32(st.AcceptedEpoch), 0), jute.Encode(&info)))
	return l
}

// Ready returns and clears the pending work.
func (l *Learner) Ready() Ready {
	r := l.ready
	l.ready = Ready{}
	return r
}

// HasReady reports whether Ready has work.
func (l *Learner) HasReady() bool { return !l.ready.empty() }

// Serving reports whether the learner has received UPTODATE.
func (l *Learner) Serving() bool { return l.phase == learnerBroadcast }

// Epoch returns the epoch of the leader, once LEADERINFO has arrived.
func (l *Learner) Epoch() int64 { return l.newEpoch }

func (l *Learner) send(p jute.QuorumPacket) {
	l.ready.Messages = append(l.ready.Messages, Message{Packet: p})
}

func (l *Learner) fail(err error) {
	if !l.failed {
		l.failed = true
		l.ready.Err = err
	}
}

// errProtocol wraps protocol violations by the leader.
var errProtocol = errors.New("zab: protocol error from the leader")

func (l *Learner) protocolError(format string, args ...any) {
	l.fail(fmt.Errorf("%w: %s", errProtocol, fmt.Sprintf(format, args...)))
}

// Step handles one packet from the leader. A SNAP packet comes with the
// snapshot the driver read from the stream right after it, as of the
// packet's zxid (opaque to this package; handed back in Ready).
func (l *Learner) Step(p jute.QuorumPacket, snapshot any) {
	if l.failed {
		return
	}
	l.lastHeard = l.ticks
	switch l.phase {
	case learnerInfoSent:
		l.stepLeaderInfo(p)
	case learnerEpochAcked:
		l.stepSyncStart(p, snapshot)
	default:
		l.stepHistory(p)
	}
}

func (l *Learner) stepLeaderInfo(p jute.QuorumPacket) {
	if p.Type != jute.PacketLeaderInfo {
		l.protocolError("first packet is %v, want LEADERINFO", p.Type)
		return
	}
	epoch := int64(p.Zxid.Epoch())
	l.newEpoch = epoch
	cur := int32(l.st.CurrentEpoch)
	switch {
	case epoch > l.st.AcceptedEpoch:
		l.st.AcceptedEpoch = epoch
		l.ready.AcceptedEpoch = epoch
	case epoch == l.st.AcceptedEpoch:
		cur = -1
	default:
		l.fail(fmt.Errorf("zab: leader proposes epoch %d, older than the accepted epoch %d", epoch, l.st.AcceptedEpoch))
		return
	}
	l.send(packet(jute.PacketAckEpoch, l.lastZxid, jute.AckEpochData(cur)))
	l.phase = learnerEpochAcked
}

func (l *Learner) stepSyncStart(p jute.QuorumPacket, snapshot any) {
	switch p.Type {
	case jute.PacketDiff:
	case jute.PacketTrunc:
		l.ready.Truncate = true
		l.ready.TruncateTo = p.Zxid
		l.lastZxid, l.persisted, l.acked = p.Zxid, p.Zxid, p.Zxid
		l.needSnapshot = true
	case jute.PacketSnap:
		if snapshot == nil {
			l.protocolError("SNAP without a snapshot")
			return
		}
		l.ready.LoadSnapshot = true
		l.ready.SnapshotZxid = p.Zxid
		l.ready.Snapshot = snapshot
		l.lastZxid, l.persisted, l.acked = p.Zxid, p.Zxid, p.Zxid
		l.snapZxid = p.Zxid
		l.needSnapshot = true
	default:
		l.protocolError("sync starts with %v, want DIFF, TRUNC or SNAP", p.Type)
		return
	}
	l.phase = learnerSyncing
}

// stepHistory handles packets once the sync mode is known: history,
// NEWLEADER, UPTODATE and then broadcast traffic.
func (l *Learner) stepHistory(p jute.QuorumPacket) {
	switch p.Type {
	case jute.PacketProposal:
		if l.st.Observer && l.phase == learnerBroadcast {
			return // observers follow INFORMs once serving (§5.5)
		}
		l.proposal(p)
	case jute.PacketCommit:
		if l.st.Observer && l.phase == learnerBroadcast {
			return
		}
		l.commit(p.Zxid)
	case jute.PacketInform:
		txn, err := jute.DecodeTxn(p.Data)
		if err != nil || txn.Header.Zxid != p.Zxid {
			l.protocolError("INFORM %v: bad transaction: %v", p.Zxid, err)
			return
		}
		if p.Zxid <= l.lastZxid {
			return
		}
		prop := Proposal{Zxid: p.Zxid, Data: p.Data, Txn: txn}
		l.lastZxid = p.Zxid
		if l.phase == learnerSyncing {
			l.held = append(l.held, prop)
			l.deferred = append(l.deferred, Delivery{Txn: txn})
			return
		}
		l.ready.Append = append(l.ready.Append, prop)
		l.ready.Deliveries = append(l.ready.Deliveries, Delivery{Txn: txn})
	case jute.PacketNewLeader:
		if l.phase != learnerSyncing {
			l.protocolError("NEWLEADER in the wrong phase")
			return
		}
		l.newLeader(p.Zxid)
	case jute.PacketUpToDate:
		if l.phase != learnerAwaitUpToDate {
			l.protocolError("UPTODATE before NEWLEADER was acknowledged")
			return
		}
		l.upToDate()
	case jute.PacketPing:
		if l.phase == learnerBroadcast {
			l.pingReply(p)
		}
	case jute.PacketSync:
		if l.phase == learnerBroadcast {
			l.ready.Deliveries = append(l.ready.Deliveries, Delivery{Sync: true})
		}
	case jute.PacketRevalidate:
		var r jute.RevalidateReply
		if err := jute.Decode(p.Data, &r); err != nil {
			l.protocolError("REVALIDATE answer: %v", err)
			return
		}
		l.ready.Revalidated = append(l.ready.Revalidated, r)
	default:
		// Java learners ignore other packets during sync (§5.4).
		if l.phase == learnerBroadcast {
			l.protocolError("unexpected %v", p.Type)
		}
	}
}

func (l *Learner) proposal(p jute.QuorumPacket) {
	txn, err := jute.DecodeTxn(p.Data)
	if err != nil || txn.Header.Zxid != p.Zxid {
		l.protocolError("PROPOSAL %v: bad transaction: %v", p.Zxid, err)
		return
	}
	if p.Zxid <= l.snapZxid {
		return // already in the leader's snapshot
	}
	if p.Zxid <= l.lastZxid {
		l.protocolError("PROPOSAL %v does not follow %v", p.Zxid, l.lastZxid)
		return
	}
	prop := Proposal{Zxid: p.Zxid, Data: p.Data, Txn: txn}
	l.proposals = append(l.proposals, prop)
	if !l.st.Observer {
		l.unacked = append(l.unacked, p.Zxid)
	}
	l.lastZxid = p.Zxid
	if l.phase == learnerSyncing {
		l.held = append(l.held, prop)
		return
	}
	l.ready.Append = append(l.ready.Append, prop)
}

// commit delivers the head proposal; a COMMIT for anything else is a fatal
// protocol error, as in ZooKeeper (§5.4).
func (l *Learner) commit(zxid jute.Zxid) {
	if zxid <= l.snapZxid {
		return // its PROPOSAL was skipped: already in the snapshot
	}
	if len(l.proposals) == 0 || l.proposals[0].Zxid != zxid {
		l.protocolError("COMMIT %v is not for the oldest pending proposal", zxid)
		return
	}
	p := l.proposals[0]
	l.proposals = slices.Delete(l.proposals, 0, 1)
	if l.phase == learnerSyncing {
		l.deferred = append(l.deferred, Delivery{Txn: p.Txn})
		return
	}
	l.ready.Deliveries = append(l.ready.Deliveries, Delivery{Txn: p.Txn})
}

// newLeader ends the history part of a sync (§5.4 NEWLEADER), in the
// order that keeps the disk consistent at every step should the server
// crash: the epoch of the history received becomes the current epoch (so
// that logging that history never leaves the log ahead of the epoch file),
// the deferred commits are applied, the snapshot (after SNAP or TRUNC) is
// taken, and the proposals held since the sync began are logged. Only when
// all of that is durable does the new epoch become current and NEWLEADER
// get its ACK (maybeAckNewLeader).
func (l *Learner) newLeader(zxid jute.Zxid) {
	if int64(zxid.Epoch()) != l.newEpoch {
		l.protocolError("NEWLEADER for epoch %d, LEADERINFO said %d", zxid.Epoch(), l.newEpoch)
		return
	}
	if e := int64(l.lastZxid.Epoch()); e > l.st.CurrentEpoch {
		l.st.CurrentEpoch = e
		l.ready.CurrentEpoch = e
	}
	l.ready.Deliveries = append(l.ready.Deliveries, l.deferred...)
	l.deferred = nil
	if l.needSnapshot {
		l.ready.TakeSnapshot = true
		l.snapshotPending = true
		l.needSnapshot = false
	}
	l.ready.Append = append(l.ready.Append, l.held...)
	l.held = nil
	l.phase = learnerNewLeader
	l.newLeaderNeeds = l.lastZxid
	l.maybeAckNewLeader()
}

// SnapshotTaken reports that the snapshot a Ready asked for is durable.
func (l *Learner) SnapshotTaken() {
	l.snapshotPending = false
	l.maybeAckNewLeader()
}

// maybeAckNewLeader persists the new current epoch and sends the
// NEWLEADER ACK once the snapshot and every proposal received so far are
// durable (ZOOKEEPER-3911, §5.4 steps 4-6). The new epoch must not be
// durable before the history it vouches for: a server restarted with the
// new epoch and without that history would win the next election on the
// epoch alone and truncate committed transactions away elsewhere (found by
// the simulation, seed 9).
func (l *Learner) maybeAckNewLeader() {
	if l.phase != learnerNewLeader || l.snapshotPending || l.persisted < l.newLeaderNeeds {
		return
	}
	l.st.CurrentEpoch = l.newEpoch
	l.ready.CurrentEpoch = l.newEpoch
	l.send(packet(jute.PacketAck, jute.MakeZxid(uint32(l.newEpoch), 0), nil))
	l.phase = learnerAwaitUpToDate
}

func (l *Learner) upToDate() {
	l.phase = learnerBroadcast
	l.ready.Serving = true
	l.send(packet(jute.PacketAck, jute.MakeZxid(uint32(l.newEpoch), 0), nil))
	l.ackPersisted()
}

// Persisted reports that the log holds everything up to zxid.
func (l *Learner) Persisted(zxid jute.Zxid) {
	if zxid <= l.persisted {
		return
	}
	l.persisted = zxid
	l.maybeAckNewLeader()
	if l.phase == learnerBroadcast {
		l.ackPersisted()
	}
}

// ackPersisted ACKs, in order, the pending proposals that are durable.
func (l *Learner) ackPersisted() {
	if l.st.Observer {
		return
	}
	n := 0
	for _, z := range l.unacked {
		if z > l.persisted {
			break
		}
		if z > l.acked {
			l.send(packet(jute.PacketAck, z, nil))
			l.acked = z
		}
		n++
	}
	l.unacked = slices.Delete(l.unacked, 0, n)
}

func (l *Learner) pingReply(p jute.QuorumPacket) {
	touches := make([]jute.SessionTouch, 0, len(l.touches))
	for id, t := range l.touches {
		touches = append(touches, jute.SessionTouch{Session: id, Timeout: t})
	}
	slices.SortFunc(touches, func(a, b jute.SessionTouch) int { return cmpSession(a.Session, b.Session) })
	clear(l.touches)
	l.send(jute.QuorumPacket{Type: jute.PacketPing, Zxid: p.Zxid, Data: jute.EncodeTouches(touches), Auth: p.Auth})
}

func cmpSession(a, b jute.SessionID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Touch records client activity on a session, reported to the leader with
// the next PING reply (§5.6).
func (l *Learner) Touch(session jute.SessionID, timeout int32) { l.touches[session] = timeout }

// Forward sends a client request to the leader (§5.7). Only a serving
// learner forwards.
func (l *Learner) Forward(req jute.ForwardedRequest, auth []jute.Id) error {
	if l.phase != learnerBroadcast || l.failed {
		return errors.New("zab: not serving")
	}
	p := packet(jute.PacketRequest, -1, jute.Encode(&req))
	if auth == nil {
		auth = []jute.Id{}
	}
	p.Auth = auth
	l.send(p)
	return nil
}

// Revalidate asks the leader whether a session is alive and makes this
// server its owner (§5.9).
func (l *Learner) Revalidate(session jute.SessionID, timeout int32) error {
	if l.phase != learnerBroadcast || l.failed {
		return errors.New("zab: not serving")
	}
	l.send(packet(jute.PacketRevalidate, -1, jute.Encode(&jute.Revalidate{Session: session, Timeout: timeout})))
	return nil
}

// Heard tells the learner the leader is making progress without a whole
// packet yet: a large SNAP stream being read.
func (l *Learner) Heard() { l.lastHeard = l.ticks }

// Tick advances time by half a tick: a leader silent for syncLimit ticks
// (initLimit before NEWLEADER) ends the role (§5.5).
func (l *Learner) Tick() {
	if l.failed {
		return
	}
	l.ticks++
	limit := l.cfg.SyncLimit
	if l.phase < learnerAwaitUpToDate {
		limit = l.cfg.InitLimit
	}
	if (l.ticks-l.lastHeard)/2 >= limit {
		l.fail(fmt.Errorf("zab: nothing from the leader for %d ticks", limit))
	}
}

// Uncommitted returns the proposals received and not committed yet, oldest
// first (see Leader.Uncommitted).
func (l *Learner) Uncommitted() []Proposal { return slices.Clone(l.proposals) }

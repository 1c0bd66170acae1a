package fle

import (
	"slices"

	"github.com/zkd/zkd/internal/jute"
)

// ZooKeeper's timer defaults (spec §4.4), used where Config leaves a field at
// zero.
const (
	DefaultMinNotificationIntervalMS = 200
	DefaultMaxNotificationIntervalMS = 60000
	DefaultFinalizeWaitMS            = 200
)

// Config describes one server's place in the election. Its zero timer fields
// take ZooKeeper's defaults.
type Config struct {
	// ID is this server's sid (myid).
	ID int64
	// Voters are the sids of the participants in the committed config. A
	// quorum is more than half of them. A server not listed here takes part
	// without a candidate of its own (its vote names no leader).
	Voters []int64
	// Observer is true when this server's learner type is OBSERVER: it votes
	// (MIN, MIN, MIN), never becomes a candidate, and ends the election in
	// OBSERVING rather than FOLLOWING.
	Observer bool
	// ConfigText is the committed config text (spec §7.2) carried by every
	// notification this server sends.
	ConfigText string
	// MinNotificationIntervalMS is the first wait for notifications before
	// re-sending (fastleader.minNotificationInterval, default 200).
	MinNotificationIntervalMS int64
	// MaxNotificationIntervalMS caps the doubling wait
	// (fastleader.maxNotificationInterval, default 60000).
	MaxNotificationIntervalMS int64
	// FinalizeWaitMS is how long a quorum for the proposal must stand
	// unchallenged before the server decides (default 200).
	FinalizeWaitMS int64
}

// Message is a notification to send to one peer.
type Message struct {
	To           int64
	Notification jute.Notification
}

// Ready is the output an Election has accumulated since the last call to
// (*Election).Ready.
type Ready struct {
	// Messages are notifications to send, in order. A driver whose send
	// queue per peer holds one message, as ZooKeeper's does, may let a newer
	// message to a peer replace an unsent older one.
	Messages []Message
	// Decided is set when the election has ended: the final vote, whose
	// State is the role this server now takes (LEADING, FOLLOWING or
	// OBSERVING). If a new round was started and decided again before Ready
	// was called, it holds the latest decision.
	Decided *Vote
	// Reconnect is set when a wait for notifications timed out. ZooKeeper
	// then re-sends its notifications if any peer's send queue is empty, and
	// otherwise re-dials every voter; the re-sent notifications are in
	// Messages, and the driver should (re)connect to every voter it has no
	// working connection to.
	Reconnect bool
}

// Election is one server's Fast Leader Election state. It is not safe for
// concurrent use; the driver calls it from one goroutine.
type Election struct {
	cfg    Config
	voters majority
	order  []int64 // voters in ascending order, the order notifications are sent in

	started bool
	state   jute.PeerState
	round   int64 // ZooKeeper's logicalclock

	// init is this server's own candidate for the current round; proposal is
	// the best candidate it has seen. Only Leader, Zxid and PeerEpoch are
	// used; the round is always round.
	init, proposal Vote
	// current is the vote this server answers with (ZooKeeper's
	// currentVote): its own candidate until the first decision, then the
	// last decision. Its State is not kept; State() is.
	current Vote

	// recvset holds the votes heard in this round; outofelection the votes
	// of FOLLOWING and LEADING peers, whatever their round. Both belong to
	// one call of Start.
	recvset, outofelection map[int64]ballot

	timeoutMS  int64 // current wait for notifications; doubles on each timeout
	pollDueMS  int64 // when the current wait runs out
	finalizing bool  // a quorum agrees with proposal; waiting before deciding
	finalDueMS int64 // when the finalize wait runs out

	inbox []jute.Notification // notifications to self, not yet processed
	ready Ready
}

// New returns an Election for cfg. It does nothing until Start is called.
func New(cfg Config) *Election {
	if cfg.MinNotificationIntervalMS <= 0 {
		cfg.MinNotificationIntervalMS = DefaultMinNotificationIntervalMS
	}
	if cfg.MaxNotificationIntervalMS <= 0 {
		cfg.MaxNotificationIntervalMS = DefaultMaxNotificationIntervalMS
	}
	if cfg.FinalizeWaitMS <= 0 {
		cfg.FinalizeWaitMS = DefaultFinalizeWaitMS
	}
	e := &Election{cfg: cfg, voters: majority{}, state: jute.Looking}
	for _, id := range cfg.Voters {
		e.voters[id] = true
	}
	for id := range e.voters {
		e.order = append(e.order, id)
	}
	slices.Sort(e.order)
	e.cfg.Voters = slices.Clone(e.order)
	return e
}

// Start enters LOOKING and begins a new election round (spec §4.4 step 1):
// the round number goes up by one, the server proposes itself with its last
// logged zxid and current epoch, and sends that proposal to every voter. It
// is called at startup and whenever the server falls back to LOOKING.
// lastZxid -1 marks a server with no usable history: it never adopts
// another LOOKING server's vote and can only join an established leader.
func (e *Election) Start(nowMS int64, lastZxid jute.Zxid, currentEpoch int64) {
	if !e.started {
		// ZooKeeper's currentVote at startup, before any decision.
		e.current = Vote{Leader: e.cfg.ID, Zxid: lastZxid, Round: -1, PeerEpoch: currentEpoch}
	}
	e.started = true
	e.state = jute.Looking
	e.round++
	e.init = Vote{Leader: none, Zxid: lastZxid, PeerEpoch: currentEpoch}
	if e.voters[e.cfg.ID] {
		e.init.Leader = e.cfg.ID
	}
	if e.cfg.Observer {
		e.init.Zxid, e.init.PeerEpoch = none, none
	}
	e.proposal = e.init
	e.recvset = map[int64]ballot{}
	e.outofelection = map[int64]ballot{}
	e.timeoutMS = e.cfg.MinNotificationIntervalMS
	e.pollDueMS = nowMS + e.timeoutMS
	e.finalizing = false
	e.inbox = nil
	e.broadcast()
	e.drain(nowMS)
}

// Step processes one notification received from peer from, in any state.
// While LOOKING it is a step of the election; in every state it may produce
// the replies of spec §4.5. Notifications before the first Start, with an
// unknown state, or claiming to come from this server are ignored.
func (e *Election) Step(nowMS int64, from int64, n jute.Notification) {
	if !e.started || from == e.cfg.ID {
		return
	}
	e.receive(nowMS, from, n)
	e.drain(nowMS)
}

// Tick tells the Election the time. While LOOKING it re-sends the proposal
// when the wait for notifications has run out, doubling the wait, and
// decides when a finalize wait has passed with no better vote.
func (e *Election) Tick(nowMS int64) {
	if !e.started || e.state != jute.Looking {
		return
	}
	if e.finalizing {
		if nowMS >= e.finalDueMS {
			e.decide(Vote{Leader: e.proposal.Leader, Zxid: e.proposal.Zxid, Round: e.round, PeerEpoch: e.proposal.PeerEpoch})
		}
		return
	}
	if nowMS < e.pollDueMS {
		return
	}
	e.broadcast()
	e.ready.Reconnect = true
	e.timeoutMS = min(2*e.timeoutMS, e.cfg.MaxNotificationIntervalMS)
	e.pollDueMS = nowMS + e.timeoutMS
	e.drain(nowMS)
}

// Ready returns the output accumulated since the last call and clears it.
func (e *Election) Ready() Ready {
	r := e.ready
	e.ready = Ready{}
	return r
}

// HasReady reports whether Ready would return anything.
func (e *Election) HasReady() bool {
	return len(e.ready.Messages) > 0 || e.ready.Decided != nil || e.ready.Reconnect
}

// SetPeerEpoch records the epoch ZAB has established, so that the vote this
// server answers LOOKING peers with carries it (spec §4.5).
func (e *Election) SetPeerEpoch(epoch int64) { e.current.PeerEpoch = epoch }

// State returns the server's state: LOOKING until a decision, then the role
// decided.
func (e *Election) State() jute.PeerState { return e.state }

// Vote returns the vote this server answers with: its own candidacy before
// the first decision (with Round -1), the last decision afterwards. State is
// the server's current state.
func (e *Election) Vote() Vote {
	v := e.current
	v.State = e.state
	return v
}

// Proposal returns the candidate this server currently supports in its
// round, with Round set to the round and State LOOKING.
func (e *Election) Proposal() Vote {
	return Vote{Leader: e.proposal.Leader, Zxid: e.proposal.Zxid, Round: e.round, PeerEpoch: e.proposal.PeerEpoch, State: jute.Looking}
}

// Round returns the server's logical clock: the number of the current or
// last election round.
func (e *Election) Round() int64 { return e.round }

// receive is ZooKeeper's receive thread (spec §4.5): it answers the peers
// that need an answer and hands everything else, while LOOKING, to poll.
func (e *Election) receive(nowMS, from int64, n jute.Notification) {
	if !n.State.Valid() {
		return
	}
	if !e.voters[from] {
		// A non-voter (an observer) learns the leader from this reply.
		v := e.current
		v.Round = e.round
		e.send(from, e.state, v)
		return
	}
	if e.state != jute.Looking {
		if n.State == jute.Looking {
			e.send(from, e.state, e.current)
		}
		return
	}
	if n.State == jute.Looking && n.Round < e.round {
		e.send(from, jute.Looking, e.Proposal())
	}
	e.poll(nowMS, from, n)
}

// poll is one turn of ZooKeeper's lookForLeader loop: the handling of one
// notification taken from the receive queue (spec §4.4 step 2).
func (e *Election) poll(nowMS, from int64, n jute.Notification) {
	if e.finalizing {
		if !e.proposal.Better(n.Leader, n.Zxid, n.PeerEpoch) {
			// ZooKeeper discards it and waits the full finalize time again.
			e.finalDueMS = nowMS + e.cfg.FinalizeWaitMS
			return
		}
		e.finalizing = false // back to the election, with n
	}
	e.pollDueMS = nowMS + e.timeoutMS
	if !e.voters[from] || !e.voters[n.Leader] {
		return
	}
	switch n.State {
	case jute.Looking:
		e.lookingVote(nowMS, from, n)
	case jute.Following, jute.Leading:
		e.settledVote(from, n)
	}
	// OBSERVING senders are ignored.
}

// lookingVote handles a vote from a peer that is itself LOOKING.
func (e *Election) lookingVote(nowMS, from int64, n jute.Notification) {
	if e.init.Zxid == -1 || n.Zxid == -1 {
		return
	}
	switch {
	case n.Round > e.round:
		e.round = n.Round
		clear(e.recvset)
		if e.init.Better(n.Leader, n.Zxid, n.PeerEpoch) {
			e.adopt(n)
		} else {
			e.proposal = e.init
		}
		e.broadcast()
	case n.Round < e.round:
		return // receive has already answered it
	case e.proposal.Better(n.Leader, n.Zxid, n.PeerEpoch):
		e.adopt(n)
		e.broadcast()
	case from != e.cfg.ID && !e.proposal.sameCandidate(n):
		// zkd's addition: the sender backs a worse candidate in this round,
		// so it has not heard this server's proposal — typically because
		// it was still following the old leader when the proposal came
		// and only answered it. Tell it now rather than at the next resend
		// timeout (200 ms and doubling). Notifications carry state, so an
		// extra one is harmless to any peer, Java's included.
		e.send(from, jute.Looking, e.Proposal())
	}
	e.recvset[from] = ballot{Vote: Vote{Leader: n.Leader, Zxid: n.Zxid, Round: n.Round, PeerEpoch: n.PeerEpoch, State: jute.Looking}}
	if e.voters.quorumFor(e.recvset, ballot{Vote: e.Proposal()}) {
		e.finalizing = true
		e.finalDueMS = nowMS + e.cfg.FinalizeWaitMS
	}
}

// settledVote handles a vote from a peer that is FOLLOWING or LEADING: one
// that has finished an election, possibly long ago. Enough of them naming
// the same leader, with the leader's own LEADING vote among them, end the
// election; this is how a restarted server, or an observer, joins an
// established ensemble.
func (e *Election) settledVote(from int64, n jute.Notification) {
	v := Vote{Leader: n.Leader, Zxid: n.Zxid, Round: n.Round, PeerEpoch: n.PeerEpoch, State: n.State}
	heard := ballot{Vote: v, version: n.Version}
	if n.Round == e.round {
		// ZooKeeper records it here without its format version.
		e.recvset[from] = ballot{Vote: v}
		if e.voters.quorumFor(e.recvset, heard) && e.checkLeader(e.recvset, n.Leader, n.Round) {
			e.decide(v)
			return
		}
	}
	e.outofelection[from] = heard
	if e.voters.quorumFor(e.outofelection, heard) && e.checkLeader(e.outofelection, n.Leader, n.Round) {
		e.round = n.Round
		e.decide(v)
	}
}

// checkLeader guards against following a leader that is not leading: another
// server must have said LEADING itself, and this server may only lead a
// round it is in.
func (e *Election) checkLeader(set map[int64]ballot, leader, round int64) bool {
	if leader != e.cfg.ID {
		b, ok := set[leader]
		return ok && b.State == jute.Leading
	}
	return e.round == round
}

// adopt makes n's candidate the proposal.
func (e *Election) adopt(n jute.Notification) {
	e.proposal = Vote{Leader: n.Leader, Zxid: n.Zxid, PeerEpoch: n.PeerEpoch}
}

// decide ends the election with v (spec §4.4 "decide"): the server leads if
// v names it, and otherwise follows or observes according to its learner
// type. Queued notifications to self are dropped, as ZooKeeper clears its
// receive queue.
func (e *Election) decide(v Vote) {
	switch {
	case v.Leader == e.cfg.ID:
		e.state = jute.Leading
	case e.cfg.Observer:
		e.state = jute.Observing
	default:
		e.state = jute.Following
	}
	v.State = e.state
	e.current = v
	e.finalizing = false
	e.inbox = nil
	d := v
	e.ready.Decided = &d
}

// broadcast sends the proposal of the current round to every voter,
// itself included.
func (e *Election) broadcast() {
	for _, id := range e.order {
		e.send(id, jute.Looking, e.Proposal())
	}
}

// send queues a notification of v with state s for peer to, or for this
// server's own inbox.
func (e *Election) send(to int64, s jute.PeerState, v Vote) {
	n := jute.Notification{
		State:     s,
		Leader:    v.Leader,
		Zxid:      v.Zxid,
		Round:     v.Round,
		PeerEpoch: v.PeerEpoch,
		Version:   jute.NotificationVersion,
		Config:    e.cfg.ConfigText,
	}
	if to == e.cfg.ID {
		e.inbox = append(e.inbox, n)
		return
	}
	e.ready.Messages = append(e.ready.Messages, Message{To: to, Notification: n})
}

// drain processes the notifications this server has sent itself, in order,
// until none are left.
func (e *Election) drain(nowMS int64) {
	for len(e.inbox) > 0 {
		n := e.inbox[0]
		e.inbox = e.inbox[1:]
		e.receive(nowMS, e.cfg.ID, n)
	}
}

package zab

import (
	"fmt"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// node is one server of the in-test ensemble: a durable log, the applied
// history, epochs, and the role it plays.
type node struct {
	id                          int64
	log                         []Proposal
	applied                     []jute.Zxid
	acceptedEpoch, currentEpoch int64
	leader                      *Leader
	learner                     *Learner
	serving                     bool
	err                         error
	syncs                       int
}

func (n *node) lastLogged() jute.Zxid {
	if len(n.log) == 0 {
		return 0
	}
	return n.log[len(n.log)-1].Zxid
}

// cluster connects one leader to learners over FIFO links; everything is
// delivered and made durable in a fixed order, so runs are deterministic.
type cluster struct {
	t      *testing.T
	cfg    Config
	nodes  map[int64]*node
	leader *node
	// links holds the packets in flight to each learner (from the leader)
	// and to the leader (from each learner).
	toLearner, toLeader map[int64][]Message
	// hold, when set for a learner, stops delivering to and from it.
	hold map[int64]bool
}

func newCluster(t *testing.T, voters []int64, observers ...int64) *cluster {
	c := &cluster{t: t, cfg: Config{Voters: voters, InitLimit: 10, SyncLimit: 5, CommitLogCount: 20},
		nodes: map[int64]*node{}, toLearner: map[int64][]Message{}, toLeader: map[int64][]Message{}, hold: map[int64]bool{}}
	for _, id := range append(slices.Clone(voters), observers...) {
		c.nodes[id] = &node{id: id}
	}
	return c
}

func (c *cluster) config(id int64) Config {
	cfg := c.cfg
	cfg.ID = id
	return cfg
}

func txnAt(zxid jute.Zxid, path string) *jute.Txn {
	return &jute.Txn{
		Header: jute.TxnHeader{ClientID: 1, Cxid: int32(zxid.Counter()), Zxid: zxid, Time: 1, Type: jute.OpCreate},
		Record: &jute.CreateTxn{Path: path, Data: []byte("x"), ACL: []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, ParentCVersion: 1},
	}
}

// elect makes id the leader and every other node a learner.
func (c *cluster) elect(id int64) {
	l := c.nodes[id]
	c.leader = l
	l.leader = NewLeader(c.config(id), LeaderState{AcceptedEpoch: l.acceptedEpoch, CurrentEpoch: l.currentEpoch, LastZxid: l.lastLogged(), History: slices.Clone(l.log)})
	l.learner, l.serving, l.err = nil, false, nil
	// The new leader's log is the truth: it has applied all of it.
	l.applied = zxids(l.log)
	for _, n := range c.sorted() {
		if n.id != id {
			c.join(n)
		}
	}
}

// join (re)connects a learner to the current leader.
func (c *cluster) join(n *node) {
	n.leader, n.serving, n.err = nil, false, nil
	c.toLearner[n.id], c.toLeader[n.id] = nil, nil
	c.leader.leader.Connected(n.id)
	n.learner = NewLearner(c.config(n.id), LearnerState{AcceptedEpoch: n.acceptedEpoch, CurrentEpoch: n.currentEpoch,
		LastZxid: n.lastLogged(), Observer: !c.cfg.IsVoter(n.id)})
	n.applied = zxids(n.log)
}

func zxids(ps []Proposal) []jute.Zxid {
	out := make([]jute.Zxid, len(ps))
	for i, p := range ps {
		out[i] = p.Zxid
	}
	return out
}

func (c *cluster) sorted() []*node {
	ids := make([]int64, 0, len(c.nodes))
	for id := range c.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]*node, len(ids))
	for i, id := range ids {
		out[i] = c.nodes[id]
	}
	return out
}

// persist makes a node's appends durable at once.
func (n *node) persist(ps []Proposal) {
	for _, p := range ps {
		n.log = append(n.log, p)
	}
}

// execute runs one node's Ready.
func (c *cluster) execute(n *node, r Ready) {
	if r.AcceptedEpoch != 0 {
		n.acceptedEpoch = r.AcceptedEpoch
	}
	if r.CurrentEpoch != 0 {
		n.currentEpoch = r.CurrentEpoch
	}
	if r.Truncate {
		i := slices.IndexFunc(n.log, func(p Proposal) bool { return p.Zxid > r.TruncateTo })
		if i >= 0 {
			n.log = n.log[:i]
		}
		n.applied = zxids(n.log)
	}
	if r.LoadSnapshot {
		snap := r.Snapshot.([]Proposal)
		n.log = slices.Clone(snap)
		n.applied = zxids(snap)
	}
	defer func() {
		if r.TakeSnapshot && n.learner != nil {
			n.learner.SnapshotTaken()
		}
	}()
	for _, d := range r.Deliveries {
		if d.Sync {
			n.syncs++
			continue
		}
		n.applied = append(n.applied, d.Txn.Header.Zxid)
	}
	for _, m := range r.Messages {
		if n.learner != nil {
			c.toLeader[n.id] = append(c.toLeader[n.id], m)
		} else {
			c.toLearner[m.To] = append(c.toLearner[m.To], m)
		}
	}
	n.persist(r.Append)
	if r.Serving {
		n.serving = true
	}
	if r.Err != nil {
		n.err = r.Err
	}
	if n.leader != nil {
		if len(r.Append) > 0 {
			n.leader.Persisted(n.lastLogged())
		}
		for _, sid := range r.SnapshotFor {
			// The snapshot is the applied history: the log up to the last
			// committed transaction.
			last := jute.Zxid(0)
			if len(n.applied) > 0 {
				last = n.applied[len(n.applied)-1]
			}
			n.leader.SnapshotReady(sid, last)
		}
		for _, sid := range r.Disconnect {
			c.toLearner[sid] = nil
			c.nodes[sid].err = fmt.Errorf("disconnected by the leader")
			c.nodes[sid].learner = nil
		}
	}
	if n.learner != nil && len(r.Append) > 0 {
		n.learner.Persisted(n.lastLogged())
	}
}

// snapshotOf returns what a SNAP from the leader carries.
func (c *cluster) snapshotOf(z jute.Zxid) []Proposal {
	var out []Proposal
	for _, p := range c.leader.log {
		if p.Zxid <= z {
			out = append(out, p)
		}
	}
	return out
}

// run delivers messages until nothing is left to do.
func (c *cluster) run() {
	for range 10000 {
		progress := false
		for _, n := range c.sorted() {
			if n.leader != nil && n.leader.HasReady() {
				c.execute(n, n.leader.Ready())
				progress = true
			}
			if n.learner != nil && n.learner.HasReady() {
				c.execute(n, n.learner.Ready())
				progress = true
			}
		}
		for _, n := range c.sorted() {
			if c.hold[n.id] || n == c.leader {
				continue
			}
			if q := c.toLearner[n.id]; len(q) > 0 && n.learner != nil {
				m := q[0]
				c.toLearner[n.id] = q[1:]
				var snap any
				if m.Snapshot {
					snap = c.snapshotOf(m.Packet.Zxid)
				}
				n.learner.Step(m.Packet, snap)
				progress = true
			}
			if q := c.toLeader[n.id]; len(q) > 0 && c.leader.leader != nil {
				m := q[0]
				c.toLeader[n.id] = q[1:]
				c.leader.leader.Step(n.id, m.Packet)
				progress = true
			}
		}
		if !progress {
			return
		}
	}
	c.t.Fatal("the ensemble never went quiet")
}

func (c *cluster) propose(paths ...string) {
	c.t.Helper()
	l := c.leader.leader
	for _, p := range paths {
		if err := l.Propose(txnAt(l.LastProposed()+1, p)); err != nil {
			c.t.Fatalf("propose %s: %v", p, err)
		}
	}
}

// requireConverged checks that every serving node applied the same history
// as the leader and that no node failed.
func (c *cluster) requireConverged() {
	c.t.Helper()
	want := c.leader.applied
	for _, n := range c.sorted() {
		if n.err != nil {
			c.t.Fatalf("server %d failed: %v", n.id, n.err)
		}
		if !n.serving {
			c.t.Fatalf("server %d is not serving", n.id)
		}
		if !slices.Equal(n.applied, want) {
			c.t.Fatalf("server %d applied %v, the leader %v", n.id, n.applied, want)
		}
	}
}

// history returns proposals of epoch e with counters 1..n.
func history(e uint32, n int) []Proposal {
	var out []Proposal
	for i := 1; i <= n; i++ {
		out = append(out, NewProposal(txnAt(jute.MakeZxid(e, uint32(i)), fmt.Sprintf("/e%d-%d", e, i))))
	}
	return out
}

func TestFreshEnsembleEstablishesEpochOneAndReplicates(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	c.elect(3)
	c.run()
	for _, n := range c.sorted() {
		if n.acceptedEpoch != 1 || n.currentEpoch != 1 {
			t.Fatalf("server %d epochs accepted=%d current=%d, want 1 and 1", n.id, n.acceptedEpoch, n.currentEpoch)
		}
	}
	c.propose("/a", "/b", "/c")
	c.run()
	c.requireConverged()
	if got := c.leader.applied; !slices.Equal(got, []jute.Zxid{0x100000001, 0x100000002, 0x100000003}) {
		t.Fatalf("applied %v", got)
	}
}

func TestCommitNeedsAQuorumOfDurableAcks(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	c.elect(1)
	c.run()
	c.hold[2], c.hold[3] = true, true
	c.propose("/a")
	c.run()
	if len(c.leader.applied) != 0 {
		t.Fatalf("leader committed %v with no follower ACK", c.leader.applied)
	}
	c.hold[3] = false
	c.run()
	if !slices.Equal(c.leader.applied, []jute.Zxid{0x100000001}) {
		t.Fatalf("leader applied %v after one follower ACKed, want the proposal", c.leader.applied)
	}
	if len(c.nodes[2].applied) != 0 {
		t.Fatalf("held follower applied %v", c.nodes[2].applied)
	}
}

func TestSpec5_4_DiffWhenTheLearnerIsBehindWithinTheCommittedLog(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	h := history(1, 8)
	c.nodes[1].log, c.nodes[2].log, c.nodes[3].log = slices.Clone(h), slices.Clone(h), slices.Clone(h[:5])
	for _, n := range c.sorted() {
		n.acceptedEpoch, n.currentEpoch = 1, 1
	}
	c.elect(2)
	var seen []jute.PacketType
	c.run()
	_ = seen
	c.requireConverged()
	if got := c.nodes[3].lastLogged(); got != jute.MakeZxid(1, 8) {
		t.Fatalf("server 3 logged up to %v, want 0x100000008", got)
	}
	c.propose("/new")
	c.run()
	c.requireConverged()
	if c.leader.leader.Epoch() != 2 {
		t.Fatalf("epoch %d, want 2", c.leader.leader.Epoch())
	}
}

func TestSpec5_4_TruncWhenTheLearnerHasTransactionsTheLeaderLacks(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	h := history(1, 8)
	// Server 3 logged 6..8 that never reached a quorum.
	c.nodes[1].log, c.nodes[2].log, c.nodes[3].log = slices.Clone(h[:5]), slices.Clone(h[:5]), slices.Clone(h)
	for _, n := range c.sorted() {
		n.acceptedEpoch, n.currentEpoch = 1, 1
	}
	c.elect(2)
	c.run()
	c.requireConverged()
	if got := c.nodes[3].lastLogged(); got != jute.MakeZxid(1, 5) {
		t.Fatalf("server 3 logged up to %v after TRUNC, want 0x100000005", got)
	}
}

func TestSpec5_4_SnapWhenTheLearnerIsOlderThanTheCommittedLog(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	c.cfg.CommitLogCount = 3
	h := history(1, 10)
	c.nodes[1].log, c.nodes[2].log = slices.Clone(h), slices.Clone(h)
	for _, id := range []int64{1, 2} {
		c.nodes[id].acceptedEpoch, c.nodes[id].currentEpoch = 1, 1
	}
	c.elect(1)
	c.run()
	c.requireConverged()
	if got := c.nodes[3].lastLogged(); got != jute.MakeZxid(1, 10) {
		t.Fatalf("server 3 logged up to %v after SNAP, want 0x10000000a", got)
	}
}

func TestSpec5_4_SnapWhenTheLearnerDivergedInAnOlderEpoch(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	h1 := history(1, 5)
	h2 := history(2, 3)
	// Server 3 logged 1:6 that was never committed; 1 and 2 moved on to epoch 2.
	c.nodes[1].log = append(slices.Clone(h1), h2...)
	c.nodes[2].log = append(slices.Clone(h1), h2...)
	c.nodes[3].log = append(slices.Clone(h1), NewProposal(txnAt(jute.MakeZxid(1, 6), "/lost")))
	c.nodes[1].acceptedEpoch, c.nodes[1].currentEpoch = 2, 2
	c.nodes[2].acceptedEpoch, c.nodes[2].currentEpoch = 2, 2
	c.nodes[3].acceptedEpoch, c.nodes[3].currentEpoch = 1, 1
	c.elect(1)
	c.run()
	c.requireConverged()
	if slices.Contains(c.nodes[3].applied, jute.MakeZxid(1, 6)) {
		t.Fatalf("server 3 still has the uncommitted 0x100000006: %v", c.nodes[3].applied)
	}
}

func TestLateLearnerJoinsDuringBroadcastWithOutstandingProposals(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	c.hold[3] = true
	c.elect(1)
	c.run()
	c.propose("/a", "/b")
	c.run()
	// Server 3 connects again while a proposal is outstanding.
	c.hold[3] = false
	c.hold[2] = true
	c.propose("/c")
	c.join(c.nodes[3])
	c.run()
	c.hold[2] = false
	c.run()
	c.requireConverged()
	if len(c.leader.applied) != 3 {
		t.Fatalf("leader applied %v, want 3 transactions", c.leader.applied)
	}
}

func TestObserverGetsInformsAndDoesNotCount(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3}, 4)
	c.elect(1)
	c.run()
	c.hold[2], c.hold[3] = true, true
	c.propose("/a")
	c.run()
	if len(c.leader.applied) != 0 {
		t.Fatal("an observer's ACK counted towards the quorum")
	}
	c.hold[2], c.hold[3] = false, false
	c.run()
	c.requireConverged()
}

func TestSyncIsAnsweredAfterOutstandingProposalsCommit(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	c.elect(1)
	c.run()
	c.hold[3] = true
	c.propose("/a")
	req := jute.ForwardedRequest{Session: 9, Cxid: 1, Op: jute.OpSync, Body: jute.Encode(&jute.PathRequest{Path: "/"})}
	// Server 2's SYNC arrives while /a is outstanding... but server 2's own
	// ACK is what commits it, so hold the ACK path by syncing from 3.
	c.hold[3] = false
	c.hold[2] = true
	if err := c.nodes[3].learner.Forward(req, nil); err != nil {
		t.Fatal(err)
	}
	c.run()
	if c.nodes[3].syncs != 1 {
		t.Fatalf("server 3 got %d sync answers, want 1", c.nodes[3].syncs)
	}
	if !slices.Contains(c.nodes[3].applied, jute.MakeZxid(1, 1)) {
		t.Fatal("the sync was answered before the outstanding proposal was applied")
	}
}

func TestLeaderStepsDownWithoutAQuorum(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	c.elect(1)
	c.run()
	c.hold[2], c.hold[3] = true, true
	for range 4 * c.cfg.SyncLimit {
		c.leader.leader.Tick()
		c.run()
	}
	if c.leader.err == nil {
		t.Fatal("leader kept leading without hearing a quorum")
	}
}

func TestFollowerLeavesASilentLeader(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	c.elect(1)
	c.run()
	n := c.nodes[2]
	for range 2*c.cfg.SyncLimit + 1 {
		n.learner.Tick()
	}
	if r := n.learner.Ready(); r.Err == nil {
		t.Fatal("follower kept following a silent leader")
	}
}

func TestZxidRolloverEndsTheEpoch(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	c.elect(1)
	c.run()
	l := c.leader.leader
	l.lastProposed = jute.MakeZxid(1, 0xfffffffe)
	if err := l.Propose(txnAt(jute.MakeZxid(1, 0xffffffff), "/x")); err != ErrZxidRollover {
		t.Fatalf("Propose at counter 0xffffffff: %v, want ErrZxidRollover", err)
	}
	if r := l.Ready(); r.Err != ErrZxidRollover {
		t.Fatalf("Ready.Err = %v", r.Err)
	}
}

func TestLearnerJoiningAServingLeaderWithNoTransactionsIsDiffed(t *testing.T) {
	c := newCluster(t, []int64{1, 2, 3})
	c.hold[3] = true
	c.elect(1)
	c.run()
	c.hold[3] = false
	c.join(c.nodes[3])
	c.run()
	c.requireConverged()
	c.propose("/a")
	c.run()
	c.requireConverged()
}

// An ACKEPOCH of -1 (the learner had accepted this epoch already, perhaps
// from another leader of it) does not count towards the epoch quorum
// (§5.3, Java's waitForEpochAck).
func TestSpec5_3_AnAckEpochOfMinusOneDoesNotCount(t *testing.T) {
	cfg := Config{ID: 1, Voters: []int64{1, 2, 3}, InitLimit: 10, SyncLimit: 5}
	l := NewLeader(cfg, LeaderState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: jute.MakeZxid(1, 5)})
	l.Connected(2)
	l.Step(2, packet(jute.PacketFollowerInfo, jute.MakeZxid(1, 0), jute.Encode(&jute.LearnerInfo{ServerID: 2, ProtocolVersion: jute.ZabProtocolVersion})))
	if r := l.Ready(); r.AcceptedEpoch != 2 {
		t.Fatalf("epoch not proposed: %+v", r)
	}
	l.Step(2, packet(jute.PacketAckEpoch, jute.MakeZxid(2, 3), jute.AckEpochData(-1)))
	r := l.Ready()
	if r.CurrentEpoch != 0 || len(r.Messages) != 0 {
		t.Fatalf("a -1 ACKEPOCH completed the epoch quorum: current epoch %d, messages %+v", r.CurrentEpoch, r.Messages)
	}
	l.Connected(3)
	l.Step(3, packet(jute.PacketFollowerInfo, jute.MakeZxid(1, 0), jute.Encode(&jute.LearnerInfo{ServerID: 3, ProtocolVersion: jute.ZabProtocolVersion})))
	l.Step(3, packet(jute.PacketAckEpoch, jute.MakeZxid(1, 5), jute.AckEpochData(1)))
	if r := l.Ready(); r.CurrentEpoch != 2 {
		t.Fatalf("a real ACKEPOCH did not complete the quorum: %+v", r)
	}
}

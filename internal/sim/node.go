package sim

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/zkd/zkd/internal/fle"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
	"github.com/zkd/zkd/internal/zab"
)

// Where a node keeps its files on its MemFS.
const (
	snapDir = "/data/version-2"
	logDir  = "/datalog/version-2"
)

// node is one server: its disk, its applied tree and the protocol state
// its driver owns (what internal/peer keeps for a real server).
type node struct {
	s  *Sim
	id int64
	// started is set once the node has run; up while it runs.
	started, up bool
	// incarnation goes up with every crash; events of an older one are
	// ignored.
	incarnation int

	fs   *storage.MemFS
	log  *storage.Log
	tree *tree.Tree
	// applied is the history of the tree: every transaction applied to
	// it, oldest first (what a snapshot or a restore brought in included).
	applied []hist
	// verified is how much of applied has been checked against the
	// committed history.
	verified int
	// ghosts remembers, for each snapshot file this node wrote, the
	// history it holds (bookkeeping outside the simulated disk).
	ghosts map[string][]hist

	acceptedEpoch, currentEpoch int64
	lastLogged                  jute.Zxid

	election *fle.Election
	leader   *zab.Leader
	learner  *zab.Learner
	role     jute.PeerState
	gen      uint64
	serving  bool
	leaderID int64

	// Leader: learner links by id, and accepted links not yet named.
	links   map[int64]*conn
	pending []*conn
	// snaps hold SNAP data until Leader.SnapshotReady's message.
	snaps map[int64]*wireSnap
	// Learner: the link to the leader.
	leaderConn *conn

	// writeQ is the log writer's queue; flushing is set while a flush is
	// scheduled.
	writeQ   []zab.Proposal
	flushing bool
	rollAt   int
	// replayed counts the transactions the last restore replayed.
	replayed int
	// unsavedSnap is set while the state is a leader's snapshot that is
	// not on disk yet (SNAP before NEWLEADER).
	unsavedSnap bool
}

func newNode(s *Sim, id int64) *node {
	return &node{s: s, id: id, fs: storage.NewMemFS(), ghosts: make(map[string][]hist)}
}

func (n *node) state() string {
	if !n.up {
		return "down"
	}
	role := n.role.String()
	if n.serving {
		role += "+serving"
	}
	ep := int64(0)
	switch {
	case n.leader != nil:
		ep = n.leader.Epoch()
	case n.learner != nil:
		ep = n.learner.Epoch()
	}
	return fmt.Sprintf("%s epoch=%d logged=%v applied=%d", role, ep, n.lastLogged, len(n.applied))
}

// conns lists the node's live quorum connections, in a fixed order.
func (n *node) conns() []*conn {
	var out []*conn
	if n.leaderConn != nil && n.leaderConn.up {
		out = append(out, n.leaderConn)
	}
	for _, sid := range sortedIDs(n.links) {
		if c := n.links[sid]; c.up {
			out = append(out, c)
		}
	}
	for _, c := range n.pending {
		if c.up {
			out = append(out, c)
		}
	}
	return out
}

func sortedIDs[V any](m map[int64]V) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// start boots the node from its disk, as the server does: newest valid
// snapshot, log replay, a snapshot if there is none (or the log added to
// it), epoch files, then LOOKING.
func (n *node) start() {
	s := n.s
	n.started, n.up = true, true
	n.role = jute.Looking
	n.gen++
	n.leader, n.learner, n.serving, n.leaderConn = nil, nil, false, nil
	n.links, n.pending, n.snaps = make(map[int64]*conn), nil, make(map[int64]*wireSnap)
	n.writeQ, n.flushing, n.unsavedSnap = nil, false, false
	n.rollAt = 5 + s.rng.IntN(40)
	if err := n.restore(); err != nil {
		s.fail("n%d cannot restart: %v", n.id, err)
		return
	}
	if files, err := storage.ListSnapshots(n.fs, snapDir); err != nil || len(files) == 0 || n.replayed > 0 {
		if err := n.snapshot(); err != nil {
			s.fail("n%d: startup snapshot: %v", n.id, err)
			return
		}
	}
	acc, cur, err := storage.LoadEpochs(n.fs, snapDir, n.lastLogged)
	if err != nil {
		s.fail("n%d: load epochs: %v", n.id, err)
		return
	}
	n.acceptedEpoch, n.currentEpoch = acc, cur
	l, err := storage.OpenLog(logDir, storage.LogOptions{FS: n.fs, PreAllocSize: 4096, ForceSync: true})
	if err != nil {
		s.fail("n%d: open log: %v", n.id, err)
		return
	}
	l.SetLastZxid(n.lastLogged)
	n.log = l
	s.tracef("n%d starts: last=%v epochs=%d/%d applied=%d", n.id, n.lastLogged, acc, cur, len(n.applied))
	n.election = fle.New(fle.Config{ID: n.id, Voters: s.voters, ConfigText: "version=0"})
	s.schedule(&event{at: s.now + 1 + s.rng.Int64N(s.cfg.TickMS/2), kind: evTick, node: n.id, incarnation: n.incarnation})
	n.lookForLeader()
}

// restore rebuilds the tree from the disk and checks it against the
// history the disk claims to hold.
func (n *node) restore() error {
	s := n.s
	n.replayed = 0
	loaded, err := storage.LoadNewestSnapshot(n.fs, snapDir, storage.LoadOptions{})
	var base []hist
	var from jute.Zxid
	switch {
	case errors.Is(err, storage.ErrNoSnapshot):
		n.tree = tree.New()
	case err != nil:
		return err
	default:
		g, ok := n.ghosts[loaded.File]
		if !ok {
			return fmt.Errorf("restored snapshot %s was never written", loaded.File)
		}
		n.tree, base, from = loaded.Tree, slices.Clone(g), loaded.Zxid
	}
	n.applied, n.verified = base, 0
	res, err := storage.Replay(n.fs, logDir, from, true, func(t *jute.Txn) error {
		n.tree.Apply(t)
		n.applied = append(n.applied, hist{t.Header.Zxid, txnSum(t)})
		return nil
	})
	if err != nil {
		return err
	}
	n.replayed = res.Applied
	n.tree.SetLastZxid(res.LastZxid)
	n.lastLogged = res.LastZxid
	if want := s.reference(n.applied); want != n.tree.Digest() {
		s.fail("n%d: restored tree (snapshot %s + %d txns) differs from the history it claims", n.id, loaded.File, res.Applied)
	}
	return nil
}

// reload rebuilds the state from disk and reopens the log after what it
// holds.
func (n *node) reload() error {
	if err := n.log.Close(); err != nil {
		return err
	}
	if err := n.restore(); err != nil {
		return err
	}
	l, err := storage.OpenLog(logDir, storage.LogOptions{FS: n.fs, PreAllocSize: 4096, ForceSync: true})
	if err != nil {
		return err
	}
	l.SetLastZxid(n.lastLogged)
	n.log = l
	return nil
}

// snapshot writes a durable snapshot of the applied tree.
func (n *node) snapshot() error {
	path, err := storage.WriteSnapshot(n.fs, snapDir, n.tree, nil, storage.Uncompressed)
	if err != nil {
		return err
	}
	n.ghosts[path] = slices.Clone(n.applied)
	return nil
}

// crash stops the node: what its disk had not synced may be lost, links
// break, everything in flight to it is dropped.
func (n *node) crash() {
	s := n.s
	s.tracef("n%d crashes (%s)", n.id, n.state())
	for _, c := range n.conns() {
		s.breakConn(c, "crash")
	}
	n.up = false
	n.incarnation++
	n.fs = n.fs.CrashClone(s.rng)
	n.log, n.election, n.leader, n.learner, n.serving, n.leaderConn = nil, nil, nil, nil, false, nil
	n.links, n.pending, n.snaps, n.writeQ, n.flushing = nil, nil, nil, nil, false
	n.tree, n.applied, n.verified = nil, nil, 0
}

// tick is the peer loop's half tick: the election's clock and ZAB's.
func (n *node) tick() {
	n.election.Tick(n.s.now)
	n.flushElection()
	switch {
	case n.leader != nil:
		n.leader.Tick()
	case n.learner != nil:
		n.learner.Tick()
	}
	n.flushZab()
}

func (n *node) lookForLeader() {
	n.role = jute.Looking
	n.serving = false
	n.election.Start(n.s.now, n.lastLogged, n.currentEpoch)
	n.flushElection()
}

// flushElection sends the election's messages and acts on its decision.
func (n *node) flushElection() {
	if !n.election.HasReady() {
		return
	}
	r := n.election.Ready()
	for _, m := range r.Messages {
		n.s.sendElection(n.id, m)
	}
	if r.Decided == nil || n.role != jute.Looking {
		return
	}
	v := *r.Decided
	n.gen++
	n.leaderID = v.Leader
	n.s.tracef("n%d decides %s leader=%d zxid=%v epoch=%d round=%d", n.id, v.State, v.Leader, v.Zxid, v.PeerEpoch, v.Round)
	if v.State == jute.Leading {
		n.lead()
	} else {
		n.follow()
	}
}

// barrier makes the log writer's queue durable (peer: logWriter.barrier).
// The role's Persisted is not called: the caller is ending or starting a
// role.
func (n *node) barrier() {
	n.writeLog()
	if !n.s.cfg.StaleFastForward {
		n.lastLogged = max(n.lastLogged, n.log.LastZxid())
	}
}

func (n *node) lead() {
	n.role = jute.Leading
	n.barrier()
	n.leader = zab.NewLeader(n.s.zabConfig(n.id), zab.LeaderState{AcceptedEpoch: n.acceptedEpoch, CurrentEpoch: n.currentEpoch,
		LastZxid: n.lastLogged, History: n.history()})
	pending := n.pending
	n.pending = nil
	for _, c := range pending {
		if !c.up {
			continue
		}
		n.pending = append(n.pending, c)
		early := c.early
		c.early = nil
		for _, p := range early {
			n.leaderPacket(c, p)
		}
	}
	n.flushZab()
}

// history reads the committed tail of the log for DIFF syncs, as
// peer.history does.
func (n *node) history() []zab.Proposal {
	cnt := n.s.commitLog
	from := jute.MakeZxid(uint32(n.lastLogged.Epoch()), 0)
	if c := n.lastLogged.Counter(); c > uint32(cnt) {
		from = n.lastLogged - jute.Zxid(cnt)
	}
	var out []zab.Proposal
	_, err := storage.Replay(n.fs, logDir, from, false, func(t *jute.Txn) error {
		if t.Header.Zxid > from && t.Header.Zxid <= n.lastLogged {
			out = append(out, zab.NewProposal(t))
		}
		return nil
	})
	if err != nil {
		n.s.fail("n%d: read history: %v", n.id, err)
		return nil
	}
	if !n.s.cfg.GappyHistory {
		out = contiguousTail(out, n.lastLogged)
	}
	if len(out) > cnt {
		out = out[len(out)-cnt:]
	}
	return out
}

// contiguousTail returns the longest suffix of ps that ends at last and
// has no hole (consecutive counters within an epoch), or nothing.
func contiguousTail(ps []zab.Proposal, last jute.Zxid) []zab.Proposal {
	if len(ps) == 0 || ps[len(ps)-1].Zxid != last {
		return nil
	}
	i := len(ps) - 1
	for i > 0 {
		a, b := ps[i-1].Zxid, ps[i].Zxid
		if a.Epoch() == b.Epoch() && a+1 != b {
			break
		}
		i--
	}
	return ps[i:]
}

func (n *node) follow() {
	n.role = jute.Following
	for _, c := range n.pending {
		n.s.breakConn(c, "not leading")
	}
	n.pending = nil
	n.s.schedule(&event{at: n.s.now + 1 + n.s.rng.Int64N(5), kind: evConnect, node: n.id, incarnation: n.incarnation, gen: n.gen})
}

// connect dials the leader: refused while it is down (retried every 100
// ms), timing out after a tick×initLimit while it is unreachable, five
// tries in all, as peer.follow does.
func (n *node) connect(try int) {
	s := n.s
	if n.learner != nil || n.role == jute.Looking || n.role == jute.Leading {
		return
	}
	l := s.node(n.leaderID)
	retry := int64(0)
	switch {
	case !s.reachable(n.id, l.id):
		retry = s.cfg.TickMS*int64(s.cfg.InitLimit) + 100
	case !l.up:
		retry = 100
	}
	if retry > 0 {
		if try >= 4 {
			n.endRole(fmt.Sprintf("cannot connect to leader %d", l.id))
			return
		}
		s.schedule(&event{at: s.now + retry, kind: evConnect, node: n.id, incarnation: n.incarnation, gen: n.gen, try: try + 1})
		return
	}
	s.nextConn++
	c := &conn{id: s.nextConn, learner: n.id, leader: l.id, up: true}
	n.leaderConn = c
	n.learner = zab.NewLearner(s.zabConfig(n.id), zab.LearnerState{AcceptedEpoch: n.acceptedEpoch, CurrentEpoch: n.currentEpoch,
		LastZxid: n.lastLogged})
	s.tracef("n%d connects to n%d (conn %d, last=%v)", n.id, l.id, c.id, n.lastLogged)
	// The leader's side accepts it while LOOKING or LEADING.
	if l.role == jute.Leading || l.role == jute.Looking {
		l.pending = append(l.pending, c)
	} else {
		s.breakConn(c, "peer is not leading")
	}
	n.flushZab()
}

// leaderPacket handles a packet that reached this node on the leader's
// end of c.
func (n *node) leaderPacket(c *conn, p jute.QuorumPacket) {
	if i := slices.Index(n.pending, c); i >= 0 {
		if n.leader == nil {
			if n.role == jute.Looking && len(c.early) < 16 {
				c.early = append(c.early, p)
			}
			return
		}
		n.pending = slices.Delete(n.pending, i, i+1)
		var info jute.LearnerInfo
		if err := jute.Decode(p.Data, &info); err != nil || info.ServerID != c.learner {
			n.s.fail("n%d: learner on conn %d introduced itself as %d (%v)", n.id, c.id, info.ServerID, err)
			return
		}
		if old := n.links[c.learner]; old != nil {
			n.s.breakConn(old, "replaced")
		}
		n.links[c.learner] = c
		c.named = true
		n.leader.Connected(c.learner)
	}
	if n.leader == nil || n.links[c.learner] != c {
		return
	}
	n.leader.Step(c.learner, p)
	n.flushZab()
}

// connClosed is a link's end learning it broke.
func (n *node) connClosed(c *conn) {
	if c == n.leaderConn {
		n.endRole("lost the leader")
		return
	}
	if i := slices.Index(n.pending, c); i >= 0 {
		n.pending = slices.Delete(n.pending, i, i+1)
		return
	}
	if n.links[c.learner] == c {
		delete(n.links, c.learner)
		delete(n.snaps, c.learner)
		if n.leader != nil {
			n.leader.Disconnected(c.learner)
			n.flushZab()
		}
	}
}

// endRole leaves the role as peer.endRole does: links close, the log
// catches up, the tree is fast-forwarded over the role's uncommitted
// proposals that are in the log, and a new election starts.
func (n *node) endRole(why string) {
	s := n.s
	if n.role == jute.Looking && n.leader == nil && n.learner == nil {
		return
	}
	s.tracef("n%d leaves %s: %s", n.id, n.role, why)
	n.gen++
	for _, c := range n.conns() {
		s.breakConn(c, "role ends")
	}
	n.links, n.pending, n.leaderConn = make(map[int64]*conn), nil, nil
	clear(n.snaps)
	n.barrier()
	var pending []zab.Proposal
	switch {
	case n.leader != nil:
		pending = n.leader.Uncommitted()
	case n.learner != nil:
		pending = n.learner.Uncommitted()
	}
	n.leader, n.learner, n.serving = nil, nil, false
	for _, p := range pending {
		if p.Zxid <= n.lastLogged {
			n.apply(p.Txn, true)
		}
	}
	if n.unsavedSnap && !s.cfg.KeepUnsavedSnap {
		// The leader's snapshot never reached the disk: go back to what
		// the disk holds.
		n.unsavedSnap = false
		s.tracef("n%d reloads from disk: the leader's snapshot was not saved", n.id)
		if err := n.reload(); err != nil {
			s.fail("n%d: reload: %v", n.id, err)
			return
		}
	}
	n.lookForLeader()
	if s.cfg.StaleFastForward {
		// peer handles the log writer's Persisted events only now.
		n.lastLogged = max(n.lastLogged, n.log.LastZxid())
	}
}

// apply applies a committed transaction; ff marks the fast-forward at the
// end of a role, where the tree may already hold it.
func (n *node) apply(t *jute.Txn, ff bool) {
	z := t.Header.Zxid
	if z <= n.tree.LastZxid() {
		if !ff {
			n.s.fail("n%d: delivery of %v after %v: out of order", n.id, z, n.tree.LastZxid())
		}
		return
	}
	n.tree.Apply(t)
	n.applied = append(n.applied, hist{z, txnSum(t)})
}

// flushZab executes the role's Ready batches until there are none.
func (n *node) flushZab() {
	for range 100 {
		switch {
		case !n.up:
			return
		case n.leader != nil && n.leader.HasReady():
			n.executeLeader(n.leader.Ready())
		case n.learner != nil && n.learner.HasReady():
			n.executeLearner(n.learner.Ready())
		default:
			return
		}
	}
	n.s.fail("n%d: Ready never empties", n.id)
}

func (n *node) persistEpochs(r *zab.Ready) error {
	if r.AcceptedEpoch != 0 {
		if err := storage.WriteEpoch(n.fs, snapDir, storage.AcceptedEpochFile, r.AcceptedEpoch); err != nil {
			return err
		}
		n.acceptedEpoch = r.AcceptedEpoch
	}
	if r.CurrentEpoch != 0 {
		if err := storage.WriteEpoch(n.fs, snapDir, storage.CurrentEpochFile, r.CurrentEpoch); err != nil {
			return err
		}
		n.currentEpoch = r.CurrentEpoch
	}
	return nil
}

func (n *node) executeLeader(r zab.Ready) {
	s := n.s
	if err := n.persistEpochs(&r); err != nil {
		n.endRole("persist epoch: " + err.Error())
		return
	}
	for _, d := range r.Deliveries {
		if d.Txn != nil {
			n.apply(d.Txn, false)
			if sum := txnSum(d.Txn); s.clientTxns[sum] {
				s.acked = append(s.acked, hist{d.Txn.Header.Zxid, sum})
			}
			if n.serving {
				s.verify(n)
			}
		}
	}
	if r.AcceptedEpoch != 0 || r.CurrentEpoch != 0 || r.Serving || len(r.SnapshotFor) > 0 {
		n.maybeCrashSoon()
	}
	for _, sid := range r.SnapshotFor {
		v := n.tree.Freeze()
		var buf bytes.Buffer
		if _, err := v.WriteSnapshot(&buf, nil, tree.WriteOptions{Wire: true}); err != nil {
			panic(err) // a bytes.Buffer never fails
		}
		v.Release()
		n.snaps[sid] = &wireSnap{data: buf.Bytes(), zxid: v.Zxid(), applied: slices.Clone(n.applied)}
		s.tracef("n%d SNAP for n%d at %v", n.id, sid, v.Zxid())
		n.leader.SnapshotReady(sid, v.Zxid())
	}
	for _, m := range r.Messages {
		c := n.links[m.To]
		if c == nil {
			continue
		}
		var snap *wireSnap
		if m.Snapshot {
			snap = n.snaps[m.To]
			delete(n.snaps, m.To)
		}
		s.send(c, false, m.Packet, snap)
	}
	n.queue(r.Append)
	for _, sid := range r.Disconnect {
		if c := n.links[sid]; c != nil {
			s.breakConn(c, "leader drops learner")
			delete(n.links, sid)
			n.leader.Disconnected(sid)
		}
	}
	if r.Serving {
		epoch := n.leader.Epoch()
		n.election.SetPeerEpoch(epoch)
		n.serving = true
		s.tracef("n%d LEADS epoch %d, applied=%d last=%v", n.id, epoch, len(n.applied), n.tree.LastZxid())
		if prev, ok := s.leaders[epoch]; ok && prev != n.id {
			s.fail("two leaders established epoch %d: n%d and n%d", epoch, prev, n.id)
		}
		s.leaders[epoch] = n.id
		n.checkLeaderHistory()
	}
	if r.Err != nil {
		n.endRole(r.Err.Error())
	}
}

func (n *node) executeLearner(r zab.Ready) {
	s := n.s
	if err := n.persistEpochs(&r); err != nil {
		n.endRole("persist epoch: " + err.Error())
		return
	}
	if r.AcceptedEpoch != 0 || r.CurrentEpoch != 0 || r.Truncate || r.LoadSnapshot || r.TakeSnapshot || r.Serving {
		n.maybeCrashSoon()
	}
	if r.Truncate {
		s.tracef("n%d TRUNC to %v", n.id, r.TruncateTo)
		if err := n.truncateLog(r.TruncateTo); err != nil {
			n.endRole(err.Error())
			return
		}
		if err := n.restore(); err != nil {
			n.endRole("reload after TRUNC: " + err.Error())
			return
		}
	}
	if r.LoadSnapshot {
		s.tracef("n%d loads SNAP at %v", n.id, r.SnapshotZxid)
		if err := n.truncateLog(r.SnapshotZxid); err != nil {
			s.tracef("n%d could not cut the log back to the snapshot: %v", n.id, err)
		}
		ws := r.Snapshot.(*wireSnap)
		t, _, _, err := tree.ReadSnapshot(bytes.NewReader(ws.data), tree.ReadOptions{Zxid: ws.zxid, Wire: true})
		if err != nil {
			s.fail("n%d: read SNAP: %v", n.id, err)
			return
		}
		n.tree, n.applied, n.verified = t, slices.Clone(ws.applied), 0
		n.lastLogged = r.SnapshotZxid
		n.unsavedSnap = true
	}
	for _, d := range r.Deliveries {
		if d.Txn != nil {
			n.apply(d.Txn, false)
		}
	}
	if r.TakeSnapshot {
		if err := n.snapshot(); err != nil {
			n.endRole("snapshot at NEWLEADER: " + err.Error())
			return
		}
		n.unsavedSnap = false
		n.learner.SnapshotTaken()
	}
	if n.leaderConn != nil {
		for _, m := range r.Messages {
			s.send(n.leaderConn, true, m.Packet, nil)
		}
	}
	n.queue(r.Append)
	if r.Serving {
		n.election.SetPeerEpoch(n.learner.Epoch())
		n.serving = true
		s.tracef("n%d follows n%d in epoch %d, applied=%d last=%v", n.id, n.leaderID, n.learner.Epoch(), len(n.applied), n.tree.LastZxid())
	}
	if r.Err != nil {
		n.endRole(r.Err.Error())
	}
}

// maybeCrashSoon sometimes crashes the node within a few milliseconds of
// a step that changes its disk or role, where crashes matter most and a
// random crash rarely lands.
func (n *node) maybeCrashSoon() {
	s := n.s
	if s.now < s.cfg.FaultMS && s.rng.IntN(100) < 4 {
		s.schedule(&event{at: s.now + s.rng.Int64N(20), kind: evCrash, node: n.id, incarnation: n.incarnation})
	}
}

// truncateLog is the log writer's truncateTo: what is queued is written
// first, then the log is cut after zxid and reopened.
func (n *node) truncateLog(zxid jute.Zxid) error {
	n.writeLog()
	if err := n.log.Close(); err != nil {
		return err
	}
	if err := storage.Truncate(n.fs, logDir, snapDir, zxid); err != nil {
		return fmt.Errorf("truncate the log after %v: %w", zxid, err)
	}
	l, err := storage.OpenLog(logDir, storage.LogOptions{FS: n.fs, PreAllocSize: 4096, ForceSync: true})
	if err != nil {
		return err
	}
	l.SetLastZxid(zxid)
	n.log = l
	return nil
}

// queue hands proposals to the log writer, which makes them durable a
// little later.
func (n *node) queue(ps []zab.Proposal) {
	if len(ps) == 0 {
		return
	}
	n.writeQ = append(n.writeQ, ps...)
	if !n.flushing {
		n.flushing = true
		n.s.schedule(&event{at: n.s.now + 1 + n.s.rng.Int64N(15), kind: evFlush, node: n.id, incarnation: n.incarnation})
	}
}

// writeLog appends and syncs the queue (one group commit); it reports
// whether anything was queued.
func (n *node) writeLog() bool {
	if len(n.writeQ) == 0 {
		return false
	}
	q := n.writeQ
	n.writeQ = nil
	for _, p := range q {
		if p.Zxid <= n.log.LastZxid() {
			continue
		}
		if err := n.log.Append(p.Txn); err != nil {
			n.s.fail("n%d: append %v: %v", n.id, p.Zxid, err)
			return true
		}
		n.rollAt--
	}
	if err := n.log.Commit(); err != nil {
		n.s.fail("n%d: commit: %v", n.id, err)
	}
	return true
}

// flushLog is the log writer's turn: a durable batch, Persisted, and a
// log roll with a snapshot now and then.
func (n *node) flushLog() {
	n.flushing = false
	if !n.writeLog() {
		return
	}
	last := n.log.LastZxid()
	n.lastLogged = max(n.lastLogged, last)
	switch {
	case n.leader != nil:
		n.leader.Persisted(last)
	case n.learner != nil:
		n.learner.Persisted(last)
	}
	if n.rollAt <= 0 {
		n.rollAt = 5 + n.s.rng.IntN(40)
		if err := n.log.Roll(); err != nil {
			n.s.fail("n%d: roll: %v", n.id, err)
		}
		if err := n.snapshot(); err != nil {
			n.s.fail("n%d: snapshot: %v", n.id, err)
		}
	}
	n.flushZab()
}

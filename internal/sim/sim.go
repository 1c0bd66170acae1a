package sim

import (
	"container/heap"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/zkd/zkd/internal/fle"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/zab"
)

// Config describes one run. Zero fields take the defaults of Defaults.
type Config struct {
	// Seed decides everything else about the run.
	Seed uint64
	// Nodes is the ensemble size.
	Nodes int
	// TickMS is tickTime; InitLimit and SyncLimit are in ticks.
	TickMS               int64
	InitLimit, SyncLimit int
	// FaultMS is how long faults and client writes go on; the run then
	// heals and waits up to SettleMS for the ensemble to converge.
	FaultMS, SettleMS int64
	// MaxSteps bounds the whole run (a run that needs more fails).
	MaxSteps int
	// StaleFastForward models what internal/peer does today when a role
	// ends: its last logged zxid is not yet updated by the log flush, so
	// the fast-forward skips proposals that reached the log (see the
	// package's reports). Off, the simulation models the intended
	// behaviour.
	StaleFastForward bool
	// KeepUnsavedSnap models internal/peer when a learner role ends after
	// a SNAP was installed and before NEWLEADER made it durable: the
	// server keeps the snapshot's state in memory and as its last logged
	// zxid, which its disk does not hold. Off, it reloads from disk, as
	// after a TRUNC.
	KeepUnsavedSnap bool
	// GappyHistory models peer.history today: the DIFF history is the log
	// as read, holes included. Off, only a tail without holes that ends at
	// the last logged zxid is used.
	GappyHistory bool
}

// Defaults returns the configuration the tests use for seed: the
// ensemble size is 3, 5 or 7 by the seed, so that one number names a run.
func Defaults(seed uint64) Config {
	return Config{Seed: seed, Nodes: []int{3, 5, 7}[seed%3], TickMS: 100, InitLimit: 10, SyncLimit: 5,
		FaultMS: 6000, SettleMS: 120000, MaxSteps: 200000}
}

// Result is what a run leaves behind.
type Result struct {
	Seed  uint64
	Nodes int
	// Err is the first invariant broken, nil when the run passed.
	Err error
	// Steps and TimeMS are how far the run went.
	Steps  int
	TimeMS int64
	// Committed is the length of the committed history; Acked the client
	// writes acknowledged; Elections the leaders established.
	Committed, Acked, Elections int
	// Crashes, Partitions and Breaks count the faults injected.
	Crashes, Partitions, Breaks int
	// TraceHash digests every step of the run: equal seeds give equal
	// hashes.
	TraceHash uint64
	// Trace is the tail of the run's notable events.
	Trace []string
}

// evKind is the kind of a scheduled event.
type evKind uint8

const (
	evTick       evKind = iota // a node's half tick (fle and zab)
	evElection                 // an election datagram arrives
	evQuorum                   // a quorum packet arrives on a connection
	evConnClosed               // one end learns its connection broke
	evConnect                  // a learner dials its leader
	evFlush                    // a node's log writer makes its queue durable
	evChaos                    // the fault injector acts
	evClient                   // a client write
	evHeal                     // the fault phase ends
	evStart                    // a node starts for the first time
	evCrash                    // a crash point fires
)

var evNames = [...]string{"tick", "election", "quorum", "closed", "connect", "flush", "chaos", "client", "heal", "start", "crash"}

type event struct {
	at   int64
	seq  uint64
	kind evKind
	node int64 // the node the event happens on
	// incarnation of node when the event was scheduled (ticks, flushes,
	// connects die with a crash); gen is its role generation (connects).
	incarnation int
	gen         uint64
	from        int64
	note        jute.Notification
	conn        *conn
	toLeader    bool
	pkt         jute.QuorumPacket
	snap        *wireSnap
	try         int
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// hist is one transaction of a history: its zxid and a hash of its bytes.
type hist struct {
	zxid jute.Zxid
	sum  uint64
}

// Sim is one simulated ensemble. It is not safe for concurrent use.
type Sim struct {
	cfg    Config
	rng    *rand.Rand
	now    int64
	seq    uint64
	events eventHeap
	nodes  []*node // nodes[id-1]
	voters []int64
	// group is each node's side of the current partition (all equal when
	// healed).
	group     []int
	healed    bool
	nextConn  int
	commitLog int

	// committed is the one committed history every serving node's applied
	// sequence must be a prefix of; index maps a zxid to its position.
	committed []hist
	index     map[jute.Zxid]int
	// txns holds every transaction ever proposed, by hash, to rebuild
	// reference trees.
	txns map[uint64]*jute.Txn
	// clientTxns are the hashes of client writes; acked those delivered.
	clientTxns map[uint64]bool
	acked      []hist
	// leaders maps an established epoch to its leader.
	leaders map[int64]int64

	keys    []string // paths created so far (proposed)
	nextKey int
	cxid    int32

	steps  int
	err    error
	trace  []string
	hasher hashWriter
	res    Result
}

type hashWriter struct{ h uint64 }

func (w *hashWriter) add(b []byte) {
	h := fnv.New64a()
	var seed [8]byte
	for i := range 8 {
		seed[i] = byte(w.h >> (8 * i))
	}
	h.Write(seed[:])
	h.Write(b)
	w.h = h.Sum64()
}

// New builds the ensemble of cfg, every server freshly started on an
// empty disk.
func New(cfg Config) *Sim {
	d := Defaults(cfg.Seed)
	if cfg.Nodes == 0 {
		cfg.Nodes = d.Nodes
	}
	if cfg.TickMS == 0 {
		cfg.TickMS = d.TickMS
	}
	if cfg.InitLimit == 0 {
		cfg.InitLimit = d.InitLimit
	}
	if cfg.SyncLimit == 0 {
		cfg.SyncLimit = d.SyncLimit
	}
	if cfg.FaultMS == 0 {
		cfg.FaultMS = d.FaultMS
	}
	if cfg.SettleMS == 0 {
		cfg.SettleMS = d.SettleMS
	}
	if cfg.MaxSteps == 0 {
		cfg.MaxSteps = d.MaxSteps
	}
	s := &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		index: make(map[jute.Zxid]int), txns: make(map[uint64]*jute.Txn), clientTxns: make(map[uint64]bool),
		leaders: make(map[int64]int64), group: make([]int, cfg.Nodes), healed: true}
	s.commitLog = []int{5, 20, 500}[s.rng.IntN(3)]
	for i := range cfg.Nodes {
		s.voters = append(s.voters, int64(i+1))
	}
	for _, id := range s.voters {
		n := newNode(s, id)
		s.nodes = append(s.nodes, n)
	}
	for _, n := range s.nodes {
		// Servers start within the first second, each with its own tick
		// phase.
		s.schedule(&event{at: s.rng.Int64N(1000), kind: evStart, node: n.id})
	}
	s.schedule(&event{at: 1500 + s.rng.Int64N(500), kind: evChaos})
	s.schedule(&event{at: 500 + s.rng.Int64N(500), kind: evClient})
	s.schedule(&event{at: cfg.FaultMS, kind: evHeal})
	return s
}

func (s *Sim) schedule(e *event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.events, e)
}

func (s *Sim) node(id int64) *node { return s.nodes[id-1] }

// tracef records a notable event: in the hash and in the trace kept for a
// failure report.
func (s *Sim) tracef(format string, args ...any) {
	line := fmt.Sprintf("t=%d %s", s.now, fmt.Sprintf(format, args...))
	s.hasher.add([]byte(line))
	s.trace = append(s.trace, line)
	if len(s.trace) > 4000 {
		s.trace = slices.Delete(s.trace, 0, 2000)
	}
}

// fail records the first broken invariant.
func (s *Sim) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("t=%d step %d: %s", s.now, s.steps, fmt.Sprintf(format, args...))
		s.tracef("VIOLATION %v", s.err)
	}
}

// Run runs the simulation to its end and returns the result.
func (s *Sim) Run() Result {
	for s.err == nil {
		if s.now > s.cfg.FaultMS && s.converged() {
			s.checkConverged()
			break
		}
		if s.now > s.cfg.FaultMS+s.cfg.SettleMS {
			s.fail("no convergence %d ms after healing: %s", s.cfg.SettleMS, s.describe())
			break
		}
		if s.steps >= s.cfg.MaxSteps {
			s.fail("still running after %d steps: %s", s.steps, s.describe())
			break
		}
		if len(s.events) == 0 {
			s.fail("nothing left to do")
			break
		}
		e := heap.Pop(&s.events).(*event)
		s.now = e.at
		s.steps++
		var b [24]byte
		b[0] = byte(e.kind)
		for i := range 8 {
			b[1+i] = byte(e.at >> (8 * i))
			b[9+i] = byte(e.node >> (8 * i))
		}
		s.hasher.add(b[:17])
		s.step(e)
		s.check()
	}
	s.res.Seed, s.res.Nodes, s.res.Err = s.cfg.Seed, s.cfg.Nodes, s.err
	s.res.Steps, s.res.TimeMS = s.steps, s.now
	s.res.Committed, s.res.Acked, s.res.Elections = len(s.committed), len(s.acked), len(s.leaders)
	for _, h := range s.committed {
		s.hasher.add([]byte(h.zxid.String()))
	}
	s.res.TraceHash = s.hasher.h
	s.res.Trace = s.trace
	return s.res
}

// describe summarises every node for a failure message.
func (s *Sim) describe() string {
	var b strings.Builder
	for _, n := range s.nodes {
		fmt.Fprintf(&b, "[n%d %s] ", n.id, n.state())
	}
	fmt.Fprintf(&b, "committed=%d", len(s.committed))
	return b.String()
}

func (s *Sim) step(e *event) {
	switch e.kind {
	case evTick:
		n := s.node(e.node)
		if !n.up || e.incarnation != n.incarnation {
			return
		}
		n.tick()
		s.schedule(&event{at: s.now + s.cfg.TickMS/2, kind: evTick, node: n.id, incarnation: n.incarnation})
	case evElection:
		n := s.node(e.node)
		if !n.up || !s.reachable(e.from, e.node) {
			return
		}
		n.election.Step(s.now, e.from, e.note)
		n.flushElection()
	case evQuorum:
		s.deliverQuorum(e)
	case evConnClosed:
		n := s.node(e.node)
		if n.up && e.incarnation == n.incarnation {
			n.connClosed(e.conn)
		}
	case evConnect:
		n := s.node(e.node)
		if n.up && e.incarnation == n.incarnation && e.gen == n.gen {
			n.connect(e.try)
		}
	case evFlush:
		n := s.node(e.node)
		if n.up && e.incarnation == n.incarnation {
			n.flushLog()
		}
	case evStart:
		if n := s.node(e.node); !n.up {
			n.start()
		}
	case evCrash:
		// A crash point scheduled just before the faults ended does not
		// fire after: the heal restarted every node once, for good.
		if n := s.node(e.node); n.up && e.incarnation == n.incarnation && s.now < s.cfg.FaultMS {
			s.res.Crashes++
			n.crash()
		}
	case evChaos:
		if s.now < s.cfg.FaultMS {
			s.chaos()
			s.schedule(&event{at: s.now + 100 + s.rng.Int64N(900), kind: evChaos})
		}
	case evClient:
		if s.now < s.cfg.FaultMS {
			s.client()
			s.schedule(&event{at: s.now + 5 + s.rng.Int64N(60), kind: evClient})
		}
	case evHeal:
		s.tracef("heal: faults end, every node restarts")
		s.heal()
		for _, n := range s.nodes {
			if !n.up {
				n.start()
			}
		}
	}
}

// sendElection puts an election datagram on the network.
func (s *Sim) sendElection(from int64, m fle.Message) {
	if s.rng.IntN(100) < 4 {
		return // dropped
	}
	copies := 1
	if s.rng.IntN(100) < 3 {
		copies = 2
	}
	for range copies {
		s.schedule(&event{at: s.now + 1 + s.rng.Int64N(25), kind: evElection, node: m.To, from: from, note: m.Notification})
	}
}

// reachable reports whether a and b are on the same side of the
// partition.
func (s *Sim) reachable(a, b int64) bool { return s.group[a-1] == s.group[b-1] }

// partition splits the nodes into the groups given (a group per node) and
// breaks every connection that now crosses it.
func (s *Sim) partition(group []int, why string) {
	copy(s.group, group)
	s.healed = false
	s.res.Partitions++
	s.tracef("partition (%s): %v", why, group)
	for _, n := range s.nodes {
		for _, c := range n.conns() {
			if !s.reachable(c.learner, c.leader) {
				s.breakConn(c, "partition")
			}
		}
	}
}

func (s *Sim) heal() {
	if !s.healed {
		s.tracef("heal partition")
	}
	clear(s.group)
	s.healed = true
}

// chaos injects one fault.
func (s *Sim) chaos() {
	up, down := []*node{}, []*node{}
	for _, n := range s.nodes {
		if n.up {
			up = append(up, n)
		} else if n.started {
			down = append(down, n)
		}
	}
	switch r := s.rng.IntN(100); {
	case r < 18 && len(up) > 0:
		n := up[s.rng.IntN(len(up))]
		if len(down) >= len(s.nodes)/2 && s.rng.IntN(2) == 0 {
			return // keep a quorum alive more often than not
		}
		s.res.Crashes++
		n.crash()
	case r < 24 && len(up) > 0:
		// Crash the leader: the case that matters most.
		for _, n := range up {
			if n.leader != nil {
				s.res.Crashes++
				n.crash()
				return
			}
		}
	case r < 45 && len(down) > 0:
		down[s.rng.IntN(len(down))].start()
	case r < 55:
		g := make([]int, len(s.nodes))
		for i := range g {
			g[i] = s.rng.IntN(2)
		}
		s.partition(g, "random split")
	case r < 63:
		// Isolate the leader (or a random node) from everyone else.
		victim := s.rng.IntN(len(s.nodes))
		for i, n := range s.nodes {
			if n.up && n.leader != nil {
				victim = i
			}
		}
		g := make([]int, len(s.nodes))
		g[victim] = 1
		s.partition(g, "isolate")
	case r < 70:
		// A minority cut off from a majority.
		perm := s.rng.Perm(len(s.nodes))
		g := make([]int, len(s.nodes))
		for _, i := range perm[:len(s.nodes)/2] {
			g[i] = 1
		}
		s.partition(g, "minority")
	case r < 85:
		s.heal()
	case r < 95:
		var cs []*conn
		for _, n := range s.nodes {
			cs = append(cs, n.conns()...)
		}
		if len(cs) > 0 {
			s.breakConn(cs[s.rng.IntN(len(cs))], "dropped")
		}
	}
}

// client proposes one write on a serving leader.
func (s *Sim) client() {
	var leaders []*node
	for _, n := range s.nodes {
		if n.up && n.leader != nil && n.leader.Serving() {
			leaders = append(leaders, n)
		}
	}
	if len(leaders) == 0 {
		return
	}
	n := leaders[s.rng.IntN(len(leaders))]
	zxid := n.leader.LastProposed() + 1
	s.cxid++
	hdr := jute.TxnHeader{ClientID: 0x100, Cxid: s.cxid, Zxid: zxid, Time: s.now}
	data := fmt.Appendf(nil, "v%d", s.rng.IntN(1000))
	var txn *jute.Txn
	if len(s.keys) > 0 && s.rng.IntN(100) < 40 {
		hdr.Type = jute.OpSetData
		txn = &jute.Txn{Header: hdr, Record: &jute.SetDataTxn{Path: s.keys[s.rng.IntN(len(s.keys))], Data: data, Version: 1}}
	} else {
		hdr.Type = jute.OpCreate
		s.nextKey++
		path := fmt.Sprintf("/k%d", s.nextKey)
		s.keys = append(s.keys, path)
		txn = &jute.Txn{Header: hdr, Record: &jute.CreateTxn{Path: path, Data: data,
			ACL: []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, ParentCVersion: int32(s.nextKey)}}
	}
	sum := txnSum(txn)
	s.txns[sum] = txn
	s.clientTxns[sum] = true
	if err := n.leader.Propose(txn); err != nil {
		s.fail("n%d refused a proposal while serving: %v", n.id, err)
		return
	}
	n.flushZab()
}

// txnSum hashes a transaction's bytes.
func txnSum(t *jute.Txn) uint64 {
	h := fnv.New64a()
	h.Write(jute.Encode(t))
	return h.Sum64()
}

// conn is a quorum connection from a learner to a leader.
type conn struct {
	id              int
	learner, leader int64
	up              bool
	// last is the delivery time of the newest packet in each direction
	// (0: to the leader, 1: to the learner), to keep them FIFO.
	last [2]int64
	// early holds packets that reached a leader still LOOKING.
	early []jute.QuorumPacket
	// named is set once the leader knows the learner's id.
	named bool
}

// wireSnap is a SNAP sync's snapshot as sent: the wire bytes and, for the
// invariants, the history they hold.
type wireSnap struct {
	data    []byte
	zxid    jute.Zxid
	applied []hist
}

// send puts a packet on a connection.
func (s *Sim) send(c *conn, toLeader bool, pkt jute.QuorumPacket, snap *wireSnap) {
	if !c.up {
		return
	}
	if s.rng.IntN(1000) < 2 {
		s.breakConn(c, "dropped on send")
		return
	}
	dir := 1
	to := c.learner
	if toLeader {
		dir, to = 0, c.leader
	}
	at := max(s.now+1+s.rng.Int64N(8), c.last[dir])
	c.last[dir] = at
	s.schedule(&event{at: at, kind: evQuorum, node: to, conn: c, toLeader: toLeader, pkt: pkt, snap: snap})
}

// breakConn closes a connection; each end that is still up hears of it
// after a while (a reset, or a read timeout).
func (s *Sim) breakConn(c *conn, why string) {
	if !c.up {
		return
	}
	c.up = false
	s.res.Breaks++
	s.tracef("conn %d n%d->n%d breaks (%s)", c.id, c.learner, c.leader, why)
	for _, id := range []int64{c.learner, c.leader} {
		n := s.node(id)
		if n.up {
			s.schedule(&event{at: s.now + 1 + s.rng.Int64N(300), kind: evConnClosed, node: id, incarnation: n.incarnation, conn: c})
		}
	}
}

func (s *Sim) deliverQuorum(e *event) {
	c := e.conn
	if !c.up {
		return
	}
	n := s.node(e.node)
	if !n.up {
		return
	}
	if !e.toLeader {
		if n.leaderConn == c && n.learner != nil {
			var snap any
			if e.pkt.Type == jute.PacketSnap {
				if e.snap == nil {
					s.fail("n%d: SNAP without a snapshot", n.id)
					return
				}
				snap = e.snap
			}
			n.learner.Step(e.pkt, snap)
			n.flushZab()
		}
		return
	}
	n.leaderPacket(c, e.pkt)
}

// zabConfig is the ZAB configuration of node id.
func (s *Sim) zabConfig(id int64) zab.Config {
	return zab.Config{ID: id, Voters: s.voters, InitLimit: s.cfg.InitLimit, SyncLimit: s.cfg.SyncLimit, CommitLogCount: s.commitLog}
}

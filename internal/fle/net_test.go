package fle

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// testNet is a deterministic network of Elections with a fake clock. Each
// message gets a seeded random latency; messages on one link stay in order,
// as on ZooKeeper's one TCP connection per pair, but links interleave at
// random. Every message goes through the jute codec. Messages to a server
// that is down are lost.
type testNet struct {
	t      testing.TB
	seed   uint64
	rng    *rand.Rand
	nowMS  int64
	tickMS int64 // how often every server is ticked
	minLat int64 // latency range of a message, in ms
	maxLat int64
	drop   float64 // probability that a message is lost

	voters  []int64
	servers map[int64]*testServer
	flight  []flight
	seq     int
	linkDue map[[2]int64]int64 // last delivery time on each link
	trace   []string
}

type testServer struct {
	e       *Election
	up      bool
	decided []Vote
}

type flight struct {
	at       int64
	seq      int
	from, to int64
	msg      []byte
}

// newTestNet returns a network for the given voters and observers; no
// server is running yet.
func newTestNet(t testing.TB, seed uint64, voters, observers []int64) *testNet {
	n := &testNet{
		t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)),
		tickMS: 10, minLat: 1, maxLat: 50,
		voters: voters, servers: map[int64]*testServer{}, linkDue: map[[2]int64]int64{},
	}
	for _, id := range voters {
		n.servers[id] = &testServer{}
	}
	for _, id := range observers {
		n.servers[id] = &testServer{}
	}
	return n
}

// config is the fle.Config of server id: every server holds the same
// config text, as §4.3 requires.
func (n *testNet) config(id int64) Config {
	var text strings.Builder
	for _, v := range n.voters {
		fmt.Fprintf(&text, "server.%d=127.0.0.1:%d:%d:participant\n", v, 12887+v, 13887+v)
	}
	text.WriteString("version=0")
	return Config{ID: id, Voters: n.voters, Observer: !slices.Contains(n.voters, id), ConfigText: text.String()}
}

// start boots server id as a fresh process (logical clock 0) and starts its
// election.
func (n *testNet) start(id int64, lastZxid jute.Zxid, epoch int64) {
	s := n.servers[id]
	s.e, s.up = New(n.config(id)), true
	n.logf("start %d zxid=%v epoch=%d", id, lastZxid, epoch)
	s.e.Start(n.nowMS, lastZxid, epoch)
	n.collect(id)
}

// stop takes server id down; messages to it are lost from now on.
func (n *testNet) stop(id int64) {
	n.servers[id].up = false
	n.logf("stop %d", id)
}

// collect moves server id's output onto the network.
func (n *testNet) collect(id int64) {
	s := n.servers[id]
	if !s.e.HasReady() {
		return
	}
	rd := s.e.Ready()
	for _, m := range rd.Messages {
		if m.To == id {
			n.t.Fatalf("seed %d: server %d sent itself %+v; self-delivery is internal", n.seed, id, m.Notification)
		}
		if n.drop > 0 && n.rng.Float64() < n.drop {
			continue
		}
		link := [2]int64{id, m.To}
		at := max(n.nowMS+n.minLat+n.rng.Int64N(n.maxLat-n.minLat+1), n.linkDue[link])
		n.linkDue[link] = at
		n.seq++
		n.flight = append(n.flight, flight{at: at, seq: n.seq, from: id, to: m.To, msg: m.Notification.Encode()})
	}
	if rd.Decided != nil {
		s.decided = append(s.decided, *rd.Decided)
		n.logf("%d decided %s leader=%d round=%d", id, rd.Decided.State, rd.Decided.Leader, rd.Decided.Round)
	}
}

// runFor advances the clock by ms, delivering messages and ticking servers.
func (n *testNet) runFor(ms int64) {
	end := n.nowMS + ms
	for n.nowMS < end {
		next := (n.nowMS/n.tickMS + 1) * n.tickMS
		for len(n.flight) > 0 {
			i := n.earliest()
			f := n.flight[i]
			if f.at > next || f.at > end {
				break
			}
			n.flight = slices.Delete(n.flight, i, i+1)
			n.nowMS = max(n.nowMS, f.at)
			n.deliver(f)
		}
		n.nowMS = min(next, end)
		if n.nowMS%n.tickMS == 0 {
			for _, id := range n.ids() {
				if s := n.servers[id]; s.up {
					s.e.Tick(n.nowMS)
					n.collect(id)
				}
			}
		}
	}
}

func (n *testNet) earliest() int {
	best := 0
	for i, f := range n.flight {
		if f.at < n.flight[best].at || f.at == n.flight[best].at && f.seq < n.flight[best].seq {
			best = i
		}
	}
	return best
}

func (n *testNet) deliver(f flight) {
	s := n.servers[f.to]
	if !s.up {
		return
	}
	msg, err := jute.DecodeNotification(f.msg)
	if err != nil {
		n.t.Fatalf("seed %d: %d→%d: %v", n.seed, f.from, f.to, err)
	}
	s.e.Step(n.nowMS, f.from, msg)
	n.collect(f.to)
}

func (n *testNet) ids() []int64 {
	var ids []int64
	for id := range n.servers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (n *testNet) logf(format string, args ...any) {
	n.trace = append(n.trace, fmt.Sprintf("%6dms ", n.nowMS)+fmt.Sprintf(format, args...))
}

// fatalf fails the test with the seed and the run's trace.
func (n *testNet) fatalf(format string, args ...any) {
	n.t.Helper()
	n.t.Fatalf("seed %d: %s\ntrace:\n%s", n.seed, fmt.Sprintf(format, args...), strings.Join(n.trace, "\n"))
}

// expect checks that every listed server has decided, with the given leader,
// and is in the given state.
func (n *testNet) expect(leader int64, states map[int64]jute.PeerState) {
	n.t.Helper()
	for _, id := range slices.Sorted(maps.Keys(states)) {
		s := n.servers[id]
		if got := s.e.State(); got != states[id] {
			n.fatalf("server %d is %s, want %s", id, got, states[id])
		}
		if got := s.e.Vote().Leader; got != leader {
			n.fatalf("server %d follows %d, want %d", id, got, leader)
		}
		if len(s.decided) == 0 || s.decided[len(s.decided)-1].Leader != leader {
			n.fatalf("server %d decisions %+v, want a last one for %d", id, s.decided, leader)
		}
	}
}

// lookAgain sends a running server back to LOOKING, as a failure in ZAB does
// (spec §4.6): a new round with the same process state.
func (n *testNet) lookAgain(id int64, lastZxid jute.Zxid, epoch int64) {
	s := n.servers[id]
	n.logf("look again %d", id)
	s.e.Start(n.nowMS, lastZxid, epoch)
	n.collect(id)
}

// setPeerEpoch tells every decided server that ZAB established epoch.
func (n *testNet) setPeerEpoch(epoch int64) {
	for _, s := range n.servers {
		if s.up && s.e.State() != jute.Looking {
			s.e.SetPeerEpoch(epoch)
		}
	}
}

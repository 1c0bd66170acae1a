package fle

import (
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// seeds is how many seeded runs each network scenario makes.
const seeds = 60

var five = []int64{1, 2, 3, 4, 5}

// ZooKeeper's administrator's guide: five fresh servers started one after
// the other in id order end with server 3 leading. Servers 1 and 2 alone
// are no quorum of five; when 3 starts, 1, 2 and 3 agree on 3, the highest
// sid among them; 4 and 5 arrive to an established leader and follow it
// through the FOLLOWING/LEADING replies (spec §4.4 step 2.5, §4.5).
func TestOperatorGuide_FiveFreshServersStartedInOrder_Server3Leads(t *testing.T) {
	for _, tc := range []struct {
		name      string
		syncEpoch bool // whether ZAB reports epoch 1 after each decision
	}{
		{"before any sync", false},
		{"with the vote's peer epoch updated by sync", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= seeds; seed++ {
				n := newTestNet(t, seed, five, nil)
				for _, id := range five {
					n.start(id, 0, 0)
					n.runFor(1000 + n.rng.Int64N(2000))
					if tc.syncEpoch {
						n.setPeerEpoch(1)
					}
				}
				n.runFor(5000)
				n.expect(3, map[int64]jute.PeerState{
					1: jute.Following, 2: jute.Following, 3: jute.Leading, 4: jute.Following, 5: jute.Following,
				})
				for _, id := range []int64{4, 5} {
					if d := n.servers[id].decided; len(d) != 1 || d[0].Round != 1 {
						n.fatalf("server %d decisions %+v, want one in round 1", id, d)
					}
				}
			}
		})
	}
}

// ZooKeeper's administrator's guide: with servers 3 and 5 down and last
// zxids 8, 8, 7 on servers 1, 2 and 4, server 2 leads: 1 and 2 share the
// highest zxid and 2 has the higher sid.
func TestOperatorGuide_Servers3And5Down_Server2Leads(t *testing.T) {
	zxids := map[int64]jute.Zxid{1: jute.MakeZxid(1, 8), 2: jute.MakeZxid(1, 8), 4: jute.MakeZxid(1, 7)}
	for _, tc := range []struct {
		name string
		drop float64
	}{
		{"on a reliable network", 0},
		{"when a fifth of all messages are lost", 0.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= seeds; seed++ {
				n := newTestNet(t, seed, five, nil)
				n.drop = tc.drop
				order := []int64{1, 2, 4}
				n.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				for _, id := range order {
					n.start(id, zxids[id], 1)
					n.runFor(n.rng.Int64N(300))
				}
				n.runFor(300_000)
				n.expect(2, map[int64]jute.PeerState{1: jute.Following, 2: jute.Leading, 4: jute.Following})
			}
		})
	}
}

// Servers that start together elect the best vote of all of them, whatever
// order their messages arrive in (spec §4.4 total order).
func TestSpec4_4_ServersStartingTogetherElectTheBestVote(t *testing.T) {
	for _, size := range []int{1, 3, 5, 7} {
		for seed := uint64(1); seed <= seeds; seed++ {
			var voters []int64
			for i := 1; i <= size; i++ {
				voters = append(voters, int64(i))
			}
			n := newTestNet(t, seed, voters, nil)
			best := Vote{Leader: none, Zxid: none, PeerEpoch: none}
			type state struct {
				zxid  jute.Zxid
				epoch int64
			}
			states := map[int64]state{}
			for _, id := range voters {
				epoch := 1 + n.rng.Int64N(2)
				st := state{jute.MakeZxid(uint32(epoch), uint32(n.rng.IntN(3))), epoch}
				states[id] = st
				if best.Better(id, st.zxid, st.epoch) {
					best = Vote{Leader: id, Zxid: st.zxid, PeerEpoch: st.epoch}
				}
			}
			for _, id := range voters {
				n.start(id, states[id].zxid, states[id].epoch)
				n.runFor(n.rng.Int64N(10))
			}
			n.runFor(5000)
			want := map[int64]jute.PeerState{}
			for _, id := range voters {
				want[id] = jute.Following
			}
			want[best.Leader] = jute.Leading
			n.expect(best.Leader, want)
			for _, id := range voters {
				v := n.servers[id].e.Vote()
				if v.Zxid != best.Zxid || v.PeerEpoch != best.PeerEpoch {
					n.fatalf("server %d decided %+v, want the zxid and epoch of %+v", id, v, best)
				}
			}
		}
	}
}

// Servers in different rounds converge on one leader: a notification from
// a later round pulls a server into it (spec §4.4, n.round > logicalclock).
func TestSpec4_4_ConcurrentRoundsConverge(t *testing.T) {
	for seed := uint64(1); seed <= seeds; seed++ {
		n := newTestNet(t, seed, five, nil)
		maxRound := int64(0)
		for _, id := range five {
			n.start(id, jute.MakeZxid(1, 4), 1)
			extra := n.rng.Int64N(4)
			for range extra {
				n.lookAgain(id, jute.MakeZxid(1, 4), 1)
			}
			maxRound = max(maxRound, 1+extra)
			n.runFor(n.rng.Int64N(20))
		}
		n.runFor(10_000)
		n.expect(5, map[int64]jute.PeerState{
			1: jute.Following, 2: jute.Following, 3: jute.Following, 4: jute.Following, 5: jute.Leading,
		})
		// Servers may decide in different rounds (zkd answers a worse vote
		// in a round at once, so a round can complete before a later one
		// reaches every server); the decision is the same leader, and no
		// round beyond the highest one started.
		for _, id := range five {
			if got := n.servers[id].e.Vote().Round; got < 1 || got > maxRound {
				n.fatalf("server %d decided in round %d, want 1..%d", id, got, maxRound)
			}
		}
	}
}

// A server restarted with a fresh logical clock joins an ensemble whose
// election ended rounds ago: only the outofelection path can decide for it,
// and it takes over the ensemble's round (spec §4.4 step 2.5).
func TestSpec4_4_RestartedServerJoinsEstablishedEnsemble(t *testing.T) {
	for seed := uint64(1); seed <= seeds; seed++ {
		n := newTestNet(t, seed, five, nil)
		z := jute.MakeZxid(2, 10)
		for _, id := range five {
			n.start(id, z, 2)
		}
		n.runFor(2000)
		for range 2 { // two failed ZAB attempts: the ensemble is now in round 3
			for _, id := range five {
				n.lookAgain(id, z, 2)
			}
			n.runFor(2000)
		}
		n.setPeerEpoch(3)
		n.stop(2)
		n.runFor(1000)
		n.start(2, z, 2)
		n.runFor(2000)
		n.expect(5, map[int64]jute.PeerState{2: jute.Following, 5: jute.Leading})
		if e := n.servers[2].e; e.Round() != 3 || e.Vote().Round != 3 || e.Vote().PeerEpoch != 3 {
			n.fatalf("restarted server: round %d, vote %+v; want round 3 and the leader's epoch 3", e.Round(), e.Vote())
		}
	}
}

// A restarted leader cannot crown itself from its followers' old votes:
// checkLeader needs its own round to match (spec §4.4). It leads again only
// when the followers come back to LOOKING.
func TestSpec4_4_RestartedLeaderWaitsForANewElection(t *testing.T) {
	for seed := uint64(1); seed <= seeds; seed++ {
		n := newTestNet(t, seed, []int64{1, 2, 3}, nil)
		for _, id := range []int64{1, 2, 3} {
			n.start(id, 0, 0)
		}
		n.runFor(2000)
		for _, id := range []int64{1, 2, 3} { // the ensemble is now in round 2
			n.lookAgain(id, 0, 0)
		}
		n.runFor(2000)
		n.expect(3, map[int64]jute.PeerState{1: jute.Following, 2: jute.Following, 3: jute.Leading})
		n.stop(3)
		n.start(3, 0, 0)
		n.runFor(5000)
		if s := n.servers[3].e.State(); s != jute.Looking {
			n.fatalf("restarted leader is %s after hearing only old FOLLOWING votes, want LOOKING", s)
		}
		n.lookAgain(1, 0, 0)
		n.lookAgain(2, 0, 0)
		n.runFor(5000)
		n.expect(3, map[int64]jute.PeerState{1: jute.Following, 2: jute.Following, 3: jute.Leading})
	}
}

// An observer never stands and never counts towards a quorum; it learns the
// leader from the replies of FOLLOWING and LEADING voters (spec §4.4, §4.5).
func TestSpec4_5_ObserverLearnsTheLeader(t *testing.T) {
	voters := []int64{1, 2, 3}
	for _, tc := range []struct {
		name          string
		observerFirst bool
	}{
		{"when it starts after the election", false},
		{"when it starts before the voters", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= seeds; seed++ {
				n := newTestNet(t, seed, voters, []int64{4})
				if tc.observerFirst {
					n.start(4, jute.MakeZxid(1, 9), 1) // the observer's history must not matter
					n.runFor(n.rng.Int64N(500))
				}
				for _, id := range voters {
					n.start(id, 0, 0)
				}
				n.runFor(2000)
				if !tc.observerFirst {
					n.setPeerEpoch(1)
					n.start(4, jute.MakeZxid(1, 9), 1)
				}
				n.runFor(10_000)
				n.expect(3, map[int64]jute.PeerState{1: jute.Following, 2: jute.Following, 3: jute.Leading, 4: jute.Observing})
			}
		})
	}
}

// A server with no usable history (last zxid -1) ignores LOOKING votes but
// can still follow an established leader (spec §4.4).
func TestSpec4_4_ServerWithZxidMinusOneOnlyJoinsAnEstablishedLeader(t *testing.T) {
	for seed := uint64(1); seed <= seeds; seed++ {
		n := newTestNet(t, seed, []int64{1, 2, 3}, nil)
		n.start(3, -1, 0)
		n.start(1, 0, 0)
		n.runFor(3000)
		if s1, s3 := n.servers[1].e.State(), n.servers[3].e.State(); s1 != jute.Looking || s3 != jute.Looking {
			n.fatalf("servers 1 and 3 are %s and %s; with 3 at zxid -1 they can never agree", s1, s3)
		}
		n.start(2, 0, 0)
		n.runFor(5000)
		n.expect(2, map[int64]jute.PeerState{1: jute.Following, 2: jute.Leading, 3: jute.Following})
	}
}

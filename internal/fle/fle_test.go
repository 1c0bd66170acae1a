package fle

import (
	"math"
	"reflect"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

const cfgText = "server.1=127.0.0.1:12888:13888:participant\nversion=0"

func newElection(id int64, voters ...int64) *Election {
	return New(Config{ID: id, Voters: voters, ConfigText: cfgText})
}

// note builds a notification as a peer would send it.
func note(s jute.PeerState, leader int64, zxid jute.Zxid, round, epoch int64) jute.Notification {
	return jute.Notification{State: s, Leader: leader, Zxid: zxid, Round: round, PeerEpoch: epoch, Version: jute.NotificationVersion, Config: cfgText}
}

// following returns server 1 of {1, 2, 3}, decided in round 1 to follow 2,
// with its Ready drained.
func following(t *testing.T) *Election {
	t.Helper()
	e := newElection(1, 1, 2, 3)
	e.Start(0, 0, 0)
	e.Step(0, 2, note(jute.Looking, 2, 0, 1, 0))
	e.Tick(200)
	if rd := e.Ready(); rd.Decided == nil || rd.Decided.Leader != 2 || e.State() != jute.Following {
		t.Fatalf("setup: server 1 did not decide to follow 2: %+v, %s", rd.Decided, e.State())
	}
	return e
}

func TestSpec4_4_StartProposesItselfToEveryVoter(t *testing.T) {
	const min = int64(math.MinInt64)
	for _, tc := range []struct {
		name     string
		cfg      Config
		to       []int64
		proposal Vote
	}{
		{
			name:     "a voter proposes its own sid, last zxid and epoch to the other voters",
			cfg:      Config{ID: 2, Voters: []int64{3, 1, 2}},
			to:       []int64{1, 3},
			proposal: Vote{Leader: 2, Zxid: 0x100000007, PeerEpoch: 1},
		},
		{
			name:     "an observer proposes (MIN, MIN, MIN) to every voter",
			cfg:      Config{ID: 4, Voters: []int64{1, 2, 3}, Observer: true},
			to:       []int64{1, 2, 3},
			proposal: Vote{Leader: min, Zxid: jute.Zxid(min), PeerEpoch: min},
		},
		{
			name:     "a participant outside the voters proposes no leader",
			cfg:      Config{ID: 4, Voters: []int64{1, 2, 3}},
			to:       []int64{1, 2, 3},
			proposal: Vote{Leader: min, Zxid: 0x100000007, PeerEpoch: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.ConfigText = cfgText
			e := New(tc.cfg)
			e.Start(0, 0x100000007, 1)
			rd := e.Ready()
			var to []int64
			for _, m := range rd.Messages {
				to = append(to, m.To)
				want := note(jute.Looking, tc.proposal.Leader, tc.proposal.Zxid, 1, tc.proposal.PeerEpoch)
				if m.Notification != want {
					t.Errorf("to %d: %+v, want %+v", m.To, m.Notification, want)
				}
			}
			if !reflect.DeepEqual(to, tc.to) {
				t.Fatalf("sent to %v, want %v (never to itself)", to, tc.to)
			}
			if e.Round() != 1 || e.State() != jute.Looking {
				t.Fatalf("round %d state %s, want round 1 LOOKING", e.Round(), e.State())
			}
			e.Start(10, 0x100000007, 1)
			if e.Round() != 2 {
				t.Fatalf("a second Start is round %d, want 2", e.Round())
			}
		})
	}
}

func TestStepBeforeStartIsIgnored(t *testing.T) {
	e := newElection(1, 1, 2, 3)
	e.Step(0, 2, note(jute.Looking, 2, 0, 1, 0))
	e.Step(0, 9, note(jute.Looking, 9, 0, 1, 0))
	e.Tick(100000)
	if e.HasReady() {
		t.Fatalf("output before Start: %+v", e.Ready())
	}
}

func TestSpec4_4_SingleVoterLeadsAfterTheFinalizeWait(t *testing.T) {
	e := newElection(7, 7)
	e.Start(1000, 0, 0)
	if rd := e.Ready(); len(rd.Messages) != 0 || rd.Decided != nil {
		t.Fatalf("Start: %+v", rd)
	}
	e.Tick(1199)
	if e.State() != jute.Looking {
		t.Fatal("decided before the finalize wait")
	}
	e.Tick(1200)
	rd := e.Ready()
	want := Vote{Leader: 7, Round: 1, State: jute.Leading}
	if rd.Decided == nil || *rd.Decided != want || e.Vote() != want {
		t.Fatalf("decided %+v, vote %+v; want %+v", rd.Decided, e.Vote(), want)
	}
}

func TestSpec4_5_ReceiveThreadReplies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T) *Election
		from  int64
		n     jute.Notification
		want  []Message
	}{
		{
			name: "a LOOKING server answers a non-voter with its current vote and round",
			setup: func(*testing.T) *Election {
				e := newElection(1, 1, 2, 3)
				e.Start(0, 5, 1)
				e.Start(0, 5, 1)
				e.Ready()
				return e
			},
			from: 9, n: note(jute.Looking, math.MinInt64, math.MinInt64, 1, math.MinInt64),
			want: []Message{{To: 9, Notification: note(jute.Looking, 1, 5, 2, 1)}},
		},
		{
			name:  "a FOLLOWING server answers a non-voter with its decided vote, its round and its state",
			setup: following,
			from:  9, n: note(jute.Looking, math.MinInt64, math.MinInt64, 1, math.MinInt64),
			want: []Message{{To: 9, Notification: note(jute.Following, 2, 0, 1, 0)}},
		},
		{
			name: "a LOOKING server answers a LOOKING voter from an older round with its proposal and round",
			setup: func(*testing.T) *Election {
				e := newElection(1, 1, 2, 3)
				e.Start(0, 5, 1)
				e.Start(0, 5, 1)
				e.Ready()
				return e
			},
			from: 2, n: note(jute.Looking, 2, 9, 1, 1),
			want: []Message{{To: 2, Notification: note(jute.Looking, 1, 5, 2, 1)}},
		},
		{
			name:  "a LOOKING server does not answer a LOOKING voter of its own round",
			setup: func(*testing.T) *Election { e := newElection(1, 1, 2, 3); e.Start(0, 5, 1); e.Ready(); return e },
			from:  2, n: note(jute.Looking, 1, 5, 1, 1),
		},
		{
			name:  "a FOLLOWING server answers a LOOKING voter with its decided vote",
			setup: following,
			from:  3, n: note(jute.Looking, 3, 0, 5, 0),
			want: []Message{{To: 3, Notification: note(jute.Following, 2, 0, 1, 0)}},
		},
		{
			name: "after sync the answer carries the new epoch",
			setup: func(t *testing.T) *Election {
				e := following(t)
				e.SetPeerEpoch(1)
				return e
			},
			from: 3, n: note(jute.Looking, 3, 0, 5, 0),
			want: []Message{{To: 3, Notification: note(jute.Following, 2, 0, 1, 1)}},
		},
		{
			name:  "a FOLLOWING server ignores FOLLOWING and LEADING voters",
			setup: following,
			from:  3, n: note(jute.Leading, 3, 0, 5, 0),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.setup(t)
			before := e.State()
			e.Step(100, tc.from, tc.n)
			rd := e.Ready()
			if !reflect.DeepEqual(rd.Messages, tc.want) {
				t.Fatalf("sent %+v\nwant %+v", rd.Messages, tc.want)
			}
			if e.State() != before || rd.Decided != nil {
				t.Fatalf("state %s → %s, decided %+v", before, e.State(), rd.Decided)
			}
		})
	}
}

func TestSpec4_4_NotificationTimeoutDoublesUpTo60s(t *testing.T) {
	e := newElection(1, 1, 2, 3)
	e.Start(0, 0, 0)
	e.Ready()
	var at []int64
	for now := int64(0); now <= 240_000; now += 10 {
		e.Tick(now)
		if rd := e.Ready(); rd.Reconnect {
			at = append(at, now)
			if len(rd.Messages) != 2 {
				t.Fatalf("at %d ms: re-sent %d notifications, want 2", now, len(rd.Messages))
			}
		} else if len(rd.Messages) != 0 {
			t.Fatalf("at %d ms: sent %+v without a timeout", now, rd.Messages)
		}
	}
	// Waits of 200, 400, …, 51200 ms, then 60000 ms each.
	want := []int64{200, 600, 1400, 3000, 6200, 12600, 25400, 51000, 102200, 162200, 222200}
	if !reflect.DeepEqual(at, want) {
		t.Fatalf("timeouts at %v\nwant        %v", at, want)
	}
	e.Start(240_000, 0, 0)
	e.Ready()
	e.Tick(240_200)
	if !e.Ready().Reconnect {
		t.Fatal("a new round does not start again from the 200 ms wait")
	}
}

func TestSpec4_4_EachNotificationRestartsTheWait(t *testing.T) {
	e := newElection(1, 1, 2, 3)
	e.Start(0, 5, 1)
	e.Step(150, 2, note(jute.Looking, 2, 3, 1, 1)) // worse than mine: no quorum
	e.Ready()
	e.Tick(200)
	if e.Ready().Reconnect {
		t.Fatal("timed out 50 ms after a notification")
	}
	e.Tick(350)
	if !e.Ready().Reconnect {
		t.Fatal("no timeout 200 ms after the last notification")
	}
}

func TestSpec4_4_FinalizeWait(t *testing.T) {
	// Server 1 of {1, 2, 3} adopts 2's vote at 10 ms; with its own vote that
	// is a quorum, so it waits until 210 ms before following 2.
	for _, tc := range []struct {
		name   string
		events func(e *Election)
		quiet  []int64 // ticks at which it must still be LOOKING
		decide int64   // tick at which it decides
		leader int64
	}{
		{
			name:   "with nothing arriving it decides after 200 ms",
			events: func(*Election) {},
			quiet:  []int64{209}, decide: 210, leader: 2,
		},
		{
			name:   "a better vote within the wait changes the decision",
			events: func(e *Election) { e.Step(110, 3, note(jute.Looking, 3, 0, 1, 0)) },
			quiet:  []int64{210, 309}, decide: 310, leader: 3,
		},
		{
			name:   "a vote that is not better is dropped and restarts the wait",
			events: func(e *Election) { e.Step(150, 3, note(jute.Looking, 2, 0, 1, 0)) },
			quiet:  []int64{210, 349}, decide: 350, leader: 2,
		},
		{
			name: "a better vote from an older round abandons the wait until the next timeout",
			// The 200 ms notification wait restarted at 110 ms; at 310 ms the
			// re-sent vote to itself restores the quorum and a new wait starts.
			events: func(e *Election) { e.Step(110, 3, note(jute.Looking, 3, 0, 0, 0)) },
			quiet:  []int64{210, 300, 310, 509}, decide: 510, leader: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newElection(1, 1, 2, 3)
			e.Start(0, 0, 0)
			e.Step(10, 2, note(jute.Looking, 2, 0, 1, 0))
			tc.events(e)
			for _, now := range tc.quiet {
				e.Tick(now)
				if e.State() != jute.Looking {
					t.Fatalf("decided at %d ms", now)
				}
			}
			e.Tick(tc.decide)
			want := Vote{Leader: tc.leader, Round: 1, State: jute.Following}
			if e.Vote() != want {
				t.Fatalf("at %d ms: vote %+v, want %+v", tc.decide, e.Vote(), want)
			}
		})
	}
}

func TestSpec4_4_ABetterVoteAfterTheFinalizeWaitIsTooLate(t *testing.T) {
	e := following(t) // decided at 200 ms
	e.Step(250, 3, note(jute.Looking, 3, 0, 1, 0))
	if v := e.Vote(); v.Leader != 2 || v.State != jute.Following {
		t.Fatalf("vote %+v, want to keep following 2", v)
	}
}

func TestSpec4_4_IgnoredNotifications(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lastZxid jute.Zxid
		rounds   int // how often Start is called
		from     int64
		n        jute.Notification
	}{
		{"a vote from a non-voter", 5, 1, 9, note(jute.Looking, 9, 100, 1, 9)},
		{"a vote for a non-voter", 5, 1, 2, note(jute.Looking, 9, 100, 1, 9)},
		{"a LOOKING vote with zxid -1", 5, 1, 2, note(jute.Looking, 3, -1, 1, 9)},
		{"any LOOKING vote when my own zxid is -1", -1, 1, 2, note(jute.Looking, 3, 100, 1, 9)},
		{"a vote from an OBSERVING sender", 5, 1, 2, note(jute.Observing, 3, 100, 1, 9)},
		{"a vote with an unknown state", 5, 1, 2, note(jute.PeerState(7), 3, 100, 1, 9)},
		{"a vote claiming to come from myself", 5, 1, 1, note(jute.Looking, 3, 100, 1, 9)},
		{"a better vote from an older round", 5, 2, 2, note(jute.Looking, 3, 100, 1, 9)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newElection(1, 1, 2, 3)
			for range tc.rounds {
				e.Start(0, tc.lastZxid, 1)
			}
			e.Ready()
			before := e.Proposal()
			e.Step(10, tc.from, tc.n)
			if got := e.Proposal(); got != before {
				t.Fatalf("proposal %+v → %+v", before, got)
			}
			for _, m := range e.Ready().Messages {
				if m.To != tc.from {
					t.Fatalf("broadcast %+v", m)
				}
			}
		})
	}
}

func TestSpec4_4_ALaterRoundRestartsTheCount(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      jute.Notification
		leader int64
	}{
		{"my own vote stays when it is better", note(jute.Looking, 2, 0x100000005, 4, 1), 1},
		{"the sender's vote is adopted when it is better", note(jute.Looking, 2, 0x100000011, 4, 1), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newElection(1, 1, 2, 3)
			e.Start(0, 0x100000010, 1)
			e.Ready()
			e.Step(10, 2, tc.n)
			if e.Round() != 4 || e.Proposal().Leader != tc.leader {
				t.Fatalf("round %d proposal %+v; want round 4 and leader %d", e.Round(), e.Proposal(), tc.leader)
			}
			msgs := e.Ready().Messages
			if len(msgs) != 2 || msgs[0].Notification.Round != 4 || msgs[0].Notification.Leader != tc.leader {
				t.Fatalf("broadcast %+v, want round 4 for %d to both peers", msgs, tc.leader)
			}
		})
	}
	// Votes heard in round 1 are forgotten: in round 2, 3 of {1..5} alone
	// with me is no quorum, though 2 voted the same in round 1.
	e := newElection(1, 1, 2, 3, 4, 5)
	e.Start(0, 0x100000010, 1)
	e.Step(10, 2, note(jute.Looking, 1, 0x100000010, 1, 1))
	e.Step(20, 3, note(jute.Looking, 1, 0x100000010, 2, 1))
	if e.finalizing {
		t.Fatal("counted a round-1 vote towards a round-2 quorum")
	}
	e.Step(30, 2, note(jute.Looking, 1, 0x100000010, 2, 1))
	if !e.finalizing {
		t.Fatal("no quorum with 1, 2 and 3 in round 2")
	}
}

func TestSpec4_4_SettledVotesNeedTheLeadersOwnWord(t *testing.T) {
	for _, tc := range []struct {
		name  string
		round int64 // round of the settled votes; mine is 1
	}{
		{"in my round (recvset)", 1},
		{"from another round (outofelection)", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newElection(1, 1, 2, 3, 4, 5)
			e.Start(0, 0, 0)
			for _, from := range []int64{2, 3, 4} {
				e.Step(10, from, note(jute.Following, 5, 0x200000000, tc.round, 2))
			}
			if e.State() != jute.Looking {
				t.Fatal("followed 5 without a LEADING vote from 5")
			}
			e.Step(20, 5, note(jute.Leading, 5, 0x200000000, tc.round, 2))
			rd := e.Ready()
			want := Vote{Leader: 5, Zxid: 0x200000000, Round: tc.round, PeerEpoch: 2, State: jute.Following}
			if rd.Decided == nil || *rd.Decided != want || e.Round() != tc.round {
				t.Fatalf("decided %+v in round %d, want %+v", rd.Decided, e.Round(), want)
			}
		})
	}
}

func TestSpec4_4_OutOfElectionVotesMustAgreeOnTheEpoch(t *testing.T) {
	e := newElection(1, 1, 2, 3, 4, 5)
	e.Start(0, 0, 0)
	e.Step(10, 2, note(jute.Following, 5, 0, 6, 1))
	e.Step(10, 3, note(jute.Following, 5, 0, 6, 2))
	e.Step(10, 5, note(jute.Leading, 5, 0, 6, 2))
	if e.State() != jute.Looking {
		t.Fatal("decided with only 3 and 5 at epoch 2")
	}
	e.Step(10, 4, note(jute.Following, 5, 0, 6, 2))
	if e.State() != jute.Following {
		t.Fatalf("state %s after 3, 4 and 5 agree on epoch 2", e.State())
	}
}

func TestSpec4_5_ObserverFollowsTheLeaderItIsTold(t *testing.T) {
	e := New(Config{ID: 4, Voters: []int64{1, 2, 3}, Observer: true})
	e.Start(0, 0x100000003, 1)
	e.Ready()
	e.Step(10, 1, note(jute.Following, 3, 0x100000003, 1, 1))
	e.Step(10, 3, note(jute.Leading, 3, 0x100000003, 1, 1))
	want := Vote{Leader: 3, Zxid: 0x100000003, Round: 1, PeerEpoch: 1, State: jute.Observing}
	if e.Vote() != want {
		t.Fatalf("vote %+v, want %+v", e.Vote(), want)
	}
}

func TestReadyIsClearedOnRead(t *testing.T) {
	e := newElection(1, 1, 2)
	if e.HasReady() {
		t.Fatal("output before Start")
	}
	e.Start(0, 0, 0)
	if !e.HasReady() || len(e.Ready().Messages) != 1 {
		t.Fatal("Start produced no notification for 2")
	}
	if e.HasReady() || !reflect.DeepEqual(e.Ready(), Ready{}) {
		t.Fatal("Ready was not cleared")
	}
}

// FuzzStep feeds one server arbitrary notifications and ticks. It must never
// panic, never address itself, and only ever decide a role that matches the
// leader it names.
func FuzzStep(f *testing.F) {
	f.Add([]byte((&jute.Notification{State: jute.Leading, Leader: 3, Round: 1}).Encode()), uint8(3), uint16(300), false)
	f.Add([]byte((&jute.Notification{State: jute.Looking, Leader: 2, Round: 2}).Encode()), uint8(2), uint16(50), true)
	f.Fuzz(func(t *testing.T, msg []byte, from uint8, dt uint16, observer bool) {
		e := New(Config{ID: 1, Voters: []int64{1, 2, 3}, Observer: observer})
		e.Start(0, 0x100000001, 1)
		now := int64(0)
		for i := 0; i < 4; i++ {
			n, err := jute.DecodeNotification(msg)
			if err != nil {
				n = jute.Notification{State: jute.PeerState(len(msg) % 4), Leader: int64(from % 4), Round: int64(i)}
			}
			e.Step(now, int64(from%5), n)
			now += int64(dt)
			e.Tick(now)
			rd := e.Ready()
			for _, m := range rd.Messages {
				if m.To == 1 {
					t.Fatalf("addressed itself: %+v", m)
				}
			}
			if d := rd.Decided; d != nil {
				want := jute.Following
				switch {
				case d.Leader == 1:
					want = jute.Leading
				case observer:
					want = jute.Observing
				}
				if d.State != want || e.State() != want {
					t.Fatalf("decided %+v in state %s, want %s", d, e.State(), want)
				}
			}
		}
	})
}

func TestAWorseVoteInMyRoundIsAnsweredWithMineAtOnce(t *testing.T) {
	e := newElection(3, 1, 2, 3)
	e.Start(0, 0x100000005, 1)
	e.Ready()
	// Server 1 missed my proposal (it was still following when it came):
	// its own, worse, vote shows it.
	e.Step(5, 1, note(jute.Looking, 1, 0x100000005, 1, 1))
	msgs := e.Ready().Messages
	if len(msgs) != 1 || msgs[0].To != 1 || msgs[0].Notification.Leader != 3 || msgs[0].Notification.Round != 1 {
		t.Fatalf("answer to a worse vote: %+v, want my proposal (leader 3, round 1) to server 1 only", msgs)
	}
	// A vote for my candidate needs no answer.
	e.Step(6, 2, note(jute.Looking, 3, 0x100000005, 1, 1))
	if msgs := e.Ready().Messages; len(msgs) != 0 {
		t.Fatalf("answered a vote that agrees: %+v", msgs)
	}
}

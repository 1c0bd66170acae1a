package fle

import (
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

func TestSpec4_4_VoteOrderIsEpochThenZxidThenSid(t *testing.T) {
	cur := Vote{Leader: 5, Zxid: 0x100000008, PeerEpoch: 1}
	for _, tc := range []struct {
		name   string
		leader int64
		zxid   jute.Zxid
		epoch  int64
		better bool
		over   *Vote // nil: cur
	}{
		{"a higher epoch wins over a higher zxid and sid", 1, 0x7, 2, true, nil},
		{"a lower epoch loses to everything", 9, 0x7fffffffffff, 0, false, nil},
		{"with equal epochs a higher zxid wins", 1, 0x100000009, 1, true, nil},
		{"with equal epochs a lower zxid loses", 9, 0x100000007, 1, false, nil},
		{"with equal epochs and zxids a higher sid wins", 6, 0x100000008, 1, true, nil},
		{"with equal epochs and zxids a lower sid loses", 4, 0x100000008, 1, false, nil},
		{"the same vote is not better", 5, 0x100000008, 1, false, nil},
		{"any vote beats an observer's (MIN, MIN, MIN)", 1, -1, -1, true, &Vote{Leader: none, Zxid: none, PeerEpoch: none}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cur
			if tc.over != nil {
				c = *tc.over
			}
			if got := c.Better(tc.leader, tc.zxid, tc.epoch); got != tc.better {
				t.Fatalf("Better(%d, %v, %d) over %+v = %v", tc.leader, tc.zxid, tc.epoch, c, got)
			}
		})
	}
}

func TestSpec4_4_VoteEquality(t *testing.T) {
	looking := func(leader, zxid, round, epoch int64) ballot {
		return ballot{Vote: Vote{Leader: leader, Zxid: jute.Zxid(zxid), Round: round, PeerEpoch: epoch, State: jute.Looking}}
	}
	settled := func(s jute.PeerState, version int32, leader, zxid, round, epoch int64) ballot {
		return ballot{Vote: Vote{Leader: leader, Zxid: jute.Zxid(zxid), Round: round, PeerEpoch: epoch, State: s}, version: version}
	}
	for _, tc := range []struct {
		name string
		a, b ballot
		same bool
	}{
		{"two LOOKING votes must agree on everything", looking(3, 5, 1, 1), looking(3, 5, 1, 1), true},
		{"two LOOKING votes from different rounds differ", looking(3, 5, 1, 1), looking(3, 5, 2, 1), false},
		{"two LOOKING votes with different zxids differ", looking(3, 5, 1, 1), looking(3, 6, 1, 1), false},
		{"a LOOKING vote against a settled one compares everything", looking(3, 5, 1, 1), settled(jute.Following, 2, 3, 5, 1, 1), true},
		{"a LOOKING vote against a settled one from another round differs", looking(3, 5, 1, 1), settled(jute.Leading, 2, 3, 5, 2, 1), false},
		{"settled votes ignore zxid and round", settled(jute.Following, 2, 3, 5, 1, 1), settled(jute.Leading, 2, 3, 9, 7, 1), true},
		{"settled votes compare the peer epoch", settled(jute.Following, 2, 3, 5, 1, 1), settled(jute.Leading, 2, 3, 5, 1, 2), false},
		{"settled votes of old and new formats compare only the leader", settled(jute.Following, 0, 3, 5, 1, 1), settled(jute.Leading, 2, 3, 5, 1, 2), true},
		{"settled votes of old and new formats with different leaders differ", settled(jute.Following, 0, 3, 5, 1, 1), settled(jute.Leading, 2, 4, 5, 1, 1), false},
		{"two old-format settled votes compare the peer epoch", settled(jute.Following, 0, 3, 5, 1, 1), settled(jute.Leading, 0, 3, 5, 1, 2), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.sameAs(tc.b); got != tc.same {
				t.Fatalf("%+v sameAs %+v = %v", tc.a, tc.b, got)
			}
			if got := tc.b.sameAs(tc.a); got != tc.same {
				t.Fatalf("not symmetric: %+v sameAs %+v = %v", tc.b, tc.a, got)
			}
		})
	}
}

func TestSpec4_4_MajorityCountsOnlyVoters(t *testing.T) {
	m := majority{1: true, 2: true, 3: true, 4: true, 5: true}
	v := ballot{Vote: Vote{Leader: 3, Round: 1}}
	other := ballot{Vote: Vote{Leader: 4, Round: 1}}
	for _, tc := range []struct {
		name string
		set  map[int64]ballot
		want bool
	}{
		{"two of five is not a quorum", map[int64]ballot{1: v, 2: v}, false},
		{"three of five is a quorum", map[int64]ballot{1: v, 2: v, 3: v}, true},
		{"votes for another leader do not count", map[int64]ballot{1: v, 2: v, 3: other, 4: other}, false},
		{"observers' votes do not count", map[int64]ballot{1: v, 2: v, 6: v, 7: v}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.quorumFor(tc.set, v); got != tc.want {
				t.Fatalf("quorumFor = %v, want %v", got, tc.want)
			}
		})
	}
	if !(majority{1: true}).quorumFor(map[int64]ballot{1: v}, v) {
		t.Fatal("a single voter is a quorum of one")
	}
	if (majority{1: true, 2: true}).quorumFor(map[int64]ballot{1: v}, v) {
		t.Fatal("one of two voters is not a quorum")
	}
}

package fle

import (
	"math"

	"github.com/zkd/zkd/internal/jute"
)

// none is ZooKeeper's Long.MIN_VALUE: the leader of a non-voter's initial
// vote, and the zxid and epoch of an observer's (spec §4.4).
const none = math.MinInt64

// Vote is a server's choice of leader: the candidate, the candidate's last
// logged zxid and current epoch, the election round in which it was made,
// and the state of the server holding it.
type Vote struct {
	Leader    int64          // sid of the proposed or elected leader
	Zxid      jute.Zxid      // the leader's last logged zxid when proposed
	Round     int64          // the election round (ZooKeeper's electionEpoch)
	PeerEpoch int64          // the leader's current epoch
	State     jute.PeerState // state of the server that holds this vote
}

// Better reports whether a candidate (leader, zxid, epoch) beats the
// candidate of v in ZooKeeper's total order (spec §4.4): higher peer epoch
// first, then higher zxid, then higher sid. Round and State play no part.
func (v Vote) Better(leader int64, zxid jute.Zxid, peerEpoch int64) bool {
	if peerEpoch != v.PeerEpoch {
		return peerEpoch > v.PeerEpoch
	}
	if zxid != v.Zxid {
		return zxid > v.Zxid
	}
	return leader > v.Leader
}

// ballot is a vote as recorded in recvset or outofelection, with the format
// version of the notification it came in, which vote equality consults.
type ballot struct {
	Vote
	version int32
}

// sameAs is ZooKeeper's vote equality for quorum counting (spec §4.4). If
// either vote is LOOKING, leader, zxid, round and peer epoch must all match.
// Between two settled votes, leader and peer epoch must match, or only the
// leader when exactly one of them came in a format newer than version 0.
func (b ballot) sameAs(o ballot) bool {
	if b.State == jute.Looking || o.State == jute.Looking {
		return b.Leader == o.Leader && b.Zxid == o.Zxid && b.Round == o.Round && b.PeerEpoch == o.PeerEpoch
	}
	if (b.version > 0) != (o.version > 0) {
		return b.Leader == o.Leader
	}
	return b.Leader == o.Leader && b.PeerEpoch == o.PeerEpoch
}

// majority is a QuorumMaj over a set of voting sids.
type majority map[int64]bool

// quorumFor reports whether the voters among the senders in set whose
// ballot equals target are more than half of all voters. Ballots from
// non-voters never count.
func (m majority) quorumFor(set map[int64]ballot, target ballot) bool {
	acks := 0
	for sid, b := range set {
		if m[sid] && b.sameAs(target) {
			acks++
		}
	}
	return acks > len(m)/2
}

// sameCandidate reports whether n proposes v's candidate.
func (v Vote) sameCandidate(n jute.Notification) bool {
	return n.Leader == v.Leader && n.Zxid == v.Zxid && n.PeerEpoch == v.PeerEpoch
}

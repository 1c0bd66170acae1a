package zab

import (
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// acks returns the zxids of the ACKs in r.
func acks(r Ready) []jute.Zxid {
	var out []jute.Zxid
	for _, m := range r.Messages {
		if m.Packet.Type == jute.PacketAck {
			out = append(out, m.Packet.Zxid)
		}
	}
	return out
}

// A Java leader tracks each follower's oldest un-ACKed proposal and drops
// the follower when it waits longer than syncLimit (§5.5), so a follower
// must ACK a proposal even when the COMMIT (from a quorum of others) beat
// its own fsync.
func TestFollowerAcksAProposalCommittedBeforeItWasDurable(t *testing.T) {
	l := NewLearner(Config{ID: 1, Voters: []int64{1, 2, 3}, InitLimit: 10, SyncLimit: 5}, LearnerState{})
	l.Ready()
	l.Step(packet(jute.PacketLeaderInfo, jute.MakeZxid(1, 0), jute.AckEpochData(jute.ZabProtocolVersion)), nil)
	l.Step(packet(jute.PacketDiff, 0, nil), nil)
	l.Step(packet(jute.PacketNewLeader, jute.MakeZxid(1, 0), nil), nil)
	l.Step(packet(jute.PacketUpToDate, -1, nil), nil)
	l.Ready()

	z1, z2 := jute.MakeZxid(1, 1), jute.MakeZxid(1, 2)
	for _, z := range []jute.Zxid{z1, z2} {
		l.Step(packet(jute.PacketProposal, z, jute.Encode(txnAt(z, "/a"+z.String()))), nil)
	}
	l.Step(packet(jute.PacketCommit, z1, nil), nil)
	if got := acks(l.Ready()); len(got) != 0 {
		t.Fatalf("ACKs before anything is durable: %v", got)
	}
	l.Persisted(z2)
	got := acks(l.Ready())
	if len(got) != 2 || got[0] != z1 || got[1] != z2 {
		t.Fatalf("ACKs once both are durable = %v, want [%v %v]", got, z1, z2)
	}
	l.Persisted(z2)
	if got := acks(l.Ready()); len(got) != 0 {
		t.Fatalf("ACKs sent twice: %v", got)
	}
}

// A Java leader queues the proposals to forward before it serializes the
// snapshot, so the ones the snapshot already holds follow SNAP with their
// COMMITs; the learner skips them instead of failing the sync.
func TestLearnerSkipsProposalsTheSnapshotAlreadyHolds(t *testing.T) {
	l := NewLearner(Config{ID: 1, Voters: []int64{1, 2, 3}, InitLimit: 10, SyncLimit: 5}, LearnerState{})
	l.Step(packet(jute.PacketLeaderInfo, jute.MakeZxid(1, 0), jute.AckEpochData(jute.ZabProtocolVersion)), nil)
	snap := jute.MakeZxid(1, 5)
	l.Step(packet(jute.PacketSnap, snap, nil), "snapshot")
	for c := uint32(4); c <= 6; c++ {
		z := jute.MakeZxid(1, c)
		l.Step(packet(jute.PacketProposal, z, jute.Encode(txnAt(z, "/a"+z.String()))), nil)
		l.Step(packet(jute.PacketCommit, z, nil), nil)
	}
	if r := l.Ready(); r.Err != nil {
		t.Fatalf("sync failed: %v", r.Err)
	}
	// Commits received during the sync are delivered with NEWLEADER.
	l.Step(packet(jute.PacketNewLeader, jute.MakeZxid(1, 0), nil), nil)
	r := l.Ready()
	if len(r.Deliveries) != 1 || r.Deliveries[0].Txn.Header.Zxid != jute.MakeZxid(1, 6) {
		t.Fatalf("deliveries %+v, want only %v", r.Deliveries, jute.MakeZxid(1, 6))
	}
}

// A learner reading a long SNAP stream is told by its driver that the
// leader is still talking (Heard), and does not give up after initLimit.
func TestLearnerHeardKeepsALongSyncAlive(t *testing.T) {
	cfg := Config{ID: 1, Voters: []int64{1, 2, 3}, InitLimit: 3, SyncLimit: 2}
	l := NewLearner(cfg, LearnerState{})
	l.Ready()
	l.Step(packet(jute.PacketLeaderInfo, jute.MakeZxid(1, 0), jute.AckEpochData(jute.ZabProtocolVersion)), nil)
	l.Ready()
	for range 4 * cfg.InitLimit {
		l.Heard()
		l.Tick()
	}
	if r := l.Ready(); r.Err != nil {
		t.Fatalf("a learner that kept hearing from the leader gave up: %v", r.Err)
	}
	for range 2*cfg.InitLimit + 1 {
		l.Tick()
	}
	if r := l.Ready(); r.Err == nil {
		t.Fatal("a learner that heard nothing for initLimit ticks kept waiting")
	}
}

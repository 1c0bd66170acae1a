package zab

import (
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// After a SNAP the snapshot is durable only at NEWLEADER (TakeSnapshot).
// A proposal logged before that would follow a snapshot that is not on
// disk, and a role ending before NEWLEADER would leave a hole in the log
// (internal/sim seed 686, docs/robustness.md #2): proposals received
// during such a sync go to the log with NEWLEADER, after its snapshot,
// as ZooKeeper logs packetsNotCommitted.
func TestLearnerLogsProposalsAfterSnapOnlyWithNewLeader(t *testing.T) {
	l := NewLearner(Config{ID: 1, Voters: []int64{1, 2, 3}, InitLimit: 10, SyncLimit: 5}, LearnerState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: jute.MakeZxid(1, 5)})
	l.Ready()
	l.Step(packet(jute.PacketLeaderInfo, jute.MakeZxid(2, 0), jute.AckEpochData(jute.ZabProtocolVersion)), nil)
	l.Ready()
	snap := jute.MakeZxid(1, 0x13)
	l.Step(packet(jute.PacketSnap, snap, nil), "snapshot")
	z := snap + 1
	l.Step(packet(jute.PacketProposal, z, jute.Encode(txnAt(z, "/a"))), nil)
	r := l.Ready()
	if !r.LoadSnapshot || len(r.Append) != 0 {
		t.Fatalf("after SNAP and a PROPOSAL: LoadSnapshot=%v Append=%v, want the snapshot and nothing to log", r.LoadSnapshot, r.Append)
	}
	l.Step(packet(jute.PacketNewLeader, jute.MakeZxid(2, 0), nil), nil)
	r = l.Ready()
	if !r.TakeSnapshot || r.CurrentEpoch != 2 || len(r.Append) != 1 || r.Append[0].Zxid != z {
		t.Fatalf("NEWLEADER: TakeSnapshot=%v CurrentEpoch=%d Append=%v, want the snapshot, epoch 2 and %v logged", r.TakeSnapshot, r.CurrentEpoch, r.Append, z)
	}
	if got := acks(r); len(got) != 0 {
		t.Fatalf("NEWLEADER ACKed before %v is durable: %v", z, got)
	}
	l.Persisted(z)
	if got := acks(l.Ready()); len(got) != 1 || got[0] != jute.MakeZxid(2, 0) {
		t.Fatalf("ACKs once durable = %v, want the NEWLEADER ACK", got)
	}
}

// With a DIFF nothing waits for a snapshot: proposals are logged at once.
func TestLearnerLogsProposalsAfterDiffAtOnce(t *testing.T) {
	l := NewLearner(Config{ID: 1, Voters: []int64{1, 2, 3}, InitLimit: 10, SyncLimit: 5}, LearnerState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: jute.MakeZxid(1, 5)})
	l.Ready()
	l.Step(packet(jute.PacketLeaderInfo, jute.MakeZxid(2, 0), jute.AckEpochData(jute.ZabProtocolVersion)), nil)
	l.Step(packet(jute.PacketDiff, jute.MakeZxid(1, 6), nil), nil)
	z := jute.MakeZxid(1, 6)
	l.Step(packet(jute.PacketProposal, z, jute.Encode(txnAt(z, "/a"))), nil)
	if r := l.Ready(); len(r.Append) != 1 {
		t.Fatalf("after DIFF and a PROPOSAL: Append=%v, want it logged", r.Append)
	}
}

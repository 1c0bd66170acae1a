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
	if !r.TakeSnapshot || r.CurrentEpoch == 2 || len(r.Append) != 1 || r.Append[0].Zxid != z {
		t.Fatalf("NEWLEADER: TakeSnapshot=%v CurrentEpoch=%d Append=%v, want the snapshot and %v logged, epoch 2 not yet", r.TakeSnapshot, r.CurrentEpoch, r.Append, z)
	}
	if got := acks(r); len(got) != 0 {
		t.Fatalf("NEWLEADER ACKed before %v is durable: %v", z, got)
	}
	l.Persisted(z)
	if r := l.Ready(); len(acks(r)) != 0 || r.CurrentEpoch != 0 {
		t.Fatalf("NEWLEADER ACKed (or epoch %d made current) before the snapshot is durable", r.CurrentEpoch)
	}
	l.SnapshotTaken()
	r = l.Ready()
	if got := acks(r); len(got) != 1 || got[0] != jute.MakeZxid(2, 0) || r.CurrentEpoch != 2 {
		t.Fatalf("once durable: ACKs %v, current epoch %d; want the NEWLEADER ACK with epoch 2", got, r.CurrentEpoch)
	}
}

// The epoch of the history becomes current before that history is logged,
// the new epoch only once it is durable (sim seeds 9 and 40).
func TestLearnerPersistsTheNewEpochOnlyAfterTheHistory(t *testing.T) {
	l := NewLearner(Config{ID: 1, Voters: []int64{1, 2, 3}, InitLimit: 10, SyncLimit: 5}, LearnerState{AcceptedEpoch: 0, CurrentEpoch: 0, LastZxid: 0})
	l.Ready()
	l.Step(packet(jute.PacketLeaderInfo, jute.MakeZxid(3, 0), jute.AckEpochData(jute.ZabProtocolVersion)), nil)
	l.Ready()
	l.Step(packet(jute.PacketDiff, jute.MakeZxid(2, 1), nil), nil)
	z := jute.MakeZxid(2, 1)
	l.Step(packet(jute.PacketProposal, z, jute.Encode(txnAt(z, "/a"))), nil)
	l.Step(packet(jute.PacketCommit, z, nil), nil)
	if r := l.Ready(); len(r.Append) != 0 || len(r.Deliveries) != 0 {
		t.Fatalf("before NEWLEADER: Append=%v Deliveries=%v, want both held", r.Append, r.Deliveries)
	}
	l.Step(packet(jute.PacketNewLeader, jute.MakeZxid(3, 0), nil), nil)
	r := l.Ready()
	if r.CurrentEpoch != 2 || len(r.Append) != 1 || len(r.Deliveries) != 1 || len(acks(r)) != 0 {
		t.Fatalf("NEWLEADER: epoch %d, %d appends, %d deliveries, ACKs %v; want epoch 2 (the history's), the history, no ACK", r.CurrentEpoch, len(r.Append), len(r.Deliveries), acks(r))
	}
	l.Persisted(z)
	r = l.Ready()
	if r.CurrentEpoch != 3 || len(acks(r)) != 1 {
		t.Fatalf("once durable: epoch %d, ACKs %v; want epoch 3 and the NEWLEADER ACK", r.CurrentEpoch, acks(r))
	}
}

// With a DIFF, too, proposals wait for NEWLEADER (as ZooKeeper's
// packetsNotCommitted): logged earlier, they could put a newer epoch in the
// log than the epoch file holds.
func TestLearnerLogsProposalsAfterDiffWithNewLeader(t *testing.T) {
	l := NewLearner(Config{ID: 1, Voters: []int64{1, 2, 3}, InitLimit: 10, SyncLimit: 5}, LearnerState{AcceptedEpoch: 1, CurrentEpoch: 1, LastZxid: jute.MakeZxid(1, 5)})
	l.Ready()
	l.Step(packet(jute.PacketLeaderInfo, jute.MakeZxid(2, 0), jute.AckEpochData(jute.ZabProtocolVersion)), nil)
	l.Step(packet(jute.PacketDiff, jute.MakeZxid(1, 6), nil), nil)
	z := jute.MakeZxid(1, 6)
	l.Step(packet(jute.PacketProposal, z, jute.Encode(txnAt(z, "/a"))), nil)
	if r := l.Ready(); len(r.Append) != 0 {
		t.Fatalf("after DIFF and a PROPOSAL: Append=%v, want it held", r.Append)
	}
	l.Step(packet(jute.PacketNewLeader, jute.MakeZxid(2, 0), nil), nil)
	if r := l.Ready(); len(r.Append) != 1 || r.Append[0].Zxid != z {
		t.Fatalf("NEWLEADER: Append=%v, want %v", r.Append, z)
	}
}

package peer

import (
	"log/slog"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/zab"
)

// startTestLogWriter starts a logWriter on an in-memory log and returns it
// with the zxids it reports durable.
func startTestLogWriter(t *testing.T, group storage.GroupCommit) (*logWriter, <-chan jute.Zxid) {
	t.Helper()
	fs := storage.NewMemFS()
	opts := storage.LogOptions{FS: fs, ForceSync: true}
	l, err := storage.OpenLog("/log", opts)
	if err != nil {
		t.Fatal(err)
	}
	w := newLogWriter(l, fs, "/log", "/snap", opts, 1000000, 0, group, slog.New(slog.DiscardHandler))
	persisted := make(chan jute.Zxid, 10)
	w.persisted = func(z jute.Zxid) { persisted <- z }
	w.failed = func(err error) { t.Errorf("log writer failed: %v", err) }
	w.start()
	t.Cleanup(func() { w.close() })
	return w, persisted
}

func testProposal(zxid jute.Zxid) zab.Proposal {
	return zab.NewProposal(&jute.Txn{
		Header: jute.TxnHeader{ClientID: 1, Cxid: int32(zxid), Zxid: zxid, Time: time.Now().UnixMilli(), Type: jute.OpSetData},
		Record: &jute.SetDataTxn{Path: "/n", Data: []byte("data"), Version: int32(zxid)},
	})
}

func expectPersisted(t *testing.T, persisted <-chan jute.Zxid, want jute.Zxid) {
	t.Helper()
	select {
	case got := <-persisted:
		if got != want {
			t.Fatalf("persisted up to %v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%v not persisted", want)
	}
}

// TestLogWriterSplitsBatchesAtMaxBatchSize checks maxBatchSize in an
// ensemble's log: five proposals queued at once are synced two by two.
func TestLogWriterSplitsBatchesAtMaxBatchSize(t *testing.T) {
	w, persisted := startTestLogWriter(t, storage.GroupCommit{MaxBatch: 2})
	w.append([]zab.Proposal{testProposal(1), testProposal(2), testProposal(3), testProposal(4), testProposal(5)})
	expectPersisted(t, persisted, 2)
	expectPersisted(t, persisted, 4)
	expectPersisted(t, persisted, 5)
}

// TestLogWriterWithFlushDelayWaitsForMoreProposals checks flushDelay in
// an ensemble's log (which delays a follower's ACK, as in ZooKeeper): a
// proposal after a quiet spell is synced at once, the next waits for more
// (here until the batch is full), and a barrier syncs what is waiting.
func TestLogWriterWithFlushDelayWaitsForMoreProposals(t *testing.T) {
	w, persisted := startTestLogWriter(t, storage.GroupCommit{FlushDelay: time.Hour, PollTime: time.Hour, MaxBatch: 2})
	w.append([]zab.Proposal{testProposal(1)})
	expectPersisted(t, persisted, 1)
	w.append([]zab.Proposal{testProposal(2)})
	select {
	case z := <-persisted:
		t.Fatalf("persisted %v alone within flushDelay", z)
	case <-time.After(50 * time.Millisecond): // a negative check: how long is a judgement
	}
	w.append([]zab.Proposal{testProposal(3)})
	expectPersisted(t, persisted, 3)

	w.append([]zab.Proposal{testProposal(4)})
	last, err := w.barrier()
	if err != nil || last != 4 {
		t.Fatalf("barrier = %v, %v; want 4", last, err)
	}
	expectPersisted(t, persisted, 4)
}

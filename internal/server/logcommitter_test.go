package server

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
)

// gatedFS holds every data sync of its files, and every file creation,
// until the test releases it (a nil channel pair: no gate).
type gatedFS struct {
	*storage.MemFS
	syncing chan struct{} // receives when a sync starts
	release chan struct{} // a send lets one sync finish
	// creating and created gate Create the same way.
	creating, created chan struct{}
}

type gatedFile struct {
	storage.File
	fs gatedFS
}

func (f gatedFile) DataSync() error {
	if f.fs.syncing != nil {
		f.fs.syncing <- struct{}{}
		<-f.fs.release
	}
	return f.File.Sync()
}

func (fs gatedFS) Create(name string) (storage.File, error) {
	if fs.creating != nil {
		fs.creating <- struct{}{}
		<-fs.created
	}
	f, err := fs.MemFS.Create(name)
	if err != nil {
		return nil, err
	}
	return gatedFile{f, fs}, nil
}

func setDataTxn(zxid jute.Zxid) *jute.Txn {
	return &jute.Txn{
		Header: jute.TxnHeader{ClientID: 1, Cxid: int32(zxid), Zxid: zxid, Time: time.Now().UnixMilli(), Type: jute.OpSetData},
		Record: &jute.SetDataTxn{Path: "/n", Data: []byte("data"), Version: int32(zxid)},
	}
}

// TestLogCommitterDeliversOnlyAfterTheSync checks group commit: a
// transaction is delivered (acknowledged) only once a sync covering it has
// returned, and those committed while a sync runs go out together, in
// order, in the next batch.
func TestLogCommitterDeliversOnlyAfterTheSync(t *testing.T) {
	fs := gatedFS{MemFS: storage.NewMemFS(), syncing: make(chan struct{}), release: make(chan struct{})}
	c, delivered := startGatedCommitter(t, fs)
	notYet := func(when string) {
		t.Helper()
		select {
		case d := <-delivered:
			t.Fatalf("%s: delivered %v before its sync returned", when, d.zxids)
		default:
		}
	}
	expect := func(want ...jute.Zxid) { t.Helper(); expectDelivery(t, delivered, want...) }

	c.Commit(setDataTxn(1))
	<-fs.syncing // the committer is inside the sync covering zxid 1
	notYet("first sync running")
	for z := jute.Zxid(2); z <= 4; z++ {
		c.Commit(setDataTxn(z))
	}
	notYet("first sync running, more committed")
	fs.release <- struct{}{}
	expect(1)

	<-fs.syncing // the batch gathered during the first sync
	notYet("second sync running")
	fs.release <- struct{}{}
	expect(2, 3, 4)
	if got := replayed(t, fs.CrashClone(rand.New(rand.NewPCG(1, 1)))); !slices.Equal(got, []jute.Zxid{1, 2, 3, 4}) {
		t.Fatalf("after a crash the log holds %v, want [1 2 3 4]", got)
	}
}

func replayed(t *testing.T, fs storage.FS) []jute.Zxid {
	t.Helper()
	var got []jute.Zxid
	if _, err := storage.Replay(fs, "/log", 0, true, func(tx *jute.Txn) error {
		got = append(got, tx.Header.Zxid)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestLogCommitterTakesWhatArrivesWhileItAppends checks that the committer
// syncs only once its queue is empty: transactions committed while it
// appends a batch join that batch.
func TestLogCommitterTakesWhatArrivesWhileItAppends(t *testing.T) {
	fs := gatedFS{MemFS: storage.NewMemFS(), creating: make(chan struct{}), created: make(chan struct{})}
	c, delivered := startGatedCommitter(t, fs)
	c.Commit(setDataTxn(1))
	<-fs.creating // appending zxid 1 opens the first segment
	c.Commit(setDataTxn(2))
	c.Commit(setDataTxn(3))
	fs.created <- struct{}{}
	expectDelivery(t, delivered, 1, 2, 3)
	c.Commit(setDataTxn(4))
	expectDelivery(t, delivered, 4)
}

type delivery struct {
	zxids []jute.Zxid
	err   error
}

// startGatedCommitter starts a LogCommitter on a log in fs and returns it
// and its deliveries; the test's end closes it, letting its last sync
// through.
func startGatedCommitter(t *testing.T, fs gatedFS) (*LogCommitter, <-chan delivery) {
	t.Helper()
	return startGroupCommitter(t, fs, storage.GroupCommit{MaxBatch: 1000})
}

// startGroupCommitter is startGatedCommitter with a group commit rule.
func startGroupCommitter(t *testing.T, fs gatedFS, group storage.GroupCommit) (*LogCommitter, <-chan delivery) {
	t.Helper()
	log, err := storage.OpenLog("/log", storage.LogOptions{FS: fs, ForceSync: true})
	if err != nil {
		t.Fatal(err)
	}
	c := NewLogCommitter(log, nil, 1000000, 0, group, nil)
	delivered := make(chan delivery, 10)
	c.Start(func(b []*jute.Txn, err error) {
		d := delivery{err: err}
		for _, t := range b {
			d.zxids = append(d.zxids, t.Header.Zxid)
		}
		delivered <- d
	})
	t.Cleanup(func() {
		if fs.syncing == nil {
			c.Close()
			return
		}
		go func() { // Close syncs once more
			for range fs.syncing {
				fs.release <- struct{}{}
			}
		}()
		c.Close()
		close(fs.syncing)
	})
	return c, delivered
}

func expectDelivery(t *testing.T, delivered <-chan delivery, want ...jute.Zxid) {
	t.Helper()
	select {
	case d := <-delivered:
		if d.err != nil || !slices.Equal(d.zxids, want) {
			t.Fatalf("delivered %v, %v; want %v", d.zxids, d.err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%v not delivered", want)
	}
}

// TestLogCommitterSyncsAFullBatchAtOnce checks maxBatchSize: of the
// transactions queued while the committer is busy, it syncs every two
// together, not all at once.
func TestLogCommitterSyncsAFullBatchAtOnce(t *testing.T) {
	fs := gatedFS{MemFS: storage.NewMemFS(), creating: make(chan struct{}), created: make(chan struct{})}
	c, delivered := startGroupCommitter(t, fs, storage.GroupCommit{MaxBatch: 2})
	c.Commit(setDataTxn(1))
	<-fs.creating // appending zxid 1 opens the first segment
	for z := jute.Zxid(2); z <= 5; z++ {
		c.Commit(setDataTxn(z))
	}
	fs.created <- struct{}{}
	expectDelivery(t, delivered, 1, 2)
	expectDelivery(t, delivered, 3, 4)
	expectDelivery(t, delivered, 5)
}

// TestLogCommitterWithFlushDelayWaitsForMoreWrites checks flushDelay: a
// write after a quiet spell is synced at once, but the next one waits for
// more to join its batch (here until the batch is full) instead of being
// synced as soon as the queue is empty.
func TestLogCommitterWithFlushDelayWaitsForMoreWrites(t *testing.T) {
	fs := gatedFS{MemFS: storage.NewMemFS()}
	c, delivered := startGroupCommitter(t, fs, storage.GroupCommit{FlushDelay: time.Hour, PollTime: time.Hour, MaxBatch: 2})
	c.Commit(setDataTxn(1))
	expectDelivery(t, delivered, 1)
	c.Commit(setDataTxn(2))
	select {
	case d := <-delivered:
		t.Fatalf("delivered %v alone within flushDelay", d.zxids)
	case <-time.After(50 * time.Millisecond): // a negative check: how long is a judgement
	}
	c.Commit(setDataTxn(3))
	expectDelivery(t, delivered, 2, 3)
}

// TestLogCommitterWithFlushDelaySyncsWhenThePollTimeRunsOut checks
// maxWriteQueuePollTime: a batch that nothing joins for that long is
// synced although flushDelay has not passed.
func TestLogCommitterWithFlushDelaySyncsWhenThePollTimeRunsOut(t *testing.T) {
	fs := gatedFS{MemFS: storage.NewMemFS()}
	c, delivered := startGroupCommitter(t, fs, storage.GroupCommit{FlushDelay: time.Hour, PollTime: 10 * time.Millisecond})
	c.Commit(setDataTxn(1))
	expectDelivery(t, delivered, 1)
	c.Commit(setDataTxn(2))
	expectDelivery(t, delivered, 2)
}

// TestLogCommitterClosedWhileItWaitsSyncsWhatItHas checks that Close
// during a flushDelay wait syncs and delivers the batch it was gathering.
func TestLogCommitterClosedWhileItWaitsSyncsWhatItHas(t *testing.T) {
	c, delivered := startGroupCommitter(t, gatedFS{MemFS: storage.NewMemFS()}, storage.GroupCommit{FlushDelay: time.Hour, PollTime: time.Hour})
	c.Commit(setDataTxn(1))
	expectDelivery(t, delivered, 1)
	c.Commit(setDataTxn(2))
	c.Close()
	expectDelivery(t, delivered, 2)
}

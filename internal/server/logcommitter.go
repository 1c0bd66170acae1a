package server

import (
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/admin"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
)

// LogCommitter makes transactions durable in the transaction log with
// group commit: its goroutine takes everything queued and appends it, and
// what arrived meanwhile, until the queue is empty (or the batch is full,
// or has waited long enough: storage.GroupCommit); then it syncs once for
// the whole batch before delivering it (so a write is acknowledged only
// after the sync that covers it).
//
// After a failed append or fsync (a full disk, say) it fails every
// transaction queued until Resume, because those were prepared on top of
// changes that will now never happen; the log is cut back so that nothing
// of the failed batch is ever replayed.
type LogCommitter struct {
	log     *storage.Log
	logger  *slog.Logger
	q       *queue[logItem]
	deliver func([]*jute.Txn, error)

	snapCount int
	nextRoll  int
	onRoll    func()
	fsyncWarn time.Duration
	group     storage.GroupCommit

	// mu guards stats: the writer goroutine adds to it once per batch, the
	// core reads it for mntr.
	mu    sync.Mutex
	stats logStats

	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type logItem struct {
	txn    *jute.Txn
	resume bool
}

// logStats are the LogCommitter's metrics (ZooKeeper's sync processor
// and txn log), in ms where they are times.
type logStats struct {
	// fsync: per batch, the append buffer's flush and the fsync (the log's
	// Commit); flush is the same span, which ZooKeeper reports as both
	// fsynctime and sync_processor_queue_flush_time_ms.
	fsync, flush admin.Recorder
	// batchSize: transactions per batch.
	batchSize admin.Recorder
	// queueTime: per transaction, from its time (the wall clock when it
	// was prepared, just before Commit) until the writer took it up;
	// queueAndFlush: until its batch was durable. Both compare wall-clock
	// milliseconds, as ZooKeeper's propagation_latency does; a clock step
	// back reads as 0.
	queueTime, queueAndFlush admin.Recorder
	// queued counts the transactions the writer took up
	// (sync_processor_request_queued).
	queued int64
	// failures counts the batches whose append or fsync failed: the
	// failure of ZooKeeper's sync processor that it counts as
	// unrecoverable_error_count (zkd fails the writes and carries on).
	failures int64
}

// metrics puts the committer's metrics into snap.
func (c *LogCommitter) metrics(snap *admin.Snapshot, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	snap.Summaries["fsynctime"] = c.stats.fsync.Summary(now)
	snap.Summaries["sync_processor_queue_flush_time_ms"] = c.stats.flush.Summary(now)
	snap.Summaries["sync_processor_batch_size"] = c.stats.batchSize.Summary(now)
	snap.Summaries["sync_processor_queue_time_ms"] = c.stats.queueTime.Summary(now)
	snap.Summaries["sync_processor_queue_and_flush_time_ms"] = c.stats.queueAndFlush.Summary(now)
	snap.Counters["sync_processor_request_queued"] = c.stats.queued
	snap.Counters["unrecoverable_error_count"] = c.stats.failures
}

// resetMetrics forgets the committer's metrics (srst).
func (c *LogCommitter) resetMetrics() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats = logStats{}
}

// NewLogCommitter returns a committer over log. snapCount sets the roll
// interval (ZooKeeper's snapCount, randomised the same way); group says
// when a batch is synced; onRoll is called on the committer's goroutine
// after each roll.
func NewLogCommitter(log *storage.Log, logger *slog.Logger, snapCount int, fsyncWarn time.Duration, group storage.GroupCommit, onRoll func()) *LogCommitter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &LogCommitter{
		log: log, logger: logger, q: newQueue[logItem](),
		snapCount: max(snapCount, 2), onRoll: onRoll, fsyncWarn: fsyncWarn, group: group,
		stop: make(chan struct{}),
	}
	c.drawRoll()
	return c
}

// logGroupCommit is the group commit rule zoo.cfg sets for the log.
func logGroupCommit(cfg *config.Config) storage.GroupCommit {
	b := cfg.LogBatching()
	return storage.GroupCommit{FlushDelay: b.FlushDelay, PollTime: b.PollTime, MaxBatch: b.MaxBatch}
}

func (c *LogCommitter) drawRoll() {
	c.nextRoll = c.snapCount/2 + rand.IntN(max(c.snapCount/2, 1))
}

// Start implements Committer.
func (c *LogCommitter) Start(deliver func([]*jute.Txn, error)) {
	c.deliver = deliver
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.run()
	}()
}

// Commit implements Committer.
func (c *LogCommitter) Commit(txn *jute.Txn) { c.q.push(logItem{txn: txn}) }

// Resume implements Committer.
func (c *LogCommitter) Resume() { c.q.push(logItem{resume: true}) }

// Close implements Committer: it syncs and delivers what was committed
// before it, stops the goroutine and closes the log.
func (c *LogCommitter) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		err = c.log.Close()
	})
	return err
}

// logBatch is the batch the committer is gathering: its transactions, in
// order, and the first error appending them met (the log then discards the
// whole batch, so all of it fails).
type logBatch struct {
	txns []*jute.Txn
	err  error
}

func (c *LogCommitter) run() {
	var items []logItem
	var b logBatch
	failing := false
	for {
		// Once stopped, the committer still syncs what was committed
		// before Close, as ZooKeeper's sync thread does at shutdown.
		stopping := false
		select {
		case <-c.stop:
			stopping = true
		case <-c.q.signal:
		}
		items = c.q.popAll(items)
		// Append what was queued, then what arrived meanwhile, until the
		// queue is empty: only then sync, as ZooKeeper does. Syncing at
		// once would leave the transactions the core prepared during the
		// appends for the next sync.
		for len(items) > 0 {
			c.recordTaken(items, time.Now()) // the wall clock, as in transactions' times
			for _, it := range items {
				if it.resume {
					c.flush(&b, &failing)
					failing = false
					continue
				}
				b.txns = append(b.txns, it.txn)
				if !failing && b.err == nil {
					b.err = c.log.Append(it.txn)
				}
				if c.group.Full(len(b.txns)) {
					c.flush(&b, &failing)
				}
			}
			clear(items)
			items = c.q.popAll(items)
			if len(items) == 0 && len(b.txns) > 0 && !stopping {
				if items, stopping = storage.AwaitMore(&c.group, c.q.signal, c.stop, c.q.popAll, items); stopping {
					items = c.q.popAll(items)
				}
			}
		}
		c.flush(&b, &failing)
		if stopping {
			return
		}
	}
}

// flush makes the appended batch durable (or fails it) and delivers it.
func (c *LogCommitter) flush(b *logBatch, failing *bool) {
	if len(b.txns) == 0 {
		return
	}
	txns, err := b.txns, b.err
	*b = logBatch{}
	if *failing {
		c.record(txns, batchRefused, time.Time{}, 0)
		c.deliver(txns, errLogUnavailable)
		return
	}
	var took time.Duration
	var durable time.Time
	if err == nil {
		start := time.Now()
		err = c.log.Commit()
		took = time.Since(start)
		durable = start.Add(took)
		c.warnSlowFsync(took)
	}
	c.group.Synced()
	if err != nil {
		c.record(txns, batchFailed, time.Time{}, 0)
		c.logger.Error("transaction log write failed; failing writes until it recovers", "err", err, "txns", len(txns))
		*failing = true
		c.deliver(txns, err)
		return
	}
	c.record(txns, batchDurable, durable, took)
	c.deliver(txns, nil)
	if c.log.Appended >= c.nextRoll {
		if err := c.log.Roll(); err != nil {
			c.logger.Error("log roll failed", "err", err)
		}
		c.drawRoll()
		if c.onRoll != nil {
			c.onRoll()
		}
	}
}

// batchOutcome is what became of a batch.
type batchOutcome uint8

const (
	batchDurable batchOutcome = iota // appended and fsynced
	batchFailed                      // its append or fsync failed
	batchRefused                     // failed unwritten, behind an earlier failure
)

// recordTaken adds the transactions among items, taken up by the
// committer at taken, to the metrics.
func (c *LogCommitter) recordTaken(items []logItem, taken time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.stats
	takenMS := taken.UnixMilli()
	for _, it := range items {
		if !it.resume {
			st.queued++
			st.queueTime.Observe(max(takenMS-it.txn.Header.Time, 0), taken)
		}
	}
}

// record adds one batch's outcome to the metrics: a durable batch was
// made durable at durable by a Commit that took took.
func (c *LogCommitter) record(b []*jute.Txn, outcome batchOutcome, durable time.Time, took time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.stats
	switch outcome {
	case batchFailed:
		st.failures++
		return
	case batchRefused:
		return
	}
	ms := took.Milliseconds()
	st.fsync.Observe(ms, durable)
	st.flush.Observe(ms, durable)
	st.batchSize.Observe(int64(len(b)), durable)
	durableMS := durable.UnixMilli()
	for _, t := range b {
		st.queueAndFlush.Observe(max(durableMS-t.Header.Time, 0), durable)
	}
}

// warnSlowFsync logs an fsync slower than fsync.warningthresholdms.
func (c *LogCommitter) warnSlowFsync(d time.Duration) {
	if c.fsyncWarn > 0 && d > c.fsyncWarn {
		c.logger.Warn("fsync of the transaction log took longer than fsync.warningthresholdms",
			"took", d, "threshold", c.fsyncWarn, "dir", c.log.Dir())
	}
}

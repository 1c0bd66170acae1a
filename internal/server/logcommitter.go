package server

import (
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
)

// LogCommitter makes transactions durable in the transaction log with
// group commit: its goroutine takes everything queued, appends it, and
// fsyncs once for the whole batch before delivering it (so a write is
// acknowledged only after the fsync that covers it).
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
	// fsyncMS and batchSize feed mntr's fsynctime and
	// sync_processor_batch_size.
	fsyncMS   summaryStat
	batchSize summaryStat

	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type logItem struct {
	txn    *jute.Txn
	resume bool
}

// NewLogCommitter returns a committer over log. snapCount sets the roll
// interval (ZooKeeper's snapCount, randomised the same way); onRoll is
// called on the committer's goroutine after each roll.
func NewLogCommitter(log *storage.Log, logger *slog.Logger, snapCount int, fsyncWarn time.Duration, onRoll func()) *LogCommitter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &LogCommitter{
		log: log, logger: logger, q: newQueue[logItem](),
		snapCount: max(snapCount, 2), onRoll: onRoll, fsyncWarn: fsyncWarn,
		stop: make(chan struct{}),
	}
	c.drawRoll()
	return c
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

// Close implements Committer: it stops the goroutine and closes the log.
func (c *LogCommitter) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		err = c.log.Close()
	})
	return err
}

func (c *LogCommitter) run() {
	var items []logItem
	var batch []*jute.Txn
	failing := false
	for {
		select {
		case <-c.stop:
			return
		case <-c.q.signal:
		}
		items = c.q.popAll(items)
		for _, it := range items {
			if it.resume {
				c.flush(&batch, &failing)
				failing = false
				continue
			}
			batch = append(batch, it.txn)
		}
		c.flush(&batch, &failing)
		clear(items)
	}
}

// flush makes the batch durable (or fails it) and delivers it.
func (c *LogCommitter) flush(batch *[]*jute.Txn, failing *bool) {
	if len(*batch) == 0 {
		return
	}
	b := *batch
	*batch = nil
	if *failing {
		c.deliver(b, errLogUnavailable)
		return
	}
	var err error
	for _, t := range b {
		if err = c.log.Append(t); err != nil {
			break
		}
	}
	if err == nil {
		start := time.Now()
		err = c.log.Commit()
		c.recordFsync(time.Since(start), len(b))
	}
	if err != nil {
		c.logger.Error("transaction log write failed; failing writes until it recovers", "err", err, "txns", len(b))
		*failing = true
		c.deliver(b, err)
		return
	}
	c.deliver(b, nil)
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

func (c *LogCommitter) recordFsync(d time.Duration, n int) {
	c.fsyncMS.add(d.Milliseconds())
	c.batchSize.add(int64(n))
	if c.fsyncWarn > 0 && d > c.fsyncWarn {
		c.logger.Warn("fsync of the transaction log took longer than fsync.warningthresholdms",
			"took", d, "threshold", c.fsyncWarn, "dir", c.log.Dir())
	}
}

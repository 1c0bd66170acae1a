package peer

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/zab"
)

// logWriter owns the transaction log in an ensemble: its goroutine takes
// every proposal queued, appends them, fsyncs once for the batch (group
// commit, by storage.GroupCommit's rule) and reports the durable zxid.
// Truncation and waits for durability are commands in the same queue, so
// they happen in order with the appends.
type logWriter struct {
	log       *storage.Log
	fs        storage.FS
	logDir    string
	snapDir   string
	opts      storage.LogOptions
	logger    *slog.Logger
	snapCount int
	nextRoll  int
	fsyncWarn time.Duration
	group     storage.GroupCommit

	// persisted is called on the writer goroutine after each durable
	// batch; rolled after each log roll.
	persisted func(jute.Zxid)
	rolled    func()
	failed    func(error)
	// synced, if set, is told each durable batch: the fsync's time and
	// the transactions in the batch.
	synced func(took time.Duration, txns int)

	mu     sync.Mutex // guards items
	items  []logCommand
	signal chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup

	lastMu sync.Mutex // guards last, which the peer's loop reads
	last   jute.Zxid  // the log's last zxid after the latest batch or truncation
}

// logCommand is one item of the writer's queue.
type logCommand struct {
	append []zab.Proposal
	// truncate, when set, cuts the log after truncateTo; done is closed
	// (after err is set) when a truncate or barrier command has run.
	truncate   bool
	truncateTo jute.Zxid
	done       chan error
	// last, when set, receives the log's last zxid before done.
	last *jute.Zxid
}

func newLogWriter(l *storage.Log, fs storage.FS, logDir, snapDir string, opts storage.LogOptions, snapCount int, fsyncWarn time.Duration, group storage.GroupCommit, logger *slog.Logger) *logWriter {
	w := &logWriter{log: l, fs: fs, logDir: logDir, snapDir: snapDir, opts: opts, logger: logger,
		snapCount: max(snapCount, 2), fsyncWarn: fsyncWarn, group: group, signal: make(chan struct{}, 1), stop: make(chan struct{}),
		last: l.LastZxid()}
	w.drawRoll()
	return w
}

func (w *logWriter) drawRoll() { w.nextRoll = w.snapCount/2 + rand.IntN(max(w.snapCount/2, 1)) }

func (w *logWriter) start() {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.run()
	}()
}

func (w *logWriter) push(c logCommand) {
	w.mu.Lock()
	w.items = append(w.items, c)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// append queues proposals; it never blocks.
func (w *logWriter) append(ps []zab.Proposal) { w.push(logCommand{append: ps}) }

// barrier waits until everything queued before it is durable and returns
// the last zxid in the log.
func (w *logWriter) barrier() (jute.Zxid, error) {
	done := make(chan error, 1)
	var last jute.Zxid
	w.push(logCommand{done: done, last: &last})
	err := w.wait(done)
	return last, err
}

// truncateTo cuts the log after zxid, once everything queued before it has
// run, and waits for it.
func (w *logWriter) truncateTo(zxid jute.Zxid) error {
	done := make(chan error, 1)
	w.push(logCommand{truncate: true, truncateTo: zxid, done: done})
	return w.wait(done)
}

func (w *logWriter) wait(done chan error) error {
	select {
	case err := <-done:
		return err
	case <-w.stop:
		return fmt.Errorf("log writer stopped")
	}
}

// close stops the goroutine and closes the log.
func (w *logWriter) close() error {
	close(w.stop)
	w.wg.Wait()
	return w.log.Close()
}

func (w *logWriter) run() {
	var items []logCommand
	var batch []zab.Proposal
	sync := func() {
		if err := w.flush(batch); err != nil {
			w.failed(err)
		}
		batch = nil
	}
	for {
		select {
		case <-w.stop:
			return
		case <-w.signal:
		}
		items = w.take(items)
		// Gather until nothing more is queued (or the batch is full, or
		// flushDelay has passed), then sync: ZooKeeper's rule.
		for len(items) > 0 {
			for _, c := range items {
				if c.done == nil {
					for _, p := range c.append {
						batch = append(batch, p)
						if w.group.Full(len(batch)) {
							sync()
						}
					}
					continue
				}
				err := w.flush(batch)
				batch = nil
				if err != nil {
					w.failed(err)
				} else if c.truncate {
					err = w.truncate(c.truncateTo)
				}
				w.noteLast()
				if c.last != nil {
					*c.last = w.log.LastZxid()
				}
				c.done <- err
			}
			clear(items)
			items = w.take(items)
			if len(items) == 0 && len(batch) > 0 {
				var stopped bool
				if items, stopped = storage.AwaitMore(&w.group, w.signal, w.stop, w.take, items); stopped {
					return
				}
			}
		}
		sync()
		w.noteLast()
	}
}

// take returns what is queued, in items' storage.
func (w *logWriter) take(items []logCommand) []logCommand {
	w.mu.Lock()
	defer w.mu.Unlock()
	items, w.items = w.items, items[:0]
	return items
}

// flush appends and fsyncs a batch, then reports it durable.
func (w *logWriter) flush(batch []zab.Proposal) error {
	if len(batch) == 0 {
		return nil
	}
	for _, p := range batch {
		if p.Zxid <= w.log.LastZxid() {
			continue // already logged (a re-sent proposal)
		}
		if err := w.log.Append(p.Txn); err != nil {
			return fmt.Errorf("append zxid %v: %w", p.Zxid, err)
		}
	}
	start := time.Now()
	err := w.log.Commit()
	w.group.Synced()
	if err != nil {
		return fmt.Errorf("fsync of the transaction log: %w", err)
	}
	took := time.Since(start)
	if w.fsyncWarn > 0 && took > w.fsyncWarn {
		w.logger.Warn("fsync of the transaction log took longer than fsync.warningthresholdms", "took", took, "threshold", w.fsyncWarn)
	}
	if w.synced != nil {
		w.synced(took, len(batch))
	}
	w.persisted(w.log.LastZxid())
	if w.log.Appended >= w.nextRoll {
		if err := w.log.Roll(); err != nil {
			w.logger.Error("log roll failed", "err", err)
		}
		w.drawRoll()
		if w.rolled != nil {
			w.rolled()
		}
	}
	return nil
}

// truncate closes the log, cuts it after zxid and opens it again. If the
// cut fails the log is reopened as it was.
func (w *logWriter) truncate(zxid jute.Zxid) error {
	last := w.log.LastZxid()
	if err := w.log.Close(); err != nil {
		return fmt.Errorf("close the log before truncating: %w", err)
	}
	terr := storage.Truncate(w.fs, w.logDir, w.snapDir, zxid)
	l, err := storage.OpenLog(w.logDir, w.opts)
	if err != nil {
		return fmt.Errorf("reopen the log after truncating: %w", err)
	}
	w.log = l
	if terr != nil {
		l.SetLastZxid(last)
		return fmt.Errorf("truncate the log after %v: %w", zxid, terr)
	}
	l.SetLastZxid(zxid)
	return nil
}

// noteLast records the log's last zxid for lastZxid.
func (w *logWriter) noteLast() {
	last := w.log.LastZxid()
	w.lastMu.Lock()
	w.last = last
	w.lastMu.Unlock()
}

// lastZxid returns the last zxid the log holds. Only while the writer is
// idle (after a barrier) is it stable.
func (w *logWriter) lastZxid() jute.Zxid {
	w.lastMu.Lock()
	defer w.lastMu.Unlock()
	return w.last
}

package storage

import (
	"runtime"
	"time"
)

// GroupCommit decides when a writer of the log syncs the batch it is
// gathering, by ZooKeeper's rule (storage spec §2.9): once no more writes
// are waiting, or once the batch holds MaxBatch writes. With FlushDelay
// set, a batch instead gathers writes until FlushDelay has passed since
// the previous sync, waiting up to PollTime at a time for the next one.
// The zero value (apart from MaxBatch) is ZooKeeper's default.
//
// A GroupCommit belongs to the one goroutine that writes the log.
type GroupCommit struct {
	FlushDelay time.Duration // zookeeper.flushDelay; 0: no delay
	PollTime   time.Duration // zookeeper.maxWriteQueuePollTime
	MaxBatch   int           // zookeeper.maxBatchSize; 0 or less: no bound

	lastSync time.Time // when the previous sync ended
}

// Full reports whether a batch of n writes must be synced now, before
// anything more is appended to it.
func (g *GroupCommit) Full(n int) bool {
	if g.MaxBatch > 0 && n >= g.MaxBatch {
		return true
	}
	return g.FlushDelay > 0 && time.Since(g.lastSync) >= g.FlushDelay
}

// Linger returns how long to wait for more writes, when none is waiting,
// before syncing the batch: 0 without FlushDelay, or once it has passed.
func (g *GroupCommit) Linger() time.Duration {
	if g.FlushDelay <= 0 {
		return 0
	}
	return max(min(g.PollTime, g.FlushDelay-time.Since(g.lastSync)), 0)
}

// Synced records that a sync has just ended.
func (g *GroupCommit) Synced() {
	if g.FlushDelay > 0 {
		g.lastSync = time.Now()
	}
}

// AwaitMore is how a log writer lingers before a sync, once it finds
// nothing queued. With FlushDelay set, it waits up to g.Linger() for more
// to be queued, calling take (which appends what is queued to items) each
// time arrived fires, and returns as soon as there is something, or the
// wait runs out, or stop is closed (stopped is then true).
//
// Without FlushDelay it first lets the goroutines that are ready to run
// go ahead (runtime.Gosched), then takes what they queued. ZooKeeper's
// rule is to sync once nothing is queued; its threads run side by side,
// while zkd's writer and the goroutine that feeds it often share one P
// (GOMAXPROCS=1), where the writer, woken by the first write, would
// otherwise cut the batch before the goroutines holding the next writes
// have run, and those writes would wait a whole sync.
func AwaitMore[T any](g *GroupCommit, arrived, stop <-chan struct{}, take func([]T) []T, items []T) (_ []T, stopped bool) {
	wait := g.Linger()
	if wait <= 0 {
		if g.FlushDelay <= 0 {
			runtime.Gosched()
			items = take(items)
		}
		return items, false
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for len(items) == 0 {
		select {
		case <-stop:
			return items, true
		case <-timer.C:
			return items, false
		case <-arrived:
			items = take(items)
		}
	}
	return items, false
}

package storage

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestGroupCommitFollowsZooKeepersRule(t *testing.T) {
	plain := GroupCommit{MaxBatch: 1000}
	if plain.Full(999) || !plain.Full(1000) {
		t.Error("without flushDelay a batch is full at maxBatchSize and not before")
	}
	if plain.Linger() != 0 {
		t.Error("without flushDelay the writer does not wait for more")
	}
	if (&GroupCommit{}).Full(1 << 20) {
		t.Error("maxBatchSize 0 bounds the batch")
	}

	delayed := GroupCommit{FlushDelay: time.Hour, PollTime: 10 * time.Millisecond}
	if !delayed.Full(1) || delayed.Linger() != 0 {
		t.Error("a write after a quiet spell longer than flushDelay is not synced at once")
	}
	delayed.Synced()
	if delayed.Full(1) {
		t.Error("a batch is synced within flushDelay of the previous sync")
	}
	if got := delayed.Linger(); got != 10*time.Millisecond {
		t.Errorf("Linger() = %v within flushDelay, want the poll time 10ms", got)
	}
	short := GroupCommit{FlushDelay: 50 * time.Millisecond, PollTime: time.Hour}
	short.Synced()
	if got := short.Linger(); got <= 0 || got > 50*time.Millisecond {
		t.Errorf("Linger() = %v, want at most what is left of flushDelay (50ms)", got)
	}
}

// With one P, a writer that finds its queue empty lets a goroutine that
// is ready to run, with a write in hand, queue it before the batch is cut.
func TestAwaitMoreLetsReadyGoroutinesQueueFirst(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var mu sync.Mutex
	var queued []int
	take := func(items []int) []int {
		mu.Lock()
		defer mu.Unlock()
		items = append(items, queued...)
		queued = queued[:0]
		return items
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // runnable, not yet run: this goroutine holds the one P
		defer wg.Done()
		mu.Lock()
		queued = append(queued, 7)
		mu.Unlock()
	}()
	g := GroupCommit{MaxBatch: 1000}
	items, stopped := AwaitMore(&g, nil, nil, take, nil)
	wg.Wait()
	if stopped || len(items) != 1 || items[0] != 7 {
		t.Fatalf("AwaitMore = %v, %v; want the write the ready goroutine queued", items, stopped)
	}
}

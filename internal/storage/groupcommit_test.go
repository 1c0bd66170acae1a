package storage

import (
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

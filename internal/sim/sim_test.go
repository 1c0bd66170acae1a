package sim

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// envInt reads a numeric environment variable.
func envInt(t *testing.T, name string, def uint64) uint64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// report formats a failed run: the seed, how to replay it and the end of
// its trace.
func report(r Result, lines int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d (%d nodes): %v\nreplay: ZKD_SIM_SEED=%d go test ./internal/sim -run 'TestSeed$' -v\n", r.Seed, r.Nodes, r.Err, r.Seed)
	tail := r.Trace
	if lines > 0 && len(tail) > lines {
		tail = tail[len(tail)-lines:]
	}
	for _, l := range tail {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// TestSeed replays one run, ZKD_SIM_SEED, and prints its whole trace with
// -v.
func TestSeed(t *testing.T) {
	if os.Getenv("ZKD_SIM_SEED") == "" {
		t.Skip("set ZKD_SIM_SEED to replay one run")
	}
	seed := envInt(t, "ZKD_SIM_SEED", 0)
	r := New(Defaults(seed)).Run()
	for _, l := range r.Trace {
		t.Log(l)
	}
	t.Logf("seed %d: %d nodes, %d steps, %d ms, %d committed, %d acked, %d leaders, %d crashes, %d partitions, trace %x",
		seed, r.Nodes, r.Steps, r.TimeMS, r.Committed, r.Acked, r.Elections, r.Crashes, r.Partitions, r.TraceHash)
	if r.Err != nil {
		t.Fatal(report(r, 60))
	}
}

// TestSeeds runs many seeds (ZKD_SIM_SEEDS, from ZKD_SIM_FIRST) across
// 3, 5 and 7 nodes.
func TestSeeds(t *testing.T) {
	count := envInt(t, "ZKD_SIM_SEEDS", defaultSeeds)
	first := envInt(t, "ZKD_SIM_FIRST", 1)
	if testing.Short() {
		count = min(count, 60)
	}
	var next atomic.Uint64
	next.Store(first)
	var mu sync.Mutex
	var failed []Result
	var steps, committed, acked atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				seed := next.Add(1) - 1
				if seed >= first+count {
					return
				}
				r := New(Defaults(seed)).Run()
				steps.Add(int64(r.Steps))
				committed.Add(int64(r.Committed))
				acked.Add(int64(r.Acked))
				if r.Err != nil {
					mu.Lock()
					failed = append(failed, r)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d seeds from %d in %v: %d steps, %d committed, %d acked, %d failed",
		count, first, time.Since(start).Round(time.Millisecond), steps.Load(), committed.Load(), acked.Load(), len(failed))
	for i, r := range failed {
		if i >= 5 {
			t.Errorf("... and %d more failed seeds", len(failed)-5)
			break
		}
		t.Error(report(r, 40))
	}
}

// TestReplayIsExact runs seeds twice and compares their traces.
func TestReplayIsExact(t *testing.T) {
	for seed := uint64(100); seed < 106; seed++ {
		a, b := New(Defaults(seed)).Run(), New(Defaults(seed)).Run()
		if a.TraceHash != b.TraceHash || a.Steps != b.Steps || a.Committed != b.Committed {
			t.Fatalf("seed %d ran twice differently: %x/%d steps/%d committed vs %x/%d/%d",
				seed, a.TraceHash, a.Steps, a.Committed, b.TraceHash, b.Steps, b.Committed)
		}
		if a.Committed == 0 {
			t.Errorf("seed %d committed nothing", seed)
		}
	}
}

// TestInvariantsSeeStaleFastForward runs the simulation with the
// fast-forward internal/peer does today (its last logged zxid lags the log
// when a role ends): the checker must catch the divergence it causes.
func TestInvariantsSeeStaleFastForward(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		cfg := Defaults(seed)
		cfg.StaleFastForward = true
		if r := New(cfg).Run(); r.Err != nil {
			t.Logf("caught: %s", report(r, 5))
			return
		}
	}
	t.Fatal("30 seeds with a stale fast-forward broke no invariant")
}

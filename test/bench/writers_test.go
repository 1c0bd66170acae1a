package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/loadgen"
)

// Environment variables of the storage benchmarks.
const (
	envStorage  = "ZKD_BENCH_STORAGE"  // "1" runs BenchmarkWriters and BenchmarkRestart; they skip otherwise
	envWriters  = "ZKD_BENCH_WRITERS"  // writer counts of BenchmarkWriters; default "1,8,32,128"
	envWorkload = "ZKD_BENCH_WORKLOAD" // BenchmarkWriters' workload: setData (default) or create
)

// writersWorkload returns BenchmarkWriters' workload, from
// ZKD_BENCH_WORKLOAD.
func writersWorkload(b *testing.B) loadgen.Workload {
	v := os.Getenv(envWorkload)
	if v == "" {
		return loadgen.SetData
	}
	w, err := loadgen.ParseWorkload(v)
	if err != nil || (w != loadgen.SetData && w != loadgen.Create) {
		b.Fatalf("%s=%q: want setData or create", envWorkload, v)
	}
	return w
}

// requireStorageBench skips the benchmark unless ZKD_BENCH_STORAGE=1: the
// storage benchmarks take minutes and gigabytes, too much for "-bench .".
func requireStorageBench(b *testing.B) {
	if os.Getenv(envStorage) != "1" {
		b.Skipf("set %s=1 to run the storage benchmarks (several minutes; see docs/benchmarks.md)", envStorage)
	}
}

func readWriterCounts(b *testing.B) []int {
	v := os.Getenv(envWriters)
	if v == "" {
		return []int{1, 8, 32, 128}
	}
	var counts []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want positive integers separated by commas", envWriters, v)
		}
		counts = append(counts, n)
	}
	return counts
}

// writersRun is what one server did with one number of writers, summed
// over the rounds.
type writersRun struct {
	res *loadgen.Result
	cpu time.Duration // server CPU time

	// fsyncs counts the server's fsync and fdatasync calls with perf;
	// -1 when perf could not count them.
	fsyncs int64
	// From the server's mntr: log flushes (cnt_fsynctime) and the
	// transactions they carried (sum_sync_processor_batch_size); -1 when
	// mntr lacks them.
	flushes, flushedTxns int64
}

// BenchmarkWriters measures setData throughput and latency against zkd and
// Apache ZooKeeper 3.8, both with their default forceSync=yes, with 1, 8,
// 32 and 128 concurrent writers (sessions; ZKD_BENCH_WRITERS changes the
// list). Every writer sets its own node, synchronously, in a loop
// (ZKD_BENCH_WORKLOAD=create: creates new nodes instead, which loadgen
// deletes again after each run; the clean-up's deletes are in the fsync
// counts and CPU times but not in the operations). Group
// commit should let throughput grow with the writers: while one batch is
// being fsynced, the next one gathers. The benchmark counts each server's
// fsync and fdatasync calls with perf, where perf works, and reads its
// flush counts from mntr, to report transactions per fsync. Before each
// measured run both servers must be idle for a second (quiesce), so that
// one server's leftover snapshot does not slow the other's syncs.
//
// It runs only with ZKD_BENCH_STORAGE=1 and ignores b.N:
//
//	ZKD_BENCH_STORAGE=1 go test ./test/bench -run '^$' -bench Writers -benchtime 1x -timeout 20m
//
// ZKD_BENCH_DURATION, ZKD_BENCH_ROUNDS and ZKD_BENCH_WARMUP size it as
// they size BenchmarkSideBySide, per writer count and server.
func BenchmarkWriters(b *testing.B) {
	requireStorageBench(b)
	cfg := readSettings(b)
	counts := readWriterCounts(b)
	workload := writersWorkload(b)
	most := 0
	for _, n := range counts {
		most = max(most, n)
	}
	ctx := b.Context()

	// Both servers allow 60 connections per client address by default.
	noLimit := []string{"maxClientCnxns=0"}
	servers := []*server{startZkd(b, "zkd", nil, noLimit), startZooKeeper(b, "ZooKeeper", nil, noLimit)}
	for _, s := range servers {
		conns, err := dialSessions(ctx, s.addr, most)
		if err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		b.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		s.sessions = make([]loadgen.Session, len(conns))
		for i, c := range conns {
			s.sessions[i] = zkSession{c}
		}
	}
	lcfg := func(d time.Duration) loadgen.Config {
		return loadgen.Config{Workload: workload, Duration: d, Keys: most, Root: "/writers", OwnKey: true}
	}
	for _, s := range servers {
		if err := loadgen.Setup(ctx, s.sessions, lcfg(0)); err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
	}
	perfErr := perfUsable()
	if perfErr != nil {
		b.Logf("not counting fsync calls: %v", perfErr)
	}

	runs := map[*server]map[int]*writersRun{}
	for _, s := range servers {
		runs[s] = map[int]*writersRun{}
		for _, n := range counts {
			runs[s][n] = &writersRun{res: new(loadgen.Result), fsyncs: -1, flushes: -1, flushedTxns: -1}
		}
	}
	run := func(s *server, n int, d time.Duration, measured bool) {
		ctx, cancel := context.WithTimeout(ctx, d+2*time.Minute)
		defer cancel()
		if measured {
			// The other server's leftover work (a snapshot it is still
			// writing after its run) must not land in this run.
			quiesce(b, servers[0].pid, servers[1].pid)
		}
		var perf *fsyncCounter
		if measured && perfErr == nil {
			var err error
			if perf, err = startFsyncCount(b, s.pid); err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
		}
		m0, err := mntr(s.addr)
		if err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		cpu0, _ := cpuTimes(b, s)
		res, err := loadgen.Run(ctx, s.sessions[:n], lcfg(d))
		if err != nil {
			b.Fatalf("%s, %d writers: %v", s.name, n, err)
		}
		cpu1, _ := cpuTimes(b, s)
		m1, err := mntr(s.addr)
		if err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		if !measured {
			return
		}
		w := runs[s][n]
		w.res.Merge(res)
		w.cpu += cpu1 - cpu0
		if perf != nil {
			fsyncs, err := perf.stop()
			if err != nil {
				b.Fatalf("%s: perf: %v", s.name, err)
			}
			w.fsyncs = max(w.fsyncs, 0) + fsyncs
		}
		addDelta := func(dst *int64, key string) {
			a, z := mntrInt(m0, key), mntrInt(m1, key)
			if a >= 0 && z >= 0 {
				*dst = max(*dst, 0) + z - a
			}
		}
		addDelta(&w.flushes, "zk_cnt_fsynctime")
		addDelta(&w.flushedTxns, "zk_sum_sync_processor_batch_size")
	}

	if cfg.warmup > 0 {
		for _, n := range counts {
			for _, s := range servers {
				run(s, n, cfg.warmup, false)
			}
		}
	}
	perRound := cfg.duration / time.Duration(cfg.rounds)
	for r := range cfg.rounds {
		for i, n := range counts {
			for k := range servers {
				run(servers[(k+r+i)%len(servers)], n, perRound, true)
			}
		}
	}

	printWritersReport(os.Stdout, cfg, workload, counts, servers, runs, perfErr)
	zkd, zk := servers[0], servers[1]
	for _, n := range counts {
		b.ReportMetric(runs[zkd][n].res.Throughput()/runs[zk][n].res.Throughput(), fmt.Sprintf("%s-%dw-ops-zkd/zk", workload, n))
	}
	b.ReportMetric(0, "ns/op")
}

// txnsPer divides transactions by calls, or says why it cannot.
func txnsPer(txns, calls int64) string {
	if calls <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(txns)/float64(calls))
}

func printWritersReport(w io.Writer, cfg settings, workload loadgen.Workload, counts []int, servers []*server, runs map[*server]map[int]*writersRun, perfErr error) {
	what := "setData on one node per writer"
	if workload == loadgen.Create {
		what = "create of new nodes (deleted again after each run: the deletes are in the perf fsync counts and the CPU, not in the ops, so read txns/flush from mntr)"
	}
	fmt.Fprintf(w, "\n%s, forceSync=yes on both, go-zookeeper client, loopback; %v measured per writer count per server in %d interleaved rounds after a %v warm-up, each run once both servers were idle; %d CPUs, %s.\n\n",
		what, cfg.duration, cfg.rounds, cfg.warmup, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(w, "- %s\n", placement())
	for _, s := range servers {
		fmt.Fprintf(w, "- %s (pid %d): %s\n", s.name, s.pid, s.version)
	}
	if perfErr != nil {
		fmt.Fprintf(w, "- fsync calls not counted: %v\n", perfErr)
	}
	zkd, zk := servers[0], servers[1]
	ratio := func(a, b float64) string { return fmt.Sprintf("**%.2f**", a/b) }
	first := counts[0]

	fmt.Fprintln(w)
	fmt.Fprintf(w, "| writers | zkd ops/s | ZK ops/s | zkd ÷ ZK | zkd × vs %d | ZK × vs %d | zkd p99 | ZK p99 | zkd ÷ ZK | zkd txns/fsync | ZK txns/fsync | zkd CPU/op | ZK CPU/op | zkd ÷ ZK |\n", first, first)
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, n := range counts {
		z, k := runs[zkd][n], runs[zk][n]
		zp99, kp99 := z.res.Latency.Quantile(0.99), k.res.Latency.Quantile(0.99)
		zcpu, kcpu := perOp(z.cpu, z.res), perOp(k.cpu, k.res)
		fmt.Fprintf(w, "| %d | %.0f | %.0f | %s | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			n, z.res.Throughput(), k.res.Throughput(), ratio(z.res.Throughput(), k.res.Throughput()),
			z.res.Throughput()/runs[zkd][first].res.Throughput(), k.res.Throughput()/runs[zk][first].res.Throughput(),
			fmtDuration(zp99), fmtDuration(kp99), ratio(float64(zp99), float64(kp99)),
			txnsPer(z.res.Ops, z.fsyncs), txnsPer(k.res.Ops, k.fsyncs),
			fmtDuration(zcpu), fmtDuration(kcpu), ratio(float64(zcpu), float64(kcpu)))
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| writers | server | ops/s | p50 | p99 | p99.9 | max | fsync calls/s (perf) | txns/fsync (perf) | txns/flush (mntr) | server CPU/op |")
	fmt.Fprintln(w, "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, n := range counts {
		for _, s := range servers {
			r := runs[s][n]
			h := r.res.Latency
			perSec := "n/a"
			if r.fsyncs >= 0 && r.res.Elapsed > 0 {
				perSec = fmt.Sprintf("%.0f", float64(r.fsyncs)/r.res.Elapsed.Seconds())
			}
			fmt.Fprintf(w, "| %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				n, s.name, r.res.Throughput(),
				fmtDuration(h.Quantile(0.5)), fmtDuration(h.Quantile(0.99)), fmtDuration(h.Quantile(0.999)), fmtDuration(h.Max()),
				perSec, txnsPer(r.res.Ops, r.fsyncs), txnsPer(r.flushedTxns, r.flushes), fmtDuration(perOp(r.cpu, r.res)))
		}
	}
	fmt.Fprintln(w)
}

package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/loadgen"
	"github.com/zkd/zkd/internal/testcluster"
)

// Environment variables of the issue 11 ("Performance") benchmarks.
const (
	envIssue11   = "ZKD_BENCH_ISSUE11"    // "1" runs them; they skip otherwise
	envSustain   = "ZKD_BENCH_SUSTAIN"    // length of one sustained setData run; default 60s
	envSnapCount = "ZKD_BENCH_SNAPCOUNT"  // both servers' snapCount; default 10000
	envWriteKeys = "ZKD_BENCH_WRITE_KEYS" // nodes the sustained setData runs write; default 1000
	envShapes    = "ZKD_BENCH_SHAPES"     // trees of BenchmarkSustainedSetData: "small,tree" (default), "small" or "tree"
	envChildren  = "ZKD_BENCH_CHILDREN"   // children of BenchmarkGetChildren's node; default 100000
	envCalls     = "ZKD_BENCH_CALLS"      // getChildren calls per round per server; default 200
)

// Sizes of issue 11's workloads.
const (
	sustainedValue = 1024                   // bytes each sustained setData writes
	slowRequest    = 100 * time.Millisecond // a request slower than this counts as slow
)

// requireIssue11 skips the benchmark unless ZKD_BENCH_ISSUE11=1.
func requireIssue11(b *testing.B) {
	if os.Getenv(envIssue11) != "1" {
		b.Skipf("set %s=1 to run the issue 11 benchmarks (many minutes, gigabytes of memory; see docs/benchmarks.md)", envIssue11)
	}
}

// sustainedRound is one sustained setData run against one server.
type sustainedRound struct {
	res       *loadgen.Result
	cpu       time.Duration // server CPU time
	snapshots int           // snapshot files the server wrote during the run
	peak      int64         // the server's peak RSS during the run
	// From the server's own mntr, reset (srst) before the run: its
	// longest request, from reading it to answering it (zk_max_latency),
	// and its longest log sync (zk_max_fsynctime); -1 if missing.
	serverMax, syncMax time.Duration
}

// sustainedTarget is one server of BenchmarkSustainedSetData for one tree.
type sustainedTarget struct {
	*server
	jvm   bool
	close func() // closes the benchmark's connections to it

	load                   time.Duration // to make the tree
	before, loaded, steady memory        // before the load, right after it, after settling
	heapBefore, heapSteady int64         // live heap; -1 when not known
	rounds                 []sustainedRound
}

// sustainedShape is the figures of both servers for one tree.
type sustainedShape struct {
	name    string
	tree    string // the tree's description
	nodes   int    // znodes loaded, for per-znode figures; 0 for the small tree
	targets []*sustainedTarget
}

// BenchmarkSustainedSetData measures issue 11's first two goals against zkd
// and Apache ZooKeeper 3.8 side by side, both with snapCount=10000
// (ZKD_BENCH_SNAPCOUNT) and forceSync=yes: sustained setData of 1 KiB
// values for 60 s per run (ZKD_BENCH_SUSTAIN) from 32 sessions
// (ZKD_BENCH_SESSIONS), on two trees (ZKD_BENCH_SHAPES):
//
//   - small: the 1000 written nodes only (ZKD_BENCH_WRITE_KEYS);
//   - tree: 1,000,000 znodes of 32 B under 1000 parents
//     (ZKD_BENCH_RESTART_NODES, ZKD_BENCH_TREE_PARENTS, ZKD_BENCH_TREE_VALUE),
//     of which the runs write the first 1000, one child of each parent.
//
// Each run reports ops/s, p99, p99.9, max, requests slower than 100 ms,
// the server's own longest request and longest log sync (mntr, reset with
// srst before the run), the snapshot files the server wrote and its peak
// RSS (the kernel's high-water mark, reset before the run), with
// ZKD_BENCH_ROUNDS runs per server interleaved zkd, ZooKeeper, ZooKeeper,
// zkd, ... and their median and spread. Before each run both servers must
// have been idle for a second (no writes, under 2 % of a CPU) and the
// page cache is synced, so that a snapshot one server is still writing
// after its run does not slow the other's log syncs. For the 1,000,000-znode tree it also reports the load's
// creates/s and peak RSS, the RSS after ZKD_BENCH_SETTLE (20 s) idle
// ("steady"), the RSS per znode, and ZooKeeper's live heap per znode
// (jcmd GC.class_histogram, which collects first). zkd's live heap per
// znode comes from BenchmarkZkdTreeInProcess, in-process with the same
// tree.
//
// Each tree gets fresh servers; ZooKeeper runs with -Xmx2g
// (ZKD_BENCH_ZK_HEAP). It runs only with ZKD_BENCH_ISSUE11=1 and ignores
// b.N; see docs/benchmarks.md for the commands.
func BenchmarkSustainedSetData(b *testing.B) {
	requireIssue11(b)
	cfg := readSettings(b)
	sustain := envDur(b, envSustain, 60*time.Second)
	snapCount := envInt(b, envSnapCount, 10000)
	writeKeys := envInt(b, envWriteKeys, 1000)
	settle := envDur(b, envSettle, 20*time.Second)
	tree := readTreeShape(b, 1000000, 1000, 32)
	shapes := []string{"small", "tree"}
	if v := os.Getenv(envShapes); v != "" {
		shapes = strings.Split(v, ",")
	}
	flags := []string{"-Dzookeeper.snapCount=" + strconv.Itoa(snapCount)}
	noLimit := []string{"maxClientCnxns=0"}
	ctx := b.Context()

	var results []*sustainedShape
	for _, shapeName := range shapes {
		var setup, write loadgen.Config
		sh := &sustainedShape{name: shapeName}
		switch shapeName {
		case "small":
			setup = loadgen.Config{Root: "/sustained", Keys: writeKeys, ValueSize: sustainedValue}
			write = setup
			sh.tree = fmt.Sprintf("%d znodes of %d B", writeKeys, sustainedValue)
		case "tree":
			setup = tree.config("/tree")
			write = setup
			write.Keys, write.ValueSize = min(writeKeys, tree.nodes), sustainedValue
			sh.tree, sh.nodes = tree.String(), tree.nodes
		default:
			b.Fatalf("%s=%q: want small, tree or both", envShapes, os.Getenv(envShapes))
		}
		write.Workload = loadgen.SetData

		zkd := &sustainedTarget{server: startZkd(b, "zkd", flags, noLimit), heapBefore: -1, heapSteady: -1}
		zk := &sustainedTarget{server: startZooKeeper(b, "ZooKeeper", append([]string{"-Xmx" + zkHeap()}, flags...), noLimit), jvm: true}
		sh.targets = []*sustainedTarget{zkd, zk}
		for _, t := range sh.targets {
			conns, err := dialSessions(ctx, t.addr, max(cfg.sessions, loadConns))
			if err != nil {
				b.Fatalf("%s: %v", t.name, err)
			}
			t.close = func() {
				for _, c := range conns {
					c.Close()
				}
			}
			defer t.close() // if the benchmark fails first; closing twice is harmless
			t.sessions = make([]loadgen.Session, cfg.sessions)
			for i := range t.sessions {
				t.sessions[i] = zkSession{conns[i]}
			}
			loaders := loadSessions(conns)
			if t.before, err = processMemory(t.pid); err != nil {
				b.Fatal(err)
			}
			if t.jvm {
				t.heapBefore = jvmLiveHeap(b, t.pid)
			}
			t0 := time.Now()
			if err := loadgen.Setup(ctx, loaders, setup); err != nil {
				b.Fatalf("%s: load: %v", t.name, err)
			}
			t.load = time.Since(t0)
			if t.loaded, err = processMemory(t.pid); err != nil {
				b.Fatal(err)
			}
		}
		// Idle, a Go server returns the load's garbage to the OS over a
		// while; the steady RSS is read after it.
		time.Sleep(settle)
		for _, t := range sh.targets {
			var err error
			if t.steady, err = processMemory(t.pid); err != nil {
				b.Fatal(err)
			}
			if t.jvm {
				t.heapSteady = jvmLiveHeap(b, t.pid)
			}
		}

		run := func(t *sustainedTarget, d time.Duration, measured bool) {
			ctx, cancel := context.WithTimeout(ctx, d+5*time.Minute)
			defer cancel()
			// Neither server's leftover work (a snapshot that outlasted
			// its run) may land in this run.
			quiesce(b, zkd.pid, zk.pid)
			if err := resetPeakRSS(t.pid); err != nil {
				b.Fatalf("%s: %v", t.name, err)
			}
			if _, err := testcluster.FourLetter(t.addr, "srst"); err != nil {
				b.Fatalf("%s: srst: %v", t.name, err)
			}
			snaps0 := countSnapshots(b, t.dataDir)
			cpu0, _ := cpuTimes(b, t.server)
			cfg := write
			cfg.Duration = d
			res, err := loadgen.Run(ctx, t.sessions, cfg)
			if err != nil {
				b.Fatalf("%s, %s: %v", t.name, shapeName, err)
			}
			cpu1, _ := cpuTimes(b, t.server)
			m, err := processMemory(t.pid)
			if err != nil {
				b.Fatal(err)
			}
			stats, err := mntr(t.addr)
			if err != nil {
				b.Fatalf("%s: %v", t.name, err)
			}
			if measured {
				t.rounds = append(t.rounds, sustainedRound{res: res, cpu: cpu1 - cpu0, snapshots: countSnapshots(b, t.dataDir) - snaps0, peak: m.peak,
					serverMax: mntrMillis(stats, "zk_max_latency"), syncMax: mntrMillis(stats, "zk_max_fsynctime")})
			}
		}
		if cfg.warmup > 0 {
			for _, t := range sh.targets {
				run(t, cfg.warmup, false)
			}
		}
		for r := range cfg.rounds {
			for k := range sh.targets {
				// zkd, ZK, then ZK, zkd: neither always goes first.
				run(sh.targets[(k+r)%len(sh.targets)], sustain, true)
			}
		}
		for _, t := range sh.targets {
			t.close()
			t.stop() // the next tree gets fresh servers, and the memory back
		}
		results = append(results, sh)
	}

	printSustainedReport(os.Stdout, cfg, sustain, snapCount, results)
	for _, sh := range results {
		zkd, zk := sh.targets[0], sh.targets[1]
		b.ReportMetric(medianOps(zkd)/medianOps(zk), sh.name+"-setData-ops-zkd/zk")
		zq, kq := mergedLatency(zkd).Quantile(0.999), mergedLatency(zk).Quantile(0.999)
		b.ReportMetric(float64(zq)/float64(kq), sh.name+"-p99.9-zkd/zk")
	}
	b.ReportMetric(0, "ns/op")
}

// mntrMillis returns a figure in milliseconds from a mntr answer as a
// duration, or -1 if the key is missing.
func mntrMillis(m map[string]string, key string) time.Duration {
	if n := mntrInt(m, key); n >= 0 {
		return time.Duration(n) * time.Millisecond
	}
	return -1
}

// countSnapshots returns how many snapshot files dataDir holds.
func countSnapshots(b *testing.B, dataDir string) int {
	snaps, err := snapshotFiles(dataDir)
	if err != nil {
		b.Fatal(err)
	}
	return len(snaps)
}

// resetPeakRSS resets the process's VmHWM to its current RSS
// (/proc/<pid>/clear_refs, "5"), so that the next reading of VmHWM is the
// peak since now.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// jvmLiveHeap returns the bytes of live objects in the JVM's heap: the
// total of "jcmd <pid> GC.class_histogram", which runs a full collection
// first; -1 (logged) when jcmd cannot tell.
func jvmLiveHeap(b *testing.B, pid int) int64 {
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "jcmd", strconv.Itoa(pid), "GC.class_histogram").Output()
	if err != nil {
		b.Logf("jcmd %d GC.class_histogram: %v", pid, err)
		return -1
	}
	n, err := histogramTotal(out)
	if err != nil {
		b.Logf("jcmd %d GC.class_histogram: %v", pid, err)
		return -1
	}
	return n
}

// histogramTotal returns the byte count of the "Total" line of a JVM class
// histogram ("Total <instances> <bytes>").
func histogramTotal(out []byte) (int64, error) {
	for line := range bytes.Lines(out) {
		f := strings.Fields(string(line))
		if len(f) == 3 && f[0] == "Total" {
			return strconv.ParseInt(f[2], 10, 64)
		}
	}
	return 0, fmt.Errorf("no Total line in %d bytes of output", len(out))
}

func TestHistogramTotalReadsTheTotalLine(t *testing.T) {
	out := []byte("12345:\n num     #instances         #bytes  class name (module)\n-------------------------------------------------------\n   1:       1000000       56000000  org.apache.zookeeper.server.DataNode\nTotal       3000000      123456789\n")
	if n, err := histogramTotal(out); err != nil || n != 123456789 {
		t.Fatalf("histogramTotal = %d, %v; want 123456789", n, err)
	}
	if _, err := histogramTotal([]byte("12345:\nno histogram\n")); err == nil {
		t.Fatal("histogramTotal without a Total line succeeded")
	}
}

// mergedLatency merges the latencies of every round of t.
func mergedLatency(t *sustainedTarget) *loadgen.Histogram {
	var h loadgen.Histogram
	for _, r := range t.rounds {
		h.Merge(r.res.Latency)
	}
	return &h
}

// roundOps returns the ops/s of each round of t.
func roundOps(t *sustainedTarget) []float64 {
	var xs []float64
	for _, r := range t.rounds {
		xs = append(xs, r.res.Throughput())
	}
	return xs
}

func medianOps(t *sustainedTarget) float64 { return median(roundOps(t)) }

// spread formats the median of xs with their range.
func spread(xs []float64, format string) string {
	if len(xs) == 0 {
		return "n/a"
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", median(xs), slices.Min(xs), slices.Max(xs))
}

func printSustainedReport(w io.Writer, cfg settings, sustain time.Duration, snapCount int, shapes []*sustainedShape) {
	fmt.Fprintf(w, "\nSustained setData of %d B, %d sessions, snapCount=%d and forceSync=yes on both, go-zookeeper client, loopback; %d runs of %v per server per tree, interleaved, after a %v warm-up; %d CPUs, %s.\n",
		sustainedValue, cfg.sessions, snapCount, cfg.rounds, sustain, cfg.warmup, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(w, "- %s\n", placement())
	fmt.Fprintf(w, "- ZooKeeper with -Xmx%s -XX:+UseSerialGC\n", zkHeap())
	ratio := func(a, b float64) string { return fmt.Sprintf("**%.2f**", a/b) }
	for _, sh := range shapes {
		zkd, zk := sh.targets[0], sh.targets[1]
		fmt.Fprintf(w, "\n%s: %s\n\n", sh.name, sh.tree)
		fmt.Fprintln(w, "| server | ops/s median (min–max) | p50 | p99 | p99.9 | max | requests > 100 ms | server's max per run, ms (mntr) | longest sync per run, ms (mntr) | snapshots written | server CPU/op | peak RSS in the runs | steady RSS | peak ÷ steady |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, t := range sh.targets {
			h := mergedLatency(t)
			var snaps int
			var cpu time.Duration
			var peak int64
			var serverMax, syncMax []string
			all := &loadgen.Result{}
			for _, r := range t.rounds {
				snaps += r.snapshots
				cpu += r.cpu
				peak = max(peak, r.peak)
				all.Ops += r.res.Ops
				serverMax = append(serverMax, msOrNA(r.serverMax))
				syncMax = append(syncMax, msOrNA(r.syncMax))
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %d | %s | %s | %d | %s | %s | %s | %.2f |\n",
				t.name, spread(roundOps(t), "%.0f"),
				fmtDuration(h.Quantile(0.5)), fmtDuration(h.Quantile(0.99)), fmtDuration(h.Quantile(0.999)), fmtDuration(h.Max()),
				h.CountAbove(slowRequest), strings.Join(serverMax, ", "), strings.Join(syncMax, ", "), snaps, fmtDuration(perOp(cpu, all)),
				fmtBytes(peak), fmtBytes(t.steady.rss), float64(peak)/float64(t.steady.rss))
		}
		zh, kh := mergedLatency(zkd), mergedLatency(zk)
		fmt.Fprintf(w, "| zkd ÷ ZK | %s | %s | %s | %s | %s | | | | | | | | |\n",
			ratio(medianOps(zkd), medianOps(zk)),
			ratio(float64(zh.Quantile(0.5)), float64(kh.Quantile(0.5))),
			ratio(float64(zh.Quantile(0.99)), float64(kh.Quantile(0.99))),
			ratio(float64(zh.Quantile(0.999)), float64(kh.Quantile(0.999))),
			ratio(float64(zh.Max()), float64(kh.Max())))
		if sh.nodes == 0 {
			continue
		}
		n := float64(sh.nodes)
		perNode := func(a, b int64) string {
			if a < 0 || b < 0 {
				return "n/a"
			}
			return fmt.Sprintf("%.0f B", float64(b-a)/n)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| server | load creates/s | RSS before the load | peak RSS while loading | steady RSS | RSS per znode (steady − before) | live heap per znode | peak while loading ÷ steady |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|")
		for _, t := range sh.targets {
			heap := perNode(t.heapBefore, t.heapSteady)
			if !t.jvm {
				heap = "BenchmarkZkdTreeInProcess"
			}
			fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %s | %s | %.2f |\n",
				t.name, n/t.load.Seconds(), fmtBytes(t.before.rss), fmtBytes(t.loaded.peak), fmtBytes(t.steady.rss),
				perNode(t.before.rss, t.steady.rss), heap, float64(t.loaded.peak)/float64(t.steady.rss))
		}
		fmt.Fprintf(w, "| zkd ÷ ZK | %s | | %s | %s | %s | | |\n",
			ratio(zk.load.Seconds(), zkd.load.Seconds()),
			ratio(float64(zkd.loaded.peak), float64(zk.loaded.peak)),
			ratio(float64(zkd.steady.rss), float64(zk.steady.rss)),
			ratio(float64(zkd.steady.rss-zkd.before.rss), float64(zk.steady.rss-zk.before.rss)))
	}
	fmt.Fprintln(w)
}

// childrenTarget is one server of BenchmarkGetChildren.
type childrenTarget struct {
	*server
	conn    *zk.Conn
	latency loadgen.Histogram
	calls   int64
	cpu     time.Duration // server CPU time during the measured calls
}

// BenchmarkGetChildren measures getChildren of a node with 100,000
// children (ZKD_BENCH_CHILDREN) on zkd and Apache ZooKeeper 3.8 side by
// side: the server's CPU time per call (from /proc, 10 ms resolution, over
// 200 calls per round, ZKD_BENCH_CALLS) and the latency the client sees,
// one call at a time from one session, in ZKD_BENCH_ROUNDS rounds
// interleaved between the servers after ZKD_BENCH_WARMUP of unmeasured
// calls.
//
// It runs only with ZKD_BENCH_ISSUE11=1 and ignores b.N.
func BenchmarkGetChildren(b *testing.B) {
	requireIssue11(b)
	cfg := readSettings(b)
	children := envInt(b, envChildren, 100000)
	calls := envInt(b, envCalls, 200)
	ctx := b.Context()
	setup := loadgen.Config{Root: "/children", Keys: children, ValueSize: 1}
	parent := setup.Root + "/keys"

	targets := []*childrenTarget{{server: startZkd(b, "zkd", nil, nil)}, {server: startZooKeeper(b, "ZooKeeper", nil, nil)}}
	for _, t := range targets {
		conns, err := dialSessions(ctx, t.addr, loadConns)
		if err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		loaders := loadSessions(conns)
		if err := loadgen.Setup(ctx, loaders, setup); err != nil {
			b.Fatalf("%s: load: %v", t.name, err)
		}
		t.conn = conns[0]
	}
	call := func(t *childrenTarget) time.Duration {
		t0 := time.Now()
		names, _, err := t.conn.Children(parent)
		took := time.Since(t0)
		if err != nil || len(names) != children {
			b.Fatalf("%s: getChildren %s: %d names, %v; want %d", t.name, parent, len(names), err, children)
		}
		return took
	}
	for _, t := range targets {
		for end := time.Now().Add(cfg.warmup); time.Now().Before(end); {
			call(t)
		}
	}
	for r := range cfg.rounds {
		for k := range targets {
			t := targets[(k+r)%len(targets)]
			cpu0, _ := cpuTimes(b, t.server)
			for range calls {
				t.latency.Record(call(t))
			}
			cpu1, _ := cpuTimes(b, t.server)
			t.cpu += cpu1 - cpu0
			t.calls += int64(calls)
		}
	}

	w := os.Stdout
	fmt.Fprintf(w, "\ngetChildren of a node with %d children (names 0..%d), one call at a time from one go-zookeeper session, loopback; %d rounds of %d calls per server, interleaved, after a %v warm-up; %d CPUs, %s.\n",
		children, children-1, cfg.rounds, calls, cfg.warmup, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(w, "- %s\n\n", placement())
	fmt.Fprintln(w, "| server | server CPU per call | calls/s | p50 | p99 | max |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	perCall := func(t *childrenTarget) time.Duration { return t.cpu / time.Duration(t.calls) }
	for _, t := range targets {
		h := &t.latency
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s |\n", t.name, fmtDuration(perCall(t)),
			float64(time.Second)/float64(h.Mean()), fmtDuration(h.Quantile(0.5)), fmtDuration(h.Quantile(0.99)), fmtDuration(h.Max()))
	}
	zkd, zk := targets[0], targets[1]
	fmt.Fprintf(w, "| zkd ÷ ZK | **%.2f** | **%.2f** | **%.2f** | **%.2f** | **%.2f** |\n\n",
		float64(perCall(zkd))/float64(perCall(zk)), float64(zk.latency.Mean())/float64(zkd.latency.Mean()),
		float64(zkd.latency.Quantile(0.5))/float64(zk.latency.Quantile(0.5)),
		float64(zkd.latency.Quantile(0.99))/float64(zk.latency.Quantile(0.99)),
		float64(zkd.latency.Max())/float64(zk.latency.Max()))
	b.ReportMetric(float64(perCall(zkd))/float64(perCall(zk)), "cpu-per-call-zkd/zk")
	b.ReportMetric(float64(zkd.latency.Quantile(0.5))/float64(zk.latency.Quantile(0.5)), "p50-zkd/zk")
	b.ReportMetric(0, "ns/op")
}

// liveHeap collects garbage and returns the bytes of heap objects the
// collection found live.
func liveHeap() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// BenchmarkZkdTreeInProcess is zkd's side of BenchmarkSustainedSetData's
// 1,000,000-znode tree inside the test process, for profiles and for zkd's
// live heap per znode. It starts zkd through internal/server with
// snapCount=10000 (ZKD_BENCH_SNAPCOUNT) and the collector target of the
// zkd binary (GOGC=50), loads 1,000,000 znodes of 32 B under 1000 parents
// (ZKD_BENCH_RESTART_NODES, ZKD_BENCH_TREE_PARENTS, ZKD_BENCH_TREE_VALUE)
// through go-zookeeper on loopback, and reports the live heap per znode
// (after a collection, the client's connections closed). Then it runs
// sustained 1 KiB setData from 32 sessions (ZKD_BENCH_SESSIONS) on the
// first 1000 znodes (ZKD_BENCH_WRITE_KEYS) for 60 s (ZKD_BENCH_SUSTAIN),
// during which zkd writes snapshots of the whole tree, and reports ops/s,
// p99.9, max, requests over 100 ms and snapshots written.
//
// With ZKD_BENCH_PPROF=<dir> it writes load.cpu.pprof and load.heap.pprof
// (the heap profile with the tree loaded and the load's connections
// closed: bytes per znode by allocation site) and sustained.cpu.pprof and
// sustained.heap.pprof (snapshots under load) into dir. The load generator
// runs in the same process, so the CPU profiles include go-zookeeper's
// client: focus on zkd's packages (pprof -focus).
//
// It runs only with ZKD_BENCH_ISSUE11=1 and ignores b.N:
//
//	ZKD_BENCH_ISSUE11=1 ZKD_BENCH_PPROF=/tmp/prof go test ./test/bench -run '^$' -bench '^BenchmarkZkdTreeInProcess$' -benchtime 1x -v -timeout 30m
func BenchmarkZkdTreeInProcess(b *testing.B) {
	requireIssue11(b)
	settings := readSettings(b)
	shape := readTreeShape(b, 1000000, 1000, 32)
	sustain := envDur(b, envSustain, 60*time.Second)
	snapCount := envInt(b, envSnapCount, 10000)
	writeKeys := envInt(b, envWriteKeys, 1000)
	profile := profiler(b, os.Getenv(envPprof))
	defer debug.SetGCPercent(debug.SetGCPercent(50)) // as cmd/zkd sets it
	ctx := b.Context()

	cfg := inProcessConfig(b)
	cfg.Props["zookeeper.snapCount"] = strconv.Itoa(snapCount)
	s := startInProcess(b, cfg)
	defer s.Close()
	before := liveHeap() // before the client's connections and their buffers
	goroutines := runtime.NumGoroutine()
	conns, err := dialSessions(ctx, s.Addr().String(), max(loadConns, settings.sessions))
	if err != nil {
		b.Fatal(err)
	}
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	defer closeAll()
	loaders := loadSessions(conns)
	stop := profile("load")
	t0 := time.Now()
	setup := shape.config("/tree")
	if err := loadgen.Setup(ctx, loaders, setup); err != nil {
		b.Fatal(err)
	}
	took := time.Since(t0)
	closeAll() // the client's buffers out of the heap figures
	conns, loaders = nil, nil
	// Both ends of the connections wind down in their own goroutines.
	for end := time.Now().Add(30 * time.Second); runtime.NumGoroutine() > goroutines && time.Now().Before(end); {
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // polling a condition no channel signals
	}
	stop()
	loaded := liveHeap()
	perZnode := float64(loaded-before) / float64(shape.nodes)
	b.Logf("%v: loaded in %v (%.0f creates/s); live heap %d MiB before, %d MiB after: %.1f B per znode",
		shape, took, float64(shape.nodes)/took.Seconds(), before>>20, loaded>>20, perZnode)
	b.ReportMetric(perZnode, "live-heap-B/znode")

	if conns, err = dialSessions(ctx, s.Addr().String(), settings.sessions); err != nil {
		b.Fatal(err)
	}
	sessions := make([]loadgen.Session, len(conns))
	for i, c := range conns {
		sessions[i] = zkSession{c}
	}
	write := setup
	write.Workload, write.Duration = loadgen.SetData, sustain
	write.Keys, write.ValueSize = min(writeKeys, shape.nodes), sustainedValue
	snaps0 := countSnapshots(b, cfg.DataDir)
	if err := resetPeakRSS(os.Getpid()); err != nil {
		b.Fatal(err)
	}
	rss0, err := processMemory(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	stop = profile("sustained")
	runCtx, cancel := context.WithTimeout(ctx, sustain+5*time.Minute)
	defer cancel()
	res, err := loadgen.Run(runCtx, sessions, write)
	if err != nil {
		b.Fatal(err)
	}
	stop()
	rss1, err := processMemory(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	h := res.Latency
	snaps := countSnapshots(b, cfg.DataDir) - snaps0
	b.Logf("sustained %d B setData, %d sessions, snapCount=%d, %v: %.0f ops/s, p99 %v, p99.9 %v, max %v, %d requests over %v, %d snapshots written; process RSS %s before, peak %s (includes the client)",
		sustainedValue, len(sessions), snapCount, sustain, res.Throughput(), h.Quantile(0.99), h.Quantile(0.999), h.Max(),
		h.CountAbove(slowRequest), slowRequest, snaps, fmtBytes(rss0.rss), fmtBytes(rss1.peak))
	b.ReportMetric(res.Throughput(), "setData-ops/s")
	b.ReportMetric(float64(h.Quantile(0.999))/1e6, "p99.9-ms")
	b.ReportMetric(float64(snaps), "snapshots")
	b.ReportMetric(0, "ns/op")
}

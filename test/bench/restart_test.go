package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/loadgen"
	"github.com/zkd/zkd/internal/testcluster"
)

// Environment variables of BenchmarkRestart.
const (
	envRestartNodes = "ZKD_BENCH_RESTART_NODES" // znodes loaded; default 1000000
	envZKHeap       = "ZKD_BENCH_ZK_HEAP"       // ZooKeeper's -Xmx; default 2g
	envRestarts     = "ZKD_BENCH_RESTARTS"      // measured restarts from a plain snapshot; default 3
	envSettle       = "ZKD_BENCH_SETTLE"        // quiet time before the idle RSS is read; default 20s
	envTreeParents  = "ZKD_BENCH_TREE_PARENTS"  // parents the znodes are spread over (loadgen.Config.Parents); default one parent
	envTreeValue    = "ZKD_BENCH_TREE_VALUE"    // bytes of data per znode; default 100
)

// treeShape is the shape of the tree the 1,000,000-znode benchmarks load:
// Nodes znodes of Value bytes, under one parent or spread over Parents.
type treeShape struct{ nodes, parents, value int }

// readTreeShape reads ZKD_BENCH_RESTART_NODES, ZKD_BENCH_TREE_PARENTS and
// ZKD_BENCH_TREE_VALUE, with the given defaults.
func readTreeShape(b *testing.B, nodes, parents, value int) treeShape {
	return treeShape{
		nodes:   envInt(b, envRestartNodes, nodes),
		parents: envInt(b, envTreeParents, parents),
		value:   envInt(b, envTreeValue, value),
	}
}

// config returns the loadgen configuration that loads the tree under root.
func (t treeShape) config(root string) loadgen.Config {
	return loadgen.Config{Root: root, Keys: t.nodes, Parents: t.parents, ValueSize: t.value}
}

// probe returns the path of the last key and how many children its parent
// has.
func (t treeShape) probe(root string) (path, parent string, children int) {
	last := t.nodes - 1
	if t.parents == 0 {
		return fmt.Sprintf("%s/keys/%d", root, last), root + "/keys", t.nodes
	}
	parent = fmt.Sprintf("%s/keys/%d", root, last%t.parents)
	// Keys p, p+parents, p+2*parents, ... are the children of parent p.
	return fmt.Sprintf("%s/%d", parent, last/t.parents), parent, last/t.parents + 1
}

// String describes the tree for the reports.
func (t treeShape) String() string {
	if t.parents == 0 {
		return fmt.Sprintf("%d znodes of %d B under one parent", t.nodes, t.value)
	}
	return fmt.Sprintf("%d znodes of %d B under %d parents (%d each)", t.nodes, t.value, t.parents, t.nodes/t.parents)
}

// How BenchmarkRestart loads the tree: this many connections, each with
// this many creates in flight (go-zookeeper pipelines the requests of
// concurrent callers on one connection).
const (
	loadConns   = 8
	loadPerConn = 32
)

const (
	restartRoot    = "/restart"                                 // loadgen root of the loaded tree
	compressionKey = "-Dzookeeper.snapshot.compression.method=" // the flag both servers read
)

// restartTarget is one server kind restarted again and again on one data
// directory.
type restartTarget struct {
	name    string
	dataDir string
	// start runs the server on dataDir with the given -D flags and returns
	// once it answers ruok (zkd) or srvr (ZooKeeper).
	start func(flags []string) started
	// snapshotTook returns how long the running server took to write its
	// startup snapshot, or -1 if it cannot tell.
	snapshotTook func(s started, mntr map[string]string) time.Duration

	running started
	probe   []byte // the probed node's data, read before the first stop

	load       time.Duration // to create every node
	loadMemory memory        // after the load
	idle       memory        // after the last plain restart and a quiet while
	stops      []time.Duration
	starts     []startResult
	snapshots  []snapshotSize
}

// started is a running server.
type started struct {
	addr    string
	port    int
	logPath string
	stop    func()
}

// startResult is one start of a server on its data directory.
type startResult struct {
	label   string
	serving time.Duration // from the call that starts the process until a correct getData
	// dbInit and txnsLoaded are the server's own figures from mntr: the
	// time to load the snapshot and replay the log, and the transactions
	// replayed; -1 if mntr lacks them.
	dbInit, txnsLoaded int64
	snapshot           time.Duration // to write the startup snapshot; -1 unknown
	mem                memory        // right after serving
}

// snapshotSize is the newest snapshot on disk after a start.
type snapshotSize struct {
	compression string
	file        string
	size        int64
}

// BenchmarkRestart measures, for zkd and Apache ZooKeeper 3.8 side by side,
// how long a server holding 1,000,000 znodes of 100 bytes
// (ZKD_BENCH_RESTART_NODES; ZKD_BENCH_TREE_PARENTS spreads them over that
// many parents, ZKD_BENCH_TREE_VALUE sets their size) takes from process start until it serves a
// getData with the right data, its RSS then, and the size of its snapshot
// of that tree: plain, gz and snappy (zookeeper.snapshot.compression.method,
// set alike on both).
//
// Each server is loaded through 8 connections with 32 creates in flight on
// each, stopped with SIGTERM and started again on the same data directory,
// several times: first after the load (the newest snapshot plus the log
// written after it), then from a snapshot alone (ZKD_BENCH_RESTARTS times),
// then with each compression twice (the first start writes the compressed
// snapshot, the second loads it). Both servers write a snapshot of the
// whole tree at every start before they serve: ZooKeeper always does, zkd
// does when it replayed transactions, and the probe's own session leaves
// two behind. After the plain restarts both servers sit idle for 20s
// (ZKD_BENCH_SETTLE) and their RSS is read again. ZooKeeper runs with
// -Xmx2g (ZKD_BENCH_ZK_HEAP) instead of testcluster's -Xmx256m. Phases
// alternate between the servers.
//
// It runs only with ZKD_BENCH_STORAGE=1 and ignores b.N:
//
//	ZKD_BENCH_STORAGE=1 go test ./test/bench -run '^$' -bench '^BenchmarkRestart$' -benchtime 1x -timeout 40m
func BenchmarkRestart(b *testing.B) {
	requireStorageBench(b)
	shape := readTreeShape(b, 1000000, 0, loadgen.DefaultValueSize)
	restarts := envInt(b, envRestarts, 3)
	heap := zkHeap()
	settle := envDur(b, envSettle, 20*time.Second)
	testcluster.ZkdBinary(b) // build it now, not inside a timed start
	dirs := b.TempDir()
	newDir := func(name string) string {
		d := filepath.Join(dirs, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
		return d
	}
	targets := []*restartTarget{
		{name: "zkd", dataDir: newDir("zkd")},
		{name: "ZooKeeper", dataDir: newDir("zookeeper")},
	}
	targets[0].start = func(flags []string) started {
		z := testcluster.StartZkd(b, testcluster.ZkdOptions{DataDir: targets[0].dataDir, Flags: flags, CPUs: serverCPUs(b), Env: zkdEnv()})
		return started{addr: z.Addr, port: z.Port, logPath: z.LogPath, stop: z.Stop}
	}
	// After a restart zkd writes its startup snapshot in the background,
	// so mntr's snapshottime may not have it yet; its log says how long it
	// took.
	// When it replayed transactions, wait for that snapshot: otherwise the
	// next phase would find the previous snapshot newest, or stop zkd
	// before it has written the compressed one that phase should read.
	targets[0].snapshotTook = func(s started, m map[string]string) time.Duration {
		if mntrInt(m, "zk_sum_startup_txns_loaded") <= 0 {
			return zkdStartupSnapshot(s.logPath)
		}
		deadline := time.Now().Add(5 * time.Minute)
		for {
			if d := zkdStartupSnapshot(s.logPath); d >= 0 || time.Now().After(deadline) {
				return d
			}
			time.Sleep(50 * time.Millisecond) // polls the log: no signal says when the line is written
		}
	}
	targets[1].start = func(flags []string) started {
		jvm := append([]string{"-Xmx" + heap}, flags...) // the later -Xmx wins
		zk := testcluster.StartApacheZK(b, testcluster.ApacheOptions{DataDir: targets[1].dataDir, JVMFlags: jvm, CPUs: serverCPUs(b)})
		return started{addr: zk.Addr, port: zk.Port, logPath: zk.LogPath, stop: zk.Stop}
	}
	// ZooKeeper's mntr snapshottime counts its startup snapshot.
	targets[1].snapshotTook = func(_ started, m map[string]string) time.Duration {
		if n := mntrInt(m, "zk_cnt_snapshottime"); n != 1 {
			return -1
		}
		return time.Duration(mntrInt(m, "zk_sum_snapshottime")) * time.Millisecond
	}
	probePath, keysPath, keysChildren := shape.probe(restartRoot)

	// phase runs f for each target, the first one alternating between
	// phases so that neither always goes first.
	phaseNo := 0
	phase := func(f func(t *restartTarget)) {
		for k := range targets {
			f(targets[(k+phaseNo)%len(targets)])
		}
		phaseNo++
	}
	// start measures one start; the probe checks the data once the server
	// has started.
	start := func(t *restartTarget, label string, flags []string) {
		t0 := time.Now()
		t.running = t.start(flags)
		conns, err := dialSessions(b.Context(), t.running.addr, 1)
		if err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		defer conns[0].Close()
		want := t.probe
		path := probePath
		if want == nil { // empty data directory
			path, want = "/", []byte{}
		}
		got, _, err := conns[0].Get(path)
		if err != nil || !bytes.Equal(got, want) {
			b.Fatalf("%s, %s: getData %s = %q, %v; want %q", t.name, label, path, got, err, want)
		}
		r := startResult{label: label, serving: time.Since(t0)}
		if r.mem, err = t.memory(); err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		m, err := mntr(t.running.addr)
		if err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		r.dbInit, r.txnsLoaded = mntrInt(m, "zk_sum_dbinittime"), mntrInt(m, "zk_sum_startup_txns_loaded")
		r.snapshot = t.snapshotTook(t.running, m)
		if t.probe != nil {
			_, st, err := conns[0].Get(keysPath)
			if err != nil || int(st.NumChildren) != keysChildren {
				b.Fatalf("%s, %s: %s has %v children (%v), want %d", t.name, label, keysPath, st, err, keysChildren)
			}
		}
		t.starts = append(t.starts, r)
	}
	stop := func(t *restartTarget) {
		t0 := time.Now()
		t.running.stop()
		t.stops = append(t.stops, time.Since(t0))
	}
	recordSnapshot := func(t *restartTarget, compression string) {
		file, size, err := newestSnapshot(t.dataDir)
		if err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		t.snapshots = append(t.snapshots, snapshotSize{compression: compression, file: file, size: size})
	}

	phase(func(t *restartTarget) { start(t, "first start, empty dataDir", nil) })
	phase(func(t *restartTarget) {
		conns, err := dialSessions(b.Context(), t.running.addr, loadConns)
		if err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		sessions := loadSessions(conns)
		t0 := time.Now()
		if err := loadgen.Setup(b.Context(), sessions, shape.config(restartRoot)); err != nil {
			b.Fatalf("%s: load: %v", t.name, err)
		}
		t.load = time.Since(t0)
		if t.probe, _, err = conns[0].Get(probePath); err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		if t.loadMemory, err = t.memory(); err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
	})
	phase(func(t *restartTarget) {
		stop(t)
		start(t, "restart after the load: snapshot + log", nil)
	})
	for i := range restarts {
		phase(func(t *restartTarget) {
			stop(t)
			start(t, fmt.Sprintf("restart from a snapshot (%d)", i+1), nil)
		})
	}
	phase(func(t *restartTarget) { recordSnapshot(t, "none") })
	// A Go server returns freed memory to the OS over the following
	// minutes, a JVM mostly keeps it: read the RSS again after a quiet
	// while, with both servers idle.
	time.Sleep(settle)
	phase(func(t *restartTarget) {
		var err error
		if t.idle, err = t.memory(); err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
	})
	for _, c := range []string{"gz", "snappy"} {
		flags := []string{compressionKey + c}
		phase(func(t *restartTarget) {
			stop(t)
			start(t, "restart with "+c+": reads the last snapshot, writes "+c, flags)
		})
		phase(func(t *restartTarget) {
			stop(t)
			start(t, "restart from a "+c+" snapshot", flags)
			recordSnapshot(t, c)
		})
	}

	printRestartReport(os.Stdout, shape, heap, settle, targets)
	zkd, zk := targets[0], targets[1]
	b.ReportMetric(median(servingTimes(zkd, "restart from a snapshot"))/median(servingTimes(zk, "restart from a snapshot")), "restart-zkd/zk")
	b.ReportMetric(float64(zkd.snapshots[0].size)/float64(zk.snapshots[0].size), "snapshot-bytes-zkd/zk")
	b.ReportMetric(0, "ns/op")
}

// memory returns the running server's RSS.
func (t *restartTarget) memory() (memory, error) {
	pid, err := listenerPID(t.running.port)
	if err != nil {
		return memory{}, err
	}
	return processMemory(pid)
}

// zkdStartupSnapshot returns the "took" of the last "wrote snapshot" line
// in zkd's log (slog's text format), or -1.
func zkdStartupSnapshot(logPath string) time.Duration {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return -1
	}
	took := time.Duration(-1)
	for line := range strings.Lines(string(b)) {
		if !strings.Contains(line, `msg="wrote snapshot"`) {
			continue
		}
		for f := range strings.FieldsSeq(line) {
			if v, ok := strings.CutPrefix(f, "took="); ok {
				if d, err := time.ParseDuration(v); err == nil {
					took = d
				}
			}
		}
	}
	return took
}

// loadSessions returns the sessions that load a tree: loadPerConn on each
// of the first loadConns connections (go-zookeeper's Conn takes concurrent
// calls and pipelines them).
func loadSessions(conns []*zk.Conn) []loadgen.Session {
	sessions := make([]loadgen.Session, loadConns*loadPerConn)
	for i := range sessions {
		sessions[i] = zkSession{conns[i%loadConns]}
	}
	return sessions
}

// zkHeap returns ZooKeeper's -Xmx for the 1,000,000-znode benchmarks:
// ZKD_BENCH_ZK_HEAP, default 2g.
func zkHeap() string {
	if v := os.Getenv(envZKHeap); v != "" {
		return v
	}
	return "2g"
}

// envDur reads a non-negative duration from the environment, or
// returns def.
func envDur(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		b.Fatalf("%s=%q: want a duration such as %v", name, v, def)
	}
	return d
}

// envInt reads a positive integer from the environment, or returns def.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// servingTimes returns the serving times, in seconds, of the target's
// starts whose label begins with prefix.
func servingTimes(t *restartTarget, prefix string) []float64 {
	var out []float64
	for _, s := range t.starts {
		if strings.HasPrefix(s.label, prefix) {
			out = append(out, s.serving.Seconds())
		}
	}
	return out
}

// median returns the middle value (the mean of the two middle ones for an
// even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printRestartReport(w io.Writer, shape treeShape, heap string, settle time.Duration, targets []*restartTarget) {
	zkd, zk := targets[0], targets[1]
	ratio := func(a, b float64) string { return fmt.Sprintf("**%.2f**", a/b) }
	ms := func(n int64) string {
		if n < 0 {
			return "n/a"
		}
		return strconv.FormatInt(n, 10) + " ms"
	}
	dms := func(d time.Duration) string {
		if d < 0 {
			return "n/a"
		}
		return ms(d.Milliseconds())
	}
	secs := func(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

	nodes := shape.nodes
	fmt.Fprintf(w, "\n%v; forceSync=yes; ZooKeeper with -Xmx%s -XX:+UseSerialGC; loaded through %d connections with %d creates in flight each; %d CPUs, %s; %s.\n\n",
		shape, heap, loadConns, loadPerConn, runtime.NumCPU(), runtime.Version(), placement())

	fmt.Fprintln(w, "| | zkd | ZooKeeper | zkd ÷ ZK |")
	fmt.Fprintln(w, "|---|--:|--:|--:|")
	fmt.Fprintf(w, "| load: creates/s | %.0f | %.0f | %s |\n",
		float64(nodes)/zkd.load.Seconds(), float64(nodes)/zk.load.Seconds(), ratio(zk.load.Seconds(), zkd.load.Seconds()))
	fmt.Fprintf(w, "| RSS after the load | %s | %s | %s |\n",
		fmtBytes(zkd.loadMemory.rss), fmtBytes(zk.loadMemory.rss), ratio(float64(zkd.loadMemory.rss), float64(zk.loadMemory.rss)))
	fmt.Fprintf(w, "| peak RSS during the load | %s | %s | %s |\n",
		fmtBytes(zkd.loadMemory.peak), fmtBytes(zk.loadMemory.peak), ratio(float64(zkd.loadMemory.peak), float64(zk.loadMemory.peak)))
	last := len(servingTimes(zkd, "restart from a snapshot")) // the plain restart the idle RSS follows
	zr, kr := zkd.starts[1+last].mem.rss, zk.starts[1+last].mem.rss
	fmt.Fprintf(w, "| RSS at serving after the last restart from a snapshot | %s | %s | %s |\n", fmtBytes(zr), fmtBytes(kr), ratio(float64(zr), float64(kr)))
	fmt.Fprintf(w, "| RSS of the same process, idle for %v more | %s | %s | %s |\n",
		settle, fmtBytes(zkd.idle.rss), fmtBytes(zk.idle.rss), ratio(float64(zkd.idle.rss), float64(zk.idle.rss)))
	zs, ks := median(servingTimes(zkd, "restart from a snapshot")), median(servingTimes(zk, "restart from a snapshot"))
	fmt.Fprintf(w, "| restart to serving, from a snapshot (median) | %.2f s | %.2f s | %s |\n", zs, ks, ratio(zs, ks))
	var zStop, kStop []float64
	for _, d := range zkd.stops {
		zStop = append(zStop, d.Seconds())
	}
	for _, d := range zk.stops {
		kStop = append(kStop, d.Seconds())
	}
	fmt.Fprintf(w, "| SIGTERM to exit (median) | %.2f s | %.2f s | %s |\n", median(zStop), median(kStop), ratio(median(zStop), median(kStop)))
	for i := range zkd.snapshots {
		z, k := zkd.snapshots[i], zk.snapshots[i]
		fmt.Fprintf(w, "| snapshot size, compression %s | %.1f MiB | %.1f MiB | %s |\n",
			z.compression, float64(z.size)/(1<<20), float64(k.size)/(1<<20), ratio(float64(z.size), float64(k.size)))
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| start | zkd serving after | ZK serving after | zkd ÷ ZK | zkd db load | ZK db load | zkd startup snapshot | ZK startup snapshot | zkd txns replayed | ZK txns replayed | zkd RSS | ZK RSS | zkd ÷ ZK | zkd peak RSS | ZK peak RSS |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for i := range zkd.starts {
		z, k := zkd.starts[i], zk.starts[i]
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s |\n",
			z.label, secs(z.serving), secs(k.serving), ratio(z.serving.Seconds(), k.serving.Seconds()),
			ms(z.dbInit), ms(k.dbInit), dms(z.snapshot), dms(k.snapshot), z.txnsLoaded, k.txnsLoaded,
			fmtBytes(z.mem.rss), fmtBytes(k.mem.rss), ratio(float64(z.mem.rss), float64(k.mem.rss)),
			fmtBytes(z.mem.peak), fmtBytes(k.mem.peak))
	}

	// Snapshot speed: the newest snapshot's bytes over the startup
	// snapshot that wrote it and over the database load that read it.
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| snapshot (MB/s of the plain snapshot's bytes) | zkd write MB/s | ZK write MB/s | zkd ÷ ZK | zkd read (db load) MB/s | ZK read (db load) MB/s | zkd ÷ ZK |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
	for i := range zkd.snapshots {
		c := zkd.snapshots[i].compression
		writer, reader := "restart from a snapshot (1)", "restart from a snapshot (1)"
		if c != "none" {
			writer, reader = "restart with "+c+":", "restart from a "+c+" snapshot"
		}
		// In MB of the plain snapshot (the same tree in the same format on
		// both servers), so that the compressions compare by speed.
		speeds := func(t *restartTarget) (write, read float64) {
			mb := float64(t.snapshots[0].size) / 1e6
			for _, s := range t.starts {
				if strings.HasPrefix(s.label, writer) && s.snapshot > 0 {
					write = mb / s.snapshot.Seconds()
				}
				if strings.HasPrefix(s.label, reader) && s.dbInit > 0 {
					read = mb / (float64(s.dbInit) / 1000)
				}
			}
			return write, read
		}
		zw, zr := speeds(zkd)
		kw, kr := speeds(zk)
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %s | %.0f | %.0f | %s |\n", c, zw, kw, ratio(zw, kw), zr, kr, ratio(zr, kr))
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| snapshot | zkd file | zkd bytes | ZK file | ZK bytes | zkd ÷ ZK |")
	fmt.Fprintln(w, "|---|---|--:|---|--:|--:|")
	for i := range zkd.snapshots {
		z, k := zkd.snapshots[i], zk.snapshots[i]
		fmt.Fprintf(w, "| %s | %s | %d | %s | %d | %s |\n", z.compression, z.file, z.size, k.file, k.size, ratio(float64(z.size), float64(k.size)))
	}
	fmt.Fprintln(w)
}

package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/loadgen"
	"github.com/zkd/zkd/internal/testcluster"
)

// Environment variables that size the comparison.
const (
	envDuration = "ZKD_BENCH_DURATION" // measured time per workload per server; default 8s
	envRounds   = "ZKD_BENCH_ROUNDS"   // interleaved rounds the measured time is split into; default 2
	envWarmup   = "ZKD_BENCH_WARMUP"   // unmeasured time per workload per server first; default 1s
	envSessions = "ZKD_BENCH_SESSIONS" // concurrent sessions per server; default 32
	envNodes    = "ZKD_BENCH_NODES"    // nodes added at the end to compare memory; default 100000, 0 skips
)

// settings are the benchmark's knobs, read from the environment.
type settings struct {
	duration time.Duration
	rounds   int
	warmup   time.Duration
	sessions int
	nodes    int
}

func readSettings(tb testing.TB) settings {
	s := settings{duration: 8 * time.Second, rounds: 2, warmup: time.Second, sessions: 32, nodes: 100000}
	if v := os.Getenv(envDuration); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			tb.Fatalf("%s=%q: want a positive duration such as 8s", envDuration, v)
		}
		s.duration = d
	}
	if v := os.Getenv(envWarmup); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			tb.Fatalf("%s=%q: want a duration such as 1s", envWarmup, v)
		}
		s.warmup = d
	}
	for _, e := range []struct {
		name string
		dst  *int
	}{{envRounds, &s.rounds}, {envSessions, &s.sessions}} {
		if v := os.Getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				tb.Fatalf("%s=%q: want a positive integer", e.name, v)
			}
			*e.dst = n
		}
	}
	if v := os.Getenv(envNodes); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			tb.Fatalf("%s=%q: want a number of nodes", envNodes, v)
		}
		s.nodes = n
	}
	return s
}

// server is one server under test and what was measured on it.
type server struct {
	name     string // as the table shows it
	addr     string
	pid      int
	version  string // from "srvr", or "zkd version" until zkd answers srvr
	sessions []loadgen.Session
	dataDir  string
	stop     func() // stops the process, as testcluster's Stop

	results  map[loadgen.Workload]*loadgen.Result
	cpu      map[loadgen.Workload]time.Duration // server CPU time during the measured runs
	client   map[loadgen.Workload]time.Duration // the benchmark's own CPU time during them
	started  memory                             // before any session connected
	finished memory                             // after every run
	holding  memory                             // after adding settings.nodes nodes
}

// BenchmarkSideBySide measures getData, setData, create and a 90/10
// read/write mix with 32 concurrent sessions against zkd and Apache
// ZooKeeper 3.8, each twice: as configured by default (forceSync=yes: a
// write is answered once its transaction log is fsynced) and with
// -Dzookeeper.forceSync=no. All four run standalone on loopback at once.
// Each server runs each workload for the same measured time, split into
// rounds interleaved across the servers so that a burst of noise on a shared
// machine hits all of them alike. It prints the figures as Markdown tables,
// comparing zkd with ZooKeeper at the same forceSync setting.
//
// It ignores b.N; run it with -benchtime 1x. See the package doc for the
// command and the ZKD_BENCH_* variables for its size.
func BenchmarkSideBySide(b *testing.B) {
	cfg := readSettings(b)
	ctx := b.Context()

	noSync := []string{"-Dzookeeper.forceSync=no"}
	pairs := []pair{
		{forceSync: "yes", zkd: startZkd(b, "zkd", nil, nil), zk: startZooKeeper(b, "ZooKeeper", nil, nil)},
		{forceSync: "no", zkd: startZkd(b, "zkd forceSync=no", noSync, nil), zk: startZooKeeper(b, "ZooKeeper forceSync=no", noSync, nil)},
	}
	var servers []*server
	for _, p := range pairs {
		servers = append(servers, p.zkd, p.zk)
	}
	for _, s := range servers {
		conns, err := dialSessions(ctx, s.addr, cfg.sessions)
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
		if err := loadgen.Setup(ctx, s.sessions, loadgen.Config{}); err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
	}

	run := func(s *server, w loadgen.Workload, d time.Duration) *loadgen.Result {
		ctx, cancel := context.WithTimeout(ctx, d+2*time.Minute)
		defer cancel()
		// Both CPU times include the unmeasured clean-up of Create.
		srv0, cli0 := cpuTimes(b, s)
		res, err := loadgen.Run(ctx, s.sessions, loadgen.Config{Workload: w, Duration: d})
		if err != nil {
			b.Fatalf("%s, %v: %v", s.name, w, err)
		}
		srv1, cli1 := cpuTimes(b, s)
		s.cpu[w] += srv1 - srv0
		s.client[w] += cli1 - cli0
		return res
	}

	// The warm-up lets the JVM compile its hot paths before anything is
	// measured.
	if cfg.warmup > 0 {
		for _, w := range loadgen.Workloads() {
			for _, s := range servers {
				run(s, w, cfg.warmup)
			}
		}
	}
	for _, s := range servers {
		clear(s.cpu)
		clear(s.client)
	}
	perRound := cfg.duration / time.Duration(cfg.rounds)
	for r := range cfg.rounds {
		for i, w := range loadgen.Workloads() {
			// Rotate which server goes first so that none is always
			// measured straight after a particular other.
			for k := range servers {
				s := servers[(k+r+i)%len(servers)]
				if s.results[w] == nil {
					s.results[w] = new(loadgen.Result)
				}
				s.results[w].Merge(run(s, w, perRound))
			}
		}
	}

	for _, s := range servers {
		m, err := processMemory(s.pid)
		if err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		s.finished = m
	}
	// The runs leave each server with a different history (zkd made more
	// nodes in the create runs, for one), so memory is compared again once
	// every server holds the same extra nodes.
	if cfg.nodes > 0 {
		for _, s := range servers {
			err := loadgen.Setup(ctx, s.sessions, loadgen.Config{Root: "/loadgen-memory", Keys: cfg.nodes})
			if err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
			if s.holding, err = processMemory(s.pid); err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
		}
	}

	printReport(os.Stdout, cfg, pairs, servers)
	for _, w := range loadgen.Workloads() {
		name := strings.ReplaceAll(w.String(), "/", "-")
		for _, p := range pairs {
			unit := name + "-ops-zkd/zk"
			if p.forceSync == "no" {
				unit += "-nosync"
			}
			b.ReportMetric(p.zkd.results[w].Throughput()/p.zk.results[w].Throughput(), unit)
		}
	}
	b.ReportMetric(0, "ns/op")
}

// cpuTimes returns the CPU time used so far by s and by this process.
func cpuTimes(b *testing.B, s *server) (srv, client time.Duration) {
	srv, err := processCPU(s.pid)
	if err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	if client, err = processCPU(os.Getpid()); err != nil {
		b.Fatal(err)
	}
	return srv, client
}

// pair is zkd and ZooKeeper run with the same forceSync setting.
type pair struct {
	forceSync string // "yes" or "no"
	zkd, zk   *server
}

// startZkd starts zkd with the -D flags and the extra zoo.cfg lines.
func startZkd(b *testing.B, name string, flags, extraConfig []string) *server {
	z := testcluster.StartZkd(b, testcluster.ZkdOptions{Flags: flags, ExtraConfig: extraConfig, CPUs: serverCPUs(b), Env: zkdEnv()})
	s := newServer(b, name, z.Addr, z.Port)
	s.dataDir, s.stop = z.DataDir, z.Stop
	if s.version == "" {
		// Until zkd answers "srvr", ask the binary.
		out, err := exec.CommandContext(b.Context(), testcluster.ZkdBinary(b), "version").Output()
		if err != nil {
			b.Fatalf("zkd version: %v", err)
		}
		s.version = strings.TrimSpace(string(out))
	}
	return s
}

// startZooKeeper starts Apache ZooKeeper with the JVM flags and the extra
// zoo.cfg lines.
func startZooKeeper(b *testing.B, name string, jvmFlags, extraConfig []string) *server {
	zk := testcluster.StartApacheZK(b, testcluster.ApacheOptions{JVMFlags: jvmFlags, ExtraConfig: extraConfig, CPUs: serverCPUs(b)})
	s := newServer(b, name, zk.Addr, zk.Port)
	s.dataDir, s.stop = zk.DataDir, zk.Stop
	return s
}

func newServer(b *testing.B, name, addr string, port int) *server {
	s := &server{
		name:    name,
		addr:    addr,
		results: map[loadgen.Workload]*loadgen.Result{},
		cpu:     map[loadgen.Workload]time.Duration{},
		client:  map[loadgen.Workload]time.Duration{},
	}
	var err error
	if s.pid, err = listenerPID(port); err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	if s.started, err = processMemory(s.pid); err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	if srvr, err := testcluster.FourLetter(addr, "srvr"); err == nil {
		first, _, _ := strings.Cut(srvr, "\n")
		if v, ok := strings.CutPrefix(first, "Zookeeper version: "); ok {
			s.version = v
		}
	}
	return s
}

// printReport writes the figures as Markdown: zkd next to ZooKeeper with
// the same forceSync setting, with zkd's figures as ratios of ZooKeeper's;
// every server's figures in full; then the servers' memory.
func printReport(w io.Writer, cfg settings, pairs []pair, servers []*server) {
	fmt.Fprintf(w, "\n%d sessions per server, go-zookeeper client, loopback; %v measured per workload per server in %d interleaved rounds after a %v warm-up; %d CPUs, %s.\n\n",
		cfg.sessions, cfg.duration, cfg.rounds, cfg.warmup, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(w, "- %s\n", placement())
	for _, s := range servers {
		fmt.Fprintf(w, "- %s (pid %d): %s\n", s.name, s.pid, s.version)
	}

	ratio := func(a, b float64) string { return fmt.Sprintf("**%.2f**", a/b) }
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | forceSync | zkd ops/s | ZK ops/s | zkd ÷ ZK | zkd p50 | ZK p50 | zkd ÷ ZK | zkd p99 | ZK p99 | zkd ÷ ZK | zkd CPU/op | ZK CPU/op | zkd ÷ ZK |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, wl := range loadgen.Workloads() {
		for _, p := range pairs {
			z, k := p.zkd.results[wl], p.zk.results[wl]
			zp50, kp50 := z.Latency.Quantile(0.5), k.Latency.Quantile(0.5)
			zp99, kp99 := z.Latency.Quantile(0.99), k.Latency.Quantile(0.99)
			zcpu, kcpu := perOp(p.zkd.cpu[wl], z), perOp(p.zk.cpu[wl], k)
			fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				wl, p.forceSync,
				z.Throughput(), k.Throughput(), ratio(z.Throughput(), k.Throughput()),
				fmtDuration(zp50), fmtDuration(kp50), ratio(float64(zp50), float64(kp50)),
				fmtDuration(zp99), fmtDuration(kp99), ratio(float64(zp99), float64(kp99)),
				fmtDuration(zcpu), fmtDuration(kcpu), ratio(float64(zcpu), float64(kcpu)))
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | server | ops/s | p50 | p99 | p99.9 | max | server CPU/op | client CPU/op |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, wl := range loadgen.Workloads() {
		for _, s := range servers {
			r := s.results[wl]
			h := r.Latency
			fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s |\n",
				wl, s.name, r.Throughput(),
				fmtDuration(h.Quantile(0.5)), fmtDuration(h.Quantile(0.99)), fmtDuration(h.Quantile(0.999)), fmtDuration(h.Max()),
				fmtDuration(perOp(s.cpu[wl], r)), fmtDuration(perOp(s.client[wl], r)))
		}
	}

	fmt.Fprintln(w)
	header, rule := "| server | RSS after start | RSS after the runs | peak RSS in the runs |", "|---|--:|--:|--:|"
	if cfg.nodes > 0 {
		header += fmt.Sprintf(" RSS holding %d more nodes of %d B |", cfg.nodes, loadgen.DefaultValueSize)
		rule += "--:|"
	}
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, rule)
	for _, s := range servers {
		fmt.Fprintf(w, "| %s | %s | %s | %s |", s.name, fmtBytes(s.started.rss), fmtBytes(s.finished.rss), fmtBytes(s.finished.peak))
		if cfg.nodes > 0 {
			fmt.Fprintf(w, " %s |", fmtBytes(s.holding.rss))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// perOp divides a CPU time by the run's operations.
func perOp(cpu time.Duration, r *loadgen.Result) time.Duration {
	if r.Ops == 0 {
		return 0
	}
	return cpu / time.Duration(r.Ops)
}

func fmtDuration(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func fmtBytes(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

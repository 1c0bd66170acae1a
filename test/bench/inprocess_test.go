package bench

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/loadgen"
	zkdserver "github.com/zkd/zkd/internal/server"
)

// envPprof names a directory for BenchmarkZkdRestartInProcess's profiles.
const envPprof = "ZKD_BENCH_PPROF"

// profiler returns a function that starts a CPU profile named name in dir
// and returns the function that stops it and writes a heap profile of the
// live heap next to it: name.cpu.pprof and name.heap.pprof. It creates
// dir if needed; with dir empty it profiles nothing.
func profiler(b *testing.B, dir string) func(name string) (stop func()) {
	return func(name string) func() {
		if dir == "" {
			return func() {}
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		return func() {
			pprof.StopCPUProfile()
			f.Close()
			runtime.GC() // the heap profile shows the live heap as of the last GC
			h, err := os.Create(filepath.Join(dir, name+".heap.pprof"))
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			if err := pprof.WriteHeapProfile(h); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// inProcessConfig returns the configuration of an in-process zkd server: a
// free loopback port and a fresh data directory.
func inProcessConfig(b *testing.B) *config.Config {
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.DataDir = b.TempDir()
	cfg.DataLogDir = cfg.DataDir
	return cfg
}

// startInProcess starts a zkd server inside the test process, logging at
// info level to the benchmark's output.
func startInProcess(b *testing.B, cfg *config.Config) *zkdserver.Server {
	logger := slog.New(slog.NewTextHandler(b.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := zkdserver.New(cfg, zkdserver.Options{Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkZkdRestartInProcess runs BenchmarkRestart's zkd side inside the
// test process, through internal/server, so that it can be profiled: it
// loads ZKD_BENCH_RESTART_NODES znodes of 100 bytes (default 1,000,000;
// ZKD_BENCH_TREE_PARENTS and ZKD_BENCH_TREE_VALUE shape them) as
// BenchmarkRestart does, then restarts it ZKD_BENCH_RESTARTS times
// (default 3), each time server.New (load the newest snapshot, replay the
// log after it, write the startup snapshot), Start, a getData through a new
// session, and Close. It ignores b.N and reports the last restart's time
// to serving. With
// ZKD_BENCH_PPROF=<dir> it writes CPU profiles of the load and of the
// restarts, and heap profiles after each, into dir; the server logs its
// own timings (database loaded, wrote snapshot) to the benchmark's output,
// which -v shows in full.
// The heap profiles are taken while the server holds the tree.
//
// It runs only with ZKD_BENCH_STORAGE=1:
//
//	ZKD_BENCH_STORAGE=1 ZKD_BENCH_PPROF=/tmp/prof go test ./test/bench -run '^$' -bench ZkdRestartInProcess -benchtime 1x -v -timeout 30m
func BenchmarkZkdRestartInProcess(b *testing.B) {
	requireStorageBench(b)
	shape := readTreeShape(b, 1000000, 0, loadgen.DefaultValueSize)
	nodes := shape.nodes
	restarts := envInt(b, envRestarts, 3)
	profile := profiler(b, os.Getenv(envPprof))

	cfg := inProcessConfig(b)
	newServer := func() *zkdserver.Server { return startInProcess(b, cfg) }

	s := newServer()
	conns, err := dialSessions(b.Context(), s.Addr().String(), loadConns)
	if err != nil {
		b.Fatal(err)
	}
	sessions := loadSessions(conns)
	stopProfile := profile("load")
	t0 := time.Now()
	if err := loadgen.Setup(b.Context(), sessions, shape.config(restartRoot)); err != nil {
		b.Fatal(err)
	}
	took := time.Since(t0)
	stopProfile()
	probePath, _, _ := shape.probe(restartRoot)
	want, _, err := conns[0].Get(probePath)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range conns {
		c.Close()
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Logf("loaded %d znodes in %v (%.0f creates/s); Go heap in use %d MiB, from the OS %d MiB",
		nodes, took, float64(nodes)/took.Seconds(), ms.HeapInuse>>20, ms.Sys>>20)

	stopProfile = profile("restart")
	for i := range restarts {
		t0 := time.Now()
		s := newServer()
		conns, err := dialSessions(b.Context(), s.Addr().String(), 1)
		if err != nil {
			b.Fatal(err)
		}
		got, _, err := conns[0].Get(probePath)
		if err != nil || !bytes.Equal(got, want) {
			b.Fatalf("getData %s = %q, %v; want %q", probePath, got, err, want)
		}
		serving := time.Since(t0)
		if i == restarts-1 {
			stopProfile() // with the server still holding the tree
		}
		conns[0].Close() // its session's two transactions make the next start replay, and so write a snapshot
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		b.Logf("restart %d: serving after %v; Go heap in use %d MiB, from the OS %d MiB", i+1, serving, ms.HeapInuse>>20, ms.Sys>>20)
		b.ReportMetric(serving.Seconds(), "s/restart")
	}
	b.ReportMetric(0, "ns/op")
}

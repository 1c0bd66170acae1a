package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables that place the benchmarks' processes on CPUs.
const (
	// envServerCPUs is a taskset CPU list ("1", "0-1") that every server
	// the benchmarks start runs on; unset, servers run anywhere.
	envServerCPUs = "ZKD_BENCH_SERVER_CPUS"
	// envClientCPUs is a taskset CPU list that the test process, and with
	// it the load generator, is moved to before the first server starts.
	envClientCPUs = "ZKD_BENCH_CLIENT_CPUS"
	// envZkdGOMAXPROCS, when set, is zkd's GOMAXPROCS; unset, zkd server
	// chooses (package procs: one P on one or two CPUs where the log
	// syncs through io_uring, Go's default otherwise).
	envZkdGOMAXPROCS = "ZKD_BENCH_ZKD_GOMAXPROCS"
)

// serverCPUs returns the CPU list servers run on ("" for any), first
// moving the test process to ZKD_BENCH_CLIENT_CPUS if that is set.
func serverCPUs(tb testing.TB) string {
	if err := pinClient(); err != nil {
		tb.Fatal(err)
	}
	return os.Getenv(envServerCPUs)
}

// zkdEnv returns the environment entries zkd servers get.
func zkdEnv() []string {
	if v := os.Getenv(envZkdGOMAXPROCS); v != "" {
		return []string{"GOMAXPROCS=" + v}
	}
	return nil
}

// pinClient moves every thread of the test process to ZKD_BENCH_CLIENT_CPUS,
// once. Threads the runtime starts later inherit the affinity of the thread
// that starts them, so the whole process stays there.
var pinClient = sync.OnceValue(func() error {
	cpus := os.Getenv(envClientCPUs)
	if cpus == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "taskset", "-a", "-p", "-c", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s=%s: taskset: %v: %s", envClientCPUs, cpus, err, strings.TrimSpace(string(out)))
	}
	return nil
})

// placement describes where the servers and the load generator run, for
// the reports.
func placement() string {
	p := func(v string) string {
		if v == "" {
			return "any CPU"
		}
		return "CPUs " + v
	}
	s := fmt.Sprintf("servers on %s (taskset), load generator on %s", p(os.Getenv(envServerCPUs)), p(os.Getenv(envClientCPUs)))
	if v := os.Getenv(envZkdGOMAXPROCS); v != "" {
		s += ", zkd GOMAXPROCS=" + v
	} else {
		s += ", zkd GOMAXPROCS its own (one P on one or two CPUs, Go's default on more)"
	}
	return s
}

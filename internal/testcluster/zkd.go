package testcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ZkdPackage is the import path of the zkd command that StartZkd builds.
const ZkdPackage = "github.com/zkd/zkd/cmd/zkd"

// ZkdOptions adjusts the zkd server StartZkd runs.
type ZkdOptions struct {
	// ExtraConfig lines are appended to the generated zoo.cfg.
	ExtraConfig []string
	// Flags follow the config path on zkd's command line, each of the form
	// "-Dkey=value" like the Java system properties Apache ZooKeeper reads,
	// for example "-Dzookeeper.extendedTypesEnabled=true".
	Flags []string
	// DataDir, when set, is used as the server's data directory (which must
	// exist) instead of a fresh one: a restart on what an earlier server
	// left behind.
	DataDir string
	// Env entries ("KEY=value") are added to the server's environment,
	// for example "GOMAXPROCS=2".
	Env []string
	// CPUs, when set, runs the server under "taskset -c CPUs" (a CPU list
	// such as "1" or "0-1"), so that it and its threads use only those
	// CPUs from the start.
	CPUs string
}

// Zkd is a zkd server running as a child process of the test. It is stopped
// when the test ends.
type Zkd struct {
	Addr    string // "127.0.0.1:port", for clients
	Port    int    // the client port
	DataDir string // zkd's data directory, inside the test's temp dir
	LogPath string // the server's stdout and stderr

	srv *server
}

// StartZkd builds zkd (once per test process) and starts it as
//
//	zkd server <dir>/zoo.cfg [opts.Flags...]
//
// on a free loopback port with a fresh data directory, and returns once it
// answers "ruok" with "imok". The generated zoo.cfg sets tickTime=2000, the
// client port and address, dataDir and 4lw.commands.whitelist=*, then
// opts.ExtraConfig.
//
// If the module has no zkd command yet, the test is skipped (failed when
// ZKD_REQUIRE_INTEROP=1); if the command does not compile, or the server
// does not come up within 30 seconds, the test fails.
func StartZkd(t testing.TB, opts ZkdOptions) *Zkd {
	t.Helper()
	bin := ZkdBinary(t)
	dir := t.TempDir()
	z := &Zkd{DataDir: opts.DataDir, LogPath: filepath.Join(dir, "zkd.log")}
	if z.DataDir == "" {
		z.DataDir = filepath.Join(dir, "data")
		if err := os.Mkdir(z.DataDir, 0o755); err != nil {
			t.Fatalf("StartZkd: %v", err)
		}
	}
	command := func(cfg string) *exec.Cmd {
		cmd := pinned(opts.CPUs, bin, append([]string{"server", cfg}, opts.Flags...)...)
		if len(opts.Env) > 0 {
			cmd.Env = append(os.Environ(), opts.Env...)
		}
		return cmd
	}
	z.srv, z.Port, z.Addr = launch(t, "zkd", dir, z.DataDir, z.LogPath, opts.ExtraConfig, command, answersRuok)
	return z
}

// Stop ends the server with SIGTERM, then SIGKILL if it has not exited
// within ten seconds, and returns once it is gone. Calling it again, or after
// Kill, does nothing.
func (z *Zkd) Stop() { z.srv.stop() }

// Kill ends the server with SIGKILL, as a crash would, and returns once it
// is gone.
func (z *Zkd) Kill() { z.srv.kill() }

// LogTail returns the last lines of the server's log, labelled with its path.
func (z *Zkd) LogTail() string { return z.srv.logTail() }

// ZkdBinary returns the path of a zkd binary built from this module with
// "go build", building it on the first call in the test process. When the
// tests run with -race, zkd is built with -race too, and a data race it
// reports fails the test that ran it. It skips
// the test when the module has no zkd command (see StartZkd) and fails it
// when the build fails.
func ZkdBinary(t testing.TB) string {
	t.Helper()
	b := buildZkd()
	switch {
	case b.absent:
		skipOrFail(t, "zkd binary not available: %s has no Go package yet:\n%s", ZkdPackage, b.output)
	case b.err != nil:
		t.Fatalf("build %s: %v\n%s", ZkdPackage, b.err, b.output)
	}
	return b.path
}

// zkdBuild is the outcome of building zkd, shared by every test in the
// process.
type zkdBuild struct {
	dir    string // temporary directory holding the binary; Main removes it
	path   string
	output string // go build's output
	absent bool   // the package does not exist (as opposed to not compiling)
	err    error
}

var (
	buildOnce sync.Once
	built     zkdBuild
)

func buildZkd() zkdBuild {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zkd-testcluster-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		built.path = filepath.Join(dir, "zkd")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		args := []string{"build", "-o", built.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.CommandContext(ctx, "go", append(args, ZkdPackage)...)
		out, err := cmd.CombinedOutput()
		built.output = strings.TrimSpace(string(out))
		if err != nil {
			built.err = err
			built.absent = packageAbsent(built.output)
		}
	})
	return built
}

// packageAbsent reports whether go build's output says the package does not
// exist or has no Go files, rather than that it failed to compile.
func packageAbsent(out string) bool {
	for _, s := range []string{
		"no Go files in",
		"cannot find package",
		"is not in std",
		"no required module provides package",
		"matched no packages",
		"directory not found",
	} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// Main runs a test binary's tests and then removes the zkd binary built for
// them. Call it from TestMain in packages that use StartZkd:
//
//	func TestMain(m *testing.M) { os.Exit(testcluster.Main(m)) }
//
// Without it the binary is left in the system temporary directory.
func Main(m *testing.M) int {
	code := m.Run()
	if built.dir != "" {
		if err := os.RemoveAll(built.dir); err != nil {
			fmt.Fprintf(os.Stderr, "testcluster: remove zkd build dir: %v\n", err)
		}
	}
	return code
}

// ZkdCli runs "zkd cli -server addr args..." once with the zkd binary bin
// (from ZkdBinary), like ZkCli runs zkCli.sh, and returns its stdout and
// stderr. With stdin non-empty and no args, the cli reads its commands
// from stdin. Times in Stat output are printed in UTC.
func ZkdCli(ctx context.Context, bin, addr, stdin string, args ...string) (stdout, stderr string, err error) {
	return ZkdCliWith(ctx, bin, ZkCliOptions{}, addr, stdin, args...)
}

// ZkdCliWith is ZkdCli with the options ZkCliWith takes, applied the way
// zkCli.sh's would be: opts.JVMFlags become the CLIENT_JVMFLAGS variable
// (whose -D flags zkd cli reads), opts.Env is added to the environment
// and opts.Args go before "-server".
func ZkdCliWith(ctx context.Context, bin string, opts ZkCliOptions, addr, stdin string, args ...string) (stdout, stderr string, err error) {
	argv := append(append(append([]string{"cli"}, opts.Args...), "-server", addr), args...)
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	if len(opts.JVMFlags) > 0 {
		cmd.Env = append(cmd.Env, "CLIENT_JVMFLAGS="+strings.Join(opts.JVMFlags, " "))
	}
	cmd.Env = append(cmd.Env, opts.Env...)
	cmd.Stdin = strings.NewReader(stdin)
	stdout, stderr, err = runOneShot(ctx, cmd)
	if err != nil && ExitCode(err) == -1 {
		err = fmt.Errorf("zkd cli %s: %w\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout, stderr, err
}

// RunZkCliScript runs zkCli.sh against the server at addr with script on its
// stdin (one command per line; zkCli.sh reads them without a prompt when
// stdin is not a terminal) and returns its stdout and stderr as ZkCli
// cleans them, without the "Welcome" and "JLine" banner lines.
func RunZkCliScript(ctx context.Context, addr, script string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, ZkCliScript, "-server", addr)
	cmd.Env = append(os.Environ(),
		"CLIENT_JVMFLAGS="+zkCliJVMFlags,
		"TZ=UTC")
	cmd.Stdin = strings.NewReader(script)
	stdout, stderr, err = runOneShot(ctx, cmd)
	if err != nil && ExitCode(err) == -1 {
		err = fmt.Errorf("zkCli script: %w\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	var kept []string
	for _, l := range strings.SplitAfter(CleanZkCliStdout(stdout), "\n") {
		if l == "Welcome to ZooKeeper!\n" || strings.HasPrefix(l, "JLine support is ") {
			continue
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, ""), CleanZkCliStderr(stderr), err
}

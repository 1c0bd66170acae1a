// Command zkd is a ZooKeeper-compatible coordination server.
//
// Usage:
//
//	zkd                               standalone server on 127.0.0.1:2181
//	zkd server [zoo.cfg] [-Dkey=value ...]
//	zkd ensemble [-n 3] DIR
//	zkd log dump|check FILE...
//	zkd snapshot dump|check FILE...
//	zkd purge [-n count] dataDir [dataLogDir]
//	zkd status host:port
//	zkd 4lw host:port word
//	zkd version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/zkd/zkd/internal/cli"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/procs"
	"github.com/zkd/zkd/internal/server"
	"github.com/zkd/zkd/internal/storage"
	"golang.org/x/term"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "cli" {
		os.Exit(cli.Main(os.Args[2:], cli.Config{
			Version:  server.Version,
			Stdin:    os.Stdin,
			Stdout:   os.Stdout,
			Stderr:   os.Stderr,
			Terminal: terminals,
			Getenv:   os.Getenv,
		}))
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "zkd:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  zkd                                   run a standalone server on 127.0.0.1:2181
  zkd server [flags] [zoo.cfg] [-Dkey=value ...]
                                        run a server from a zoo.cfg
  zkd ensemble [-n 3] [-client-port 2181] [-quorum-port 2888] [-election-port 3888] DIR
                                        write DIR/zkN/zoo.cfg and myid, run N local servers until Ctrl-C
  zkd log dump [--json] FILE...         print transaction log entries, one per line
  zkd log check FILE...                 verify log checksums; report the first bad offset
  zkd snapshot dump [--json] [--detail] FILE
                                        summarise a snapshot (every node with --detail)
  zkd snapshot check FILE...            verify snapshot checksums; report the bad offset
  zkd purge [-n count] dataDir [dataLogDir]
                                        delete snapshots and logs older than the newest count
  zkd cli [-server host:port,...] [-json] [-client-configuration file] [-Dkey=value...] [command args...]
                                        zkCli.sh's commands, one-shot or as an interactive shell
  zkd status host:port                  the server's mode, zxid and connections (like zkServer.sh status)
  zkd 4lw host:port word                send a four-letter word (ruok, srvr, mntr, ...)
  zkd version                           print the version
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return serve(nil, stderr)
	}
	switch args[0] {
	case "server":
		return serve(args[1:], stderr)
	case "ensemble":
		return runEnsemble(args[1:], stdout, stderr)
	case "log":
		return runLog(args[1:], stdout, stderr)
	case "snapshot":
		return runSnapshot(args[1:], stdout, stderr)
	case "purge":
		return runPurge(args[1:], stdout, stderr)
	case "status":
		return runStatus(args[1:], stdout)
	case "4lw":
		return runFourLetter(args[1:], stdout)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "zkd %s\n", server.Version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// terminals reports whether stdin and stdout are both a terminal (zkd
// cli's interactive mode) and whether stderr is one (progress reports).
func terminals() (interactive, progress bool) {
	isTerm := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	return isTerm(os.Stdin) && isTerm(os.Stdout), isTerm(os.Stderr)
}

// serverGCPercent is the collector's target heap growth for a server
// unless GOGC says otherwise. A server's heap is mostly its long-lived
// tree, so Go's default of 100 (collect when the heap has doubled) keeps
// as much garbage room as the tree itself. With 50, the RSS of a
// 1,000,000-znode server after loading fell by a sixth and, after a
// background snapshot, by a quarter, while throughput and CPU per
// operation stayed within run-to-run noise (docs/benchmarks.md, "Garbage
// collector target"). GOMEMLIMIT works as usual.
const serverGCPercent = 50

// setGCTarget applies serverGCPercent when the operator has not set GOGC.
func setGCTarget(log *slog.Logger) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(serverGCPercent)
	log.Debug("garbage collector target set", "gogc", serverGCPercent)
}

// minServerProcs is the fewest Ps (GOMAXPROCS) a server runs with unless
// the GOMAXPROCS variable says otherwise, where the transaction log's
// fdatasync has to block a thread. Go gives a process pinned to one CPU,
// or limited to one by its cgroup, a single P; a goroutine blocked in
// fdatasync holds it for the whole call unless the runtime's monitor
// takes it back (after 20 µs to 10 ms), so nothing reads, prepares or
// answers requests meanwhile and each sync carries only the few writes
// that arrived before it started. With a second P the core and the
// connections run while the log syncs. Where the log syncs through
// io_uring ([storage.SyncsWithoutBlocking]) nothing holds the P during a
// sync, and one P is cheaper than two, so package procs manages the Ps
// instead (docs/benchmarks.md, "Writers on one CPU", "Fourth pass" and
// "Sixth pass", has the measurements).
const minServerProcs = 2

// setProcs chooses the server's Ps when the operator has not set
// GOMAXPROCS: at least minServerProcs where the log's syncs block a thread
// (syncsBlock), otherwise procs.Manage's rule (one P on two CPUs, two while
// a snapshot is written). Setting GOMAXPROCS stops the runtime's own
// updates of it when the CPU limit changes, so a higher default is left
// alone.
func setProcs(log *slog.Logger, syncsBlock bool) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if !syncsBlock {
		if def, managed := procs.Manage(); managed {
			log.Debug("GOMAXPROCS lowered to 1: on two CPUs one P is cheaper and faster", "default", def)
		}
		return
	}
	if n := runtime.GOMAXPROCS(0); n < minServerProcs {
		runtime.GOMAXPROCS(minServerProcs)
		log.Debug("GOMAXPROCS raised", "from", n, "to", minServerProcs)
	}
}

// serve runs `zkd server`.
func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logJSON := fs.Bool("log-json", false, "write logs as JSON lines instead of text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	inMemory := fs.Bool("in-memory", false, "keep all data in memory only; read and write nothing under dataDir")
	props, rest, err := config.ParseDefineArgs(args)
	if err != nil {
		return err
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler = slog.NewTextHandler(stderr, hopts)
	if *logJSON {
		handler = slog.NewJSONHandler(stderr, hopts)
	}
	log := slog.New(handler)
	setGCTarget(log)
	setProcs(log, !storage.SyncsWithoutBlocking())

	cfg, err := loadConfig(fs.Args(), log)
	if err != nil {
		return err
	}
	// System properties: SERVER_JVMFLAGS / JVMFLAGS first, then -D
	// arguments, which win.
	env := config.Properties{}
	for _, name := range []string{"JVMFLAGS", "SERVER_JVMFLAGS"} {
		p, ignored := config.ParseJVMFlags(os.Getenv(name))
		for k, v := range p {
			env[k] = v
		}
		if len(ignored) > 0 {
			log.Info("ignoring JVM-only options", "variable", name, "options", strings.Join(ignored, " "))
		}
	}
	for k, v := range props {
		env[k] = v
	}
	if len(env) > 0 {
		if err := cfg.Apply(env); err != nil {
			return err
		}
	}
	if !cfg.Standalone() {
		id, err := config.ReadMyID(cfg.DataDir)
		if err != nil {
			return fmt.Errorf("an ensemble member needs its id in %s/myid (one line: the N of its server.N line): %w", cfg.DataDir, err)
		}
		warnings, err := cfg.SetMyID(id)
		for _, w := range warnings {
			log.Warn("configuration", "file", w.File, "line", w.Line, "key", w.Key, "warning", w.Message)
		}
		if err != nil {
			return err
		}
		log = log.With("myid", id)
	}
	if cfg.ClientPort == 0 {
		return errors.New("no clientPort in the configuration: nothing to listen on")
	}
	if *inMemory {
		log.Warn("running in memory only (-in-memory): all data is lost when the server stops")
	}
	// A server that chose its own GOMAXPROCS lends its low-priority
	// background work a P of its own (server.Options.SpareProc).
	srv, err := server.New(cfg, server.Options{Logger: log, InMemory: *inMemory, SpareProc: os.Getenv("GOMAXPROCS") == ""})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	return srv.Close()
}

func loadConfig(args []string, log *slog.Logger) (*config.Config, error) {
	switch len(args) {
	case 0:
		return config.Default(), nil
	case 1:
		cfg, warnings, err := config.Load(args[0])
		for _, w := range warnings {
			log.Warn("configuration", "file", w.File, "line", w.Line, "key", w.Key, "warning", w.Message)
		}
		if err != nil {
			return nil, err
		}
		return cfg, nil
	}
	return nil, fmt.Errorf("expected at most one zoo.cfg, got %d arguments: %s", len(args), strings.Join(args, " "))
}

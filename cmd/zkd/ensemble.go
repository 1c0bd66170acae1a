package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zkd/zkd/internal/config"
)

// ensembleStopTimeout is how long `zkd ensemble` waits for its servers to
// exit after passing on a signal before it kills them.
const ensembleStopTimeout = 15 * time.Second

// ensembleOptions are the flags of `zkd ensemble`.
type ensembleOptions struct {
	n                                 int
	clientBase, quorumBase, electBase int
	nSet, portsSet                    bool // given on the command line
}

// ensembleMember is one server of a local ensemble: where its files are
// and the ports it listens on.
type ensembleMember struct {
	id                            int
	dir, cfgPath, dataDir         string
	clientPort, quorumPort, ePort int
}

// ensemblePlan is what `zkd ensemble` runs: the members, and whether
// their files already existed.
type ensemblePlan struct {
	dir     string
	members []ensembleMember
	reused  bool
}

// runEnsemble implements `zkd ensemble [-n N] [port flags] DIR`: it writes
// (or reuses) DIR/zkN/zoo.cfg and DIR/zkN/data/myid for N servers on
// 127.0.0.1, runs them as child processes with their output prefixed by
// "zkN| " on stderr, and stops them when it gets SIGINT or SIGTERM.
func runEnsemble(args []string, stdout, stderr io.Writer) error {
	opts, dir, err := parseEnsembleArgs(args, stderr)
	if err != nil {
		return err
	}
	plan, err := planEnsemble(dir, opts)
	if err != nil {
		return err
	}
	if err := plan.checkPorts(); err != nil {
		return err
	}
	if plan.reused {
		fmt.Fprintf(stderr, "reusing the %d-server ensemble in %s: its zoo.cfg, myid and data are kept as they are\n", len(plan.members), plan.dir)
		if opts.portsSet {
			fmt.Fprintf(stderr, "ignoring the port flags: the ports are those in %s\n", filepath.Join(plan.dir, "zk*", "zoo.cfg"))
		}
	} else if err := plan.write(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the zkd binary to run the servers: %w", err)
	}
	return plan.run(exe, stdout, stderr)
}

// parseEnsembleArgs parses the flags and the directory, which may come in
// any order.
func parseEnsembleArgs(args []string, stderr io.Writer) (ensembleOptions, string, error) {
	var o ensembleOptions
	fs := flag.NewFlagSet("ensemble", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.n, "n", 3, "number of servers")
	fs.IntVar(&o.clientBase, "client-port", 2181, "client port of zk1; zkN gets this plus N-1")
	fs.IntVar(&o.quorumBase, "quorum-port", 2888, "quorum port of zk1; zkN gets this plus N-1")
	fs.IntVar(&o.electBase, "election-port", 3888, "election port of zk1; zkN gets this plus N-1")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: zkd ensemble [-n 3] [-client-port 2181] [-quorum-port 2888] [-election-port 3888] DIR")
		fs.PrintDefaults()
	}
	var dirs []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, "", err
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(dirs) != 1 {
		fs.Usage()
		return o, "", fmt.Errorf("ensemble: want one directory, got %d", len(dirs))
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "n":
			o.nSet = true
		default:
			o.portsSet = true
		}
	})
	return o, dirs[0], nil
}

// planEnsemble works out the members of the ensemble in dir: from the
// zoo.cfg files already there, or from opts for a new one. It writes
// nothing.
func planEnsemble(dir string, opts ensembleOptions) (*ensemblePlan, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	p := &ensemblePlan{dir: abs}
	if _, err := os.Stat(filepath.Join(abs, "zk1", "zoo.cfg")); err == nil {
		return p, p.load(opts)
	}
	if opts.n < 1 || opts.n > 255 {
		return nil, fmt.Errorf("ensemble: -n %d: want 1 to 255 servers", opts.n)
	}
	seen := make(map[int]string)
	for i := 1; i <= opts.n; i++ {
		m := ensembleMember{
			id:         i,
			dir:        filepath.Join(abs, "zk"+strconv.Itoa(i)),
			clientPort: opts.clientBase + i - 1,
			quorumPort: opts.quorumBase + i - 1,
			ePort:      opts.electBase + i - 1,
		}
		m.cfgPath, m.dataDir = filepath.Join(m.dir, "zoo.cfg"), filepath.Join(m.dir, "data")
		if _, err := os.Stat(m.dir); err == nil {
			return nil, fmt.Errorf("ensemble: %s exists but %s does not: remove the directory or use another one", m.dir, filepath.Join(abs, "zk1", "zoo.cfg"))
		}
		for _, pt := range m.ports() {
			if pt.port < 1 || pt.port > 65535 {
				return nil, fmt.Errorf("ensemble: %s of zk%d would be %d, outside 1-65535", pt.what, i, pt.port)
			}
			what := fmt.Sprintf("%s of zk%d", pt.what, i)
			if other, dup := seen[pt.port]; dup {
				return nil, fmt.Errorf("ensemble: port %d would be both the %s and the %s; choose -client-port, -quorum-port and -election-port at least %d apart", pt.port, other, what, opts.n)
			}
			seen[pt.port] = what
		}
		p.members = append(p.members, m)
	}
	return p, nil
}

// load fills p.members from the zkN/zoo.cfg files in p.dir.
func (p *ensemblePlan) load(opts ensembleOptions) error {
	p.reused = true
	for i := 1; ; i++ {
		dir := filepath.Join(p.dir, "zk"+strconv.Itoa(i))
		cfgPath := filepath.Join(dir, "zoo.cfg")
		if _, err := os.Stat(cfgPath); errors.Is(err, fs.ErrNotExist) {
			break
		}
		cfg, _, err := config.Load(cfgPath)
		if err != nil {
			return fmt.Errorf("ensemble: reuse %s: %w", p.dir, err)
		}
		if err := cfg.LoadMyID(); err != nil {
			return fmt.Errorf("ensemble: reuse %s: %w", p.dir, err)
		}
		m := ensembleMember{id: i, dir: dir, cfgPath: cfgPath, dataDir: cfg.DataDir, clientPort: cfg.ClientPort}
		if s, ok := cfg.Server(cfg.MyID); ok {
			m.quorumPort, m.ePort = addrPort(s.QuorumAddr), addrPort(s.ElectionAddr)
		}
		p.members = append(p.members, m)
	}
	if opts.nSet && opts.n != len(p.members) {
		return fmt.Errorf("ensemble: %s holds a %d-server ensemble, not %d: leave out -n to run it, or use another directory", p.dir, len(p.members), opts.n)
	}
	return nil
}

// addrPort returns the port of a "host:port" address, 0 if it has none.
func addrPort(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}

// portUse is one port of a member and what it is for.
type portUse struct {
	what string
	port int
}

// ports returns the member's ports that are set.
func (m ensembleMember) ports() []portUse {
	var out []portUse
	for _, p := range []portUse{{"client port", m.clientPort}, {"quorum port", m.quorumPort}, {"election port", m.ePort}} {
		if p.port != 0 {
			out = append(out, p)
		}
	}
	return out
}

// checkPorts makes sure every member's ports can be bound on 127.0.0.1
// now.
func (p *ensemblePlan) checkPorts() error {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for _, m := range p.members {
		for _, pt := range m.ports() {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(pt.port)))
			if err != nil {
				hint := "choose other ports with -client-port, -quorum-port and -election-port, or stop what is using it"
				if p.reused {
					hint = "stop what is using it, or change the port in " + m.cfgPath
				}
				return fmt.Errorf("ensemble: port %d (the %s of zk%d) is already in use on 127.0.0.1: %s", pt.port, pt.what, m.id, hint)
			}
			held = append(held, l)
		}
	}
	return nil
}

// write creates each member's directory, zoo.cfg, data directory and
// myid.
func (p *ensemblePlan) write() error {
	var servers strings.Builder
	for _, m := range p.members {
		fmt.Fprintf(&servers, "server.%d=127.0.0.1:%d:%d;127.0.0.1:%d\n", m.id, m.quorumPort, m.ePort, m.clientPort)
	}
	for _, m := range p.members {
		if err := os.MkdirAll(m.dataDir, 0o755); err != nil {
			return fmt.Errorf("ensemble: %w", err)
		}
		cfg := fmt.Sprintf(`# zk%d of a %d-server ensemble on 127.0.0.1, written by "zkd ensemble".
tickTime=2000
initLimit=10
syncLimit=5
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
%s`, m.id, len(p.members), m.dataDir, m.clientPort, servers.String())
		if err := os.WriteFile(m.cfgPath, []byte(cfg), 0o644); err != nil {
			return fmt.Errorf("ensemble: %w", err)
		}
		if err := os.WriteFile(filepath.Join(m.dataDir, "myid"), []byte(strconv.Itoa(m.id)+"\n"), 0o644); err != nil {
			return fmt.Errorf("ensemble: %w", err)
		}
	}
	return nil
}

// connectString returns the members' client addresses, comma-separated.
func (p *ensemblePlan) connectString() string {
	addrs := make([]string, len(p.members))
	for i, m := range p.members {
		addrs[i] = "127.0.0.1:" + strconv.Itoa(m.clientPort)
	}
	return strings.Join(addrs, ",")
}

// childExit is a server process having exited.
type childExit struct {
	id  int
	err error
}

// run starts "exe server zkN/zoo.cfg" for every member and waits: on
// SIGINT or SIGTERM it passes the signal on to every server, waits for
// them (killing those still running after ensembleStopTimeout, or at once
// on a second signal) and returns nil. If every server exits on its own
// it returns an error.
func (p *ensemblePlan) run(exe string, stdout, stderr io.Writer) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	out := &lockedWriter{w: stderr}
	exits := make(chan childExit, len(p.members))
	var procs []*os.Process
	running := 0
	stopAll := func(sig os.Signal) {
		for _, proc := range procs {
			_ = proc.Signal(sig) // one that has exited answers os.ErrProcessDone
		}
	}
	for _, m := range p.members {
		w := &prefixWriter{out: out, prefix: fmt.Sprintf("zk%d| ", m.id)}
		cmd := exec.Command(exe, "server", m.cfgPath)
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Start(); err != nil {
			stopAll(syscall.SIGKILL)
			for ; running > 0; running-- {
				<-exits
			}
			return fmt.Errorf("ensemble: start zk%d: %w", m.id, err)
		}
		out.printf("zk%d: started, pid %d: %s server %s\n", m.id, cmd.Process.Pid, exe, m.cfgPath)
		procs = append(procs, cmd.Process)
		running++
		go func(id int) {
			err := cmd.Wait()
			w.flush()
			exits <- childExit{id: id, err: err}
		}(m.id)
	}
	first := p.members[0]
	fmt.Fprintf(stdout, "%d servers running in %s\nconnect string: %s\ncheck a server: zkd status 127.0.0.1:%d\nstop them all: Ctrl-C\n",
		len(p.members), p.dir, p.connectString(), first.clientPort)

	var failed []string
	for running > 0 {
		select {
		case sig := <-sigs:
			out.printf("got %v: stopping %d servers\n", sig, running)
			stopAll(sig)
			p.waitStopped(&running, exits, sigs, procs, out)
			out.printf("all servers stopped\n")
			return nil
		case ex := <-exits:
			running--
			status := "exited"
			if ex.err != nil {
				status = ex.err.Error()
			}
			out.printf("zk%d: %s\n", ex.id, status)
			failed = append(failed, fmt.Sprintf("zk%d: %s", ex.id, status))
		}
	}
	return fmt.Errorf("ensemble: every server exited (%s); their last lines are above", strings.Join(failed, ", "))
}

// waitStopped waits for the running servers to exit after a signal, and
// kills them after ensembleStopTimeout or on another signal.
func (p *ensemblePlan) waitStopped(running *int, exits <-chan childExit, sigs <-chan os.Signal, procs []*os.Process, out *lockedWriter) {
	timer := time.NewTimer(ensembleStopTimeout)
	defer timer.Stop()
	killed := false
	kill := func(why string) {
		if killed {
			return
		}
		killed = true
		out.printf("%s: killing the %d servers still running\n", why, *running)
		for _, proc := range procs {
			_ = proc.Kill()
		}
	}
	for *running > 0 {
		select {
		case ex := <-exits:
			*running--
			if ex.err != nil && !killed {
				out.printf("zk%d: %v\n", ex.id, ex.err)
			}
		case <-timer.C:
			kill(fmt.Sprintf("still running after %v", ensembleStopTimeout))
		case sig := <-sigs:
			kill(fmt.Sprintf("got %v again", sig))
		}
	}
}

// lockedWriter serialises writes to w, so that lines from different
// servers do not interleave.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) write(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(b)
}

func (l *lockedWriter) printf(format string, args ...any) {
	l.write([]byte(fmt.Sprintf(format, args...)))
}

// prefixWriter writes each complete line it is given to out with prefix
// in front; flush writes what is left of an unfinished last line.
type prefixWriter struct {
	out    *lockedWriter
	prefix string

	mu      sync.Mutex // guards partial
	partial []byte
}

// Write implements io.Writer.
func (w *prefixWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, b...)
	var lines []byte
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, w.prefix...)
		lines = append(lines, w.partial[:i+1]...)
		w.partial = w.partial[i+1:]
	}
	if len(lines) > 0 {
		w.out.write(lines)
	}
	return len(b), nil
}

func (w *prefixWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.out.write(append(append([]byte(w.prefix), w.partial...), '\n'))
		w.partial = nil
	}
}

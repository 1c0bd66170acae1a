package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd/zkd/client"
)

// Config is what Main needs from its caller.
type Config struct {
	// Version is printed by the version command.
	Version string
	// Stdin is read for commands when none is given on the command line.
	Stdin io.Reader
	// Stdout receives results and watch events.
	Stdout io.Writer
	// Stderr receives errors, notices such as "Created /x", and progress.
	Stderr io.Writer
	// Terminal reports whether stdin and stdout are a terminal (interactive
	// mode) and whether stderr is one (progress reports). Nil means
	// neither.
	Terminal func() (interactive, progress bool)
	// HistoryFile keeps interactive history across runs; empty means
	// $ZKD_CLI_HISTORY, else ~/.zkd_cli_history.
	HistoryFile string
	// Getenv reads the environment: the -D flags of CLIENT_JVMFLAGS and
	// JVMFLAGS are client properties, as for zkCli.sh. Nil means an empty
	// environment.
	Getenv func(string) string
}

const mainUsage = `usage: zkd cli [-server host:port[,host:port...]] [-timeout ms] [-r] [-json]
               [-client-configuration file] [-Dkey=value...] [command args...]

Runs one zkCli.sh command and exits, or with no command starts a shell.
Type "help" in the shell for the command list.

TLS and SASL take ZooKeeper's client properties (zookeeper.client.secure,
zookeeper.ssl.*, java.security.auth.login.config, zookeeper.sasl.*, ...)
from -client-configuration, from -Dkey=value arguments before the command,
and from the -D flags in $CLIENT_JVMFLAGS and $JVMFLAGS; the file wins.

flags:
`

// Main runs `zkd cli` with args (the words after "cli") and returns the
// process's exit status.
func Main(args []string, cfg Config) int {
	fs := flag.NewFlagSet("zkd cli", flag.ContinueOnError)
	fs.SetOutput(cfg.Stderr)
	fs.Usage = func() {
		fmt.Fprint(cfg.Stderr, mainUsage)
		fs.PrintDefaults()
	}
	servers := fs.String("server", "localhost:2181", "servers to connect to, comma-separated `host:port` list")
	timeoutMS := fs.Int("timeout", 30000, "session timeout in `ms`; also bounds the wait for the first connection")
	readOnly := fs.Bool("r", false, "allow connecting to a read-only server")
	jsonOut := fs.Bool("json", false, "print results as JSON documents instead of zkCli.sh's text")
	fs.Bool("waitforconnection", true, "accepted for zkCli.sh compatibility: zkd cli always waits for the session")
	clientConfig := fs.String("client-configuration", "", "ZooKeeper client properties `file` (TLS, SASL)")
	defines, args := splitDefines(fs, args)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitInvalidArgs
	}
	props, err := gatherClientProps(cfg.Getenv, defines, *clientConfig)
	var secure []client.Option
	if err == nil {
		secure, err = props.clientOptions(slog.New(slog.NewTextHandler(cfg.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
	if err != nil {
		fmt.Fprintf(cfg.Stderr, "zkd cli: %v\n", err)
		return exitInvalidArgs
	}
	interactive, progress := false, false
	if cfg.Terminal != nil {
		interactive, progress = cfg.Terminal()
	}
	s := &shell{
		cfg:      cfg,
		servers:  *servers,
		timeout:  time.Duration(*timeoutMS) * time.Millisecond,
		readOnly: *readOnly,
		secure:   secure,
		json:     *jsonOut,
		history:  map[int]string{},
		pending:  map[watchKey]bool{},
		out:      &lockedWriter{w: cfg.Stdout},
		errOut:   &lockedWriter{w: cfg.Stderr},
	}
	s.printWatches.Store(true)
	s.prog = &progressLine{w: s.errOut, enabled: progress}
	defer s.disconnect()

	if cmd := fs.Args(); len(cmd) > 0 {
		return s.oneShot(cmd)
	}
	s.showEvents = true
	if interactive {
		return s.interactive()
	}
	return s.script(cfg.Stdin)
}

// lockedWriter serialises writes from the command and the event printers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// shell is one run of zkd cli. Commands run on the goroutine that called
// Main, which owns every field except these: event printers (one per
// watch and one for a session's state changes, counted by printer) write
// to out and errOut, read printWatches, and share pending under watchMu;
// a background connection attempt fills in its dialing record, which the
// command goroutine reads once done is closed.
type shell struct {
	cfg        Config
	servers    string
	timeout    time.Duration
	readOnly   bool
	secure     []client.Option // TLS and SASL, from the client properties
	json       bool
	showEvents bool // print watch and state events (not in one-shot mode)
	out        *lockedWriter
	errOut     *lockedWriter
	prog       *progressLine

	printWatches atomic.Bool

	c       *client.Client // nil when not connected
	printer sync.WaitGroup // event printers of c
	dialing *dialing       // a connection attempt under way (interactive mode)
	// background makes connect return at once and connect in the
	// background (interactive mode).
	background bool

	watchMu sync.Mutex
	pending map[watchKey]bool // one-shot watches whose printer has not fired

	history map[int]string
	count   int
	quit    bool
}

// connect opens a session on servers, replacing the current one, waiting
// at most the session timeout for it.
func (s *shell) connect(servers string) error {
	s.disconnect()
	s.servers = servers
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	c, err := s.dial(ctx, servers)
	if err != nil {
		return err
	}
	s.adopt(c)
	return nil
}

// dial opens a session on servers.
func (s *shell) dial(ctx context.Context, servers string) (*client.Client, error) {
	opts := append([]client.Option{client.WithSessionTimeout(s.timeout), client.WithReadOnly(s.readOnly)}, s.secure...)
	if !s.background {
		// Like zkCli.sh, a command issued while no server answers fails
		// (ConnectionLoss) instead of waiting for one. The interactive
		// shell instead keeps trying, and Ctrl-C abandons a command that
		// waits.
		opts = append(opts, client.WithFailFast())
	}
	return client.Connect(ctx, strings.Split(servers, ","), opts...)
}

// adopt makes c the shell's session and prints its state changes.
func (s *shell) adopt(c *client.Client) {
	s.c = c
	s.printer.Add(1)
	go func() {
		defer s.printer.Done()
		for ev := range c.Events() {
			s.printEvent(client.Event{Type: client.EventNone, State: ev.State})
		}
	}()
}

// dialing is a connection attempt running in the background, so that the
// interactive prompt comes up at once (showing CONNECTING) even when no
// server answers yet.
type dialing struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when c and err are set
	c      *client.Client
	err    error
}

// connectInBackground starts opening a session on servers, replacing the
// current one; settle picks up the result.
func (s *shell) connectInBackground(servers string) {
	s.disconnect()
	s.servers = servers
	ctx, cancel := context.WithCancel(context.Background())
	d := &dialing{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		d.c, d.err = s.dial(ctx, servers)
	}()
	s.dialing = d
}

// settle adopts the session a background attempt opened, if it is done.
// With wait, it waits for the attempt, or for ctx.
func (s *shell) settle(ctx context.Context, wait bool) error {
	d := s.dialing
	if d == nil {
		return nil
	}
	if wait {
		select {
		case <-d.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-d.done:
	default:
		return nil
	}
	s.dialing = nil
	d.cancel()
	if d.err != nil {
		return fmt.Errorf("connect to %s: %w", s.servers, d.err)
	}
	s.adopt(d.c)
	return nil
}

// disconnect closes the session, if any, and waits for its event printers.
func (s *shell) disconnect() {
	if d := s.dialing; d != nil {
		s.dialing = nil
		d.cancel()
		<-d.done
		if d.c != nil {
			s.c = d.c
		}
	}
	if s.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.c.Close(ctx)
	s.printer.Wait()
	s.c = nil
	// The session's one-shot watches are gone with it.
	s.watchMu.Lock()
	clear(s.pending)
	s.watchMu.Unlock()
}

// javaStates are ZooKeeper's Watcher.Event.KeeperState names.
var javaStates = map[client.State]string{
	client.StateDisconnected:      "Disconnected",
	client.StateConnected:         "SyncConnected",
	client.StateAuthFailed:        "AuthFailed",
	client.StateConnectedReadOnly: "ConnectedReadOnly",
	client.StateSaslAuthenticated: "SaslAuthenticated",
	client.StateExpired:           "Expired",
	client.StateClosed:            "Closed",
}

// printEvent writes a watch or state notification as zkCli.sh does.
func (s *shell) printEvent(ev client.Event) {
	if !s.showEvents || !s.printWatches.Load() {
		return
	}
	state, ok := javaStates[ev.State]
	if !ok {
		state = ev.State.String()
	}
	if s.json {
		// Keep stdout a stream of JSON documents.
		b, _ := json.Marshal(map[string]string{"state": state, "type": ev.Type.String(), "path": ev.Path})
		fmt.Fprintf(s.errOut, "%s\n", b)
		return
	}
	path := ev.Path
	if path == "" {
		path = "null"
	}
	fmt.Fprintf(s.out, "\nWATCHER::\n\nWatchedEvent state:%s type:%s path:%s\n", state, ev.Type, path)
}

// watchClass tells apart the one-shot watches zkCli.sh's single watcher
// gets one notification for: data (getData and exists) and child watches.
type watchClass byte

const (
	dataWatch watchClass = iota
	childWatch
)

type watchKey struct {
	path  string
	class watchClass
}

// watchOnce prints the event a one-shot watch delivers. zkCli.sh leaves
// every watch with the same watcher, so ZooKeeper's client notifies it once
// per event even when both get -w and stat -w watch the node; the Client
// here has a channel per call, so watchOnce prints for the first watch of
// a path and class and lets later ones pass silently until it fires.
func (s *shell) watchOnce(path string, class watchClass, ch <-chan client.Event) {
	key := watchKey{path, class}
	s.watchMu.Lock()
	first := !s.pending[key]
	s.pending[key] = true
	s.watchMu.Unlock()
	s.printer.Add(1)
	go func() {
		defer s.printer.Done()
		for ev := range ch {
			if !first || ev.Type == client.EventNone {
				continue
			}
			s.watchMu.Lock()
			show := s.pending[key]
			delete(s.pending, key)
			if ev.Type == client.EventNodeDeleted {
				// Both classes fire on a delete; print it once.
				delete(s.pending, watchKey{path, 1 - class})
			}
			s.watchMu.Unlock()
			if show {
				s.printEvent(ev)
			}
		}
	}()
}

// watchPersistent prints every event of a persistent watch.
func (s *shell) watchPersistent(w *client.Watcher) {
	s.printer.Add(1)
	go func() {
		defer s.printer.Done()
		for ev := range w.Events() {
			if ev.Type != client.EventNone {
				s.printEvent(ev)
			}
		}
	}()
}

// promptState is the connection state zkCli.sh shows in its prompt.
func (s *shell) promptState() string {
	if err := s.settle(context.Background(), false); err != nil {
		fmt.Fprintf(s.errOut, "zkd cli: %v\n", err)
	}
	if s.dialing != nil {
		return "CONNECTING"
	}
	if s.c == nil {
		return "CLOSED"
	}
	switch s.c.State() {
	case client.StateConnected:
		return "CONNECTED"
	case client.StateConnectedReadOnly:
		return "CONNECTEDREADONLY"
	case client.StateDisconnected:
		return "CONNECTING"
	case client.StateAuthFailed:
		return "AUTH_FAILED"
	default:
		return "CLOSED"
	}
}

func (s *shell) prompt() string {
	return fmt.Sprintf("[zk: %s(%s) %d] ", s.servers, s.promptState(), s.count)
}

// oneShot connects, runs one command given as words and returns its exit
// status.
func (s *shell) oneShot(words []string) int {
	if err := s.connect(s.servers); err != nil {
		fmt.Fprintf(s.errOut, "zkd cli: %v\n", err)
		return exitFailed
	}
	return s.report(s.execute(context.Background(), words))
}

// report prints err (if any) on stderr and returns the exit status.
func (s *shell) report(err error) int {
	if err == nil {
		return exitOK
	}
	var ce *cliError
	if !errors.As(err, &ce) {
		ce = &cliError{msg: err.Error(), code: exitFailed}
	}
	if ce.msg != "" {
		if s.json {
			b, _ := json.Marshal(map[string]string{"error": ce.msg})
			fmt.Fprintf(s.errOut, "%s\n", b)
		} else {
			fmt.Fprintln(s.errOut, ce.msg)
		}
	}
	return ce.code
}

// script runs commands read line by line from r without a prompt, like
// zkCli.sh whose stdin is not a terminal. It returns the status of the last
// command.
func (s *shell) script(r io.Reader) int {
	if err := s.connect(s.servers); err != nil {
		fmt.Fprintf(s.errOut, "zkd cli: %v\n", err)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	status := exitOK
	for !s.quit && sc.Scan() {
		status = s.runLine(context.Background(), sc.Text())
	}
	return status
}

// runLine records a line in the numbered history and runs it.
func (s *shell) runLine(ctx context.Context, line string) int {
	words := splitLine(line)
	if len(words) == 0 {
		return exitOK
	}
	s.history[s.count] = line
	defer func() { s.count++ }()
	return s.report(s.execute(ctx, words))
}

// execute runs one command.
func (s *shell) execute(ctx context.Context, words []string) error {
	name := words[0]
	switch name {
	case "quit":
		s.quit = true
		s.disconnect()
		return nil
	case "history":
		for i := max(s.count-10, 0); i <= s.count; i++ {
			line, ok := s.history[i]
			if !ok {
				line = "null"
			}
			fmt.Fprintf(s.out, "%d - %s\n", i, line)
		}
		return nil
	case "redo":
		if len(words) < 2 {
			return nil
		}
		n, err := strconv.Atoi(words[1])
		if err != nil {
			return errorf("redo: %q is not a command number", words[1])
		}
		line, ok := s.history[n]
		if n < 0 || n > s.count || !ok {
			return errorf("Command index out of range")
		}
		redo := splitLine(line)
		if redo[0] == "redo" {
			fmt.Fprintln(s.out, "No redoing redos")
			return nil
		}
		s.history[s.count] = line
		return s.execute(ctx, redo)
	case "printwatches":
		if len(words) == 1 {
			state := "off"
			if s.printWatches.Load() {
				state = "on"
			}
			fmt.Fprintf(s.out, "printwatches is %s\n", state)
			return nil
		}
		s.printWatches.Store(words[1] == "on")
		return nil
	case "connect":
		servers := s.servers
		if len(words) > 1 {
			servers = words[1]
		}
		if s.background {
			s.connectInBackground(servers)
			return nil
		}
		if err := s.connect(servers); err != nil {
			return errorf("connect %s: %v", servers, err)
		}
		return nil
	case "help":
		s.usage(s.out)
		return nil
	}
	cmd, ok := commands[name]
	if !ok {
		s.usage(s.errOut)
		return &cliError{msg: "Command not found: Command not found " + name, code: exitNotFound}
	}
	if cmd.local {
		return cmd.run(ctx, s, &parsedArgs{args: words})
	}
	if err := s.settle(ctx, true); err != nil {
		if ctx.Err() != nil {
			return describe(ctx.Err(), "")
		}
		return errorf("%v", err)
	}
	if s.c == nil || s.c.Err() != nil {
		fmt.Fprintln(s.out, "Not connected") // not an error to zkCli.sh either
		return nil
	}
	p, err := parseOptions(words, cmd.options)
	if err != nil {
		return err
	}
	if len(p.args) < cmd.minArgs {
		return errorf("%s %s", cmd.name, cmd.usage)
	}
	return cmd.run(ctx, s, p)
}

// usage prints zkCli.sh's command list.
func (s *shell) usage(w io.Writer) {
	fmt.Fprintln(w, "ZooKeeper -server host:port -client-configuration properties-file cmd args")
	for _, name := range commandNames() {
		fmt.Fprintf(w, "\t%s %s\n", name, usageOf(name))
	}
}

// emit prints v as an indented JSON document.
func (s *shell) emit(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = s.out.Write(b)
	return err
}

// progressLine reports the progress of long operations on stderr when it is a
// terminal: one line, rewritten at most ten times a second.
type progressLine struct {
	w       io.Writer
	enabled bool
	last    time.Time
	shown   bool
}

// update shows what, unless it was shown less than 100ms ago.
func (p *progressLine) update(format string, a ...any) {
	if !p.enabled || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.shown = true
	fmt.Fprintf(p.w, "\r\033[K"+format, a...)
}

// done clears the progress line.
func (p *progressLine) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	p.last = time.Time{}
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/testcluster"
)

// TestMain runs the tests, removes the zkd binary they built, and fails
// the run if a goroutine started by this package's code outlives them.
func TestMain(m *testing.M) {
	code := testcluster.Main(m)
	if code == 0 {
		if leaked := testcluster.LeakedGoroutines(5*time.Second, "github.com/zkd/zkd/internal/cli"); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "internal/cli goroutines still running after all tests:\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// terminal is a zkd cli process on a pseudo-terminal.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	pty  *os.File
	mu   sync.Mutex
	out  strings.Builder // everything the process wrote
	seen int             // how much of out expect has consumed
	done chan struct{}   // closed when the reader hits the end
}

// startTerminal runs "zkd cli -server addr" on a new pseudo-terminal,
// keeping its history in hist.
func startTerminal(t *testing.T, bin, addr, hist string, flags ...string) *terminal {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"cli", "-server", addr}, flags...)...)
	cmd.Env = append(os.Environ(), "ZKD_CLI_HISTORY="+hist, "TERM=xterm", "TZ=UTC")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		t.Fatalf("start zkd cli on a pty: %v", err)
	}
	term := &terminal{t: t, cmd: cmd, pty: f, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		f.Close()
		<-term.done
	})
	return term
}

// expect waits until the output after what earlier expects consumed
// contains want, and consumes up to its end.
func (term *terminal) expect(want string) {
	term.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		term.mu.Lock()
		rest := term.out.String()[term.seen:]
		if i := strings.Index(rest, want); i >= 0 {
			term.seen += i + len(want)
			term.mu.Unlock()
			return
		}
		term.mu.Unlock()
		if time.Now().After(deadline) {
			term.t.Fatalf("terminal never showed %q; after the last match it shows:\n%q", want, rest)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (term *terminal) send(keys string) {
	term.t.Helper()
	if _, err := io.WriteString(term.pty, keys); err != nil {
		term.t.Fatalf("type %q: %v", keys, err)
	}
}

// waitRaw waits until the shell's line editor has the terminal in raw
// mode, which it sets after printing its prompt: keys typed before that
// may be flushed with the mode switch (and a Ctrl-C would be a signal).
func (term *terminal) waitRaw() {
	term.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(term.pty.Fd()), unix.TCGETS)
		if err != nil {
			term.t.Fatalf("read the terminal's mode: %v", err)
		}
		if tio.Lflag&unix.ICANON == 0 {
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatal("the line editor never put the terminal in raw mode")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sendUntil types keys every 50ms until the output shows want.
func (term *terminal) sendUntil(keys, want string) {
	term.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		term.send(keys)
		term.mu.Lock()
		rest := term.out.String()[term.seen:]
		i := strings.Index(rest, want)
		if i >= 0 {
			term.seen += i + len(want)
		}
		term.mu.Unlock()
		if i >= 0 {
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("terminal never showed %q; after the last match it shows:\n%q", want, rest)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its status.
func (term *terminal) wait() int {
	term.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- term.cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			term.t.Fatalf("zkd cli: %v", err)
		}
		return 0
	case <-time.After(15 * time.Second):
		term.cmd.Process.Signal(syscall.SIGQUIT)
		term.t.Fatalf("zkd cli did not exit; output:\n%q", term.out.String())
	}
	return -1
}

func TestInteractiveShellOnATerminal(t *testing.T) {
	addr := startServer(t)
	bin := testcluster.ZkdBinary(t)
	hist := filepath.Join(t.TempDir(), "history")
	c := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	term := startTerminal(t, bin, addr, hist)
	// The prompt may come before the session (CONNECTING); the first
	// command waits for it.
	term.expect("[zk: " + addr + "(")
	term.expect(") 0] ")
	// Tab completes a command name...
	term.send("crea\t")
	term.expect("create ")
	term.send("/tty hello\r")
	term.expect("Created /tty")
	term.expect("[zk: " + addr + "(CONNECTED) 1] ")
	// ... and a znode path.
	term.send("get -w /tt\t")
	term.expect("/tty")
	term.send("\r")
	term.expect("hello")
	term.expect("(CONNECTED) 2] ")

	// A watch event arrives while the shell waits at the prompt.
	if _, err := c.Set(ctx, "/tty", []byte("changed"), client.AnyVersion); err != nil {
		t.Fatal(err)
	}
	term.expect("WATCHER::")
	term.expect("WatchedEvent state:SyncConnected type:NodeDataChanged path:/tty")

	// Ctrl-C clears the line being typed and keeps the shell.
	term.send("delete /tty\x03")
	term.send("ls /\r")
	term.expect("[tty, zookeeper]")
	if st, err := c.Exists(ctx, "/tty"); err != nil || st == nil {
		t.Fatalf("the line cut by Ctrl-C ran: %v %v", st, err)
	}
	term.send("quit\r")
	if code := term.wait(); code != 0 {
		t.Fatalf("quit: exit %d", code)
	}

	// History is kept across runs: Up brings back the last lines.
	term = startTerminal(t, bin, addr, hist)
	term.expect(") 0] ")
	term.send("\x1b[A") // quit
	term.send("\x1b[A") // ls /
	term.send("\x1b[A") // get -w /tty
	term.expect("get -w /tty")
	term.send("\r")
	term.expect("changed")
	term.expect("(CONNECTED) 1] ")
	term.send("\x04") // Ctrl-D ends the shell
	if code := term.wait(); code != 0 {
		t.Fatalf("Ctrl-D: exit %d", code)
	}
	b, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	if want := "create /tty hello\nget -w /tty\nls /\nquit\nget -w /tty\n"; string(b) != want {
		t.Errorf("history file:\n%s\nwant:\n%s", b, want)
	}
}

func TestInteractiveShellComesUpBeforeTheServer(t *testing.T) {
	bin := testcluster.ZkdBinary(t)
	port := testcluster.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	term := startTerminal(t, bin, addr, filepath.Join(t.TempDir(), "history"))
	// No server yet: the prompt is there at once, connecting.
	term.expect("[zk: " + addr + "(CONNECTING) 0] ")
	startServerOn(t, port)
	term.send("ls /\r")
	term.expect("[zookeeper]")
	term.expect("(CONNECTED) 1] ")
	term.send("quit\r")
	if code := term.wait(); code != 0 {
		t.Fatalf("quit: exit %d", code)
	}
}

func TestInteractiveCommandWaitingForAServerCanBeInterrupted(t *testing.T) {
	bin := testcluster.ZkdBinary(t)
	addr := fmt.Sprintf("127.0.0.1:%d", testcluster.FreePort(t))
	term := startTerminal(t, bin, addr, filepath.Join(t.TempDir(), "history"))
	term.expect("(CONNECTING) 0] ")
	term.waitRaw()
	term.send("ls /\r")
	term.expect("ls /")
	// Ctrl-C while ls waits for a session. A Ctrl-C typed before the shell
	// has left the prompt is only an empty line aborted, so type it until
	// the command reports the interruption.
	term.sendUntil("\x03", "interrupted")
	term.expect("(CONNECTING) 1] ")
	term.send("quit\r")
	if code := term.wait(); code != 0 {
		t.Fatalf("quit: exit %d", code)
	}
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/peterh/liner"
)

// historyPath returns where interactive history is kept.
func (s *shell) historyPath() string {
	if s.cfg.HistoryFile != "" {
		return s.cfg.HistoryFile
	}
	if p := os.Getenv("ZKD_CLI_HISTORY"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".zkd_cli_history")
}

// interactive runs the shell on the terminal: a prompt with line editing,
// history across runs and completion, until quit or end of input.
func (s *shell) interactive() int {
	// The prompt comes up at once; commands wait for the session.
	fmt.Fprintf(s.out, "Connecting to %s\nType help for the commands, Tab to complete.\n", s.servers)
	s.background = true
	s.connectInBackground(s.servers)

	line := liner.NewLiner()
	defer line.Close()
	line.SetCtrlCAborts(true)
	line.SetTabCompletionStyle(liner.TabPrints)
	line.SetWordCompleter(s.complete)
	histPath := s.historyPath()
	if histPath != "" {
		if f, err := os.Open(histPath); err == nil {
			line.ReadHistory(f)
			f.Close()
		}
	}
	saveHistory := func() {
		if histPath == "" {
			return
		}
		f, err := os.OpenFile(histPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return
		}
		defer f.Close()
		line.WriteHistory(f)
	}
	defer saveHistory()

	// Ctrl-C is a key at the prompt (liner reads it in raw mode) and a
	// SIGINT while a command runs. Catch SIGINT for the whole session: a
	// Ctrl-C typed just after Enter, before a command has set up its own
	// handling, would otherwise kill the shell (Go's default action).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)

	status := exitOK
	for !s.quit {
		select {
		case <-sigs: // a Ctrl-C that came after the last command ended
		default:
		}
		text, err := line.Prompt(s.prompt())
		if errors.Is(err, liner.ErrPromptAborted) {
			continue // Ctrl-C clears the line, as in a shell
		}
		if err != nil { // end of input (Ctrl-D)
			fmt.Fprintln(s.out)
			break
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		line.AppendHistory(text)
		saveHistory()
		status = s.runInterruptible(text, sigs)
	}
	return status
}

// runInterruptible runs one command line; a SIGINT on sigs (Ctrl-C)
// cancels it.
func (s *shell) runInterruptible(text string, sigs <-chan os.Signal) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-sigs:
			cancel()
		case <-done:
		}
	}()
	status := s.runLine(ctx, text)
	close(done)
	<-stopped
	return status
}

// complete is the Tab completer: command names for the first word, znode
// paths for a word starting with "/".
func (s *shell) complete(line string, pos int) (head string, completions []string, tail string) {
	// liner gives the cursor position in runes.
	pos = len(string([]rune(line)[:pos]))
	start := strings.LastIndexAny(line[:pos], " \t") + 1
	head, word, tail := line[:start], line[start:pos], line[pos:]
	if strings.TrimSpace(head) == "" {
		for _, name := range commandNames() {
			if strings.HasPrefix(name, word) {
				completions = append(completions, name+" ")
			}
		}
		return head, completions, tail
	}
	if !strings.HasPrefix(word, "/") || s.c == nil {
		return head, nil, tail
	}
	dir, prefix := word[:strings.LastIndexByte(word, '/')+1], word[strings.LastIndexByte(word, '/')+1:]
	parent := strings.TrimSuffix(dir, "/")
	if parent == "" {
		parent = "/"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	children, _, err := s.c.Children(ctx, parent)
	if err != nil {
		return head, nil, tail
	}
	slices.Sort(children)
	for _, ch := range children {
		if strings.HasPrefix(ch, prefix) {
			completions = append(completions, dir+ch)
		}
	}
	return head, completions, tail
}

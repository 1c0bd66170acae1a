package admin

import (
	"sync/atomic"
	"time"
)

// TelnetClose is the name ZooKeeper gives the telnet close sequence
// 0xfff4fffd (IAC IP IAC DO) when it arrives as the first four bytes of a
// connection (client spec §11.1). It is detected like a four-letter word
// but runs nothing: the connection is just closed, or gets the
// not-in-whitelist message when the whitelist is not "*".
const TelnetClose = "telnet close"

// telnetCloseBytes is the telnet close sequence.
var telnetCloseBytes = [4]byte{0xff, 0xf4, 0xff, 0xfd}

// defaultTraceMask is ZooKeeper's initial trace mask (gtmk on a fresh
// server prints 306).
const defaultTraceMask = 306

// notServingMessage is what a command that needs a serving server prints
// when the server is not serving (client spec §11.1).
const notServingMessage = "This ZooKeeper instance is not currently serving requests"

// Command is one monitoring command: its names on the client port and on
// the AdminServer, and what it needs from the server.
type Command struct {
	// Word is the four-letter word that runs the command on the client port.
	Word string
	// Name is the AdminServer's primary name: the path /commands/<Name> and
	// the "command" field of its JSON answer (client spec §12).
	Name string
	// Aliases are the other names the AdminServer accepts for the command.
	Aliases []string
	// ServerRequired reports whether the command answers only while the
	// server is serving; otherwise it prints the not-serving message.
	ServerRequired bool
	// Detail is the costly parts of the Snapshot the command reads.
	Detail Detail

	// text renders the four-letter-word output.
	text func(c *call) string
	// notServing is the four-letter-word output when ServerRequired and the
	// server is not serving.
	notServing string
}

// Registry holds the monitoring commands and the state they keep
// themselves (the trace mask). It is safe for concurrent use.
type Registry struct {
	commands []*Command // in four-letter-word order
	byWord   map[string]*Command
	byName   map[string]*Command // primary names and aliases

	// traceMask is the value gtmk prints and stmk sets. ZooKeeper only
	// stores it; zkd does the same.
	traceMask atomic.Int64

	// loc is the time zone of the dates dump prints; time.Local outside
	// tests, like the JVM's default zone.
	loc *time.Location
	// environment returns envi's values after zookeeper.version.
	environment func() []property
}

// NewRegistry returns a registry holding every four-letter-word command,
// with the trace mask at ZooKeeper's default of 306.
func NewRegistry() *Registry {
	r := &Registry{
		byWord:      make(map[string]*Command),
		byName:      make(map[string]*Command),
		loc:         time.Local,
		environment: runtimeEnvironment,
	}
	r.traceMask.Store(defaultTraceMask)
	for _, cmd := range commandTable() {
		r.commands = append(r.commands, cmd)
		r.byWord[cmd.Word] = cmd
		r.byName[cmd.Name] = cmd
		for _, a := range cmd.Aliases {
			r.byName[a] = cmd
		}
	}
	return r
}

// Commands returns every command, in the order of their four-letter words.
// The caller must not modify them.
func (r *Registry) Commands() []*Command {
	return append([]*Command(nil), r.commands...)
}

// ByWord returns the command a four-letter word runs.
func (r *Registry) ByWord(word string) (*Command, bool) {
	cmd, ok := r.byWord[word]
	return cmd, ok
}

// Lookup returns the command with the given AdminServer name or alias.
func (r *Registry) Lookup(name string) (*Command, bool) {
	cmd, ok := r.byName[name]
	return cmd, ok
}

// TraceMask returns the current trace mask (gtmk).
func (r *Registry) TraceMask() int64 { return r.traceMask.Load() }

// SetTraceMask sets the trace mask (stmk).
func (r *Registry) SetTraceMask(mask int64) { r.traceMask.Store(mask) }

// knownWords holds every four-letter word, for FourLetterWord.
var knownWords = func() map[[4]byte]string {
	m := map[[4]byte]string{telnetCloseBytes: TelnetClose}
	for _, cmd := range commandTable() {
		m[[4]byte([]byte(cmd.Word))] = cmd.Word
	}
	return m
}()

// FourLetterWord reports whether the first four bytes of a new connection
// are a four-letter word, and which (client spec §11.1). The match is exact
// and case-sensitive. The telnet close sequence 0xfff4fffd is known too and
// named [TelnetClose]. Any other four bytes are the length of a first
// frame.
func FourLetterWord(first4 [4]byte) (word string, known bool) {
	word, known = knownWords[first4]
	return word, known
}

// processRegistry is the registry RunFourLetter uses. Like ZooKeeper's, its
// trace mask is one per process.
var processRegistry = NewRegistry()

// RunFourLetter runs a four-letter word on the process-wide registry; see
// [Registry.RunFourLetter].
func RunFourLetter(word string, src Source, whitelist map[string]bool, extra []byte) string {
	return processRegistry.RunFourLetter(word, src, whitelist, extra)
}

// RunFourLetter runs the four-letter word word, as returned by
// [FourLetterWord], and returns exactly the text ZooKeeper writes before it
// closes the connection (client spec §11): the not-in-whitelist message for
// a word the whitelist does not enable, the not-serving message for a
// command that needs a serving server when src is not serving, and
// otherwise the command's output. extra holds the bytes that followed the
// word; only stmk reads them (an 8-byte big-endian trace mask).
//
// whitelist is the set of enabled words, as the configuration's
// FourLetterWhitelist returns it; a "*" entry enables every word. An
// unknown word yields "".
func (r *Registry) RunFourLetter(word string, src Source, whitelist map[string]bool, extra []byte) string {
	enabled := whitelist[word] || whitelist["*"]
	if word == TelnetClose {
		if enabled {
			return ""
		}
		return notWhitelisted(word)
	}
	cmd, ok := r.byWord[word]
	if !ok {
		return ""
	}
	if !enabled {
		return notWhitelisted(word)
	}
	c := &call{reg: r, cmd: cmd, src: src, extra: extra}
	if cmd.ServerRequired && !c.snapshot().Serving {
		return cmd.notServing
	}
	return cmd.text(c)
}

// notWhitelisted is the answer to a known word the whitelist does not
// enable.
func notWhitelisted(word string) string {
	return word + " is not executed because it is not in the whitelist.\n"
}

// call is one run of a command.
type call struct {
	reg   *Registry
	cmd   *Command
	src   Source
	extra []byte

	snap  Snapshot
	taken bool
}

// snapshot returns the snapshot the command reads, taking it from the
// source on first use, so that everything the command prints comes from one
// moment and commands that read nothing (ruok, gtmk) never ask.
func (c *call) snapshot() *Snapshot {
	if !c.taken {
		c.snap = c.src.Snapshot(c.cmd.Detail)
		c.taken = true
	}
	return &c.snap
}

package admin

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/config"
)

// allWords are the four-letter words of client spec §11.1.
var allWords = []string{
	"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro",
	"mntr", "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs",
}

func TestFourLetterWordDetectsExactlyTheKnownWords(t *testing.T) {
	for _, w := range allWords {
		t.Run(w+" is known", func(t *testing.T) {
			got, ok := FourLetterWord([4]byte([]byte(w)))
			if !ok || got != w {
				t.Errorf("FourLetterWord(%q) = %q, %v; want %q, true", w, got, ok, w)
			}
		})
	}
	tests := []struct {
		name  string
		in    [4]byte
		word  string
		known bool
	}{
		{"the telnet close sequence is known by its name", [4]byte{0xff, 0xf4, 0xff, 0xfd}, TelnetClose, true},
		{"an unknown printable word is a frame length", [4]byte{'x', 'y', 'z', 'w'}, "", false},
		{"words are case-sensitive", [4]byte{'R', 'U', 'O', 'K'}, "", false},
		{"a connect request's length is not a word", [4]byte{0, 0, 0, 45}, "", false},
		{"AdminServer names are not words", [4]byte{'s', 'n', 'a', 'p'}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			word, known := FourLetterWord(tt.in)
			if word != tt.word || known != tt.known {
				t.Errorf("FourLetterWord(% x) = %q, %v; want %q, %v", tt.in, word, known, tt.word, tt.known)
			}
		})
	}
}

func TestRegistryNamesEveryCommandForTheAdminServer(t *testing.T) {
	r := NewRegistry()
	var words []string
	for _, cmd := range r.Commands() {
		words = append(words, cmd.Word)
		if cmd.Name == "" {
			t.Errorf("%s has no AdminServer name", cmd.Word)
		}
		if got, ok := r.ByWord(cmd.Word); !ok || got != cmd {
			t.Errorf("ByWord(%q) does not find its command", cmd.Word)
		}
		for _, name := range append([]string{cmd.Name}, cmd.Aliases...) {
			if got, ok := r.Lookup(name); !ok || got != cmd {
				t.Errorf("Lookup(%q) does not find the %s command", name, cmd.Word)
			}
		}
	}
	if !slices.Equal(words, allWords) {
		t.Errorf("words = %q, want %q", words, allWords)
	}
	tests := []struct {
		name string
		word string
	}{
		{"configuration", "conf"}, {"conf", "conf"}, {"config", "conf"},
		{"connections", "cons"}, {"connection_stat_reset", "crst"}, {"dirs", "dirs"},
		{"dump", "dump"}, {"environment", "envi"}, {"env", "envi"}, {"envi", "envi"},
		{"get_trace_mask", "gtmk"}, {"hash", "hash"}, {"is_read_only", "isro"},
		{"monitor", "mntr"}, {"ruok", "ruok"}, {"server_stats", "srvr"},
		{"set_trace_mask", "stmk"}, {"stat_reset", "srst"}, {"stats", "stat"},
		{"watch_summary", "wchs"}, {"watches", "wchc"}, {"watches_by_path", "wchp"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" runs "+tt.word, func(t *testing.T) {
			cmd, ok := r.Lookup(tt.name)
			if !ok || cmd.Word != tt.word {
				t.Errorf("Lookup(%q) = %v, %v; want the %s command", tt.name, cmd, ok, tt.word)
			}
		})
	}
	if _, ok := r.Lookup("nope"); ok {
		t.Error("Lookup finds an unknown name")
	}
}

func TestWhitelistDecidesWhichWordsRun(t *testing.T) {
	withProp := func(v string) map[string]bool {
		c := config.Default()
		c.Props["zookeeper.4lw.commands.whitelist"] = v
		return c.FourLetterWhitelist()
	}
	defaults := config.Default().FourLetterWhitelist()
	const notListed = " is not executed because it is not in the whitelist.\n"
	const srvrStart = "Zookeeper version: "
	tests := []struct {
		name      string
		whitelist map[string]bool
		word      string
		want      string // the output, or its start for srvr
	}{
		{"srvr runs with the default whitelist", defaults, "srvr", srvrStart},
		{"ruok runs with zkd's default whitelist", defaults, "ruok", "imok"},
		{"conf is refused by the default whitelist", defaults, "conf", "conf" + notListed},
		{"stmk is refused by the default whitelist", defaults, "stmk", "stmk" + notListed},
		{"telnet close is refused unless every word is enabled", defaults, TelnetClose, TelnetClose + notListed},
		{"a configured list enables its words", withProp("ruok, dirs"), "dirs", "datadir_size: 457\nlogdir_size: 457\n"},
		{"a configured list refuses the others", withProp("ruok, dirs"), "stat", "stat" + notListed},
		{"srvr is always enabled", withProp("ruok"), "srvr", srvrStart},
		{"a star enables every word", withProp("*"), "gtmk", "306"},
		{"a star in the set itself enables every word", map[string]bool{"*": true}, "isro", "rw"},
		{"telnet close just closes when a star is in the set", map[string]bool{"*": true}, TelnetClose, ""},
		{"an empty whitelist refuses even srvr", map[string]bool{}, "srvr", "srvr" + notListed},
		{"an unknown word prints nothing", map[string]bool{"*": true}, "xyzw", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{snap: freshSnapshot(), cfg: standaloneConfig()}
			got := testRegistry().RunFourLetter(tt.word, src, tt.whitelist, nil)
			if tt.want == srvrStart {
				if !strings.HasPrefix(got, srvrStart) {
					t.Errorf("srvr = %q", got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("RunFourLetter(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}

// TestNotServingMatchesZooKeeperCapture runs every word on a server that is
// not serving and expects what a 3.8.0 follower without quorum answered.
func TestNotServingMatchesZooKeeperCapture(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(captureDir, "follower-no-quorum", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	captured := make(map[string]bool)
	for _, f := range files {
		word := strings.TrimSuffix(filepath.Base(f), ".txt")
		captured[word] = true
		t.Run(word, func(t *testing.T) {
			snap := freshSnapshot()
			snap.Serving = false
			snap.Mode = "follower"
			src := &fakeSource{snap: snap, cfg: standaloneConfig()}
			var extra []byte
			if word == "stmk" {
				extra = []byte{0, 0, 0, 0, 0, 0, 0, 1}
			}
			got := testRegistry().RunFourLetter(word, src, everyWord, extra)
			want, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if src.serverResets+src.connResets != 0 {
				t.Errorf("%s reset statistics of a server that is not serving", word)
			}
		})
	}
	t.Run("envi still describes the environment", func(t *testing.T) {
		snap := freshSnapshot()
		snap.Serving = false
		got := testRegistry().RunFourLetter("envi", &fakeSource{snap: snap, cfg: standaloneConfig()}, everyWord, nil)
		if !strings.HasPrefix(got, "Environment:\nzookeeper.version=") {
			t.Errorf("envi = %q", got)
		}
	})
	for _, w := range allWords {
		if !captured[w] && w != "envi" {
			t.Errorf("no not-serving capture for %s", w)
		}
	}
}

func TestTraceMaskIsKeptByTheRegistry(t *testing.T) {
	src := &fakeSource{snap: freshSnapshot(), cfg: standaloneConfig()}
	r := testRegistry()
	steps := []struct {
		name  string
		word  string
		extra []byte
		want  string
	}{
		{"a new registry has ZooKeeper's default mask", "gtmk", nil, "306"},
		{"stmk sets and echoes the mask", "stmk", []byte{0, 0, 0, 0, 0, 0, 0x01, 0xff}, "511"},
		{"gtmk reads the mask stmk set", "gtmk", nil, "511"},
		{"stmk reads only the first eight bytes", "stmk", []byte{0, 0, 0, 0, 0, 0, 0, 2, '\n'}, "2"},
		{"stmk without eight bytes prints nothing", "stmk", []byte{0, 0, 0}, ""},
		{"and leaves the mask alone", "gtmk", nil, "2"},
		{"a negative mask prints signed", "stmk", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "-1"},
	}
	for _, s := range steps {
		if got := r.RunFourLetter(s.word, src, everyWord, s.extra); got != s.want {
			t.Errorf("%s: %s = %q, want %q", s.name, s.word, got, s.want)
		}
	}
	if src.snapshots != 0 {
		t.Errorf("gtmk and stmk took %d snapshots, want none", src.snapshots)
	}
	if got := testRegistry().TraceMask(); got != 306 {
		t.Errorf("another registry's mask = %d, want 306", got)
	}
}

func TestCommandsAskTheSourceForWhatTheyNeed(t *testing.T) {
	t.Run("ruok does not look at the server", func(t *testing.T) {
		src := &fakeSource{snap: freshSnapshot()}
		if got := testRegistry().RunFourLetter("ruok", src, everyWord, nil); got != "imok" || src.snapshots != 0 {
			t.Errorf("ruok = %q after %d snapshots", got, src.snapshots)
		}
	})
	t.Run("every other command takes exactly one snapshot", func(t *testing.T) {
		for _, w := range allWords {
			if w == "ruok" || w == "gtmk" || w == "stmk" {
				continue
			}
			src := &fakeSource{snap: freshSnapshot(), cfg: standaloneConfig()}
			testRegistry().RunFourLetter(w, src, everyWord, nil)
			if src.snapshots != 1 {
				t.Errorf("%s took %d snapshots", w, src.snapshots)
			}
		}
	})
	t.Run("srst resets the server statistics", func(t *testing.T) {
		src := &fakeSource{snap: freshSnapshot()}
		testRegistry().RunFourLetter("srst", src, everyWord, nil)
		if src.serverResets != 1 || src.connResets != 0 {
			t.Errorf("resets: server %d, connection %d", src.serverResets, src.connResets)
		}
	})
	t.Run("crst resets the connection statistics", func(t *testing.T) {
		src := &fakeSource{snap: freshSnapshot()}
		testRegistry().RunFourLetter("crst", src, everyWord, nil)
		if src.serverResets != 0 || src.connResets != 1 {
			t.Errorf("resets: server %d, connection %d", src.serverResets, src.connResets)
		}
	})
	t.Run("conf without a configuration prints zkd's defaults", func(t *testing.T) {
		src := &fakeSource{snap: freshSnapshot()}
		got := testRegistry().RunFourLetter("conf", src, everyWord, nil)
		if !strings.HasPrefix(got, "clientPort=2181\n") {
			t.Errorf("conf = %q", got)
		}
	})
}

func TestRunFourLetterUsesOneProcessWideRegistry(t *testing.T) {
	src := &fakeSource{snap: freshSnapshot(), cfg: standaloneConfig()}
	if got := RunFourLetter("ruok", src, config.Default().FourLetterWhitelist(), nil); got != "imok" {
		t.Errorf("ruok = %q", got)
	}
	if got := RunFourLetter("gtmk", src, everyWord, nil); got != "306" {
		t.Errorf("gtmk = %q, want 306", got)
	}
}

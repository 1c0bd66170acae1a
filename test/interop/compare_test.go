package interop

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/testcluster"
)

var update = flag.Bool("update", false, "rewrite the golden captures in testdata from Apache ZooKeeper's output")

// async is the result of work running on its own goroutine. The test that
// starts it owns it and must wait for it before the servers it uses stop.
type async[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func goAsync[T any](f func() (T, error)) *async[T] {
	a := &async[T]{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.val, a.err = f()
	}()
	return a
}

func (a *async[T]) wait() (T, error) {
	<-a.done
	return a.val, a.err
}

// diffLines compares want and got line by line and describes where they
// differ, or returns "" when they are equal. It lists at most 20 differing
// lines, each with its line number.
func diffLines(want, got string) string {
	if want == got {
		return ""
	}
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)); i++ {
		wl, gl := "<missing>", "<missing>"
		if i < len(w) {
			wl = fmt.Sprintf("%q", w[i])
		}
		if i < len(g) {
			gl = fmt.Sprintf("%q", g[i])
		}
		if wl == gl {
			continue
		}
		if shown == 20 {
			b.WriteString("... more differences follow\n")
			break
		}
		shown++
		fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
	}
	return b.String()
}

func TestDiffLinesNamesTheLinesThatDiffer(t *testing.T) {
	tests := []struct {
		name, want, got, report string
	}{
		{"equal texts have no report", "a\nb\n", "a\nb\n", ""},
		{"a changed line is reported with its number", "a\nb\nc", "a\nB\nc",
			"line 2:\n  want \"b\"\n  got  \"B\"\n"},
		{"a missing line is reported", "a\nb", "a",
			"line 2:\n  want \"b\"\n  got  <missing>\n"},
		{"an extra line is reported", "a", "a\nz",
			"line 2:\n  want <missing>\n  got  \"z\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diffLines(tt.want, tt.got); got != tt.report {
				t.Errorf("diffLines(%q, %q) =\n%s\nwant\n%s", tt.want, tt.got, got, tt.report)
			}
		})
	}
}

// Golden captures start with "# " comment lines saying where they came
// from; the rest is compared.
const goldenComment = "# "

// checkGolden compares Apache ZooKeeper's output with the capture in
// testdata/name, or rewrites the capture when -update is given.
func checkGolden(t *testing.T, name, apacheAddr, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		header := goldenComment + "Captured from " + serverVersion(t, apacheAddr) + "\n" +
			goldenComment + "by " + t.Name() + " with -update; the interop tests compare it with a fresh run.\n"
		if err := os.WriteFile(path, []byte(header+got), 0o644); err != nil {
			t.Fatalf("write golden capture: %v", err)
		}
		t.Logf("wrote %s", path)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden capture (create it with -update): %v", err)
	}
	want, from := stripGoldenHeader(string(b))
	if d := diffLines(want, got); d != "" {
		t.Errorf("Apache ZooKeeper's output (%s) differs from %s (%s).\n"+
			"The reference itself changed: check whether this Apache ZooKeeper is a different version, "+
			"then rerun with -update if the new output is right.\n%s",
			serverVersion(t, apacheAddr), path, from, d)
	}
}

func stripGoldenHeader(s string) (body, header string) {
	var h []string
	for strings.HasPrefix(s, goldenComment) {
		line, rest, _ := strings.Cut(s, "\n")
		h = append(h, strings.TrimPrefix(line, goldenComment))
		s = rest
	}
	return s, strings.Join(h, " ")
}

var versionLine = regexp.MustCompile(`(?m)^Zookeeper version: (.*)$`)

// serverVersion returns the version line a server reports to "srvr".
func serverVersion(t *testing.T, addr string) string {
	t.Helper()
	out, err := testcluster.FourLetter(addr, "srvr")
	if err != nil {
		return fmt.Sprintf("unknown version (%v)", err)
	}
	if m := versionLine.FindStringSubmatch(out); m != nil {
		return "Apache ZooKeeper " + m[1]
	}
	return "unknown version"
}

package testcluster

import (
	"runtime"
	"strings"
	"time"
)

// LeakedGoroutines waits up to d for every goroutine created by the
// non-test code of the given packages (import paths, such as
// "github.com/zkd/zkd/client") to end, and returns the stacks of those
// still alive then. Call it from TestMain after m.Run: every goroutine
// must have an owner that stops it.
func LeakedGoroutines(d time.Duration, packages ...string) []string {
	deadline := time.Now().Add(d)
	for {
		leaked := liveGoroutines(packages)
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// liveGoroutines returns the stacks of live goroutines created by the
// non-test code of packages.
func liveGoroutines(packages []string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		i := strings.Index(g, "\ncreated by ")
		if i < 0 {
			continue
		}
		lines := strings.SplitN(g[i+1:], "\n", 3)
		creator := strings.TrimPrefix(lines[0], "created by ")
		ours := false
		for _, p := range packages {
			// The creator is "pkg.Func" or "pkg.(*T).Method"; a package
			// below p (client/recipe under client) is not p.
			if rest, ok := strings.CutPrefix(creator, p+"."); ok && !strings.Contains(rest, "/") {
				ours = true
			}
		}
		if !ours || (len(lines) >= 2 && strings.Contains(lines[1], "_test.go")) {
			continue
		}
		out = append(out, g)
	}
	return out
}

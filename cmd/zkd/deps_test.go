package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/zkd/zkd"

// pure packages do no I/O, own no goroutines and hold no locks
// (shared/design/models.md §3.1).
var pure = []string{"internal/jute", "internal/tree", "internal/watch", "internal/session", "internal/acl", "internal/prep", "internal/fle", "internal/zab", "internal/lincheck"}

// thirdPartyInPure names the only third-party imports a pure package may
// have (models.md §3.1: lincheck is "pure (+ porcupine)").
var thirdPartyInPure = map[string][]string{
	"internal/lincheck": {"github.com/anishathalye/porcupine"},
}

var bannedInPure = []string{"net", "os", "os/exec", "syscall", "time", "sync", "sync/atomic", "math/rand", "math/rand/v2", "crypto/rand", "log", "log/slog"}

// allowed lists, for each internal package, the internal packages it may
// import (models.md §3.2); a package missing here may import none.
var allowed = map[string][]string{
	"internal/jute":        {},
	"internal/config":      {},
	"internal/tree":        {"internal/jute"},
	"internal/watch":       {"internal/jute"},
	"internal/session":     {"internal/jute"},
	"internal/acl":         {"internal/jute"},
	"internal/prep":        {"internal/jute", "internal/tree", "internal/session", "internal/acl", "internal/config"},
	"internal/clientport":  {"internal/jute", "internal/config"},
	"internal/admin":       {"internal/jute", "internal/config", "internal/storage"},
	"internal/fle":         {"internal/jute", "internal/config"},
	"internal/zab":         {"internal/jute", "internal/config"},
	"internal/lincheck":    {},
	"internal/peer":        {"internal/jute", "internal/config", "internal/fle", "internal/zab", "internal/storage", "internal/tlsconf", "internal/sasl"},
	"internal/server":      {"internal/jute", "internal/config", "internal/tree", "internal/watch", "internal/session", "internal/acl", "internal/prep", "internal/clientport", "internal/admin", "internal/storage", "internal/peer", "internal/zab", "internal/sasl", "internal/tlsconf", "internal/procs"},
	"internal/procs":       {},
	"internal/testcluster": {"internal/jute", "internal/config", "internal/lincheck"},
	"internal/loadgen":     {"internal/jute"},
	"client":               {"internal/jute", "internal/sasl"},
	"internal/sasl":        {},
	"internal/tlsconf":     {"internal/config"},
	"client/recipe":        {"client"},
	"internal/storage":     {"internal/jute", "internal/tree"},
	"internal/cli":         {"client", "internal/config", "internal/tlsconf", "internal/sasl"},
	"internal/sim":         {"internal/jute", "internal/fle", "internal/zab", "internal/storage", "internal/tree"},
	"cmd/zkd":              {"internal/config", "internal/server", "internal/storage", "internal/tree", "internal/jute", "internal/cli", "internal/procs"},
}

// imports returns the non-test imports of the package in dir.
func imports(t *testing.T, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// packageDirs returns every directory of the module holding Go files.
func packageDirs(t *testing.T) []string {
	t.Helper()
	root := filepath.Join("..", "..")
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") {
			dir := filepath.Dir(p)
			if !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		return nil
	})
	return dirs
}

func rel(dir string) string {
	r, _ := filepath.Rel(filepath.Join("..", ".."), dir)
	return filepath.ToSlash(r)
}

func TestImportsPointOneWay(t *testing.T) {
	for _, dir := range packageDirs(t) {
		pkg := rel(dir)
		for _, imp := range imports(t, dir) {
			if !strings.HasPrefix(imp, module+"/") {
				if slices.Contains(pure, pkg) {
					if slices.Contains(bannedInPure, imp) || (strings.Contains(strings.Split(imp, "/")[0], ".") && !slices.Contains(thirdPartyInPure[pkg], imp)) {
						t.Errorf("%s is pure but imports %s", pkg, imp)
					}
				}
				continue
			}
			target := strings.TrimPrefix(imp, module+"/")
			if strings.HasPrefix(target, "cmd/") {
				t.Errorf("%s imports %s: nothing imports cmd", pkg, target)
			}
			rules, known := allowed[pkg]
			if !known {
				if strings.HasPrefix(pkg, "test/") {
					continue // black-box test packages may use anything
				}
				t.Errorf("%s has no import rule in deps_test.go; add one", pkg)
				continue
			}
			if !slices.Contains(rules, target) {
				t.Errorf("%s may not import %s", pkg, target)
			}
		}
	}
}

func TestEveryPackageHasExactlyOnePackageDoc(t *testing.T) {
	for _, dir := range packageDirs(t) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		docs := 0
		nonTest := 0
		fset := token.NewFileSet()
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			nonTest++
			ast, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if ast.Doc != nil {
				docs++
			}
		}
		if nonTest > 0 && docs != 1 {
			t.Errorf("%s: %d files carry a package doc, want exactly 1", rel(dir), docs)
		}
	}
}

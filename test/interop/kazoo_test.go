package interop

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// kazooScript prints what a kazoo client observes through basic operations,
// watches, transactions and the Lock, Election, Counter and ChildrenWatch
// recipes. Its output is deterministic for a fresh server.
const kazooScript = "testdata/kazoo_recipes.py"

func TestKazooRecipesMatchApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper, testcluster.NeedKazoo)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script, err := filepath.Abs(kazooScript)
	if err != nil {
		t.Fatal(err)
	}
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{})

	start := time.Now()
	ref := goAsync(func() (string, error) {
		out, err := testcluster.Python(ctx, script, apache.Addr)
		t.Logf("kazoo script against Apache ZooKeeper took %v", time.Since(start))
		return out, err
	})
	t.Cleanup(func() {
		cancel()
		_, _ = ref.wait()
	})
	reference := func(t *testing.T) string {
		t.Helper()
		want, err := ref.wait()
		if err != nil {
			t.Fatalf("kazoo against Apache ZooKeeper (the reference) failed: %v\nstdout:\n%s\n%s",
				err, want, apache.LogTail())
		}
		return want
	}

	t.Run("zkd matches the reference", func(t *testing.T) {
		zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{})
		zkdStart := time.Now()
		got, err := testcluster.Python(ctx, script, zkd.Addr)
		t.Logf("kazoo script against zkd took %v", time.Since(zkdStart))
		want := reference(t)
		if err != nil {
			t.Fatalf("kazoo against zkd failed: %v\ndifferences up to the failure:\n%s\n%s",
				err, diffLines(want, got), zkd.LogTail())
		}
		if d := diffLines(want, got); d != "" {
			t.Errorf("kazoo sees zkd differently from Apache ZooKeeper:\n%s\nApache ZooKeeper:\n%s\nzkd:\n%s",
				d, want, got)
		}
	})

	t.Run("Apache ZooKeeper matches the golden capture", func(t *testing.T) {
		checkGolden(t, "kazoo_recipes.golden", apache.Addr, reference(t))
	})
}

package interop

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/zkd/zkd/internal/testcluster"
)

// TestApacheZooKeeperStartsFromSnapshotsZkdWroteUnderLoad has zkd write
// snapshots while eight clients keep creating, changing and deleting
// nodes (snapCount=200, so a snapshot every 100–200 transactions, each
// written by a goroutine of its own while writes go on), then stops it.
// For each of the newest snapshots it keeps a copy of the dataDir
// without the snapshots after it, and starts Apache ZooKeeper 3.8 on the
// copy: ZooKeeper must read the snapshot, replay the log after its zxid
// and serve exactly the tree zkd served. So every snapshot is a tree
// ZooKeeper accepts, and the snapshot at zxid Z plus the log after Z is
// the whole history. zkd restarts from the oldest of them too.
func TestApacheZooKeeperStartsFromSnapshotsZkdWroteUnderLoad(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedApacheZooKeeper)
	flags := append(slices.Clone(dataDirFlags), "-Dzookeeper.snapCount=200")
	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: flags})
	setup := connectTo(t, zkd.Addr)
	for w := range 8 {
		if _, err := setup.Create(fmt.Sprintf("/w%d", w), nil, 0, openACL); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			c := connectTo(t, zkd.Addr)
			data := []byte(strings.Repeat(fmt.Sprint(w), 700))
			for i := range 400 {
				p := fmt.Sprintf("/w%d/n%d", w, i%50)
				var err error
				switch {
				case i < 50:
					_, err = c.Create(p, data, 0, openACL)
				case i%7 == 0:
					if err = c.Delete(p, -1); err == nil {
						_, err = c.Create(p, data[:i%300], 0, openACL)
					}
				default:
					_, err = c.Set(p, data[:100+i], -1)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, op %d on %s: %w", w, i, p, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := walk(t, zkd.Addr)
	zkd.Stop()

	snaps, _ := filepath.Glob(filepath.Join(zkd.DataDir, "version-2", "snapshot.*"))
	zxidOf := func(p string) uint64 {
		z, err := strconv.ParseUint(strings.TrimPrefix(filepath.Base(p), "snapshot."), 16, 64)
		if err != nil {
			t.Fatalf("snapshot file %s: %v", p, err)
		}
		return z
	}
	slices.SortFunc(snaps, func(a, b string) int { return cmp.Compare(zxidOf(a), zxidOf(b)) })
	if len(snaps) < 5 {
		t.Fatalf("zkd wrote %d snapshots under load; the test means several: %v", len(snaps), snaps)
	}
	for i, keep := range []int{len(snaps) - 1, len(snaps) / 2, 1} {
		name := filepath.Base(snaps[keep])
		t.Run(name, func(t *testing.T) {
			dir := copyDataDir(t, zkd.DataDir)
			for _, later := range snaps[keep+1:] {
				if err := os.Remove(filepath.Join(dir, "version-2", filepath.Base(later))); err != nil {
					t.Fatal(err)
				}
			}
			apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{DataDir: dir, JVMFlags: dataDirFlags})
			if d := diffTrees(want, walk(t, apache.Addr)); d != "" {
				t.Fatalf("Apache ZooKeeper on %s and the log after it serves:\n%s\nzookeeper log:\n%s", name, d, apache.LogTail())
			}
			apache.Stop()
			if i == 2 {
				again := testcluster.StartZkd(t, testcluster.ZkdOptions{DataDir: copyDataDir(t, dir), Flags: dataDirFlags})
				if d := diffTrees(want, walk(t, again.Addr)); d != "" {
					t.Fatalf("zkd on %s and the log after it serves:\n%s", name, d)
				}
			}
		})
	}
}

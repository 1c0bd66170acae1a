package interop

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/testcluster"
)

// znode is everything a client can read about one node.
type znode struct {
	Data []byte
	Null bool
	Stat zk.Stat
	ACL  []zk.ACL
}

// walk reads the whole tree through go-zookeeper.
func walk(t *testing.T, addr string, auth ...string) map[string]znode {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(silent{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitSession(t, events)
	for _, a := range auth {
		if err := c.AddAuth("digest", []byte(a)); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]znode{}
	var visit func(string)
	visit = func(p string) {
		data, st, err := c.Get(p)
		if err != nil {
			t.Fatalf("get %s: %v", p, err)
		}
		acl, _, err := c.GetACL(p)
		if err != nil {
			t.Fatalf("getACL %s: %v", p, err)
		}
		out[p] = znode{Data: data, Null: data == nil, Stat: *st, ACL: acl}
		children, _, err := c.Children(p)
		if err != nil {
			t.Fatalf("children %s: %v", p, err)
		}
		for _, ch := range children {
			if p == "/" {
				visit("/" + ch)
			} else {
				visit(p + "/" + ch)
			}
		}
	}
	visit("/")
	return out
}

type silent struct{}

func (silent) Printf(string, ...any) {}

func waitSession(t *testing.T, events <-chan zk.Event) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return
			}
		case <-deadline:
			t.Fatal("no session within 20s")
		}
	}
}

// diffTrees describes how two walked trees differ (empty when equal).
// go-zookeeper reads null and empty data both as nil, so data compares by
// bytes.
func diffTrees(want, got map[string]znode) string {
	var b strings.Builder
	var paths []string
	for p := range want {
		paths = append(paths, p)
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, p := range paths {
		w, inW := want[p]
		g, inG := got[p]
		switch {
		case !inW:
			fmt.Fprintf(&b, "%s: extra node\n", p)
		case !inG:
			fmt.Fprintf(&b, "%s: missing\n", p)
		case !bytes.Equal(w.Data, g.Data):
			fmt.Fprintf(&b, "%s: data %q, want %q\n", p, g.Data, w.Data)
		case w.Stat != g.Stat:
			fmt.Fprintf(&b, "%s: stat\n  got  %+v\n  want %+v\n", p, g.Stat, w.Stat)
		case !slices.Equal(w.ACL, g.ACL):
			fmt.Fprintf(&b, "%s: acl %v, want %v\n", p, g.ACL, w.ACL)
		}
	}
	return b.String()
}

// copyDir copies a dataDir's version-2 files.
func copyDataDir(t *testing.T, from string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(filepath.Join(dst, "version-2"), 0o755)
	files, _ := filepath.Glob(filepath.Join(from, "version-2", "*"))
	if len(files) == 0 {
		t.Fatalf("nothing to copy in %s", from)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, "version-2", filepath.Base(f)), b, 0o644)
	}
	return dst
}

// Both servers run with TTLs on and reaping far away, so that a TTL node
// that expired long ago stays put while the trees are compared.
var dataDirFlags = []string{"-Dzookeeper.extendedTypesEnabled=true", "-Dznode.container.checkIntervalMs=86400000"}

// TestZkdServesTheTreeApacheZooKeeperServesFromItsDataDir starts Apache
// ZooKeeper 3.8 and zkd on copies of the same ZooKeeper-written dataDir
// (the shared fixture) and compares every node, Stat field and ACL.
func TestZkdServesTheTreeApacheZooKeeperServesFromItsDataDir(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedApacheZooKeeper)
	fixture := filepath.Join("..", "..", "..", "shared", "testdata", "zk38-basic")
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{DataDir: copyDataDir(t, fixture), JVMFlags: dataDirFlags})
	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{DataDir: copyDataDir(t, fixture), Flags: dataDirFlags})
	for _, addr := range []string{apache.Addr, zkd.Addr} {
		out, err := testcluster.FourLetter(addr, "srvr")
		if err != nil || !strings.Contains(out, "Zxid: 0x70\n") {
			t.Fatalf("%s srvr: %q %v", addr, out, err)
		}
	}
	want := walk(t, apache.Addr, "alice:secret")
	got := walk(t, zkd.Addr, "alice:secret")
	if len(want) < 50 {
		t.Fatalf("Apache ZooKeeper served only %d nodes", len(want))
	}
	if d := diffTrees(want, got); d != "" {
		t.Fatalf("zkd differs from Apache ZooKeeper on the same dataDir:\n%s", d)
	}
}

// populate writes a varied tree through go-zookeeper: sequential nodes
// with deletions between them, setData, digest and read-only ACLs, setACL,
// a container with a child, a TTL node, a multi, and an ephemeral whose
// session then closes.
func populate(t *testing.T, addr string) {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(silent{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitSession(t, events)
	open := zk.WorldACL(zk.PermAll)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.Create("/app", []byte("root"), 0, open)
	must(err)
	for i := range 40 {
		_, err = c.Create("/app/q-", []byte(fmt.Sprint(i)), zk.FlagSequence, open)
		must(err)
	}
	for i := 0; i < 40; i += 3 {
		must(c.Delete(fmt.Sprintf("/app/q-%010d", i), -1))
	}
	_, err = c.Set("/app", []byte("v2"), 0)
	must(err)
	must(c.AddAuth("digest", []byte("alice:secret")))
	_, err = c.Create("/app/secret", []byte("s"), 0, zk.DigestACL(zk.PermAll, "alice", "secret"))
	must(err)
	_, err = c.Create("/app/ro", nil, 0, zk.WorldACL(zk.PermRead))
	must(err)
	_, err = c.Create("/app/empty", []byte{}, 0, open)
	must(err)
	_, err = c.SetACL("/app/empty", zk.WorldACL(zk.PermRead|zk.PermWrite), 0)
	must(err)
	_, err = c.CreateContainer("/app/box", nil, 4, open) // 4 = CONTAINER
	must(err)
	_, err = c.Create("/app/box/item", nil, 0, open)
	must(err)
	_, err = c.CreateTTL("/app/ttl", []byte("t"), zk.FlagTTL, open, time.Hour)
	must(err)
	_, err = c.Multi(&zk.CreateRequest{Path: "/m", Data: []byte("1"), Acl: open}, &zk.SetDataRequest{Path: "/m", Data: []byte("2"), Version: 0})
	must(err)
	_, err = c.Create("/gone", nil, zk.FlagEphemeral, open)
	must(err)
}

// TestApacheZooKeeperServesTheTreeZkdWrote writes a varied tree through
// zkd, stops it, and starts Apache ZooKeeper 3.8 on zkd's dataDir.
func TestApacheZooKeeperServesTheTreeZkdWrote(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedApacheZooKeeper)
	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: append(dataDirFlags, "-Dzookeeper.snapCount=30")})
	populate(t, zkd.Addr)
	want := walk(t, zkd.Addr, "alice:secret")
	if len(want) < 30 {
		t.Fatalf("zkd served only %d nodes", len(want))
	}
	zkd.Stop()

	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{DataDir: zkd.DataDir, JVMFlags: dataDirFlags})
	got := walk(t, apache.Addr, "alice:secret")
	if d := diffTrees(want, got); d != "" {
		t.Fatalf("Apache ZooKeeper serves zkd's dataDir differently:\n%s\nzookeeper log:\n%s", d, apache.LogTail())
	}
}

// TestZkdServesTheTreeApacheZooKeeperWroteDuringTheTest is the reverse:
// Apache ZooKeeper 3.8 writes the tree (rolling logs and snapshots on the
// way), stops, and zkd starts on its dataDir.
func TestZkdServesTheTreeApacheZooKeeperWroteDuringTheTest(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedApacheZooKeeper)
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: append(dataDirFlags, "-Dzookeeper.snapCount=30")})
	populate(t, apache.Addr)
	want := walk(t, apache.Addr, "alice:secret")
	if len(want) < 30 {
		t.Fatalf("Apache ZooKeeper served only %d nodes", len(want))
	}
	apache.Stop()

	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{DataDir: apache.DataDir, Flags: dataDirFlags})
	got := walk(t, zkd.Addr, "alice:secret")
	if d := diffTrees(want, got); d != "" {
		t.Fatalf("zkd serves Apache ZooKeeper's dataDir differently:\n%s\nzkd log:\n%s", d, zkd.LogTail())
	}
}

package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/testcluster"
	"github.com/zkd/zkd/internal/tree"
)

// Interop checks against a real Apache ZooKeeper 3.8 (skipped without
// Java unless ZKD_REQUIRE_INTEROP=1): ZooKeeper's compressed snapshots
// read back as the tree it serves, and ZooKeeper starts from snapshots
// this package wrote and serves the same tree, agreeing with their digest.

// startApacheOn starts a standalone Apache ZooKeeper on dataDir (instead of
// the fresh one StartApacheZK makes: a later dataDir line wins in zoo.cfg)
// writing snapshots with the given compression.
func startApacheOn(t *testing.T, dataDir string, c Compression) *testcluster.ApacheZK {
	t.Helper()
	return testcluster.StartApacheZK(t, testcluster.ApacheOptions{
		ExtraConfig: []string{"dataDir=" + dataDir},
		JVMFlags: []string{
			"-Dzookeeper.snapshot.compression.method=" + c.String(),
			"-Dzookeeper.extendedTypesEnabled=true",
			// Keep the TTL node: no container/TTL reaping during the test.
			"-Dznode.container.checkIntervalMs=3600000",
		},
	})
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// zkSession opens a go-zookeeper session and waits for it.
func zkSession(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{addr}, 30*time.Second, zk.WithLogInfo(false), zk.WithLogger(discardLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	deadline := time.After(15 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				go func() {
					for range events {
					}
				}()
				return conn
			}
		case <-deadline:
			t.Fatalf("no session with %s within 15s", addr)
		}
	}
}

// served is one node as a client reads it.
type served struct {
	data []byte
	stat zk.Stat
	acl  []zk.ACL
}

// walk reads every node the server holds, authenticated as alice (the
// digest ACLs of both trees name her).
func walk(t *testing.T, conn *zk.Conn) map[string]served {
	t.Helper()
	if err := conn.AddAuth("digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]served)
	stack := []string{"/"}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		data, stat, err := conn.Get(p)
		if err != nil {
			t.Fatalf("get %s: %v", p, err)
		}
		acl, _, err := conn.GetACL(p)
		if err != nil {
			t.Fatalf("getACL %s: %v", p, err)
		}
		out[p] = served{data: data, stat: *stat, acl: acl}
		kids, _, err := conn.Children(p)
		if err != nil {
			t.Fatalf("children %s: %v", p, err)
		}
		for _, k := range kids {
			stack = append(stack, strings.TrimSuffix(p, "/")+"/"+k)
		}
	}
	return out
}

// compareServed checks that the server serves exactly the tree's nodes.
// Quota stats nodes are compared by existence only (their data is
// maintained outside transactions).
func compareServed(t *testing.T, tr *tree.Tree, got map[string]served) {
	t.Helper()
	if len(got) != tr.NodeCount() {
		t.Errorf("server has %d nodes, tree %d", len(got), tr.NodeCount())
	}
	for p, s := range got {
		n, ok := tr.Get(p)
		if !ok {
			t.Errorf("server has %s, tree does not", p)
			continue
		}
		if !bytes.Equal(s.data, n.Data) && !strings.HasSuffix(p, "/zookeeper_stats") {
			t.Errorf("%s: server data %q, tree %q", p, s.data, n.Data)
		}
		ps := n.PublicStat()
		want := zk.Stat{
			Czxid: int64(ps.Czxid), Mzxid: int64(ps.Mzxid), Ctime: ps.Ctime, Mtime: ps.Mtime,
			Version: ps.Version, Cversion: ps.Cversion, Aversion: ps.Aversion,
			EphemeralOwner: ps.EphemeralOwner, DataLength: ps.DataLength, NumChildren: ps.NumChildren, Pzxid: int64(ps.Pzxid),
		}
		if strings.HasSuffix(p, "/zookeeper_stats") {
			want.DataLength = s.stat.DataLength
		}
		if s.stat != want {
			t.Errorf("%s: server stat\n%+v\ntree stat\n%+v", p, s.stat, want)
		}
		var acl []jute.ACL
		for _, a := range s.acl {
			acl = append(acl, jute.ACL{Perms: a.Perms, ID: jute.Id{Scheme: a.Scheme, ID: a.ID}})
		}
		if !slices.Equal(acl, n.ACL) {
			t.Errorf("%s: server ACL %v, tree %v", p, acl, n.ACL)
		}
	}
}

// populate creates a little of everything through a client.
func populate(t *testing.T, conn *zk.Conn) {
	t.Helper()
	open := zk.WorldACL(zk.PermAll)
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(conn.Create("/interop", []byte("root of the interop test"), 0, open))
	must(conn.Create("/interop/binary", []byte{0, 1, 2, 0xff, 0xfe}, 0, open))
	must(conn.Create("/interop/empty", []byte{}, 0, open))
	must(conn.Create("/interop/big", bytes.Repeat([]byte("0123456789"), 50000), 0, open))
	must(conn.Create("/interop/secret", []byte("s"), 0, zk.DigestACL(zk.PermAll, "alice", "secret")))
	must(conn.Create("/interop/readonly", []byte("r"), 0, zk.WorldACL(zk.PermRead)))
	must(conn.Create("/interop/ephemeral", []byte("e"), zk.FlagEphemeral, open))
	must(conn.CreateContainer("/interop/container", []byte("c"), zk.FlagContainer, open))
	must(conn.Create("/interop/container/child", nil, 0, open))
	must(conn.CreateTTL("/interop/ttl", []byte("t"), zk.FlagTTL, open, time.Hour))
	must(conn.Create("/interop/queue", nil, 0, open))
	for range 3 {
		must(conn.Create("/interop/queue/item-", []byte("q"), zk.FlagSequence, open))
	}
	if err := conn.Delete("/interop/queue/item-0000000001", -1); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		must(conn.Create("/interop/many-"+strconv.Itoa(i), []byte(strconv.Itoa(i)), 0, open))
	}
	if _, err := conn.Set("/interop/binary", []byte("changed"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.SetACL("/interop/empty", zk.WorldACL(zk.PermRead|zk.PermWrite), 0); err != nil {
		t.Fatal(err)
	}
}

// TestApacheZooKeeperCompressedSnapshotsLoadAsTheTreeItServes has Apache
// ZooKeeper write gz and snappy snapshots (a standalone server writes one
// at startup) and checks that each loads as the tree that server serves.
func TestApacheZooKeeperCompressedSnapshotsLoadAsTheTreeItServes(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	dataDir := t.TempDir()
	snapDir := filepath.Join(dataDir, VersionDir)

	zk1 := startApacheOn(t, dataDir, Uncompressed)
	conn := zkSession(t, zk1.Addr)
	populate(t, conn)
	owner := conn.SessionID()
	zk1.Stop() // the session, and its ephemeral node, outlive the server
	conn.Close()

	for _, c := range []Compression{Gzip, Snappy} {
		zk := startApacheOn(t, dataDir, c)
		l, err := LoadNewestSnapshot(OS{}, snapDir, LoadOptions{ExtendedTypes: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := SnapshotCompression(l.File); got != c {
			t.Fatalf("newest snapshot is %s, want a %v one written at startup", l.File, c)
		}
		if len(l.Skipped) != 0 || !l.Info.HasDigest || l.Info.DigestMismatch || l.Info.DigestZxid != l.Zxid {
			t.Errorf("%s: skipped %v, info %+v", l.File, l.Skipped, l.Info)
		}
		if got := l.Tree.Ephemerals(owner); !slices.Equal(got, []string{"/interop/ephemeral"}) {
			t.Errorf("%s: ephemerals of %#x: %v", l.File, owner, got)
		}
		if !slices.ContainsFunc(l.Sessions, func(s tree.SessionTimeout) bool { return int64(s.ID) == owner }) {
			t.Errorf("%s: sessions %v lack %#x", l.File, l.Sessions, owner)
		}
		if n, ok := l.Tree.Get("/interop/ttl"); !ok || n.TTL() != 3600000 {
			t.Errorf("%s: TTL node %+v", l.File, n)
		}
		compareServed(t, l.Tree, walk(t, zkSession(t, zk.Addr)))
		t.Logf("%s (%v): %d nodes, digest %#x after %#x", filepath.Base(l.File), c, l.Info.Nodes, l.Info.Digest, int64(l.Info.DigestZxid))
		if dst := os.Getenv("ZKD_CAPTURE_SNAPSHOTS"); dst != "" {
			b, _ := os.ReadFile(l.File)
			if err := os.WriteFile(filepath.Join(dst, filepath.Base(l.File)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		zk.Stop()
	}
}

// TestApacheZooKeeperStartsFromSnapshotsWeWrote writes the fixture's final
// tree as a plain, a gz and a snappy snapshot, starts Apache ZooKeeper on
// each (no logs), and checks that it serves that tree and found the digest
// in our trailer equal to its own.
func TestApacheZooKeeperStartsFromSnapshotsWeWrote(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	tr, sessions := fixtureFinalTree(t)
	digest := tr.Digest()
	for _, c := range []Compression{Uncompressed, Gzip, Snappy} {
		t.Run("compression="+c.String(), func(t *testing.T) {
			t.Parallel()
			dataDir := t.TempDir()
			path, err := WriteSnapshot(OS{}, filepath.Join(dataDir, VersionDir), tr, sessions, c)
			if err != nil {
				t.Fatal(err)
			}
			zk := startApacheOn(t, dataDir, c)
			log, err := os.ReadFile(zk.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(log, []byte("Digests are not matching")) {
				t.Errorf("ZooKeeper found our digest wrong:\n%s", zk.LogTail())
			}
			m := regexp.MustCompile(`with zxid as 0x([0-9a-f]+), and digest value as (-?[0-9]+)`).FindSubmatch(log)
			if m == nil || string(m[1]) != "70" || string(m[2]) != strconv.FormatInt(digest, 10) {
				t.Errorf("ZooKeeper did not report our digest (0x70, %d) as loaded: %q", digest, m)
			}
			if !bytes.Contains(log, []byte("Reading snapshot "+path)) {
				t.Errorf("ZooKeeper did not read %s:\n%s", path, zk.LogTail())
			}
			srvr, err := testcluster.FourLetter(zk.Addr, "srvr")
			if err != nil {
				t.Fatal(err)
			}
			// ZooKeeper's node map holds the root twice ("" and "/").
			if want := "Node count: " + strconv.Itoa(tr.NodeCount()+1); !strings.Contains(srvr, want) {
				t.Errorf("srvr says\n%s\nwant %q", srvr, want)
			}
			if !strings.Contains(srvr, "Zxid: 0x70") {
				t.Errorf("srvr says\n%s\nwant Zxid: 0x70", srvr)
			}
			compareServed(t, tr, walk(t, zkSession(t, zk.Addr)))
		})
	}
}

// fixtureFinalTree restores the fixture as a server would: snapshot.69,
// then the logs after it; it returns the tree at 0x70 and the sessions
// alive then.
func fixtureFinalTree(t *testing.T) (*tree.Tree, []tree.SessionTimeout) {
	t.Helper()
	tr, sessions := loadFixtureTree(t, "snapshot.69", 0x69)
	live := make(map[jute.SessionID]int32)
	for _, s := range sessions {
		live[s.ID] = s.Timeout
	}
	_, err := Replay(OS{}, snapFixture, 0x69, false, func(txn *jute.Txn) error {
		tr.Apply(txn)
		switch r := txn.Record.(type) {
		case *jute.CreateSessionTxn:
			live[txn.Header.ClientID] = r.Timeout
		default:
			if txn.Header.Type == jute.OpCloseSession {
				delete(live, txn.Header.ClientID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tr.LastZxid() != 0x70 {
		t.Fatalf("replayed to %#x", int64(tr.LastZxid()))
	}
	var out []tree.SessionTimeout
	for id, to := range live {
		out = append(out, tree.SessionTimeout{ID: id, Timeout: to})
	}
	return tr, out
}

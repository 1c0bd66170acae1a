package tree

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

func TestAFreshTreeHasZooKeepersDigest(t *testing.T) {
	if got := New().Digest(); got != 1371985504 {
		t.Fatalf("fresh tree digest %d, want 1371985504 (§2.5)", got)
	}
}

func TestNodeDigestLeavesOutOnlyNodesBelowZookeeper(t *testing.T) {
	n := &Node{Data: []byte("x")}
	for _, tc := range []struct {
		path     string
		excluded bool
	}{
		{"/", false},
		{"/zookeeper", false},
		{"/zookeeper/quota", true},
		{"/zookeeper/config", true},
		{"/zookeeperx", false},
		{"/app", false},
	} {
		if got := NodeDigest(tc.path, n) == 0; got != tc.excluded {
			t.Errorf("NodeDigest(%q) == 0 is %v, want %v", tc.path, got, tc.excluded)
		}
	}
	if NodeDigest("/", n) != int64(nodeCRC("", n.Data, &n.Stat)) {
		t.Error("the root is not hashed under the empty path")
	}
}

// fixtureTxns returns every transaction in the fixture's logs, by zxid.
func fixtureTxns(t *testing.T) []*jute.Txn {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(fixture, "version-2", "log.*"))
	if len(logs) == 0 {
		t.Fatalf("fixture %s is missing", fixture)
	}
	var txns []*jute.Txn
	for _, l := range logs {
		txns = append(txns, readLogForTest(t, l)...)
	}
	slices.SortStableFunc(txns, func(a, b *jute.Txn) int { return int(a.Header.Zxid - b.Header.Zxid) })
	return txns
}

// TestDigestMatchesEveryTxnDigestZooKeeperLogged replays the fixture's
// logs and compares the tree digest after every transaction with the
// digest Apache ZooKeeper wrote next to it.
func TestDigestMatchesEveryTxnDigestZooKeeperLogged(t *testing.T) {
	tr := New()
	checked := 0
	for _, txn := range fixtureTxns(t) {
		if txn.Header.Zxid <= tr.LastZxid() {
			continue
		}
		tr.Apply(txn)
		if txn.Digest == nil {
			continue
		}
		checked++
		if got := tr.Digest(); got != txn.Digest.TreeDigest {
			t.Errorf("after zxid %#x (%v): digest %#x, ZooKeeper logged %#x", int64(txn.Header.Zxid), txn.Header.Type, got, txn.Digest.TreeDigest)
		}
	}
	if checked < 50 {
		t.Fatalf("only %d txns carried a digest", checked)
	}
}

// TestRunningDigestWithNodeDigestStaysEqualToDigest shows how the owner of
// the tree keeps a running digest: subtract each touched node's digest
// before a change and add it after.
func TestRunningDigestWithNodeDigestStaysEqualToDigest(t *testing.T) {
	tr := New()
	running := tr.Digest()
	for _, txn := range fixtureTxns(t) {
		if txn.Header.Zxid <= tr.LastZxid() {
			continue
		}
		touched := touchedPaths(tr, txn)
		for _, p := range touched {
			if n, ok := tr.Get(p); ok {
				running -= NodeDigest(p, &n)
			}
		}
		tr.Apply(txn)
		for _, p := range touched {
			if n, ok := tr.Get(p); ok {
				running += NodeDigest(p, &n)
			}
		}
		if want := tr.Digest(); running != want {
			t.Fatalf("after zxid %#x: running digest %#x, Digest %#x", int64(txn.Header.Zxid), running, want)
		}
	}
}

// touchedPaths lists the nodes a transaction may change in the fixture:
// its path and the parent's (closeSession: the ephemerals and their
// parents). Duplicates are removed.
func touchedPaths(tr *Tree, txn *jute.Txn) []string {
	var out []string
	add := func(p string) {
		for _, q := range []string{p, Parent(p)} {
			if !slices.Contains(out, q) {
				out = append(out, q)
			}
		}
	}
	var visit func(r jute.Record)
	visit = func(r jute.Record) {
		switch r := r.(type) {
		case *jute.CreateTxn:
			add(r.Path)
		case *jute.CreateContainerTxn:
			add(r.Path)
		case *jute.CreateTTLTxn:
			add(r.Path)
		case *jute.DeleteTxn:
			add(r.Path)
		case *jute.SetDataTxn:
			add(r.Path)
		case *jute.SetACLTxn:
			add(r.Path)
		case *jute.CloseSessionTxn:
			for _, p := range r.Paths {
				add(p)
			}
		case *jute.MultiTxn:
			for _, op := range r.Ops {
				visit(op.Record)
			}
		}
	}
	visit(txn.Record)
	if txn.Header.Type == jute.OpCloseSession {
		for _, p := range tr.Ephemerals(int64(txn.Header.ClientID)) {
			add(p)
		}
	}
	return out
}

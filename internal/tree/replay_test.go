package tree

import (
	"encoding/binary"
	"encoding/json"
	"hash/adler32"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// fixture is a dataDir written by Apache ZooKeeper 3.8.0 (see its README).
var fixture = filepath.Join("..", "..", "..", "shared", "testdata", "zk38-basic")

// readLogForTest parses a ZooKeeper txn log just enough for this test:
// 16-byte header, then {adler32 long, len int, payload, 0x42} entries until
// a zero length.
func readLogForTest(t *testing.T, path string) []*jute.Txn {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "ZKLG" {
		t.Fatalf("%s: bad magic", path)
	}
	var out []*jute.Txn
	for off := 16; off+12 <= len(b); {
		sum := binary.BigEndian.Uint64(b[off:])
		n := int(binary.BigEndian.Uint32(b[off+8:]))
		if n == 0 {
			break
		}
		payload := b[off+12 : off+12+n]
		if uint64(adler32.Checksum(payload)) != sum {
			t.Fatalf("%s: checksum mismatch at offset %d", path, off)
		}
		txn, err := jute.DecodeTxn(payload)
		if err != nil {
			t.Fatalf("%s at offset %d: %v", path, off, err)
		}
		out = append(out, txn)
		off += 12 + n + 1
	}
	return out
}

type expectedACL struct {
	ID     string `json:"id"`
	Perms  int32  `json:"perms"`
	Scheme string `json:"scheme"`
}

type expectedNode struct {
	ACL  []expectedACL `json:"acl"`
	Data *string       `json:"data"`
	expectedStat
}

type expectedStat struct {
	Czxid          int64 `json:"czxid"`
	Mzxid          int64 `json:"mzxid"`
	Pzxid          int64 `json:"pzxid"`
	Ctime          int64 `json:"ctime"`
	Mtime          int64 `json:"mtime"`
	Version        int32 `json:"version"`
	Cversion       int32 `json:"cversion"`
	Aversion       int32 `json:"aversion"`
	EphemeralOwner int64 `json:"ephemeralOwner"`
	DataLength     int32 `json:"dataLength"`
	NumChildren    int32 `json:"numChildren"`
}

// TestReplayOfZooKeeperLogsServesTheSameTree replays every transaction that
// Apache ZooKeeper 3.8 logged and compares the result, node by node and
// Stat field by Stat field, with the tree ZooKeeper itself serves from
// that dataDir.
func TestReplayOfZooKeeperLogsServesTheSameTree(t *testing.T) {
	logs, _ := filepath.Glob(filepath.Join(fixture, "version-2", "log.*"))
	if len(logs) == 0 {
		t.Fatalf("fixture %s is missing", fixture)
	}
	var txns []*jute.Txn
	for _, l := range logs {
		txns = append(txns, readLogForTest(t, l)...)
	}
	slices.SortStableFunc(txns, func(a, b *jute.Txn) int { return int(a.Header.Zxid - b.Header.Zxid) })
	tr := New()
	for _, txn := range txns {
		if txn.Header.Zxid <= tr.LastZxid() {
			continue
		}
		tr.Apply(txn)
	}
	if tr.LastZxid() != 0x70 {
		t.Fatalf("last zxid %v, want 0x70", tr.LastZxid())
	}
	raw, err := os.ReadFile(filepath.Join(fixture, "expected-tree.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]expectedNode
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	nodes := tr.allNodes()
	var got []string
	for p := range nodes {
		got = append(got, p)
	}
	for p := range want {
		if _, ok := nodes[p]; !ok {
			t.Errorf("missing node %s", p)
		}
	}
	for _, p := range got {
		w, ok := want[p]
		if !ok {
			t.Errorf("extra node %s", p)
			continue
		}
		n := nodes[p]
		st := n.PublicStat()
		gotStat := expectedStat{
			Czxid: int64(st.Czxid), Mzxid: int64(st.Mzxid), Pzxid: int64(st.Pzxid), Ctime: st.Ctime, Mtime: st.Mtime,
			Version: st.Version, Cversion: st.Cversion, Aversion: st.Aversion, EphemeralOwner: st.EphemeralOwner,
			DataLength: st.DataLength, NumChildren: st.NumChildren,
		}
		if wantStat := w.expectedStat; gotStat != wantStat {
			t.Errorf("%s stat:\n got %+v\nwant %+v", p, gotStat, w.expectedStat)
		}
		switch {
		case w.Data == nil && n.Data != nil:
			t.Errorf("%s: data %q, want null", p, n.Data)
		case w.Data != nil && string(latin1(n.Data)) != *w.Data:
			t.Errorf("%s: data %q, want %q", p, n.Data, *w.Data)
		}
		if len(w.ACL) != len(n.ACL) {
			t.Errorf("%s: acl %v, want %v", p, n.ACL, w.ACL)
			continue
		}
		for i, a := range w.ACL {
			if n.ACL[i] != (jute.ACL{Perms: a.Perms, ID: jute.Id{Scheme: a.Scheme, ID: a.ID}}) {
				t.Errorf("%s: acl[%d] %v, want %+v", p, i, n.ACL[i], a)
			}
		}
	}
}

// latin1 decodes bytes as Latin-1 into UTF-8, as the fixture's JSON holds
// data.
func latin1(b []byte) []byte {
	out := make([]rune, len(b))
	for i, c := range b {
		out[i] = rune(c)
	}
	return []byte(string(out))
}

// A fuzzy snapshot can hold a node and a child created after the node was
// deleted and re-created; replaying the delete must not leave the child
// without a parent (found in review: it later crashed closeSession).
func TestReplayedDeleteOfANodeWithPhantomChildrenRemovesThem(t *testing.T) {
	tr := New()
	open := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	create := func(z jute.Zxid, path string, owner jute.SessionID) *jute.Txn {
		return &jute.Txn{Header: jute.TxnHeader{ClientID: owner, Zxid: z, Type: jute.OpCreate},
			Record: &jute.CreateTxn{Path: path, ACL: open, Ephemeral: owner != 0, ParentCVersion: -1}}
	}
	// The fuzzy snapshot's content: /a and its ephemeral child /a/b.
	tr.Apply(create(1, "/a", 0))
	tr.Apply(create(4, "/a/b", 7))
	// Replay from 2: delete /a, create /a, create /a/b.
	tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: 2, Type: jute.OpDelete}, Record: &jute.DeleteTxn{Path: "/a"}})
	if _, ok := tr.Get("/a/b"); ok {
		t.Fatal("child survived its parent's delete")
	}
	tr.Apply(create(3, "/a", 0))
	if res, _ := tr.Apply(create(4, "/a/b", 7)); res.Err != jute.OK {
		t.Fatalf("re-create of /a/b: %v", res.Err)
	}
	a, _ := tr.Get("/a")
	if a.NumChildren() != 1 || len(tr.Ephemerals(7)) != 1 {
		t.Fatalf("/a has %d children, session 7 owns %v", a.NumChildren(), tr.Ephemerals(7))
	}
	// The session's close deletes cleanly.
	tr.Apply(&jute.Txn{Header: jute.TxnHeader{ClientID: 7, Zxid: 5, Type: jute.OpCloseSession}, Record: &jute.CloseSessionTxn{}})
	if _, ok := tr.Get("/a/b"); ok {
		t.Fatal("ephemeral survived closeSession")
	}
}

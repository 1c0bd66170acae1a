package tree

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// fixtureSnapshots are the snapshots Apache ZooKeeper 3.8.0 wrote in the
// fixture, by the zxid of their names.
var fixtureSnapshots = []jute.Zxid{0x0, 0x24, 0x4b, 0x69}

func readFixtureSnapshot(t *testing.T, zxid jute.Zxid) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture, "version-2", "snapshot."+strconv.FormatInt(int64(zxid), 16)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadFixtureSnapshot(t *testing.T, zxid jute.Zxid) (*Tree, []SessionTimeout, SnapshotInfo) {
	t.Helper()
	tr, sessions, info, err := ReadSnapshot(bytes.NewReader(readFixtureSnapshot(t, zxid)), ReadOptions{Zxid: zxid, ExtendedTypes: true})
	if err != nil {
		t.Fatalf("snapshot.%x: %v", int64(zxid), err)
	}
	return tr, sessions, info
}

// replayAfter applies the fixture's logged txns with from < zxid <= to.
func replayAfter(t *testing.T, tr *Tree, from, to jute.Zxid) {
	t.Helper()
	for _, txn := range fixtureTxns(t) {
		if txn.Header.Zxid > from && txn.Header.Zxid <= to {
			tr.Apply(txn)
		}
	}
}

func TestZooKeeperSnapshotsLoadWithTheirDigests(t *testing.T) {
	for _, z := range fixtureSnapshots {
		t.Run(fmt.Sprintf("snapshot.%x", int64(z)), func(t *testing.T) {
			tr, _, info := loadFixtureSnapshot(t, z)
			checkInvariants(t, tr)
			if info.Version != SnapshotVersion || info.DBID != -1 {
				t.Errorf("header version %d dbid %d", info.Version, info.DBID)
			}
			if !info.HasDigest {
				t.Fatal("no digest trailer")
			}
			if info.Size != int64(len(readFixtureSnapshot(t, z))) {
				t.Errorf("read %d bytes of %d", info.Size, len(readFixtureSnapshot(t, z)))
			}
			if tr.LastZxid() != z {
				t.Errorf("LastZxid %#x, want the name's %#x", int64(tr.LastZxid()), int64(z))
			}
			if info.DigestMismatch {
				t.Errorf("digest mismatch: trailer %#x, content %#x", info.Digest, info.TreeDigest)
			}
			if info.DigestZxid == 0 {
				return // snapshot.0: ZooKeeper recorded no digest
			}
			// The trailer names the tree after DigestZxid; a fuzzy
			// snapshot gets there by replay (§3.7).
			replayAfter(t, tr, z, info.DigestZxid)
			if got := tr.Digest(); got != info.Digest {
				t.Errorf("digest after replay to %#x: %#x, trailer says %#x", int64(info.DigestZxid), got, info.Digest)
			}
		})
	}
}

func TestLoadedSnapshotRebuildsIndexes(t *testing.T) {
	tr, sessions, _ := loadFixtureSnapshot(t, 0x69)
	if len(sessions) != 3 || sessions[0].ID != 0x1000094bf640000 || sessions[0].Timeout != 10000 {
		t.Errorf("sessions %v", sessions)
	}
	owner := int64(0x1000094bf640000)
	if got := tr.Ephemerals(owner); !slices.Equal(got, []string{"/app/ephemeral", "/app/eseq-0000000005"}) {
		t.Errorf("ephemerals of %#x: %v", owner, got)
	}
	if got := tr.pathsOf(tr.containers); !slices.Equal(got, []string{"/app/container"}) {
		t.Errorf("containers %v", got)
	}
	if got := tr.pathsOf(tr.ttls); !slices.Equal(got, []string{"/app/ttl"}) {
		t.Errorf("TTL nodes %v", got)
	}
	n, _ := tr.Get("/app/ttl")
	if n.TTL() != 3600000 {
		t.Errorf("TTL %d", n.TTL())
	}
	if n, _ := tr.Get("/app/nulldata"); n.Data != nil {
		t.Errorf("null data read as %q", n.Data)
	}
	if n, _ := tr.Get("/app/empty"); n.Data == nil || len(n.Data) != 0 {
		t.Errorf("empty data read as %#v", n.Data)
	}

	// Without extended types ZooKeeper takes a TTL owner for a session.
	tr2, _, _, err := ReadSnapshot(bytes.NewReader(readFixtureSnapshot(t, 0x69)), ReadOptions{Zxid: 0x69})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr2.ttls) != 0 || len(tr2.Ephemerals(TTLOwner(3600000))) != 1 {
		t.Errorf("without extended types: ttls %v, ephemerals %v", tr2.ttls, tr2.ephemerals)
	}
}

// TestZooKeeperSnapshotPlusLogsServesTheSameTree restores the way a server
// starts (§1.3): the newest snapshot, then the log after its name's zxid,
// and compares the result with what ZooKeeper served from that dataDir.
func TestZooKeeperSnapshotPlusLogsServesTheSameTree(t *testing.T) {
	for _, z := range fixtureSnapshots {
		t.Run(fmt.Sprintf("snapshot.%x", int64(z)), func(t *testing.T) {
			tr, _, _ := loadFixtureSnapshot(t, z)
			replayAfter(t, tr, z, 1<<62)
			if tr.LastZxid() != 0x70 {
				t.Fatalf("last zxid %#x", int64(tr.LastZxid()))
			}
			compareWithExpectedTree(t, tr)
			checkInvariants(t, tr)
			fresh := New()
			replayAfter(t, fresh, 0, 1<<62)
			compareTrees(t, tr, fresh)
		})
	}
}

// TestRewritingZooKeeperSnapshotsIsByteIdentical loads each snapshot
// Apache ZooKeeper wrote and writes it again: the bytes are the same.
// snapshot.69 is fuzzy (its trailer names zxid 0x6a, after the name's
// 0x69); written with the tree's zxid set to the trailer's, it too is
// identical.
func TestRewritingZooKeeperSnapshotsIsByteIdentical(t *testing.T) {
	for _, z := range fixtureSnapshots {
		t.Run(fmt.Sprintf("snapshot.%x", int64(z)), func(t *testing.T) {
			want, tr, sessions := fixtureToRewrite(t, z)
			var buf bytes.Buffer
			if err := tr.WriteSnapshotOnce(&buf, sessions); err != nil {
				t.Fatal(err)
			}
			if got := buf.Bytes(); !bytes.Equal(got, want) {
				t.Fatalf("rewrite differs from ZooKeeper's file at byte %d of %d (got %d bytes)", firstDiff(got, want), len(want), len(got))
			}
		})
	}
}

// fixtureToRewrite returns a fixture snapshot's bytes and the tree and
// sessions it loads, the tree's zxid set to the trailer's when that is
// later (a fuzzy snapshot), so that writing it again can give the same
// bytes.
func fixtureToRewrite(t *testing.T, z jute.Zxid) ([]byte, *Tree, []SessionTimeout) {
	t.Helper()
	want := readFixtureSnapshot(t, z)
	tr, sessions, info := loadFixtureSnapshot(t, z)
	if info.DigestZxid > z {
		tr.SetLastZxid(info.DigestZxid)
	}
	return want, tr, sessions
}

// TestJavaSiblingOrderRebuildsZooKeepersOrder sorts every child list of
// each fixture tree by name, as a tree built by transactions keeps them,
// and writes it with JavaSiblingOrder: ZooKeeper's HashSet order comes
// back from the names and cversions alone, byte for byte. In the tree's
// own order (the default) the sorted tree differs from ZooKeeper's file
// wherever a parent has two or more children out of hash order, which the
// fixtures have.
func TestJavaSiblingOrderRebuildsZooKeepersOrder(t *testing.T) {
	reordered := false
	for _, z := range fixtureSnapshots {
		t.Run(fmt.Sprintf("snapshot.%x", int64(z)), func(t *testing.T) {
			want, tr, sessions := fixtureToRewrite(t, z)
			for id := rootID; id < tr.nextID; id++ {
				if r := tr.rec(id); r.parent != 0 || id == rootID {
					tr.sortKids(id)
				}
			}
			var java, own bytes.Buffer
			if _, err := writeSnapshot(tr.live(), &java, sessions, WriteOptions{JavaSiblingOrder: true}); err != nil {
				t.Fatal(err)
			}
			if got := java.Bytes(); !bytes.Equal(got, want) {
				t.Fatalf("Java order differs from ZooKeeper's file at byte %d of %d (got %d bytes)", firstDiff(got, want), len(want), len(got))
			}
			if err := tr.WriteSnapshotOnce(&own, sessions); err != nil {
				t.Fatal(err)
			}
			if own.Len() != len(want) {
				t.Fatalf("the tree's own order wrote %d bytes, ZooKeeper %d: only the order may differ", own.Len(), len(want))
			}
			if !bytes.Equal(own.Bytes(), want) {
				reordered = true
			}
		})
	}
	if !reordered {
		t.Error("no fixture has siblings out of name order: the test shows nothing about the Java order")
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestASnapshotReadsBackAsTheSameTree(t *testing.T) {
	tr, sessions, _ := loadFixtureSnapshot(t, 0x69)
	replayAfter(t, tr, 0x69, 1<<62)
	var buf bytes.Buffer
	if err := tr.WriteSnapshotOnce(&buf, sessions); err != nil {
		t.Fatal(err)
	}
	got, gotSessions, info, err := ReadSnapshot(&buf, ReadOptions{Zxid: tr.LastZxid(), ExtendedTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	compareTrees(t, got, tr)
	checkInvariants(t, got)
	if !slices.Equal(gotSessions, sessions) {
		t.Errorf("sessions %v, want %v", gotSessions, sessions)
	}
	if info.DigestZxid != 0x70 || info.Digest != tr.Digest() || info.DigestMismatch || got.Digest() != tr.Digest() {
		t.Errorf("digest trailer (%#x, %#x), tree %#x, want (0x70, %#x)", int64(info.DigestZxid), info.Digest, got.Digest(), tr.Digest())
	}
}

func TestReadSnapshotRejectsDamage(t *testing.T) {
	good := readFixtureSnapshot(t, 0x0)
	// Every byte before the final "/" string is covered by a seal or is
	// structure; the last 5 bytes are a marker readers ignore.
	for i := range len(good) - 5 {
		b := slices.Clone(good)
		b[i] ^= 0x40
		_, _, _, err := ReadSnapshot(bytes.NewReader(b), ReadOptions{})
		var se *SnapshotError
		if !errors.As(err, &se) {
			t.Fatalf("flipped byte %d: err %v, want a *SnapshotError", i, err)
		}
	}
	for _, tc := range []struct {
		name    string
		corrupt func([]byte) []byte
		want    string
	}{
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, "snapshot: bad magic 0x584b534e, want 0x5a4b534e (ZKSN) at offset 0"},
		{"flipped data byte", func(b []byte) []byte { b[0x1ab] ^= 1; return b }, "snapshot: checksum mismatch in seal #2"},
		{"flipped stat byte", func(b []byte) []byte { b[0x100] ^= 1; return b }, "snapshot: checksum mismatch in seal #1 (stored 0xb8a23b49, computed 0xb93d3b4a) at offset 411"},
		{"truncated node", func(b []byte) []byte { return b[:200] }, "snapshot: truncated stat of \"/zookeeper\" at offset 161: unexpected EOF"},
		{"truncated seal #2", func(b []byte) []byte { return b[:len(b)-7] }, "snapshot: truncated seal #2 at offset 444: unexpected EOF"},
		{"empty", func([]byte) []byte { return nil }, "snapshot: truncated file header at offset 0"},
		{"huge path length", func(b []byte) []byte { binary.BigEndian.PutUint32(b[0x28:], 0x7fffffff); return b }, "snapshot: unreasonable length 2147483647 of ACL scheme at offset 40"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := ReadSnapshot(bytes.NewReader(tc.corrupt(slices.Clone(good))), ReadOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}
	_, _, _, err := ReadSnapshot(bytes.NewReader(func() []byte { b := slices.Clone(good); b[0x100] ^= 1; return b }()), ReadOptions{})
	var se *SnapshotError
	if !errors.Is(err, ErrChecksum) || !errors.As(err, &se) || se.Offset != 411 {
		t.Errorf("checksum error %v does not unwrap to ErrChecksum at offset 411", err)
	}
}

func TestSnapshotsWithoutDigestTrailerLoad(t *testing.T) {
	good := readFixtureSnapshot(t, 0x0)
	// 0x1a8: end of seal #1 and its "/"; pre-3.6 files end there, and
	// ZooKeeper takes any end of file inside the trailer the same way.
	for _, end := range []int{0x1a8, 0x1a8 + 3, 0x1a8 + 8, 0x1a8 + 12, 0x1a8 + 19} {
		_, _, info, err := ReadSnapshot(bytes.NewReader(good[:end]), ReadOptions{})
		if err != nil {
			t.Errorf("cut at %#x: %v", end, err)
			continue
		}
		if info.HasDigest || info.Size != int64(end) {
			t.Errorf("cut at %#x: HasDigest %v, size %d", end, info.HasDigest, info.Size)
		}
	}
}

// TestNodesWithACLRefsMissingFromTheMapAreRepaired covers what a fuzzy
// Java snapshot may hold: nodes whose list was created after the ACL map
// was written.
func TestNodesWithACLRefsMissingFromTheMapAreRepaired(t *testing.T) {
	tr := New()
	apply := func(zxid jute.Zxid, rec jute.Record, op jute.OpCode) {
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: zxid, Type: op, Time: int64(zxid)}, Record: rec})
	}
	apply(1, &jute.CreateTxn{Path: "/old", Data: []byte{}, ACL: openACL, ParentCVersion: -1}, jute.OpCreate)
	apply(2, &jute.CreateTxn{Path: "/new", Data: []byte{}, ACL: openACL, ParentCVersion: -1}, jute.OpCreate)
	apply(3, &jute.CreateTxn{Path: "/new/child", Data: []byte{}, ACL: openACL, ParentCVersion: -1}, jute.OpCreate)
	var buf bytes.Buffer
	if err := tr.WriteSnapshotOnce(&buf, nil); err != nil {
		t.Fatal(err)
	}
	// Point /old and /new at ref 77, which the map does not have, and
	// fix both seals.
	b := buf.Bytes()
	for _, p := range []string{"/old", "/new"} {
		i := bytes.Index(b, append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...))
		ref := i + 4 + len(p) + 4
		binary.BigEndian.PutUint64(b[ref:], 77)
	}
	reseal(t, b)
	got, _, info, err := ReadSnapshot(bytes.NewReader(b), ReadOptions{Zxid: 1})
	if err != nil {
		t.Fatal(err)
	}
	if info.Repaired != 3 {
		t.Errorf("Repaired %d, want 3 (/old, /new, /new/child)", info.Repaired)
	}
	if n, ok := got.Get("/old"); !ok || n.ACL == nil || len(n.ACL) != 0 {
		t.Errorf("/old (created before the snapshot's zxid): %v, want it with an empty ACL until replay", n)
	}
	for _, p := range []string{"/new", "/new/child"} {
		if _, ok := got.Get(p); ok {
			t.Errorf("%s (created after the snapshot's zxid) was loaded; replay must create it", p)
		}
	}
	checkInvariants(t, got)
}

// reseal recomputes both seals of an uncompressed snapshot with a digest
// trailer.
func reseal(t *testing.T, b []byte) {
	t.Helper()
	end1 := len(b) - (8 + 5 + 20 + 8 + 5)
	binary.BigEndian.PutUint64(b[end1:], uint64(adler(b[:end1])))
	end2 := len(b) - (8 + 5)
	binary.BigEndian.PutUint64(b[end2:], uint64(adler(b[:end2])))
}

// compareTrees fails the test unless got and want hold the same nodes with
// the same data, ACLs, Stats and children, and the same indexes and
// counters.
func compareTrees(t *testing.T, got, want *Tree) {
	t.Helper()
	gotNodes, wantNodes := got.allNodes(), want.allNodes()
	for p, w := range wantNodes {
		g, ok := gotNodes[p]
		if !ok {
			t.Errorf("missing node %s", p)
			continue
		}
		if (g.Data == nil) != (w.Data == nil) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s: data %q (nil %v), want %q (nil %v)", p, g.Data, g.Data == nil, w.Data, w.Data == nil)
		}
		if !slices.Equal(g.ACL, w.ACL) {
			t.Errorf("%s: ACL %v, want %v", p, g.ACL, w.ACL)
		}
		if g.Stat != w.Stat {
			t.Errorf("%s: stat\n got %+v\nwant %+v", p, g.Stat, w.Stat)
		}
		if gc, wc := got.Children(*g), want.Children(*w); !slices.Equal(gc, wc) {
			t.Errorf("%s: children %v, want %v", p, gc, wc)
		}
	}
	for p := range gotNodes {
		if _, ok := wantNodes[p]; !ok {
			t.Errorf("extra node %s", p)
		}
	}
	if g, w := ownerIndexes(got), ownerIndexes(want); !maps.EqualFunc(g, w, slices.Equal) {
		t.Errorf("owner indexes %v, want %v", g, w)
	}
	if !maps.Equal(got.quotas, want.quotas) && len(got.quotas)+len(want.quotas) > 0 {
		t.Errorf("quotas %v, want %v", got.quotas, want.quotas)
	}
	if got.dataSize != want.dataSize || got.pathSize != want.pathSize {
		t.Errorf("dataSize %d pathSize %d, want %d %d", got.dataSize, got.pathSize, want.dataSize, want.pathSize)
	}
	if g, w := got.Digest(), want.Digest(); g != w {
		t.Errorf("digest %#x, want %#x", g, w)
	}
}

// ownerIndexes lists the ephemeral (by owner), container (key -1) and TTL
// (key -2) indexes as sorted paths.
func ownerIndexes(tr *Tree) map[int64][]string {
	out := make(map[int64][]string)
	for owner, set := range tr.ephemerals {
		out[owner] = tr.pathsOf(set)
	}
	if len(tr.containers) > 0 {
		out[-1] = tr.pathsOf(tr.containers)
	}
	if len(tr.ttls) > 0 {
		out[-2] = tr.pathsOf(tr.ttls)
	}
	return out
}

// checkInvariants checks the tree's derived state against its nodes: the
// counters, the lookup index, sorted child lists and their shape, interned
// ACLs, the owner indexes and the arena's live bytes.
func checkInvariants(t *testing.T, tr *Tree) {
	t.Helper()
	var data, paths int64
	nodes := tr.allNodes()
	if len(nodes) != tr.NodeCount() || tr.idx.count != len(nodes)-1 {
		t.Errorf("%d nodes reachable, count %d, index %d", len(nodes), tr.NodeCount(), tr.idx.count)
	}
	live := make([]int64, len(tr.blobs.chunks))
	for p, n := range nodes {
		data += int64(len(n.Data))
		paths += int64(len(p))
		if tr.find(p) != n.id {
			t.Errorf("%s: find gives %d, walk %d", p, tr.find(p), n.id)
		}
		r := tr.rec(n.id)
		live[r.blob.chunk()] += int64(tr.parsed(n.id).size)
		if p != RootPath {
			if _, ok := nodes[Parent(p)]; !ok {
				t.Errorf("%s has no parent", p)
			}
		}
		kids := tr.Children(*n)
		if !slices.IsSorted(kids) || len(kids) != n.NumChildren() {
			t.Errorf("%s: children %v not sorted or not %d", p, kids, n.NumChildren())
		}
		for _, c := range kids {
			if _, ok := nodes[join(p, c)]; !ok {
				t.Errorf("%s lists missing child %s", p, c)
			}
		}
		if i, ok := tr.aclIndex[aclKey(n.ACL)]; !ok || len(n.ACL) > 0 && &tr.acls[i][0] != &n.ACL[0] {
			t.Errorf("%s: ACL %v is not interned", p, n.ACL)
		}
	}
	if data != tr.dataSize || paths != tr.pathSize {
		t.Errorf("dataSize %d pathSize %d, nodes say %d %d", tr.dataSize, tr.pathSize, data, paths)
	}
	var liveB, used int64
	for c, n := range live {
		if n != tr.blobs.live[c] {
			t.Errorf("chunk %d: %d live bytes counted, %d used by nodes", c, tr.blobs.live[c], n)
		}
		liveB += n
		used += int64(len(tr.blobs.chunks[c]))
	}
	if liveB != tr.blobs.liveB || used != tr.blobs.bytes {
		t.Errorf("arena counts %d live of %d, nodes use %d of %d", tr.blobs.liveB, tr.blobs.bytes, liveB, used)
	}
	for owner, set := range tr.ephemerals {
		for id := range set {
			if tr.parsed(id).st.owner != owner {
				t.Errorf("ephemeral index: %s under %#x", tr.pathOf(id), owner)
			}
		}
	}
	checkKidLists(t, tr)
}

// compareWithExpectedTree compares the tree with the fixture's
// expected-tree.json, as ZooKeeper served it (replay_test.go's check).
func compareWithExpectedTree(t *testing.T, tr *Tree) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixture, "expected-tree.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]expectedNode
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	nodes := tr.allNodes()
	for p := range want {
		if _, ok := nodes[p]; !ok {
			t.Errorf("missing node %s", p)
		}
	}
	for p, n := range nodes {
		w, ok := want[p]
		if !ok {
			t.Errorf("extra node %s", p)
			continue
		}
		st := n.PublicStat()
		got := expectedStat{
			Czxid: int64(st.Czxid), Mzxid: int64(st.Mzxid), Pzxid: int64(st.Pzxid), Ctime: st.Ctime, Mtime: st.Mtime,
			Version: st.Version, Cversion: st.Cversion, Aversion: st.Aversion, EphemeralOwner: st.EphemeralOwner,
			DataLength: st.DataLength, NumChildren: st.NumChildren,
		}
		if got != w.expectedStat {
			t.Errorf("%s stat:\n got %+v\nwant %+v", p, got, w.expectedStat)
		}
		switch {
		case w.Data == nil && n.Data != nil:
			t.Errorf("%s: data %q, want null", p, n.Data)
		case w.Data != nil && string(latin1(n.Data)) != *w.Data:
			t.Errorf("%s: data %q, want %q", p, n.Data, *w.Data)
		}
		var wantACL []jute.ACL
		for _, a := range w.ACL {
			wantACL = append(wantACL, jute.ACL{Perms: a.Perms, ID: jute.Id{Scheme: a.Scheme, ID: a.ID}})
		}
		if !slices.Equal(n.ACL, wantACL) {
			t.Errorf("%s: acl %v, want %v", p, n.ACL, wantACL)
		}
	}
}

func adler(b []byte) uint32 { return adler32.Checksum(b) }

func TestLoadingRegistersQuotasAndRecountsTheirStats(t *testing.T) {
	tr := New()
	z := jute.Zxid(0)
	create := func(path, data string) {
		z++
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: path, Data: []byte(data), ACL: openACL, ParentCVersion: -1}})
	}
	create("/a", "12345")
	create("/a/b", "xy")
	create("/zookeeper/quota/a", "")
	create("/zookeeper/quota/a/zookeeper_limits", "count=10,bytes=100")
	create("/zookeeper/quota/a/zookeeper_stats", "count=0,bytes=0")
	create("/a/c", "z")
	stats, _ := tr.Get("/zookeeper/quota/a/zookeeper_stats")
	if string(stats.Data) != "count=3,bytes=8" {
		t.Fatalf("live stats %q", stats.Data)
	}
	// A stale count in the file is recounted on load, as ZooKeeper does.
	tr.dataSize += int64(len("count=9,bytes=99") - len(stats.Data))
	stats.Data = []byte("count=9,bytes=99")
	var buf bytes.Buffer
	if err := tr.WriteSnapshotOnce(&buf, nil); err != nil {
		t.Fatal(err)
	}
	got, _, _, err := ReadSnapshot(&buf, ReadOptions{Zxid: z})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.quotas, map[string]struct{}{"/a": {}}) {
		t.Errorf("quotas %v", got.quotas)
	}
	if n, _ := got.Get("/zookeeper/quota/a/zookeeper_stats"); string(n.Data) != "count=3,bytes=8" {
		t.Errorf("stats after load %q, want the recount", n.Data)
	}
	checkInvariants(t, got)
	// Quota bookkeeping goes on after the load.
	got.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z + 1, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: "/a/d", Data: []byte("1234"), ACL: openACL, ParentCVersion: -1}})
	if n, _ := got.Get("/zookeeper/quota/a/zookeeper_stats"); string(n.Data) != "count=4,bytes=12" {
		t.Errorf("stats after a create %q", n.Data)
	}
}

// A quota on /zookeeper covers its own quota nodes. ZooKeeper fills the
// new stats node with the subtree's usage (the stats node included) and
// then counts the stats node again as a node created under the quota; zkd
// does the same (checked against Apache ZooKeeper 3.8 by test/interop's
// zkd cli quota script).
func TestQuotaCoveringItsOwnNodesCountsLikeZooKeeper(t *testing.T) {
	tr := New()
	z := jute.Zxid(0)
	create := func(path, data string) {
		z++
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: path, Data: []byte(data), ACL: openACL, ParentCVersion: -1}})
	}
	create("/zookeeper/quota/zookeeper", "")
	create("/zookeeper/quota/zookeeper/zookeeper_limits", "count=1,bytes=-1") // 16 bytes
	create("/zookeeper/quota/zookeeper/zookeeper_stats", "count=0,bytes=0")   // 15 bytes
	// /zookeeper, config, quota, quota/zookeeper, limits, stats: 6 nodes
	// and 31 bytes; then the stats node once more: 7 and 46.
	if n, _ := tr.Get("/zookeeper/quota/zookeeper/zookeeper_stats"); string(n.Data) != "count=7,bytes=46" {
		t.Errorf("stats %q, want count=7,bytes=46", n.Data)
	}
	checkInvariants(t, tr)
}

func TestTheWireFormOfASNAPReadsBackAndStopsAtItsEnd(t *testing.T) {
	tr, sessions, _ := loadFixtureSnapshot(t, 0x69)
	replayAfter(t, tr, 0x69, 1<<62)
	v := tr.Freeze()
	var wire bytes.Buffer
	if _, err := v.WriteSnapshot(&wire, sessions, WriteOptions{Wire: true}); err != nil {
		t.Fatal(err)
	}
	v.Release()
	e := jute.NewEncoder(wire.Bytes())
	file := new(bytes.Buffer)
	if err := tr.WriteSnapshotOnce(file, sessions); err != nil {
		t.Fatal(err)
	}
	// Storage spec §3.9: no 16-byte file header, no seals, no digest.
	if !bytes.Equal(e.Bytes(), file.Bytes()[16:16+len(e.Bytes())]) {
		t.Fatal("the wire form is not the file's body")
	}
	e.String("BenWasHere")
	r := bufio.NewReader(bytes.NewReader(e.Bytes()))
	got, gotSessions, _, err := ReadSnapshot(r, ReadOptions{Zxid: tr.LastZxid(), ExtendedTypes: true, Wire: true})
	if err != nil {
		t.Fatal(err)
	}
	compareTrees(t, got, tr)
	if !slices.Equal(gotSessions, sessions) {
		t.Errorf("sessions %v, want %v", gotSessions, sessions)
	}
	rest, _ := io.ReadAll(r)
	if want := jute.Encode(&jute.PathRequest{Path: "BenWasHere"}); !bytes.Equal(rest, want) {
		t.Fatalf("left after the snapshot: %q, want the end marker", rest)
	}
}

// TestReadSnapshotRejectsANodeThatAppearsTwice renames a node in a written
// snapshot to its sibling's name: loading fails and names the node.
func TestReadSnapshotRejectsANodeThatAppearsTwice(t *testing.T) {
	tr := New()
	for i, p := range []string{"/a", "/b"} {
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: jute.Zxid(i + 1), Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: p, ACL: openACL, ParentCVersion: -1}})
	}
	var buf bytes.Buffer
	if err := tr.WriteSnapshotOnce(&buf, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	i := bytes.Index(b, []byte("\x00\x00\x00\x02/b"))
	if i < 0 {
		t.Fatal("no /b record")
	}
	b[i+5] = 'a'
	reseal(t, b)
	_, _, _, err := ReadSnapshot(bytes.NewReader(b), ReadOptions{Zxid: 2})
	var se *SnapshotError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `node "/a" appears twice`) {
		t.Fatalf("err %v, want a SnapshotError naming /a", err)
	}
}

package storage

import (
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

// memWrite creates name in m with data, syncing the file and its
// directory when told to.
func memWrite(t *testing.T, m *MemFS, name, data string, syncFile, syncDir bool) File {
	t.Helper()
	f, err := m.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if syncFile {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if syncDir {
		if err := m.SyncDir("/d"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// contents returns every file of dir in m, name → contents.
func contents(t *testing.T, m *MemFS, dir string) map[string]string {
	t.Helper()
	names, err := m.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		b, err := m.ReadFile(dir + "/" + n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(b)
	}
	return out
}

func newMemDir(t *testing.T) *MemFS {
	t.Helper()
	m := NewMemFS()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMemFSCrashKeepsWhatWasMadeDurable(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, m *MemFS)
		want map[string]string
	}{
		{"a synced file under a synced name survives", func(t *testing.T, m *MemFS) {
			memWrite(t, m, "/d/a", "hello", true, true)
		}, map[string]string{"a": "hello"}},
		{"a synced file whose name was never synced is lost", func(t *testing.T, m *MemFS) {
			memWrite(t, m, "/d/a", "hello", true, false)
		}, map[string]string{}},
		{"a file created before SyncDir but synced after keeps its synced data", func(t *testing.T, m *MemFS) {
			f := memWrite(t, m, "/d/a", "", false, true)
			f.Write([]byte("late"))
			f.Sync()
		}, map[string]string{"a": "late"}},
		{"data written after the last Sync is lost", func(t *testing.T, m *MemFS) {
			f := memWrite(t, m, "/d/a", "hello", true, true)
			f.Write([]byte(" world"))
			f.WriteAt([]byte("J"), 0)
		}, map[string]string{"a": "hello"}},
		{"a name whose file was never synced survives empty", func(t *testing.T, m *MemFS) {
			memWrite(t, m, "/d/a", "hello", false, true)
		}, map[string]string{"a": ""}},
		{"a rename without SyncDir is lost", func(t *testing.T, m *MemFS) {
			memWrite(t, m, "/d/a.tmp", "v1", true, true)
			memWrite(t, m, "/d/a.tmp2", "v2", true, false)
			m.Rename("/d/a.tmp2", "/d/a")
		}, map[string]string{"a.tmp": "v1"}},
		{"a rename with SyncDir survives", func(t *testing.T, m *MemFS) {
			memWrite(t, m, "/d/a", "old", true, true)
			memWrite(t, m, "/d/a.tmp", "new", true, false)
			m.Rename("/d/a.tmp", "/d/a")
			m.SyncDir("/d")
		}, map[string]string{"a": "new"}},
		{"a remove without SyncDir is undone", func(t *testing.T, m *MemFS) {
			memWrite(t, m, "/d/a", "x", true, true)
			m.Remove("/d/a")
		}, map[string]string{"a": "x"}},
		{"a remove with SyncDir stays", func(t *testing.T, m *MemFS) {
			memWrite(t, m, "/d/a", "x", true, true)
			m.Remove("/d/a")
			m.SyncDir("/d")
		}, map[string]string{}},
		{"SyncDir of another directory makes nothing here durable", func(t *testing.T, m *MemFS) {
			m.MkdirAll("/e")
			memWrite(t, m, "/d/a", "x", true, false)
			m.SyncDir("/e")
		}, map[string]string{}},
		{"a synced truncation survives, an unsynced one does not", func(t *testing.T, m *MemFS) {
			f := memWrite(t, m, "/d/a", "0123456789", true, true)
			f.Truncate(4)
			f.Sync()
			f.Truncate(2)
			f.WriteAt([]byte("zz"), 8)
		}, map[string]string{"a": "0123"}},
		{"Create over an existing file empties it only once synced", func(t *testing.T, m *MemFS) {
			memWrite(t, m, "/d/a", "old", true, true)
			memWrite(t, m, "/d/a", "new!", false, false)
		}, map[string]string{"a": "old"}},
		{"a file removed while open keeps working but is gone after the crash", func(t *testing.T, m *MemFS) {
			f := memWrite(t, m, "/d/a", "x", true, true)
			m.Remove("/d/a")
			m.SyncDir("/d")
			if _, err := f.Write([]byte("y")); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemDir(t)
			tc.run(t, m)
			c := m.CrashClone(nil)
			got := contents(t, c, "/d")
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("after the crash: %q, want %q", got, tc.want)
			}
			// A clone's state is all durable: crashing it again changes nothing.
			if again := contents(t, c.CrashClone(rand.New(rand.NewPCG(1, 2))), "/d"); fmt.Sprint(again) != fmt.Sprint(got) {
				t.Fatalf("second crash: %q, want %q", again, got)
			}
		})
	}
}

func TestMemFSBehavesLikeAFileSystem(t *testing.T) {
	m := newMemDir(t)
	if _, err := m.Create("/nodir/a"); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("create in a missing dir: %v", err)
	}
	if _, err := m.OpenFile("/d/missing"); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("open missing: %v", err)
	}
	if _, err := m.ReadFile("/d/missing"); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("read missing: %v", err)
	}
	if err := m.Remove("/d/missing"); !errors.Is(err, iofs.ErrNotExist) {
		t.Errorf("remove missing: %v", err)
	}
	if names, err := m.ReadDir("/nodir"); err != nil || len(names) != 0 {
		t.Errorf("ReadDir of a missing dir = %v, %v", names, err)
	}
	for _, n := range []string{"c", "a", "b"} {
		memWrite(t, m, "/d/"+n, n, false, false)
	}
	m.MkdirAll("/d/sub")
	memWrite(t, m, "/d/sub/x", "x", false, false)
	if names, _ := m.ReadDir("/d"); !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("ReadDir = %v, want sorted files only", names)
	}

	f := memWrite(t, m, "/d/big", "head", false, false)
	// Preallocation: one zero byte far out costs no memory and reads as zeros.
	if _, err := f.WriteAt([]byte{0}, 64<<20-1); err != nil {
		t.Fatal(err)
	}
	if size, err := fileSize(f); err != nil || size != 64<<20 {
		t.Fatalf("size = %d, %v", size, err)
	}
	buf := []byte("xxxx")
	if n, err := f.ReadAt(buf, 1<<20); n != 4 || err != nil || !bytes.Equal(buf, make([]byte, 4)) {
		t.Fatalf("ReadAt in the preallocated space = %d %v %q", n, err, buf)
	}
	if n, err := f.ReadAt(buf, 64<<20-2); n != 2 || err == nil {
		t.Fatalf("ReadAt across the end = %d, %v; want 2, EOF", n, err)
	}
	if n := len(m.live["/d/big"].data); n > 4 {
		t.Fatalf("preallocation materialized %d bytes", n)
	}
	f.Close()
	if _, err := f.Write([]byte("x")); !errors.Is(err, iofs.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

// memHistory runs a fixed history of writes on m, leaving some of it
// unsynced.
func memHistory(t *testing.T, m *MemFS) {
	for i := range 20 {
		f := memWrite(t, m, fmt.Sprintf("/d/f%02d", i), string(bytes.Repeat([]byte{'a' + byte(i)}, 700*i)), i%2 == 0, i%3 == 0)
		f.Write(bytes.Repeat([]byte{'A' + byte(i)}, 1000))
		if i%5 == 0 {
			m.Rename(fmt.Sprintf("/d/f%02d", i), fmt.Sprintf("/d/r%02d", i))
		}
	}
}

func TestMemFSCrashIsDeterministicPerSeed(t *testing.T) {
	run := func(seed uint64) string {
		m := newMemDir(t)
		memHistory(t, m)
		return fmt.Sprint(contents(t, m.CrashClone(rand.New(rand.NewPCG(seed, 0))), "/d"))
	}
	differs := false
	for seed := range uint64(10) {
		a, b := run(seed), run(seed)
		if a != b {
			t.Fatalf("seed %d: two crashes of the same history differ", seed)
		}
		if a != run(seed+100) {
			differs = true
		}
	}
	if !differs {
		t.Error("every seed left the same state: unsynced data is never kept")
	}
}

func TestMemFSCrashKeepsAPrefixOfUnsyncedData(t *testing.T) {
	synced := bytes.Repeat([]byte("s"), 1000)
	later := bytes.Repeat([]byte("u"), 5000)
	seen := map[int]bool{}
	for seed := range uint64(200) {
		m := newMemDir(t)
		f := memWrite(t, m, "/d/a", string(synced), true, true)
		f.Write(later)
		got, err := m.CrashClone(rand.New(rand.NewPCG(seed, 1))).ReadFile("/d/a")
		if err != nil {
			t.Fatal(err)
		}
		n := len(got) - len(synced)
		if n < 0 || !bytes.Equal(got, append(slices.Clone(synced), later[:n]...)) {
			t.Fatalf("seed %d: crash left %d bytes that are not the synced data plus a prefix of the rest", seed, len(got))
		}
		if n != 0 && n != len(later) && (len(synced)+n)%memSector != 0 {
			t.Fatalf("seed %d: torn at %d, not at a sector boundary", seed, len(got))
		}
		seen[min(n, 1)+min(n/len(later), 1)] = true
	}
	if len(seen) != 3 {
		t.Errorf("outcomes seen %v: want none, some and all of the unsynced data kept", seen)
	}
}

// memLogWorkload appends txns 1..n to a log on m in batches, committing
// all but the last batch, and rolling now and then. It returns the last
// committed zxid.
func memLogWorkload(t *testing.T, m *MemFS, dir string, n int, rng *rand.Rand) jute.Zxid {
	t.Helper()
	l, err := OpenLog(dir, LogOptions{FS: m, PreAllocSize: 4096, ForceSync: true})
	if err != nil {
		t.Fatal(err)
	}
	var committed jute.Zxid
	for z := jute.Zxid(1); z <= jute.Zxid(n); z++ {
		if err := l.Append(txn(z, "/n")); err != nil {
			t.Fatal(err)
		}
		if z == jute.Zxid(n) || rng.IntN(4) != 0 {
			continue
		}
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
		committed = z
		if rng.IntN(5) == 0 {
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return committed
}

func TestLogOnMemFSSurvivesACrashWithEveryCommittedTxn(t *testing.T) {
	for seed := range uint64(40) {
		m := NewMemFS()
		committed := memLogWorkload(t, m, "/data/version-2", 120, rand.New(rand.NewPCG(seed, 7)))
		var crashRng *rand.Rand
		if seed%2 == 1 {
			crashRng = rand.New(rand.NewPCG(seed, 8))
		}
		c := m.CrashClone(crashRng)
		var got []jute.Zxid
		res, err := Replay(c, "/data/version-2", 0, true, func(tx *jute.Txn) error {
			got = append(got, tx.Header.Zxid)
			return nil
		})
		if err != nil {
			t.Fatalf("seed %d: replay after the crash: %v", seed, err)
		}
		if res.LastZxid < committed {
			t.Fatalf("seed %d: replay reached %v, but %v was committed", seed, res.LastZxid, committed)
		}
		for i, z := range got {
			if z != jute.Zxid(i+1) {
				t.Fatalf("seed %d: txn %d has zxid %v", seed, i, z)
			}
		}
		if crashRng == nil && res.LastZxid != committed {
			t.Fatalf("seed %d: a crash keeping nothing unsynced replayed up to %v, committed %v", seed, res.LastZxid, committed)
		}
		// The restarted server appends after what it found, and a second
		// crash after a commit loses none of it.
		l, err := OpenLog("/data/version-2", LogOptions{FS: c, PreAllocSize: 4096, ForceSync: true})
		if err != nil {
			t.Fatal(err)
		}
		l.SetLastZxid(res.LastZxid)
		for z := res.LastZxid + 1; z <= res.LastZxid+5; z++ {
			if err := l.Append(txn(z, "/m")); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
		res2, err := Replay(c.CrashClone(nil), "/data/version-2", 0, true, func(*jute.Txn) error { return nil })
		if err != nil || res2.LastZxid != res.LastZxid+5 || res2.Applied != int(res.LastZxid)+5 {
			t.Fatalf("seed %d: after restart and a second crash: %+v, %v", seed, res2, err)
		}
	}
}

func TestSnapshotOnMemFSSurvivesACrash(t *testing.T) {
	m := NewMemFS()
	dir := "/data/version-2"
	tr := tree.New()
	for z := jute.Zxid(1); z <= 5; z++ {
		tr.Apply(txn(z, fmt.Sprintf("/n%d", z)))
	}
	path, err := WriteSnapshot(m, dir, tr, nil, Gzip)
	if err != nil {
		t.Fatal(err)
	}
	// A second snapshot still being written is not there after a crash.
	p, err := CreateSnapshot(m, dir, 9, Uncompressed)
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("partial"))
	c := m.CrashClone(rand.New(rand.NewPCG(3, 3)))
	snap, err := LoadNewestSnapshot(c, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if snap.File != path || snap.Zxid != 5 {
		t.Fatalf("loaded %s at %v, want %s at 0x5", snap.File, snap.Zxid, path)
	}
	if _, ok := snap.Tree.Get("/n5"); !ok {
		t.Fatal("/n5 is missing after the crash")
	}
	size, ok, err := NewestSnapshotSize(c, dir)
	if b, _ := m.ReadFile(path); err != nil || !ok || size != int64(len(b)) {
		t.Fatalf("NewestSnapshotSize = %d, %v, %v; want %d", size, ok, err, len(b))
	}
}

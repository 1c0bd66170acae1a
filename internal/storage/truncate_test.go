package storage

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// copyFixtureAll copies the ZooKeeper fixture's logs and snapshots into
// one new directory (dataLogDir = dataDir, as by default).
func copyFixtureAll(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	names, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatalf("fixture %s missing: %v", fixtureDir, err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(fixtureDir, n.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// replayed returns the txns a restore from zero would replay.
func replayed(t *testing.T, fs FS, dir string) []*jute.Txn {
	t.Helper()
	var got []*jute.Txn
	if _, err := Replay(fs, dir, 0, true, func(tx *jute.Txn) error {
		got = append(got, tx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func zxids(txns []*jute.Txn) []jute.Zxid {
	out := make([]jute.Zxid, len(txns))
	for i, tx := range txns {
		out[i] = tx.Header.Zxid
	}
	return out
}

// upTo returns the zxids 1..n.
func upTo(n jute.Zxid) []jute.Zxid {
	var out []jute.Zxid
	for z := jute.Zxid(1); z <= n; z++ {
		out = append(out, z)
	}
	return out
}

func fileNames(t *testing.T, fs FS, dir, prefix string) []jute.Zxid {
	t.Helper()
	files, err := listFiles(fs, dir, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []jute.Zxid
	for _, f := range files {
		out = append(out, f.Zxid)
	}
	return out
}

// checkAppendAfterTruncate opens a Log after a truncation to zxid, appends
// n txns after last (the last zxid left) and checks that a restart
// replays the old txns up to last followed by the new ones.
func checkAppendAfterTruncate(t *testing.T, fs FS, dir string, last jute.Zxid, n int) {
	t.Helper()
	l, err := OpenLog(dir, LogOptions{FS: fs, PreAllocSize: 4096, ForceSync: true})
	if err != nil {
		t.Fatal(err)
	}
	l.SetLastZxid(last)
	for z := last + 1; z <= last+jute.Zxid(n); z++ {
		if err := l.Append(txn(z, "/after-truncate")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := replayed(t, fs, dir)
	if !slices.Equal(zxids(got), upTo(last+jute.Zxid(n))) {
		t.Fatalf("after appending: replayed %v", zxids(got))
	}
	for _, tx := range got[last:] {
		if rec, ok := tx.Record.(*jute.CreateTxn); !ok || rec.Path != "/after-truncate" {
			t.Fatalf("txn %v is not one appended after the truncation: %+v", tx.Header.Zxid, tx.Record)
		}
	}
}

func TestTruncateZooKeeperLogs(t *testing.T) {
	// The fixture holds log.1, log.26, log.4d, log.6b (last zxid 0x70)
	// and snapshot.0, .24, .4b, .69.
	for _, tc := range []struct {
		name      string
		zxid      jute.Zxid
		last      jute.Zxid // the last zxid left
		logs      []jute.Zxid
		snapshots []jute.Zxid
	}{
		{"inside a middle segment cuts it and drops the later ones", 0x30, 0x30, []jute.Zxid{0x1, 0x26}, []jute.Zxid{0x0, 0x24}},
		{"at the first entry of a segment leaves it that one entry", 0x26, 0x26, []jute.Zxid{0x1, 0x26}, []jute.Zxid{0x0, 0x24}},
		{"at the last entry of a segment drops the later ones", 0x25, 0x25, []jute.Zxid{0x1}, []jute.Zxid{0x0, 0x24}},
		{"at a snapshot's zxid keeps that snapshot", 0x4b, 0x4b, []jute.Zxid{0x1, 0x26}, []jute.Zxid{0x0, 0x24, 0x4b}},
		{"at the last zxid changes nothing", 0x70, 0x70, []jute.Zxid{0x1, 0x26, 0x4d, 0x6b}, []jute.Zxid{0x0, 0x24, 0x4b, 0x69}},
		{"past the end changes nothing", 0x1000, 0x70, []jute.Zxid{0x1, 0x26, 0x4d, 0x6b}, []jute.Zxid{0x0, 0x24, 0x4b, 0x69}},
		{"to zero removes every segment", 0, 0, nil, []jute.Zxid{0x0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyFixtureAll(t)
			if err := Truncate(OS{}, dir, dir, tc.zxid); err != nil {
				t.Fatal(err)
			}
			if got := fileNames(t, OS{}, dir, LogPrefix); !slices.Equal(got, tc.logs) {
				t.Errorf("logs left: %v, want %v", got, tc.logs)
			}
			if got := fileNames(t, OS{}, dir, SnapshotPrefix); !slices.Equal(got, tc.snapshots) {
				t.Errorf("snapshots left: %v, want %v", got, tc.snapshots)
			}
			if got := zxids(replayed(t, OS{}, dir)); !slices.Equal(got, upTo(tc.last)) {
				t.Fatalf("replay after truncating to %v: %v", tc.zxid, got)
			}
			// A restore starts from the newest snapshot left and ends at last.
			snap, err := LoadNewestSnapshot(OS{}, dir, LoadOptions{ExtendedTypes: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := Replay(OS{}, dir, snap.Zxid, true, func(*jute.Txn) error { return nil })
			if err != nil || res.LastZxid != tc.last || len(res.Truncated) != 0 {
				t.Fatalf("restore after truncating: %+v, %v", res, err)
			}
			checkAppendAfterTruncate(t, OS{}, dir, tc.last, 5)
		})
	}
}

func TestTruncateLogsWrittenByLog(t *testing.T) {
	for _, fsys := range []struct {
		name string
		fs   func(t *testing.T) (FS, string)
	}{
		{"OS", func(t *testing.T) (FS, string) { return OS{}, t.TempDir() }},
		{"MemFS", func(t *testing.T) (FS, string) { return NewMemFS(), "/data/version-2" }},
	} {
		t.Run(fsys.name, func(t *testing.T) {
			fs, dir := fsys.fs(t)
			l, err := OpenLog(dir, LogOptions{FS: fs, PreAllocSize: 128 << 10, ForceSync: true})
			if err != nil {
				t.Fatal(err)
			}
			for z := jute.Zxid(1); z <= 100; z++ {
				if err := l.Append(txn(z, "/n")); err != nil {
					t.Fatal(err)
				}
				if z%30 == 0 {
					if err := l.Roll(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := fileNames(t, fs, dir, LogPrefix); !slices.Equal(got, []jute.Zxid{1, 31, 61, 91}) {
				t.Fatalf("segments %v", got)
			}
			if err := Truncate(fs, dir, dir, 50); err != nil {
				t.Fatal(err)
			}
			if got := fileNames(t, fs, dir, LogPrefix); !slices.Equal(got, []jute.Zxid{1, 31}) {
				t.Fatalf("segments after truncating: %v", got)
			}
			// The preallocated segment is shrunk to its last kept entry.
			seg, err := ReadSegment(fs, filepath.Join(dir, "log.1f"), false)
			if err != nil {
				t.Fatal(err)
			}
			if last := seg.Entries[len(seg.Entries)-1].Txn.Header.Zxid; last != 50 || seg.Torn != nil {
				t.Fatalf("cut segment ends at %v (torn %v)", last, seg.Torn)
			}
			f, size, err := openRead(fs, seg.File)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if size != seg.End {
				t.Fatalf("cut segment is %d bytes, its data ends at %d", size, seg.End)
			}
			if m, ok := fs.(*MemFS); ok {
				if got := zxids(replayed(t, m.CrashClone(nil), dir)); !slices.Equal(got, upTo(50)) {
					t.Fatalf("after truncating and a crash: %v", got)
				}
			}
			checkAppendAfterTruncate(t, fs, dir, 50, 7)
		})
	}
}

// writeLog writes the txns with the given zxids to a log on fs.
func writeLog(t *testing.T, fs FS, dir string, zs ...jute.Zxid) {
	t.Helper()
	l, err := OpenLog(dir, LogOptions{FS: fs, PreAllocSize: 4096, ForceSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, z := range zs {
		if err := l.Append(txn(z, "/n")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTruncateEdges(t *testing.T) {
	const dir = "/data/version-2"
	t.Run("with no log at all it does nothing", func(t *testing.T) {
		m := NewMemFS()
		if err := Truncate(m, dir, dir, 5); err != nil {
			t.Fatal(err)
		}
		m.MkdirAll(dir)
		if err := Truncate(m, dir, dir, 5); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("before the first segment's start it removes every segment", func(t *testing.T) {
		m := NewMemFS()
		writeLog(t, m, dir, jute.MakeZxid(1, 1), jute.MakeZxid(1, 2))
		if err := Truncate(m, dir, dir, jute.MakeZxid(1, 0)); err != nil {
			t.Fatal(err)
		}
		if names, _ := m.CrashClone(nil).ReadDir(dir); len(names) != 0 {
			t.Fatalf("left %v", names)
		}
		checkAppendAfterTruncate(t, m, dir, 0, 3)
	})
	t.Run("into a gap between segments it keeps what is below", func(t *testing.T) {
		m := NewMemFS()
		writeLog(t, m, dir, 1, 2, 3)
		writeLog(t, m, dir, jute.MakeZxid(1, 1), jute.MakeZxid(1, 2))
		if err := Truncate(m, dir, dir, jute.MakeZxid(0, 9)); err != nil {
			t.Fatal(err)
		}
		if got := zxids(replayed(t, m, dir)); !slices.Equal(got, upTo(3)) {
			t.Fatalf("replayed %v", got)
		}
	})
	t.Run("a headerless segment holding the zxid is removed", func(t *testing.T) {
		m := NewMemFS()
		writeLog(t, m, dir, 1, 2, 3)
		m.Create(filepath.Join(dir, LogName(4)))
		if err := Truncate(m, dir, dir, 10); err != nil {
			t.Fatal(err)
		}
		if got := fileNames(t, m, dir, LogPrefix); !slices.Equal(got, []jute.Zxid{1}) {
			t.Fatalf("segments %v", got)
		}
	})
	t.Run("a torn tail before the zxid is cut off", func(t *testing.T) {
		m := NewMemFS()
		writeLog(t, m, dir, 1, 2, 3)
		seg, _ := ReadSegment(m, filepath.Join(dir, "log.1"), true)
		f, _ := m.OpenFile(seg.File)
		f.WriteAt([]byte{0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 40, 1, 2, 3}, seg.End) // an entry cut short
		f.Close()
		if err := Truncate(m, dir, dir, 10); err != nil {
			t.Fatal(err)
		}
		after, err := ReadSegment(m, seg.File, false)
		if err != nil || after.Torn != nil || after.End != seg.End {
			t.Fatalf("after truncating: %+v, %v", after, err)
		}
		checkAppendAfterTruncate(t, m, dir, 3, 2)
	})
	t.Run("a negative zxid is refused", func(t *testing.T) {
		if err := Truncate(NewMemFS(), dir, dir, -1); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("when every snapshot is newer it refuses and changes nothing", func(t *testing.T) {
		m := NewMemFS()
		writeLog(t, m, dir, 1, 2, 3, 4, 5, 6)
		memSnapshot(t, m, dir, 5)
		err := Truncate(m, dir, dir, 3)
		if !errors.Is(err, ErrTruncateBelowSnapshots) {
			t.Fatalf("error %v", err)
		}
		if got := fileNames(t, m, dir, SnapshotPrefix); !slices.Equal(got, []jute.Zxid{5}) {
			t.Fatalf("snapshots %v", got)
		}
		if got := zxids(replayed(t, m, dir)); !slices.Equal(got, upTo(6)) {
			t.Fatalf("replayed %v", got)
		}
		// An invalid snapshot below the zxid does not count.
		f, _ := m.Create(filepath.Join(dir, SnapshotName(1, Uncompressed)))
		f.Write([]byte("torn"))
		f.Close()
		if err := Truncate(m, dir, dir, 3); !errors.Is(err, ErrTruncateBelowSnapshots) {
			t.Fatalf("with an invalid older snapshot: %v", err)
		}
		// A valid one does.
		memSnapshot(t, m, dir, 2)
		if err := Truncate(m, dir, dir, 3); err != nil {
			t.Fatal(err)
		}
		if got := fileNames(t, m, dir, SnapshotPrefix); !slices.Equal(got, []jute.Zxid{1, 2}) {
			t.Fatalf("snapshots %v", got)
		}
	})
}

// memSnapshot writes a minimal valid uncompressed snapshot file named
// after zxid (it passes the cheap validity test; its content is not a
// tree).
func memSnapshot(t *testing.T, fs FS, dir string, zxid jute.Zxid) {
	t.Helper()
	p, err := CreateSnapshot(fs, dir, zxid, Uncompressed)
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte{'Z', 'K', 'S', 'N', 0, 0, 0, 0, 0, 1, '/'})
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
}

// failFS fails the n-th change it is asked to make (Remove, SyncDir,
// and a file's Truncate or Sync) and every one after it, as a crash there
// would.
type failFS struct {
	FS
	n, calls *int
}

var errInjected = errors.New("injected failure")

func (f failFS) fail() error {
	*f.calls++
	if *f.calls >= *f.n {
		return errInjected
	}
	return nil
}

func (f failFS) Remove(name string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.FS.Remove(name)
}

func (f failFS) SyncDir(dir string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.FS.SyncDir(dir)
}

func (f failFS) OpenFile(name string) (File, error) {
	file, err := f.FS.OpenFile(name)
	if err != nil {
		return nil, err
	}
	return failFile{File: file, fs: f}, nil
}

type failFile struct {
	File
	fs failFS
}

func (f failFile) Truncate(size int64) error {
	if err := f.fs.fail(); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f failFile) Sync() error {
	if err := f.fs.fail(); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f failFile) Stat() (os.FileInfo, error) { return f.File.(*memFile).Stat() }

func TestACrashDuringTruncateLeavesAPrefixAndARetryFinishes(t *testing.T) {
	const dir = "/data/version-2"
	build := func() *MemFS {
		m := NewMemFS()
		l, err := OpenLog(dir, LogOptions{FS: m, PreAllocSize: 4096, ForceSync: true})
		if err != nil {
			t.Fatal(err)
		}
		for z := jute.Zxid(1); z <= 40; z++ {
			l.Append(txn(z, "/n"))
			if z%10 == 0 {
				l.Roll()
			}
		}
		l.Close()
		for _, z := range []jute.Zxid{0, 10, 20, 30} {
			memSnapshot(t, m, dir, z)
		}
		return m
	}
	const target = 15
	for n := 1; ; n++ {
		m := build()
		calls := 0
		err := Truncate(failFS{FS: m, n: &n, calls: &calls}, dir, dir, target)
		if err != nil && !errors.Is(err, errInjected) {
			t.Fatalf("crash at change %d: %v", n, err)
		}
		c := m.CrashClone(nil)
		got := zxids(replayed(t, c, dir))
		if len(got) < target || !slices.Equal(got, upTo(jute.Zxid(len(got)))) {
			t.Fatalf("crash at change %d: replay finds %v, not a prefix reaching %d", n, got, target)
		}
		snaps := fileNames(t, c, dir, SnapshotPrefix)
		if newest := snaps[len(snaps)-1]; newest > jute.Zxid(len(got)) {
			t.Fatalf("crash at change %d: snapshot %v is newer than the log's end %d", n, newest, len(got))
		}
		if err := Truncate(c, dir, dir, target); err != nil {
			t.Fatalf("retry after a crash at change %d: %v", n, err)
		}
		if got := zxids(replayed(t, c.CrashClone(nil), dir)); !slices.Equal(got, upTo(target)) {
			t.Fatalf("retry after a crash at change %d: replay finds %v", n, got)
		}
		if err == nil {
			if n < 3 {
				t.Fatalf("truncation made only %d changes", n)
			}
			return
		}
		if n > 100 {
			t.Fatalf("Truncate still failing after %d injected failures", n)
		}
	}
}

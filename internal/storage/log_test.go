package storage

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

var fixtureDir = filepath.Join("..", "..", "..", "shared", "testdata", "zk38-basic", VersionDir)

func txn(zxid jute.Zxid, path string) *jute.Txn {
	return &jute.Txn{
		Header: jute.TxnHeader{ClientID: 1, Cxid: int32(zxid), Zxid: zxid, Time: 1000, Type: jute.OpCreate},
		Record: &jute.CreateTxn{Path: path, Data: []byte("data"), ACL: []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, ParentCVersion: int32(zxid)},
	}
}

func readAll(t *testing.T, dir string, from jute.Zxid) ([]jute.Zxid, ReplayResult) {
	t.Helper()
	var got []jute.Zxid
	res, err := Replay(OS{}, dir, from, true, func(tx *jute.Txn) error {
		got = append(got, tx.Header.Zxid)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, res
}

func TestZooKeeperLogsParse(t *testing.T) {
	got, res := readAll(t, copyFixture(t), 0)
	if len(got) != 0x70 || res.LastZxid != 0x70 {
		t.Fatalf("read %d txns up to %v, want 0x70", len(got), res.LastZxid)
	}
	for i, z := range got {
		if z != jute.Zxid(i+1) {
			t.Fatalf("txn %d has zxid %v", i, z)
		}
	}
}

// copyFixture copies the ZooKeeper fixture's logs to a temp dir.
func copyFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	logs, _ := filepath.Glob(filepath.Join(fixtureDir, "log.*"))
	if len(logs) == 0 {
		t.Fatalf("fixture %s missing", fixtureDir)
	}
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(l)), b, 0o644)
	}
	return dir
}

func TestAppendCommitReplayRoundTrip(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLog(dir, LogOptions{PreAllocSize: 128 << 10, ForceSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for z := jute.Zxid(1); z <= 100; z++ {
		if err := l.Append(txn(z, "/n")); err != nil {
			t.Fatal(err)
		}
		if z%10 == 0 {
			if err := l.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if z == 50 {
			l.Roll()
		}
	}
	l.Close()
	info, _ := os.Stat(filepath.Join(dir, "log.1"))
	if info.Size() != 16+128<<10 {
		t.Fatalf("log.1 is %d bytes, want header + one preallocation step", info.Size())
	}
	if _, err := os.Stat(filepath.Join(dir, "log.33")); err != nil {
		t.Fatal("no segment started at zxid 0x33 after the roll")
	}
	got, _ := readAll(t, dir, 0)
	if len(got) != 100 {
		t.Fatalf("replayed %d", len(got))
	}
	tail, _ := readAll(t, dir, 70)
	if len(tail) != 30 || tail[0] != 71 {
		t.Fatalf("replay from 70: %v", tail)
	}
}

func TestTornTailIsCutAndEverythingBeforeItSurvives(t *testing.T) {
	dir := copyFixture(t)
	last := filepath.Join(dir, "log.6b")
	b, _ := os.ReadFile(last)
	// Cut the last entry in half: a power loss mid-append.
	os.WriteFile(last, b[:len(b)-20], 0o644)
	got, res := readAll(t, dir, 0)
	if res.LastZxid != 0x6f || len(res.Truncated) != 1 || res.Truncated[0].File != last {
		t.Fatalf("last %v truncated %+v", res.LastZxid, res.Truncated)
	}
	if len(got) != 0x6f {
		t.Fatalf("replayed %d", len(got))
	}
	// The torn bytes are gone from the file: a second replay is clean.
	_, again := readAll(t, dir, 0)
	if len(again.Truncated) != 0 || again.LastZxid != 0x6f {
		t.Fatalf("second replay %+v", again)
	}
}

func TestBitFlipInTheMiddleIsCorruptionNamingFileAndOffset(t *testing.T) {
	dir := copyFixture(t)
	p := filepath.Join(dir, "log.26")
	b, _ := os.ReadFile(p)
	b[100] ^= 0x10
	os.WriteFile(p, b, 0o644)
	_, err := Replay(OS{}, dir, 0, true, func(*jute.Txn) error { return nil })
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.File != p || ce.Offset < 16 || ce.Offset > 100 {
		t.Fatalf("err %v", err)
	}
}

func TestBitFlipInTheLastEntryIsATornTail(t *testing.T) {
	dir := copyFixture(t)
	p := filepath.Join(dir, "log.6b")
	b, _ := os.ReadFile(p)
	b[len(b)-5] ^= 0x01
	os.WriteFile(p, b, 0o644)
	_, res := readAll(t, dir, 0)
	if res.LastZxid != 0x6f || len(res.Truncated) != 1 {
		t.Fatalf("%+v", res)
	}
}

// failingFS makes writes fail after a budget of bytes, like a full disk.
type failingFS struct {
	OS
	budget *int64
}

type failingFile struct {
	*os.File
	budget *int64
}

var errDiskFull = errors.New("no space left on device")

func (f failingFile) WriteAt(p []byte, off int64) (int, error) {
	if int64(len(p)) > *f.budget {
		return 0, errDiskFull
	}
	*f.budget -= int64(len(p))
	return f.File.WriteAt(p, off)
}

func (f failingFile) Write(p []byte) (int, error) {
	if int64(len(p)) > *f.budget {
		return 0, errDiskFull
	}
	*f.budget -= int64(len(p))
	return f.File.Write(p)
}

func (fs failingFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	return failingFile{f, fs.budget}, err
}

func TestFailedCommitLeavesNothingHalfWritten(t *testing.T) {
	dir := t.TempDir()
	budget := int64(1 << 20)
	fs := failingFS{budget: &budget}
	l, err := OpenLog(dir, LogOptions{FS: fs, PreAllocSize: -1, ForceSync: true})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(txn(1, "/a"))
	l.Append(txn(2, "/b"))
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	budget = 10 // the disk fills up
	l.Append(txn(3, "/c"))
	if err := l.Commit(); !errors.Is(err, errDiskFull) {
		t.Fatalf("commit on a full disk: %v", err)
	}
	budget = 1 << 20 // space returns
	if err := l.Append(txn(4, "/d")); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	got, _ := readAll(t, dir, 0)
	if len(got) != 3 || got[2] != 4 {
		t.Fatalf("replayed %v, want 1 2 4", got)
	}
}

// syncFailFS lets writes through but fails the next *failures fsyncs:
// the failed batch's bytes reach the file, unacknowledged.
type syncFailFS struct {
	OS
	failures *int
}

type syncFailFile struct {
	*os.File
	failures *int
}

func (f syncFailFile) Sync() error {
	if *f.failures > 0 {
		*f.failures--
		return errDiskFull
	}
	return f.File.Sync()
}

func (fs syncFailFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	return syncFailFile{f, fs.failures}, err
}

func TestAFailedBatchNeverComesBackOnReplay(t *testing.T) {
	dir := t.TempDir()
	failures := 0
	l, err := OpenLog(dir, LogOptions{FS: syncFailFS{failures: &failures}, PreAllocSize: 64 << 10, ForceSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for z := jute.Zxid(1); z <= 10; z++ {
		l.Append(txn(z, "/ok"))
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	failures = 1
	for z := jute.Zxid(11); z <= 15; z++ {
		l.Append(txn(z, "/failed"))
	}
	if err := l.Commit(); err == nil {
		t.Fatal("commit succeeded with a failing fsync")
	}
	// The server goes on with new zxids after the failed ones.
	for z := jute.Zxid(16); z <= 17; z++ {
		if err := l.Append(txn(z, "/later")); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	got, _ := readAll(t, dir, 0)
	want := []jute.Zxid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17}
	if !slices.Equal(got, want) {
		t.Fatalf("replayed %v, want %v", got, want)
	}
}

func TestReplayRefusesALogThatGoesBackwards(t *testing.T) {
	dir := t.TempDir()
	l, _ := OpenLog(dir, LogOptions{PreAllocSize: -1})
	l.Append(txn(5, "/a"))
	l.Commit()
	l.Close()
	l2, _ := OpenLog(dir, LogOptions{PreAllocSize: -1})
	l2.Append(txn(7, "/b"))
	l2.Append(txn(8, "/c"))
	l2.Commit()
	l2.Close()
	// A segment named 6 whose entries go back to 3.
	l3, _ := OpenLog(dir, LogOptions{PreAllocSize: -1})
	l3.Append(txn(6, "/x"))
	l3.Commit()
	l3.Close()
	b, _ := os.ReadFile(filepath.Join(dir, "log.7"))
	os.WriteFile(filepath.Join(dir, "log.9"), b, 0o644)
	_, err := Replay(OS{}, dir, 0, false, func(*jute.Txn) error { return nil })
	var ce *CorruptionError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "backwards") {
		t.Fatalf("err %v", err)
	}
}

func TestALogThatCannotBeCutBackTakesNoMoreWrites(t *testing.T) {
	dir := t.TempDir()
	failures := 0
	l, _ := OpenLog(dir, LogOptions{FS: syncFailFS{failures: &failures}, PreAllocSize: -1, ForceSync: true})
	l.Append(txn(1, "/ok"))
	l.Commit()
	failures = 2 // the commit's fsync and the fsync of the cut both fail
	l.Append(txn(2, "/x"))
	if err := l.Commit(); !errors.Is(err, ErrLogBroken) {
		t.Fatalf("commit: %v", err)
	}
	if err := l.Append(txn(3, "/y")); !errors.Is(err, ErrLogBroken) {
		t.Fatalf("append after the log broke: %v", err)
	}
}

// A server killed between creating a segment and writing its header leaves
// an empty last log (test/crash hit it). Nothing in it was ever
// acknowledged: replay goes on and removes the file, so it cannot end up
// between two later segments.
func TestAHeaderlessLastSegmentIsDropped(t *testing.T) {
	for _, content := range []struct {
		name string
		data []byte
	}{{"empty", nil}, {"zeros", make([]byte, 4096)}, {"half a header of zeros", make([]byte, 7)}} {
		t.Run(content.name, func(t *testing.T) {
			dir := copyFixture(t)
			empty := filepath.Join(dir, "log.71")
			if err := os.WriteFile(empty, content.data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, res := readAll(t, dir, 0)
			if len(got) != 0x70 || res.LastZxid != 0x70 || len(res.Truncated) != 1 || res.Truncated[0].File != empty || res.Truncated[0].Offset != 0 {
				t.Fatalf("replayed %d up to %v, truncated %+v", len(got), res.LastZxid, res.Truncated)
			}
			if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the headerless segment is still there: %v", err)
			}
		})
	}
	// Not the last segment, or not all zeros: corruption, as before.
	dir := copyFixture(t)
	middle := filepath.Join(dir, "log.26")
	if err := os.WriteFile(middle, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var ce *CorruptionError
	if _, err := Replay(OS{}, dir, 0, true, func(*jute.Txn) error { return nil }); !errors.As(err, &ce) || ce.File != middle || ce.Offset != 0 {
		t.Fatalf("an empty segment before others: %v", err)
	}
	dir = copyFixture(t)
	last := filepath.Join(dir, "log.71")
	if err := os.WriteFile(last, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Replay(OS{}, dir, 0, true, func(*jute.Txn) error { return nil }); !errors.As(err, &ce) || ce.File != last {
		t.Fatalf("a last segment with no header but data: %v", err)
	}
}

// syncCountFS counts its files' Sync and DataSync calls.
type syncCountFS struct {
	*MemFS
	syncs, dataSyncs *int
}

type syncCountFile struct {
	File
	fs *syncCountFS
}

func (f syncCountFile) Sync() error { *f.fs.syncs++; return f.File.Sync() }

func (f syncCountFile) DataSync() error { *f.fs.dataSyncs++; return f.File.Sync() }

func (fs *syncCountFS) Create(name string) (File, error) {
	f, err := fs.MemFS.Create(name)
	if err != nil {
		return nil, err
	}
	return syncCountFile{f, fs}, nil
}

func TestCommitUsesDataSync(t *testing.T) {
	var syncs, dataSyncs int
	fs := &syncCountFS{MemFS: NewMemFS(), syncs: &syncs, dataSyncs: &dataSyncs}
	l, err := OpenLog("/log", LogOptions{FS: fs, PreAllocSize: 4 << 10, ForceSync: true})
	if err != nil {
		t.Fatal(err)
	}
	// Enough entries to outgrow one preallocation step: a commit that
	// grows the segment still needs only fdatasync, which syncs the size.
	for z := jute.Zxid(1); z <= 200; z++ {
		if err := l.Append(txn(z, "/some/node/with/a/longer/path")); err != nil {
			t.Fatal(err)
		}
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if dataSyncs != 200 || syncs != 0 {
		t.Fatalf("200 commits made %d DataSync and %d Sync calls; want 200 and 0", dataSyncs, syncs)
	}
	// What DataSync made durable survives a crash: the clone keeps only
	// synced bytes (and the log is not closed, which would sync again).
	n := 0
	if _, err := Replay(fs.CrashClone(rand.New(rand.NewPCG(1, 2))), "/log", 0, true, func(*jute.Txn) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 200 {
		t.Fatalf("replayed %d entries after a crash, want 200", n)
	}
}

package storage

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// fixtureSize returns the total size of the named fixture log files.
func fixtureSize(t *testing.T, names ...string) int64 {
	t.Helper()
	var total int64
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(fixtureDir, n))
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	return total
}

func TestTxnsSinceOnZooKeeperLogs(t *testing.T) {
	dir := copyFixtureAll(t)
	for _, tc := range []struct {
		name     string
		from     jute.Zxid
		maxBytes int64
		ok       bool
		first    jute.Zxid // of the txns returned, when ok (last is 0x70)
	}{
		{"from inside a segment", 0x30, -1, true, 0x31},
		{"from a segment's last entry", 0x25, -1, true, 0x26},
		{"from the first entry", 1, -1, true, 2},
		{"from the last entry gives nothing, but ok", 0x70, -1, true, 0},
		{"from before the log's first entry is not ok", 0, -1, false, 0},
		{"from past the log's end is not ok", 0x71, -1, false, 0},
		{"within the size limit", 0x30, fixtureSize(t, "log.26", "log.4d", "log.6b"), true, 0x31},
		{"a byte over the size limit is not ok", 0x30, fixtureSize(t, "log.26", "log.4d", "log.6b") - 1, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txns, ok, err := TxnsSince(OS{}, dir, tc.from, tc.maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			var want []jute.Zxid
			if tc.first != 0 {
				for z := tc.first; z <= 0x70; z++ {
					want = append(want, z)
				}
			}
			if got := zxids(txns); !slices.Equal(got, want) {
				t.Fatalf("txns %v, want %v", got, want)
			}
		})
	}
}

func TestTxnsSinceNeedsTheLogToHoldFrom(t *testing.T) {
	const dir = "/data/version-2"
	m := NewMemFS()
	writeLog(t, m, dir, 1, 2, 3)
	writeLog(t, m, dir, 5, 6) // 4 is missing
	writeLog(t, m, dir, jute.MakeZxid(1, 1), jute.MakeZxid(1, 2))
	for _, tc := range []struct {
		from jute.Zxid
		ok   bool
		want []jute.Zxid
	}{
		{2, true, []jute.Zxid{3, 5, 6, jute.MakeZxid(1, 1), jute.MakeZxid(1, 2)}},
		{4, false, nil}, // a hole where from should be
		{6, true, []jute.Zxid{jute.MakeZxid(1, 1), jute.MakeZxid(1, 2)}},
		{jute.MakeZxid(1, 0), false, nil}, // a new epoch's zxid is never in a log
	} {
		txns, ok, err := TxnsSince(m, dir, tc.from, -1)
		if err != nil || ok != tc.ok || !slices.Equal(zxids(txns), tc.want) {
			t.Errorf("TxnsSince(%v) = %v, %v, %v; want %v, %v", tc.from, zxids(txns), ok, err, tc.want, tc.ok)
		}
	}
	// Once the oldest segment is purged the log no longer reaches back.
	m.Remove(filepath.Join(dir, "log.1"))
	if _, ok, err := TxnsSince(m, dir, 2, -1); ok || err != nil {
		t.Errorf("after purging log.1: ok=%v err=%v", ok, err)
	}
	if _, ok, err := TxnsSince(NewMemFS(), dir, 2, -1); ok || err != nil {
		t.Errorf("with no log: ok=%v err=%v", ok, err)
	}
}

func TestTxnsSinceStopsAtAPartialEntryBeingWritten(t *testing.T) {
	const dir = "/data/version-2"
	m := NewMemFS()
	l, err := OpenLog(dir, LogOptions{FS: m, PreAllocSize: 4096, ForceSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for z := jute.Zxid(1); z <= 5; z++ {
		l.Append(txn(z, "/n"))
	}
	l.Commit()
	// A write in progress: half an entry past the committed end.
	seg, _ := ReadSegment(m, filepath.Join(dir, "log.1"), true)
	f, _ := m.OpenFile(seg.File)
	f.WriteAt([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 60, 9, 9}, seg.End)
	f.Close()
	txns, ok, err := TxnsSince(m, dir, 2, -1)
	if err != nil || !ok || !slices.Equal(zxids(txns), []jute.Zxid{3, 4, 5}) {
		t.Fatalf("got %v, %v, %v", zxids(txns), ok, err)
	}
	// Reading changed nothing on disk.
	if after, _ := ReadSegment(m, seg.File, true); after.Torn == nil {
		t.Fatal("TxnsSince cut the segment it read")
	}
}

func TestNewestSnapshotSizeOfZooKeeperSnapshots(t *testing.T) {
	size, ok, err := NewestSnapshotSize(OS{}, fixtureDir)
	if err != nil || !ok || size != fixtureSize(t, "snapshot.69") {
		t.Fatalf("got %d, %v, %v; want the size of snapshot.69", size, ok, err)
	}
	if _, ok, err := NewestSnapshotSize(NewMemFS(), "/none"); ok || err != nil {
		t.Fatalf("with no snapshot: ok=%v err=%v", ok, err)
	}
}

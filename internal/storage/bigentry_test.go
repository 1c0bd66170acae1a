package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// bigClose is a closeSession whose log payload is exactly size bytes: a
// 32-byte header, the vector's count and one path with its length.
func bigClose(zxid jute.Zxid, size int) *jute.Txn {
	return &jute.Txn{
		Header: jute.TxnHeader{ClientID: 7, Zxid: zxid, Time: 1000, Type: jute.OpCloseSession},
		Record: &jute.CloseSessionTxn{Paths: []string{"/" + strings.Repeat("e", size-32-4-4-1)}},
	}
}

// writeTxns appends txns to a fresh log in a temp dir, committing once, and
// returns the dir and what the logger printed.
func writeTxns(t *testing.T, preAlloc int64, txns ...*jute.Txn) (string, string) {
	t.Helper()
	dir := t.TempDir()
	var out bytes.Buffer
	l, err := OpenLog(dir, LogOptions{PreAllocSize: preAlloc, Logger: slog.New(slog.NewTextHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tx := range txns {
		if err := l.Append(tx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, out.String()
}

func TestEntriesLongerThanZooKeeperReadsBackAreWrittenReplayedAndWarnedAbout(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		warn bool
	}{
		{"ZooKeeper's largest entry, no warning", ZooKeeperMaxEntry, false},
		{"one byte more, a warning", ZooKeeperMaxEntry + 1, true},
		{"a 10 MiB closeSession, a warning", 10 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, logged := writeTxns(t, 0, txn(1, "/a"), bigClose(2, tc.size), txn(3, "/b"))
			seg, err := ReadSegment(OS{}, filepath.Join(dir, "log.1"), true)
			if err != nil {
				t.Fatal(err)
			}
			if len(seg.Entries) != 3 || seg.Entries[1].Size != tc.size+entryOverhead {
				t.Fatalf("read %d entries; the big one is %d bytes on disk, want %d", len(seg.Entries), seg.Entries[1].Size, tc.size+entryOverhead)
			}
			if got := len(seg.Entries[1].Txn.Record.(*jute.CloseSessionTxn).Paths[0]); got != tc.size-40 {
				t.Fatalf("the big entry's path came back %d bytes long, want %d", got, tc.size-40)
			}
			got, res := readAll(t, dir, 0)
			if len(got) != 3 || res.LastZxid != 3 || len(res.Truncated) != 0 {
				t.Fatalf("replayed %v, truncated %+v", got, res.Truncated)
			}
			warned := strings.Contains(logged, "level=WARN") && strings.Contains(logged, "zxid=0x2") &&
				strings.Contains(logged, "size="+strconv.Itoa(tc.size)) && strings.Contains(logged, "-Djute.maxbuffer")
			if warned != tc.warn {
				t.Fatalf("warned %v, want %v; the log said:\n%s", warned, tc.warn, logged)
			}
		})
	}
}

// A node's data may be larger than the default jute.maxbuffer when the
// operator raised it; the log must read back what it took.
func TestASetDataLargerThanTheDefaultJuteMaxBufferReplays(t *testing.T) {
	data := bytes.Repeat([]byte{'d'}, 3<<20)
	set := &jute.Txn{Header: jute.TxnHeader{ClientID: 1, Zxid: 2, Time: 1000, Type: jute.OpSetData},
		Record: &jute.SetDataTxn{Path: "/a", Data: data, Version: 1}}
	dir, _ := writeTxns(t, 0, txn(1, "/a"), set)
	var back []byte
	if _, err := Replay(OS{}, dir, 0, true, func(tx *jute.Txn) error {
		if r, ok := tx.Record.(*jute.SetDataTxn); ok {
			back = r.Data
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, data) {
		t.Fatalf("setData came back with %d bytes, want %d", len(back), len(data))
	}
}

func TestATxnLongerThanTheLimitIsRefusedAndItsBatchWritesNothing(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLog(dir, LogOptions{PreAllocSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	l.maxTxn = 1000
	l.Append(txn(1, "/a"))
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	l.Append(txn(2, "/b"))
	if err := l.Append(bigClose(3, 1001)); !errors.Is(err, ErrTxnTooLarge) || !strings.Contains(err.Error(), "zxid 0x3") {
		t.Fatalf("append of a 1001-byte txn with a 1000-byte limit: %v", err)
	}
	if err := l.Append(bigClose(4, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, dir, 0)
	if len(got) != 2 || got[0] != 1 || got[1] != 4 {
		t.Fatalf("replayed %v, want 1 and 4: the refused txn's batch is not written", got)
	}
}

// bigEntryLog writes zxid 1 (small), 2 (a 5 MiB closeSession) and 3..9
// (small) in one segment preallocated to 16 MiB, and returns the segment
// and the big entry's offset.
func bigEntryLog(t *testing.T) (string, int64) {
	t.Helper()
	txns := []*jute.Txn{txn(1, "/a"), bigClose(2, 5<<20)}
	for z := jute.Zxid(3); z <= 9; z++ {
		txns = append(txns, txn(z, "/n"))
	}
	dir, _ := writeTxns(t, 16<<20, txns...)
	p := filepath.Join(dir, "log.1")
	seg, err := ReadSegment(OS{}, p, true)
	if err != nil || len(seg.Entries) != 9 {
		t.Fatalf("%v, %d entries", err, len(seg.Entries))
	}
	return p, seg.Entries[1].Offset
}

func TestATornWriteOfALargeEntryIsATornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(b []byte, at int64) []byte
	}{
		// Pages after the first megabyte of the entry never reached the
		// disk: zeros (the preallocation) where the rest would be.
		{"zeros after its first megabyte", func(b []byte, at int64) []byte {
			clear(b[at+12+1<<20:])
			return b
		}},
		// The crash lost the file's growth: it ends inside the entry.
		{"the file ends inside it", func(b []byte, at int64) []byte { return b[:at+12+3<<20] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, at := bigEntryLog(t)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, tc.tear(b, at), 0o644)
			got, res := readAll(t, filepath.Dir(p), 0)
			if len(got) != 1 || len(res.Truncated) != 1 || res.Truncated[0].Offset != at {
				t.Fatalf("replayed %v, truncated %+v; want zxid 1 and a cut at %d", got, res.Truncated, at)
			}
		})
	}
}

func TestAnEntryRunningPastTheEndOfASegmentThatIsNotTheLastIsCorruption(t *testing.T) {
	p, at := bigEntryLog(t)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:at+12+3<<20], 0o644)
	l, _ := OpenLog(filepath.Dir(p), LogOptions{PreAllocSize: -1})
	l.Append(txn(10, "/later"))
	l.Close()
	_, err := Replay(OS{}, filepath.Dir(p), 0, true, func(*jute.Txn) error { return nil })
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.File != p || ce.Offset != at {
		t.Fatalf("replay: %v", err)
	}
}

func TestADamagedLengthIsCorruptionNotATornTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		length uint32
		reason string
	}{
		{"negative", 0xfffffff0, "unreasonable entry length"},
		{"above the limit", jute.MaxTxnSize + 1, "unreasonable entry length"},
		{"exactly the limit, past the end of the file", jute.MaxTxnSize, "is damaged"},
		{"past the end of the file", 100 << 20, "is damaged"},
		{"inside the file, no end-of-record byte", 8 << 20, "is damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, at := bigEntryLog(t)
			b, _ := os.ReadFile(p)
			binary.BigEndian.PutUint32(b[at+8:], tc.length)
			os.WriteFile(p, b, 0o644)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Replay(OS{}, filepath.Dir(p), 0, true, func(*jute.Txn) error { return nil })
			runtime.ReadMemStats(&after)
			var ce *CorruptionError
			if !errors.As(err, &ce) || ce.File != p || ce.Offset != at || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("replay: %v; want a CorruptionError at %s offset %d saying %q", err, p, at, tc.reason)
			}
			// The segment is 16 MiB: reading it may cost about that much,
			// never what the damaged length claims.
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 40<<20 {
				t.Fatalf("replay allocated %d MiB for a 16 MiB segment", grew>>20)
			}
		})
	}
}

package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

func TestOSFilesDataSync(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	f, err := OS{}.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(DataSyncer); !ok {
		t.Fatalf("OS files are %T, not DataSyncers", f)
	}
	if _, err := f.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := DataSync(f); err != nil {
		t.Fatalf("DataSync: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := DataSync(f); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("DataSync after Close = %v, want an error wrapping os.ErrClosed", err)
	}
}

// writeBackFS is the OS file system whose files record the ranges they
// are asked to write back (and pass the request on).
type writeBackFS struct {
	OS
	ranges *[][2]int64
}

func (w writeBackFS) Create(name string) (File, error) {
	f, err := w.OS.Create(name)
	if err != nil {
		return nil, err
	}
	return writeBackFile{File: f, ranges: w.ranges}, nil
}

type writeBackFile struct {
	File
	ranges *[][2]int64
}

func (f writeBackFile) WriteBack(off, n int64) error {
	*f.ranges = append(*f.ranges, [2]int64{off, n})
	return f.File.(WriteBacker).WriteBack(off, n)
}

// TestLargeSnapshotsAreWrittenBackInSteps writes a snapshot of about
// 20 MiB: each step of it is written back as it is written, in order and
// without gaps, and the file reads back whole.
func TestLargeSnapshotsAreWrittenBackInSteps(t *testing.T) {
	tr := tree.New()
	data := bytes.Repeat([]byte("w"), 100<<10)
	for i := range 200 {
		z := jute.Zxid(i + 1)
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate},
			Record: &jute.CreateTxn{Path: fmt.Sprintf("/n%03d", i), Data: data, ACL: []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, ParentCVersion: -1}})
	}
	var ranges [][2]int64
	dir := t.TempDir()
	path, err := WriteSnapshot(writeBackFS{ranges: &ranges}, dir, tr, nil, Uncompressed)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := int(info.Size() / writebackStep); len(ranges) < want-1 || len(ranges) > want {
		t.Errorf("%d write-backs for %d bytes, want about one per %d", len(ranges), info.Size(), writebackStep)
	}
	next := int64(0)
	for _, r := range ranges {
		if r[0] != next || r[1] < writebackStep {
			t.Fatalf("write-back ranges %v: want steps of at least %d from 0, without gaps", ranges, writebackStep)
		}
		next = r[0] + r[1]
	}
	if next > info.Size() {
		t.Fatalf("written back up to %d, past the file's %d bytes", next, info.Size())
	}
	l, err := LoadNewestSnapshot(OS{}, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Tree.NodeCount() != tr.NodeCount() || l.Tree.Digest() != tr.Digest() || l.Info.DigestMismatch {
		t.Fatalf("read back %d nodes (digest mismatch %v), wrote %d", l.Tree.NodeCount(), l.Info.DigestMismatch, tr.NodeCount())
	}
}

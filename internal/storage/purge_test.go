package storage

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

func TestPurgeKeepsTheNewestSnapshotsAndTheLogsTheyNeed(t *testing.T) {
	dir := t.TempDir()
	// Snapshots at 0x10, 0x20, 0x30, 0x40; logs starting at 1, 0x15, 0x25, 0x35.
	for _, z := range []jute.Zxid{0x10, 0x20, 0x30, 0x40} {
		tr := tree.New()
		tr.SetLastZxid(z)
		if _, err := WriteSnapshot(OS{}, dir, tr, nil, Uncompressed); err != nil {
			t.Fatal(err)
		}
	}
	for _, z := range []jute.Zxid{1, 0x15, 0x25, 0x35} {
		os.WriteFile(filepath.Join(dir, LogName(z)), []byte("ZKLG"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "snapshot.5.tmp"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "snapshot.50.tmp"), nil, 0o644) // a snapshot being written
	deleted, err := Purge(OS{}, dir, dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range deleted {
		names = append(names, filepath.Base(d))
	}
	slices.Sort(names)
	// Oldest kept snapshot is 0x20: log.15 may hold 0x21.. and stays.
	want := []string{"log.1", "snapshot.10", "snapshot.5.tmp"}
	if !slices.Equal(names, want) {
		t.Fatalf("deleted %v, want %v", names, want)
	}
}

func TestPurgeDoesNothingWithFewerSnapshotsThanItKeeps(t *testing.T) {
	dir := t.TempDir()
	tr := tree.New()
	WriteSnapshot(OS{}, dir, tr, nil, Uncompressed)
	os.WriteFile(filepath.Join(dir, LogName(1)), []byte("ZKLG"), 0o644)
	if deleted, err := Purge(OS{}, dir, dir, 1); err != nil || len(deleted) != 0 {
		t.Fatalf("deleted %v %v", deleted, err)
	}
}

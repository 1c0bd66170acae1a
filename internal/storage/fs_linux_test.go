package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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

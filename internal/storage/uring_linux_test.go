package storage

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

func TestRingLayoutsMatchTheKernels(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"io_uring_params", unsafe.Sizeof(uringParams{}), 120},
		{"io_uring_sqe", unsafe.Sizeof(uringSQE{}), 64},
		{"io_uring_cqe", unsafe.Sizeof(uringCQE{}), 16},
	} {
		if c.got != c.want {
			t.Errorf("%s is %d bytes, the kernel's is %d", c.name, c.got, c.want)
		}
	}
}

// requireRing skips where the kernel offers no io_uring (DataSync is then
// fdatasync, which the other tests cover).
func requireRing(t *testing.T) *syncRing {
	t.Helper()
	r := ringForSync()
	if r == nil {
		t.Skip("no io_uring here; DataSync uses fdatasync(2)")
	}
	return r
}

func TestDataSyncThroughTheRingSyncsAndReportsErrors(t *testing.T) {
	r := requireRing(t)
	f, err := OS{}.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 50 {
		if _, err := f.Write(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		if err := DataSync(f); err != nil {
			t.Fatalf("sync %d: %v", i, err)
		}
	}

	// fdatasync of a pipe fails with EINVAL: the ring's result must come
	// back as the error, for the file named.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	err = DataSync(osFile{pw})
	var pe *os.PathError
	if !errors.As(err, &pe) || !errors.Is(err, syscall.EINVAL) || pe.Op != "fdatasync" {
		t.Fatalf("DataSync of a pipe = %v, want fdatasync's EINVAL", err)
	}
	if r.broken {
		t.Fatal("an operation's own failure broke the ring")
	}
	// The ring still works after a failed operation.
	if err := DataSync(f); err != nil {
		t.Fatal(err)
	}
}

func TestDataSyncOfAClosedFileFails(t *testing.T) {
	requireRing(t)
	f, err := OS{}.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := DataSync(f); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("DataSync of a closed file = %v, want os.ErrClosed", err)
	}
}

func TestConcurrentDataSyncsAllComplete(t *testing.T) {
	requireRing(t)
	dir := t.TempDir()
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			f, err := OS{}.Create(filepath.Join(dir, string(rune('a'+g))))
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			for range 20 {
				if _, err := f.Write([]byte("x")); err != nil {
					errs <- err
					return
				}
				if err := DataSync(f); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestSyncDirGoesThroughTheRing(t *testing.T) {
	r := requireRing(t)
	dir := t.TempDir()
	f, err := OS{}.Create(filepath.Join(dir, "log.1"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	r.mu.Lock()
	before := *r.sqTail
	r.mu.Unlock()
	if err := (OS{}).SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	after := *r.sqTail
	r.mu.Unlock()
	if after != before+1 {
		t.Fatalf("SyncDir submitted %d entries to the ring, want 1", after-before)
	}

	// fsync of a pipe fails with EINVAL, reported for the file named.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	err = syncDir(pw)
	var pe *os.PathError
	if !errors.As(err, &pe) || !errors.Is(err, syscall.EINVAL) || pe.Op != "fsync" {
		t.Fatalf("syncDir of a pipe = %v, want fsync's EINVAL", err)
	}
}

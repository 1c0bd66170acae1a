package storage

import (
	"errors"
	"io"
	"os"
)

// File is an open file as the log writer uses it.
type File interface {
	io.Writer
	io.WriterAt
	io.ReaderAt
	// Sync makes everything written so far durable, data and metadata
	// (fsync).
	Sync() error
	Truncate(size int64) error
	Close() error
	Name() string
}

// FS is the file system the storage code works on: the real one, or one
// that injects faults in tests.
type FS interface {
	// Create creates (or truncates) a file for writing.
	Create(name string) (File, error)
	// OpenFile opens an existing file for reading and writing.
	OpenFile(name string) (File, error)
	// ReadFile returns a whole file.
	ReadFile(name string) ([]byte, error)
	// ReadDir returns the names in dir; a missing dir reads as empty.
	ReadDir(dir string) ([]string, error)
	MkdirAll(dir string) error
	Remove(name string) error
	Rename(from, to string) error
	// SyncDir makes a directory's entries (creates, renames) durable.
	SyncDir(dir string) error
}

// DataSyncer is a File that can make its data durable without the
// metadata that reading the data back does not need, such as its
// modification time (fdatasync). The file's size is not such metadata: a
// DataSync after the file grew makes the new size durable too.
type DataSyncer interface {
	DataSync() error
}

// WriteBacker is a File that can write a range of its dirty pages to the
// device and wait for them, without making anything durable
// (sync_file_range). A snapshot paces itself with it: written in one go
// and synced at the end, a large file would hand the device all its
// bytes at once, and the log's syncs would queue behind them.
type WriteBacker interface {
	WriteBack(off, n int64) error
}

// DataSync makes f's data durable: with its DataSync if it is a
// [DataSyncer], else with Sync.
func DataSync(f File) error {
	if d, ok := f.(DataSyncer); ok {
		return d.DataSync()
	}
	return f.Sync()
}

// OS is the operating system's file system. Its files are [DataSyncer]s:
// fdatasync where the system has it, fsync elsewhere.
type OS struct{}

// osFile is an open file of OS.
type osFile struct{ *os.File }

// Create implements FS.
func (OS) Create(name string) (File, error) {
	return openOS(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

// OpenFile implements FS.
func (OS) OpenFile(name string) (File, error) { return openOS(name, os.O_RDWR, 0) }

func openOS(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// ReadFile implements FS.
func (OS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// ReadDir implements FS.
func (OS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// MkdirAll implements FS.
func (OS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

// Remove implements FS.
func (OS) Remove(name string) error { return os.Remove(name) }

// Rename implements FS.
func (OS) Rename(from, to string) error { return os.Rename(from, to) }

// SyncDir implements FS.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return syncDir(d)
}

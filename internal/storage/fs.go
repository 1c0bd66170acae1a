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
	// Sync makes everything written so far durable.
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

// OS is the operating system's file system.
type OS struct{}

// Create implements FS.
func (OS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

// OpenFile implements FS.
func (OS) OpenFile(name string) (File, error) { return os.OpenFile(name, os.O_RDWR, 0) }

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
	return d.Sync()
}

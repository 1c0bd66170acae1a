//go:build !linux

package storage

import "os"

// DataSync makes the file's data durable; without fdatasync(2) it is Sync.
func (f osFile) DataSync() error { return f.Sync() }

// WriteBack does nothing where sync_file_range(2) is missing: the final
// Sync writes everything.
func (f osFile) WriteBack(off, n int64) error { return nil }

// syncDir makes a directory's entries durable with fsync(2).
func syncDir(d *os.File) error { return d.Sync() }

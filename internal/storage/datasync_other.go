//go:build !linux

package storage

// DataSync makes the file's data durable; without fdatasync(2) it is Sync.
func (f osFile) DataSync() error { return f.Sync() }

package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// DataSync makes the file's data durable with fdatasync(2), which, unlike
// fsync, skips the inode's timestamps: on a preallocated log segment,
// whose size appends do not change, it writes no inode at all.
func (f osFile) DataSync() error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if !errors.Is(serr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		// Control fails only on a closed file; os reports that as ErrClosed.
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: os.ErrClosed}
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

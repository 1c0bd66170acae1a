package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// DataSync makes the file's data durable with fdatasync(2), which, unlike
// fsync, skips the inode's timestamps: on a preallocated log segment,
// whose size appends do not change, it writes no inode at all. It runs
// on the process's io_uring where there is one (uring_linux.go), so that
// the goroutine waits without holding a thread.
func (f osFile) DataSync() error {
	if r := ringForSync(); r != nil {
		return f.syscall("fdatasync", r.dataSync)
	}
	return f.syscall("fdatasync", unix.Fdatasync)
}

// syncDir makes a directory's entries durable with fsync(2), through the
// io_uring where there is one: a log writer that starts a segment must
// not hold the process's only P while the directory is written.
func syncDir(d *os.File) error {
	if r := ringForSync(); r != nil {
		return osFile{d}.syscall("fsync", r.fullSync)
	}
	return d.Sync()
}

// WriteBack writes the file's dirty pages in [off, off+n) to the device
// and waits for them (sync_file_range(2) with WAIT_BEFORE, WRITE and
// WAIT_AFTER). It makes nothing durable (no metadata, no device cache
// flush); a later Sync still does that, with little left to write.
func (f osFile) WriteBack(off, n int64) error {
	return f.syscall("sync_file_range", func(fd int) error {
		return unix.SyncFileRange(fd, off, n,
			unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	})
}

// syscall runs call on the file's descriptor, again while it is
// interrupted (EINTR), and reports a failure as a *os.PathError for op.
func (f osFile) syscall(op string, call func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: err}
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = call(int(fd))
			if !errors.Is(serr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		// Control fails only on a closed file; os reports that as ErrClosed.
		return &os.PathError{Op: op, Path: f.Name(), Err: os.ErrClosed}
	}
	if serr != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: serr}
	}
	return nil
}

package testcluster

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockPort takes the exclusive lock of port's file without waiting, and
// returns the function that gives it back, or errPortHeld if another
// reservation holds it. The lock belongs to the open file, so it also
// keeps a second reservation in this process off the port, and it ends
// with the process however the process ends. The files are
// never removed: removing a file another process has just opened would let
// two processes hold locks on two different files of the same name.
func lockPort(port int) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(portLockDir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, errPortHeld
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

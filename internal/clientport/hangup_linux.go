package clientport

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hangupWatcher tells edge-triggered readers (conn_edge_linux.go) that
// their client has closed or reset the connection. A reader that stops
// after a short read relies on the poller to wake it for whatever comes
// next, but when a client sends its last requests and closes at once,
// the wake-up for the data and the one for the FIN can merge into one
// event: the read takes the data, and the 0 that reports the close is
// never read. The watcher keeps every such socket in an epoll set of its
// own that asks for EPOLLRDHUP only (EPOLLHUP and EPOLLERR come with
// every set), so it costs nothing per request: data does not wake it, a
// FIN or a reset does, once. It then nudges the connection's reader to
// read again (Conn.nudgeReader).
type hangupWatcher struct {
	epfd *os.File
	raw  syscall.RawConn
	log  func(msg string, args ...any)
	// stopping is set by close, whose closing of epfd ends run.
	stopping atomic.Bool

	mu    sync.Mutex
	conns map[int64]*Conn
}

// newHangupWatcher creates the watcher's epoll set, registered in Go's
// poller so that the watcher's goroutine waits without a thread.
func newHangupWatcher(log func(msg string, args ...any)) (*hangupWatcher, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("hang-up watcher: %w", os.NewSyscallError("epoll_create1", err))
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("hang-up watcher: %w", os.NewSyscallError("fcntl", err))
	}
	f := os.NewFile(uintptr(fd), "clientport-hangups")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("hang-up watcher: %w", err)
	}
	return &hangupWatcher{epfd: f, raw: raw, log: log, conns: make(map[int64]*Conn)}, nil
}

// watch adds c's socket (fd) to the set.
func (w *hangupWatcher) watch(c *Conn, fd int) error {
	w.mu.Lock()
	w.conns[c.ID] = c
	w.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(c.ID), Pad: int32(c.ID >> 32)}
	var err error
	if cerr := w.raw.Control(func(epfd uintptr) {
		err = unix.EpollCtl(int(epfd), unix.EPOLL_CTL_ADD, fd, &ev)
	}); cerr != nil {
		err = cerr
	}
	if err != nil {
		w.forget(c, -1)
		return fmt.Errorf("hang-up watcher: %w", os.NewSyscallError("epoll_ctl", err))
	}
	return nil
}

// forget removes c, and its socket fd unless fd is -1 (a socket leaves
// the set by itself when it is closed).
func (w *hangupWatcher) forget(c *Conn, fd int) {
	w.mu.Lock()
	delete(w.conns, c.ID)
	w.mu.Unlock()
	if fd >= 0 {
		w.raw.Control(func(epfd uintptr) {
			unix.EpollCtl(int(epfd), unix.EPOLL_CTL_DEL, fd, nil)
		})
	}
}

// run nudges the reader of every connection whose client hangs up, until
// close.
func (w *hangupWatcher) run() {
	events := make([]unix.EpollEvent, 64)
	var failed error
	err := w.raw.Read(func(epfd uintptr) bool {
		for {
			n, err := unix.EpollWait(int(epfd), events, 0)
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case err != nil:
				failed = os.NewSyscallError("epoll_wait", err)
				return true
			case n == 0:
				return false // wait in the poller for the next one
			}
			w.mu.Lock()
			for _, ev := range events[:n] {
				if c := w.conns[int64(uint32(ev.Fd))|int64(ev.Pad)<<32]; c != nil {
					c.nudgeReader()
				}
			}
			w.mu.Unlock()
		}
	})
	if failed != nil {
		err = failed
	}
	if err != nil && !w.stopping.Load() {
		w.log("hang-up watcher stopped; connections closed with their last requests are noticed at their idle deadline", "err", err)
	}
}

// close stops run.
func (w *hangupWatcher) close() {
	w.stopping.Store(true)
	w.epfd.Close()
}

// nudgeReader makes an edge-triggered reader read its socket again: a
// read deadline in the past wakes it from the poller, and the flag tells
// it that the deadline was not its idle timeout.
func (c *Conn) nudgeReader() {
	c.hangup.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

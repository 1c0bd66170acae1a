package clientport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// edgeSocket returns the connection's socket for readEdgeTriggered, if
// the listener reads that way and the connection is plain TCP (no TLS).
func (c *Conn) edgeSocket() (syscall.RawConn, bool) {
	if !c.l.edgeReads || c.l.tlsConf != nil {
		return nil, false
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return nil, false
	}
	raw, err := sc.SyscallConn()
	return raw, err == nil
}

// readEdgeTriggered is readLoop's steady state on a plain TCP socket,
// starting with the bytes the handshake's reader had buffered. It hands
// every request frame to the backend as readLoop does, but reads the
// socket itself, inside one long raw read, so that it can skip a read
// the net package would make: after a read that did not fill the buffer
// the socket was empty, and Go's poller (edge-triggered epoll) wakes the
// raw read again for any byte that arrives after it. A client that waits
// for each answer therefore costs one read per request instead of two
// (the second one failing with EAGAIN), a syscall that costs a
// microsecond or more in a virtual machine. That read is also what would
// find a FIN that came in the same wake-up as the data; the listener's
// hang-up watcher registers the socket and nudges the reader for it.
func (c *Conn) readEdgeTriggered(raw syscall.RawConn, buffered []byte) error {
	e := edgeReader{c: c, buf: make([]byte, max(readBufferSize, len(buffered)))}
	e.w = copy(e.buf, buffered)
	fd := -1
	raw.Control(func(s uintptr) { fd = int(s) })
	if err := c.l.hangups.watch(c, fd); err != nil {
		return err
	}
	defer c.l.hangups.forget(c, fd)
	var err error
	for {
		err = raw.Read(e.step)
		if !errors.Is(err, os.ErrDeadlineExceeded) || !c.hangup.Swap(false) {
			break
		}
		// The hang-up watcher's nudge, not the idle timeout: read again,
		// under the idle deadline again.
		c.readArmedFor = armedStale
		c.armDeadline(false)
	}
	if e.reserved {
		// A frame was admitted but never read whole.
		if e.large {
			c.l.largeBytes.Add(-int64(e.size))
		}
		c.unreserve()
	}
	if e.err != nil {
		return e.err
	}
	return err
}

// edgeReader is the state of readEdgeTriggered: buf[r:w] is read and not
// yet handed over; reserved says the frame at r has taken its flow
// control slot (of size bytes, large if it counts as a large request).
type edgeReader struct {
	c        *Conn
	buf      []byte
	r, w     int
	reserved bool
	large    bool
	size     int
	// drained says the last read did not fill the buffer: the socket
	// was empty, so the next read waits for the poller.
	drained bool
	err     error
}

// step is the raw read's callback: it hands over the frames read, reads
// more, and returns false to wait until the socket is readable, or true
// when the connection is done (err says why).
func (e *edgeReader) step(fd uintptr) bool {
	for {
		if !e.handOver() {
			return true
		}
		if e.drained {
			e.drained = false
			if !e.c.hangup.Load() {
				return false
			}
			// The client has closed or reset the connection: its
			// FIN may have come with the data just read, in the
			// same wake-up, so read on to the 0 that reports it.
		}
		e.makeRoom()
		e.c.armDeadline(false)
		n, err := syscall.Read(int(fd), e.buf[e.w:])
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			return false
		case err != nil:
			e.err = fmt.Errorf("read from %v: %w", e.c.remote, os.NewSyscallError("read", err))
			return true
		case n == 0:
			e.err = io.EOF
			return true
		}
		e.w += n
		e.drained = e.w < len(e.buf)
	}
}

// handOver hands every whole frame in buf[r:w] to the backend, each once
// the connection has room for it, as readFrame does. It reports false
// when the connection must end (err says why).
func (e *edgeReader) handOver() bool {
	c := e.c
	for e.w-e.r >= 4 {
		n := int32(binary.BigEndian.Uint32(e.buf[e.r:]))
		if !e.reserved {
			large, err := c.admitFrame(n)
			if err != nil {
				e.err = err
				return false
			}
			e.reserved, e.large, e.size = true, large, int(n)
		}
		end := e.r + 4 + int(n)
		if end > e.w {
			return true // the rest of the frame is still to come
		}
		frame := e.buf[e.r+4 : end]
		e.r = end
		e.reserved = false
		c.take(len(frame), e.large)
		c.Received.Add(1)
		c.l.received.Add(1)
		c.l.backend.Request(c, decodeRequest(frame, c.l.maxBuffer)) // decoded requests copy what they keep
	}
	return true
}

// makeRoom moves the unread bytes to the front of buf, growing it to hold
// a reserved frame whole and shrinking it back once a large frame is
// done, so that there is room to read into.
func (e *edgeReader) makeRoom() {
	pending := e.w - e.r
	need := readBufferSize
	if e.reserved {
		need = max(need, 4+e.size)
	}
	switch {
	case need > len(e.buf) || len(e.buf) > keptBufferSize && need <= readBufferSize && pending <= readBufferSize:
		buf := make([]byte, need)
		copy(buf, e.buf[e.r:e.w])
		e.buf = buf
	case e.r > 0 && (pending == 0 || len(e.buf)-e.w < need-pending):
		copy(e.buf, e.buf[e.r:e.w])
	default:
		return
	}
	e.r, e.w = 0, pending
}

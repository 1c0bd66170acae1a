package clientport

import (
	"net"
	"sync"
	"sync/atomic"

	"github.com/zkd/zkd/internal/jute"
)

// requestBytesBudget bounds the bytes of requests read from all
// connections and not answered yet, beyond each connection's first one:
// with jute.maxbuffer at 1 MiB, 1,000 outstanding requests could
// otherwise hold a GiB.
const requestBytesBudget = 64 << 20

// roomSignal wakes the readers waiting for room when a reply frees some.
// Waiters take the current channel before they look at the counters, and
// a release closes it (and installs a new one) only when someone waits,
// so a wake-up cannot be lost and a release with no waiter costs one
// atomic load.
type roomSignal struct {
	waiters atomic.Int64
	mu      sync.Mutex
	ch      chan struct{}
}

func (r *roomSignal) current() chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ch
}

func (r *roomSignal) wake() {
	if r.waiters.Load() == 0 {
		return
	}
	r.mu.Lock()
	close(r.ch)
	r.ch = make(chan struct{})
	r.mu.Unlock()
}

// charge is what one unanswered request holds of the listener's budgets.
type charge struct {
	size  int32
	large bool
}

// reserve takes an outstanding slot for a request of size bytes if the
// connection may read one now. A connection with nothing in flight always
// may: whatever others do, every client gets its next request read.
func (c *Conn) reserve(size int) bool {
	l := c.l
	if c.outstanding.Load() != 0 {
		if l.requestBytes.Load()+int64(size) > requestBytesBudget || c.queuedBytes.Load() > l.maxQueuedBytes {
			return false
		}
		for {
			cur := l.outstanding.Load()
			if cur >= l.maxOutstanding {
				return false
			}
			if l.outstanding.CompareAndSwap(cur, cur+1) {
				break
			}
		}
	} else {
		l.outstanding.Add(1)
	}
	c.outstanding.Add(1)
	return true
}

// unreserve gives back a slot taken by reserve for a request that was
// not read after all.
func (c *Conn) unreserve() {
	c.outstanding.Add(-1)
	c.l.outstanding.Add(-1)
	c.l.room.wake()
}

// waitForRoom blocks until the connection may read a request of size
// bytes and has taken its slot, or the connection closes.
func (c *Conn) waitForRoom(size int) error {
	if c.reserve(size) {
		return nil
	}
	r := &c.l.room
	r.waiters.Add(1)
	defer r.waiters.Add(-1)
	for {
		ch := r.current()
		if c.reserve(size) {
			return nil
		}
		select {
		case <-ch:
		case <-c.shut:
			return net.ErrClosed
		}
	}
}

// admitLarge applies ZooKeeper's large-request limit to a frame of size
// bytes. It reports whether the frame may be read; the bytes are taken
// from the budget when it may.
func (c *Conn) admitLarge(size int) (large, ok bool) {
	l := c.l
	if l.largeThreshold < 0 || size < l.largeThreshold {
		return false, true
	}
	for {
		cur := l.largeBytes.Load()
		if cur+int64(size) > l.largeMax {
			l.largeRejected.Add(1)
			return true, false
		}
		if l.largeBytes.CompareAndSwap(cur, cur+int64(size)) {
			return true, true
		}
	}
}

// take records a request, whose slot reserve took, handed to the backend.
func (c *Conn) take(size int, large bool) {
	c.mu.Lock()
	c.charges = append(c.charges, charge{size: int32(size), large: large})
	c.mu.Unlock()
	c.l.requestBytes.Add(int64(size))
}

// release returns the budgets of the n oldest unanswered requests (their
// replies have been written) and of bytes of written output.
func (c *Conn) release(n int, bytes int64) {
	if bytes > 0 {
		c.queuedBytes.Add(-bytes)
	}
	if n > 0 {
		c.mu.Lock()
		n = min(n, len(c.charges))
		var size, large int64
		for _, ch := range c.charges[:n] {
			size += int64(ch.size)
			if ch.large {
				large += int64(ch.size)
			}
		}
		// Copy the rest down so that the buffer is reused.
		c.charges = c.charges[:copy(c.charges, c.charges[n:])]
		if len(c.charges) == 0 && cap(c.charges) > 4096 {
			c.charges = nil
		}
		c.mu.Unlock()
		c.outstanding.Add(-int64(n))
		c.l.outstanding.Add(-int64(n))
		c.l.requestBytes.Add(-size)
		c.l.largeBytes.Add(-large)
	}
	c.l.room.wake()
}

// releaseAll returns everything a torn-down connection still holds.
func (c *Conn) releaseAll() {
	c.mu.Lock()
	n := len(c.charges)
	c.mu.Unlock()
	c.release(n, c.queuedBytes.Load())
}

// replySize estimates the encoded size of a reply body, for the output
// bound: exact enough for the bodies that can be large, a small constant
// for the rest.
func replySize(body jute.Encodable) int64 {
	const small = 64
	const stat = 68
	children := func(names []string) int64 {
		n := int64(4)
		for _, s := range names {
			n += 4 + int64(len(s))
		}
		return n
	}
	switch b := body.(type) {
	case *jute.GetDataResponse:
		return 4 + int64(len(b.Data)) + stat
	case *jute.GetChildrenResponse:
		return children(b.Children)
	case *jute.GetChildren2Response:
		return children(b.Children) + stat
	case *jute.EncodedChildren:
		if b.Stat != nil {
			return int64(len(b.Vector)) + stat
		}
		return int64(len(b.Vector))
	case *jute.WatcherEvent:
		return 12 + int64(len(b.Path))
	case *jute.StringsResponse:
		return children(b.Strings)
	case *jute.MultiResponse:
		n := int64(small)
		for _, r := range b.Results {
			if r.Resp != nil {
				n += replySize(r.Resp)
			}
		}
		return n
	}
	return small
}

// LargeRequestsRejected counts request frames refused by the large-request
// limit (zk_large_requests_rejected).
func (l *Listener) LargeRequestsRejected() int64 { return l.largeRejected.Load() }

// OutstandingRequests returns the requests read from all connections and
// not answered yet.
func (l *Listener) OutstandingRequests() int64 { return l.outstanding.Load() }

// IsClosed reports whether the connection has been closed; a request of a
// closed connection is stale and need not be executed.
func (c *Conn) IsClosed() bool { return c.closedFlag.Load() }

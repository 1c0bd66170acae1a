package server

import (
	"time"

	"github.com/zkd/zkd/internal/clientport"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/prep"
)

// This file is the core's request scheduler. Requests are not executed in
// the order the connections' readers hand them over: each connection's
// requests wait in its own queue, in order, and the core takes one
// request from each connection with work in turn. A client that pipelines
// thousands of requests therefore delays another client by at most one
// request of its own per turn, not by all of them; and requests of a
// connection that has closed meanwhile are dropped rather than executed.
// Order within a connection — the only order ZooKeeper promises — is kept.

// arrival is a request read from a connection and not yet started.
type arrival struct {
	req *clientport.Request
	at  time.Time
	// waited is set once the request throttler held it back.
	waited bool
}

// Scheduler limits.
const (
	// serveSlice is how long the core serves requests before it looks at
	// its inbox again (commits, new connections, other clients' requests).
	serveSlice = 2 * time.Millisecond
	// connWriteBytes bounds the request bytes of a connection's writes in
	// flight (prepared, not yet applied): beyond it the connection's next
	// request waits, so that one client flooding large writes fills the
	// log's batches with its own writes only up to this much. Small writes
	// still pipeline by the thousand.
	connWriteBytes = 1 << 20
	// largeWrite is the request size from which a write counts as large;
	// largeWriteBytes bounds the large writes in flight of all connections
	// together (one always may start), so that a small write, which always
	// starts, finds at most about this much ahead of it in the log.
	largeWrite      = 64 << 10
	largeWriteBytes = 1 << 20
)

// arrive queues a request read from c.
func (s *Server) arrive(c *clientport.Conn, r *clientport.Request, at time.Time) {
	cs := s.conns[c]
	if cs == nil || cs.closing {
		s.zkMetrics.bytesReceived += 4 + int64(r.Size)
		return
	}
	cs.incoming.push(arrival{req: r, at: at})
	if !cs.ready {
		cs.ready = true
		s.ready = append(s.ready, cs)
	}
}

// serve starts queued requests, one per connection per turn, until none
// can start or the slice is used up; it reports whether work is left that
// could start now.
func (s *Server) serve() (more bool) {
	if len(s.ready) == 0 {
		return false
	}
	deadline := time.Now().Add(serveSlice)
	for len(s.ready) > 0 {
		progressed := false
		keep := s.ready[:0]
		for _, cs := range s.ready {
			if cs.incoming.len() > 0 && s.stale(cs) {
				s.dropStale(cs)
			}
			if cs.incoming.len() == 0 {
				cs.ready = false
				continue
			}
			if !s.mayStart(cs, cs.incoming.front()) {
				keep = append(keep, cs)
				continue
			}
			a := cs.incoming.pop()
			s.handleRequest(cs.c, a.req, a.at)
			progressed = true
			keep = append(keep, cs)
		}
		clear(s.ready[len(keep):])
		s.ready = keep
		if !progressed {
			return false
		}
		if time.Now().After(deadline) {
			return len(s.ready) > 0
		}
	}
	return false
}

// stale reports whether cs's queued requests belong to a connection that
// has closed (or that the server is closing).
func (s *Server) stale(cs *connState) bool {
	return cs.closing || s.conns[cs.c] != cs || cs.c.IsClosed()
}

// dropStale drops the queued requests of a closed connection, except a
// closeSession, which is executed: a client may close its session and its
// socket at once, and ZooKeeper never treats closeSession as stale either.
// With zookeeper.request_throttle_drop_stale=false nothing is dropped
// while the server still knows the connection.
func (s *Server) dropStale(cs *connState) {
	known := !cs.closing && s.conns[cs.c] == cs
	keepAll := known && !s.throttle.DropStale
	cs.incoming.filter(func(a arrival) bool {
		if keepAll || known && a.req.Header.Type == jute.OpCloseSession {
			return true
		}
		s.zkMetrics.staleRequests++
		if s.throttle.DropStale || !known {
			s.zkMetrics.staleRequestsDropped++
		}
		s.zkMetrics.bytesReceived += 4 + int64(a.req.Size)
		return false
	})
}

// mayStart reports whether cs's next request may start now: its writes in
// flight are within connWriteBytes, and the request throttler
// (zookeeper.request_throttle_max_requests) has room.
func (s *Server) mayStart(cs *connState, a *arrival) bool {
	if cs.writeBytes >= connWriteBytes && cs.writeBytes > 0 {
		return false
	}
	if r := a.req; r.Size >= largeWrite && s.largeWriteBytes > 0 && s.largeWriteBytes+int64(r.Size) > largeWriteBytes && prep.IsWrite(r.Header.Type) {
		return false
	}
	if max := s.throttle.MaxRequests; max > 0 && s.inProcess() >= max {
		if !a.waited {
			a.waited = true
			s.zkMetrics.throttleWaits++
		}
		return false
	}
	if a.waited {
		s.zkMetrics.throttleQueueTime.Observe(time.Since(a.at).Milliseconds(), s.taken)
	}
	return true
}

// inProcess counts the requests started and not finished: writes in
// flight through the log or the leader, and forwarded syncs.
func (s *Server) inProcess() int {
	n := len(s.inflight) + len(s.pendingSyncs)
	for _, q := range s.forwardedBySession {
		n += len(q)
	}
	return n
}

// flushClosed runs, before the core forgets a closed connection, the
// closeSession among its queued requests (everything else is dropped).
func (s *Server) flushClosed(c *clientport.Conn) {
	if cs := s.conns[c]; cs != nil {
		s.runQueued(cs)
	}
}

// runQueued starts all of cs's queued requests now, in order, without
// waiting for their turn (those of a closed connection but its
// closeSession are dropped first). It runs before an event that ends the
// connection: the requests arrived before that event, and go first, as
// they would in plain arrival order.
func (s *Server) runQueued(cs *connState) {
	if cs.incoming.len() == 0 {
		return
	}
	if s.stale(cs) {
		s.dropStale(cs)
	}
	for cs.incoming.len() > 0 {
		a := cs.incoming.pop()
		s.handleRequest(cs.c, a.req, a.at)
	}
}

// queueUp appends p to cs's queue of unanswered requests, counting the
// request bytes of writes against connWriteBytes and large writes against
// largeWriteBytes.
func (s *Server) queueUp(cs *connState, p *pending) {
	cs.queue = append(cs.queue, p)
	if p.write && p.req != nil {
		p.charged = int64(p.req.Size)
		cs.writeBytes += p.charged
		if p.charged >= largeWrite {
			s.largeWriteBytes += p.charged
		}
	}
}

// dequeued releases what p held of connWriteBytes and largeWriteBytes.
func (s *Server) dequeued(cs *connState, p *pending) {
	cs.writeBytes -= p.charged
	if p.charged >= largeWrite {
		s.largeWriteBytes -= p.charged
	}
	p.charged = 0
}

// dropQueue forgets cs's queue (the connection is being closed).
func (s *Server) dropQueue(cs *connState) {
	for _, p := range cs.queue {
		s.dequeued(cs, p)
	}
	cs.queue = nil
}

// arrivals is a connection's FIFO of requests not started. It reuses its
// buffer: a pipelining client's requests cost no allocation per batch.
type arrivals struct {
	buf  []arrival
	head int
}

func (q *arrivals) len() int { return len(q.buf) - q.head }

func (q *arrivals) push(a arrival) {
	if q.head > 0 && len(q.buf) == cap(q.buf) {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, a)
}

// front returns the oldest request; the queue must not be empty.
func (q *arrivals) front() *arrival { return &q.buf[q.head] }

// pop removes and returns the oldest request; the queue must not be empty.
func (q *arrivals) pop() arrival {
	a := q.buf[q.head]
	q.buf[q.head] = arrival{}
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
		if cap(q.buf) > 1024 {
			q.buf = nil // a burst's buffer is not kept for the connection's life
		}
	}
	return a
}

// filter keeps the requests for which keep is true, in order.
func (q *arrivals) filter(keep func(arrival) bool) {
	kept := q.buf[:0]
	for _, a := range q.buf[q.head:] {
		if keep(a) {
			kept = append(kept, a)
		}
	}
	clear(q.buf[len(kept):])
	q.buf, q.head = kept, 0
}

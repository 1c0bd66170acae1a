package client

import "sync"

// eventQueue hands values from producers that must never block (the
// connection reader) to a consumer that may be slow, through an unbounded
// (or, with a limit, oldest-dropping) buffer and one forwarding goroutine,
// run. The consumer reads out.
type eventQueue[T any] struct {
	mu     sync.Mutex // guards items and closed
	items  []T
	closed bool // no more pushes; run delivers what is left, then closes out
	limit  int  // 0 = unbounded; else the oldest item is dropped beyond it

	signal chan struct{} // cap 1: items were pushed
	kill   chan struct{} // closed by stop
	stopMu sync.Once
	out    chan T
}

func newEventQueue[T any](buffer, limit int) *eventQueue[T] {
	return &eventQueue[T]{
		limit:  limit,
		signal: make(chan struct{}, 1),
		kill:   make(chan struct{}),
		out:    make(chan T, buffer),
	}
}

// push queues v and reports whether the queue still accepted it.
func (q *eventQueue[T]) push(v T) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if q.limit > 0 && len(q.items) >= q.limit {
		q.items = q.items[1:]
	}
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return true
}

// finish queues last as the final value and closes the queue; it reports
// false (and queues nothing) if the queue was already closed.
func (q *eventQueue[T]) finish(last T) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, last)
	q.closed = true
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return true
}

// stop makes run return promptly: what still fits in out's buffer is
// delivered, the rest dropped, and out is closed.
func (q *eventQueue[T]) stop() { q.stopMu.Do(func() { close(q.kill) }) }

// run forwards queued values to out in order until the queue is finished
// and drained, or stopped. It closes out when it returns.
func (q *eventQueue[T]) run() {
	defer close(q.out)
	for {
		q.mu.Lock()
		items, closed := q.items, q.closed
		q.items = nil
		q.mu.Unlock()
		for i, v := range items {
			select {
			case q.out <- v:
			case <-q.kill:
				q.flush(items[i:])
				return
			}
		}
		if closed {
			return
		}
		select {
		case <-q.signal:
		case <-q.kill:
			q.flush(nil)
			return
		}
	}
}

// flush delivers rest and anything still queued without blocking.
func (q *eventQueue[T]) flush(rest []T) {
	q.mu.Lock()
	rest = append(rest, q.items...)
	q.items = nil
	q.closed = true
	q.mu.Unlock()
	for _, v := range rest {
		select {
		case q.out <- v:
		default:
			return
		}
	}
}

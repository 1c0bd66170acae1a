package server

import "sync"

// queue is an unbounded multi-producer, single-consumer queue. Producers
// never block; the consumer waits on signal and takes everything at once.
type queue[T any] struct {
	mu     sync.Mutex // guards items
	items  []T
	signal chan struct{}
}

func newQueue[T any]() *queue[T] { return &queue[T]{signal: make(chan struct{}, 1)} }

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	q.wake()
}

// wake makes the consumer look at the queue again.
func (q *queue[T]) wake() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// popAll moves every queued item into buf (which it returns, reused).
func (q *queue[T]) popAll(buf []T) []T {
	q.mu.Lock()
	buf, q.items = q.items, buf[:0]
	q.mu.Unlock()
	return buf
}

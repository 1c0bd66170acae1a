package recipe

import (
	"context"

	"github.com/zkd/zkd/client"
)

// RWMutex is one owner's handle on a distributed shared/exclusive lock.
// Readers queue "read-" nodes and writers "write-" nodes, ephemeral and
// sequential, under the lock's node. A reader holds the lock once no writer
// is queued before it, and waits only for the nearest earlier writer; a
// writer holds it once it is first in the queue, and waits only for the
// nearest earlier node of either kind.
//
// An RWMutex holds one lock (read or write) at most at a time; make one
// per owner. Its methods are safe for concurrent use.
type RWMutex struct {
	k contender
}

// Node kinds of an RWMutex.
const (
	kindRead  = "read"
	kindWrite = "write"
)

// readYields: a reader waits for writers only; a writer waits for anyone.
func readYields(own, other string) bool {
	if own == kindRead {
		return other == kindWrite
	}
	return other == kindRead || other == kindWrite
}

// NewRWMutex returns a handle on the read-write lock at path, used
// through c. Nothing is created until RLock or Lock.
func NewRWMutex(c *client.Client, path string, opts ...Option) *RWMutex {
	o := buildOptions(opts)
	return &RWMutex{k: contender{c: c, dir: path, acl: o.acl, what: "read-write lock"}}
}

// RLock waits until it holds the lock for reading, or ctx ends; on
// failure its node is removed. It fails with ErrBusy if this RWMutex
// already holds the lock.
func (rw *RWMutex) RLock(ctx context.Context) error {
	return rw.k.acquire(ctx, kindRead, nil, readYields, false)
}

// TryRLock takes the lock for reading if no writer holds it or waits for
// it, and otherwise fails at once with an error wrapping ErrLocked.
func (rw *RWMutex) TryRLock(ctx context.Context) error {
	return rw.k.acquire(ctx, kindRead, nil, readYields, true)
}

// RUnlock releases a lock held for reading (see Mutex.Unlock).
func (rw *RWMutex) RUnlock(ctx context.Context) error {
	return rw.k.release(ctx, kindRead)
}

// Lock waits until it holds the lock for writing, or ctx ends; on failure
// its node is removed. It fails with ErrBusy if this RWMutex already holds
// the lock.
func (rw *RWMutex) Lock(ctx context.Context) error {
	return rw.k.acquire(ctx, kindWrite, nil, readYields, false)
}

// TryLock takes the lock for writing if nobody holds it or waits for it,
// and otherwise fails at once with an error wrapping ErrLocked.
func (rw *RWMutex) TryLock(ctx context.Context) error {
	return rw.k.acquire(ctx, kindWrite, nil, readYields, true)
}

// Unlock releases a lock held for writing (see Mutex.Unlock).
func (rw *RWMutex) Unlock(ctx context.Context) error {
	return rw.k.release(ctx, kindWrite)
}

// Lost returns a channel that is closed when the lock held (for reading or
// writing) is no longer held, as Mutex.Lost does.
func (rw *RWMutex) Lost() <-chan struct{} { return rw.k.lostCh() }

// Node returns the path of the owner's node while the lock is held, and ""
// otherwise.
func (rw *RWMutex) Node() string { return rw.k.node() }

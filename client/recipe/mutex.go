package recipe

import (
	"context"

	"github.com/zkd/zkd/client"
)

// Mutex is one owner's handle on a distributed exclusive lock: the
// children of a node, where each contender queues an ephemeral sequential
// node and the lowest one holds the lock. A waiter watches only the node
// just before its own, so a release wakes one waiter, not all of them.
//
// A Mutex holds the lock at most once at a time; make one Mutex per
// owner (several may share a Client). Its methods are safe for concurrent
// use.
type Mutex struct {
	k contender
}

// NewMutex returns a handle on the lock at path, used through c. Nothing
// is created until Lock.
func NewMutex(c *client.Client, path string, opts ...Option) *Mutex {
	o := buildOptions(opts)
	return &Mutex{k: contender{c: c, dir: path, acl: o.acl, what: "lock"}}
}

// Lock waits until it holds the lock, or ctx ends. On any failure,
// including the end of ctx, the node it queued is removed (if that fails
// too, the Mutex tries again on its next call), and the error says why
// (errors.Is(err, context.DeadlineExceeded) for a deadline). It fails with
// ErrBusy if this Mutex already holds the lock.
func (m *Mutex) Lock(ctx context.Context) error {
	return m.k.acquire(ctx, kindLock, nil, yieldToSameKind, false)
}

// TryLock takes the lock if nobody holds it or waits for it, and
// otherwise fails at once with an error wrapping ErrLocked.
func (m *Mutex) TryLock(ctx context.Context) error {
	return m.k.acquire(ctx, kindLock, nil, yieldToSameKind, true)
}

// Unlock releases the lock: it deletes the owner's node, which wakes the
// next waiter. If the lock was already lost with the session, Unlock
// returns nil. If the node cannot be deleted before ctx ends, Unlock
// returns the error and the Mutex deletes it on its next call; meanwhile
// others wait for it until the session ends.
func (m *Mutex) Unlock(ctx context.Context) error {
	return m.k.release(ctx, "")
}

// Lost returns a channel that is closed when the lock held is no longer
// held: after Unlock, when the owner's node is deleted, or when the
// Client's session ends (expiry or Close). A connection loss alone does
// not close it; while the Client is disconnected, the holder cannot know
// whether its session will survive. When the lock is not held, Lost
// returns a closed channel.
func (m *Mutex) Lost() <-chan struct{} { return m.k.lostCh() }

// Node returns the path of the owner's node while the lock is held, and ""
// otherwise.
func (m *Mutex) Node() string { return m.k.node() }

// kindLock names an exclusive lock's nodes.
const kindLock = "lock"

package recipe

import (
	"context"
	"errors"
	"fmt"

	"github.com/zkd/zkd/client"
)

// Queue is a distributed FIFO queue: producers add persistent sequential
// children of the queue's node, consumers take the lowest. Whoever deletes
// an item owns it, so each item goes to exactly one consumer.
//
// Items are named "_c_<guid>-qn-<sequence>": the protected prefix lets
// Offer find an item whose create answer was lost with the connection, so
// a connection loss never adds an item twice. Consumers also take items
// named "qn-<sequence>", as other implementations of the ZooKeeper queue
// recipe name them.
//
// A consumer owns an item once its delete succeeds. If the answer to that
// delete is lost with the connection and the item is gone, nobody can tell
// whether this consumer or another one deleted it: Take and Poll then
// return an error wrapping client.ErrConnectionLoss, and the item may be
// lost.
type Queue struct {
	c    *client.Client
	path string
	acl  []client.ACL
}

// kindQueueItem names a queue's items.
const kindQueueItem = "qn"

// NewQueue returns a handle on the queue whose node is path. Nothing is
// created until Offer or Take.
func NewQueue(c *client.Client, path string, opts ...Option) *Queue {
	o := buildOptions(opts)
	return &Queue{c: c, path: path, acl: o.acl}
}

func (q *Queue) errorf(op string, err error) error {
	return fmt.Errorf("queue %s: %s: %w", q.path, op, err)
}

// Offer adds an item holding data at the tail of the queue, creating the
// queue's node if it is missing.
func (q *Queue) Offer(ctx context.Context, data []byte) error {
	_, err := createProtected(ctx, q.c, q.path, newGUID(), kindQueueItem, data, client.ModePersistentSequential, q.acl)
	if err != nil {
		return q.errorf("offer", err)
	}
	return nil
}

// Poll takes the item at the head of the queue and returns its data, or
// returns ok false at once if the queue is empty.
func (q *Queue) Poll(ctx context.Context) (data []byte, ok bool, err error) {
	for {
		names, err := childrenRetry(ctx, q.c, q.path)
		if errors.Is(err, client.ErrNoNode) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, q.errorf("poll", err)
		}
		items := sortedMembers(names, kindQueueItem)
		if len(items) == 0 {
			return nil, false, nil
		}
		data, ok, err := q.takeFirst(ctx, items)
		if err != nil {
			return nil, false, q.errorf("poll", err)
		}
		if ok {
			return data, true, nil
		}
		// Other consumers took every item we saw; look again.
	}
}

// Take takes the item at the head of the queue and returns its data,
// waiting for one if the queue is empty, until ctx ends.
func (q *Queue) Take(ctx context.Context) ([]byte, error) {
	for {
		names, _, changed, err := q.c.ChildrenW(ctx, q.path)
		switch {
		case errors.Is(err, client.ErrNoNode):
			if err := ensurePath(ctx, q.c, q.path, q.acl); err != nil {
				return nil, q.errorf("take", err)
			}
			continue
		case isConnLoss(err):
			continue
		case err != nil:
			return nil, q.errorf("take", err)
		}
		if items := sortedMembers(names, kindQueueItem); len(items) > 0 {
			data, ok, err := q.takeFirst(ctx, items)
			if err != nil {
				return nil, q.errorf("take", err)
			}
			if ok {
				return data, nil
			}
			continue
		}
		select {
		case ev := <-changed:
			if ev.Type == client.EventNone {
				return nil, q.errorf("take", watchEnded(ev))
			}
		case <-ctx.Done():
			return nil, q.errorf("take", ctx.Err())
		}
	}
}

// takeFirst takes the first of items that is still there; ok is false
// when other consumers took them all.
func (q *Queue) takeFirst(ctx context.Context, items []member) (data []byte, ok bool, err error) {
	for _, it := range items {
		data, ok, err := q.takeItem(ctx, q.path+"/"+it.name)
		if err != nil || ok {
			return data, ok, err
		}
	}
	return nil, false, nil
}

// takeItem reads and deletes the item at p; ok is false when another
// consumer deleted it first. If the answer to the delete is lost with the
// connection and the item is then gone, nobody can tell whether this
// consumer or another one took it: takeItem returns an error wrapping
// client.ErrConnectionLoss, and the item may be lost.
func (q *Queue) takeItem(ctx context.Context, p string) (data []byte, ok bool, err error) {
	for {
		data, _, err := q.c.Get(ctx, p)
		switch {
		case errors.Is(err, client.ErrNoNode):
			return nil, false, nil
		case isConnLoss(err):
			continue
		case err != nil:
			return nil, false, err
		}
		err = q.c.Delete(ctx, p, client.AnyVersion)
		switch {
		case err == nil:
			return data, true, nil
		case errors.Is(err, client.ErrNoNode):
			return nil, false, nil // another consumer won it
		case !isConnLoss(err):
			return nil, false, err
		}
		st, serr := q.c.Exists(ctx, p)
		for isConnLoss(serr) {
			st, serr = q.c.Exists(ctx, p)
		}
		if serr != nil {
			return nil, false, serr
		}
		if st == nil {
			return nil, false, fmt.Errorf("item %s: %w (it is gone: this consumer or another took it)", p, err)
		}
		// The delete did not happen; try again.
	}
}

package recipe

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/zkd/zkd/client"
)

// Barrier is a simple distributed barrier: while its node exists, Wait
// blocks; removing the node lets every waiter through.
type Barrier struct {
	c    *client.Client
	path string
	acl  []client.ACL
}

// NewBarrier returns a handle on the barrier whose node is path.
func NewBarrier(c *client.Client, path string, opts ...Option) *Barrier {
	o := buildOptions(opts)
	return &Barrier{c: c, path: path, acl: o.acl}
}

func (b *Barrier) errorf(err error) error {
	return fmt.Errorf("barrier %s: %w", b.path, err)
}

// Set raises the barrier by creating its node (and missing parents). A
// barrier that is already up stays up.
func (b *Barrier) Set(ctx context.Context) error {
	if err := ensurePath(ctx, b.c, b.path, b.acl); err != nil {
		return b.errorf(err)
	}
	return nil
}

// Remove lowers the barrier by deleting its node. A barrier that is
// already down stays down.
func (b *Barrier) Remove(ctx context.Context) error {
	if err := deleteRetry(ctx, b.c, b.path); err != nil {
		return b.errorf(err)
	}
	return nil
}

// Wait returns once the barrier is down (its node does not exist), or
// when ctx or the Client ends.
func (b *Barrier) Wait(ctx context.Context) error {
	if err := waitGone(ctx, b.c, b.path); err != nil {
		return b.errorf(err)
	}
	return nil
}

// waitGone returns once the node at p does not exist.
func waitGone(ctx context.Context, c *client.Client, p string) error {
	for {
		// A data watch fires on deletion and is not left behind when the
		// node is already gone (an exists watch would wait for a creation).
		_, _, ch, err := c.GetW(ctx, p)
		switch {
		case errors.Is(err, client.ErrNoNode):
			return nil
		case isConnLoss(err):
			continue
		case err != nil:
			return err
		}
		select {
		case ev := <-ch:
			if ev.Type == client.EventNone {
				return watchEnded(ev)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// DoubleBarrier lets a fixed number of participants start a computation
// together and finish it together: Enter returns once count participants
// have entered, and Leave returns once all of them have left. Each
// participant has an ephemeral child of the barrier's node named by its id;
// the participant that completes the count creates a child named "ready",
// whose creation releases the others.
//
// A participant that enters once the count is reached (the ready node
// exists) passes at once. After everyone has left, the barrier can be used
// again.
type DoubleBarrier struct {
	c     *client.Client
	path  string
	id    string
	count int
	acl   []client.ACL
}

// readyNode is the child of a DoubleBarrier's node whose existence says
// that the count was reached. No participant may use it as its id.
const readyNode = "ready"

// NewDoubleBarrier returns participant id's handle on the double barrier
// at path for count participants. id must be a valid node name other than
// "ready", unique among the participants.
func NewDoubleBarrier(c *client.Client, path, id string, count int, opts ...Option) *DoubleBarrier {
	o := buildOptions(opts)
	return &DoubleBarrier{c: c, path: path, id: id, count: count, acl: o.acl}
}

func (b *DoubleBarrier) errorf(format string, args ...any) error {
	return fmt.Errorf("double barrier %s (participant %q): %w", b.path, b.id, fmt.Errorf(format, args...))
}

func (b *DoubleBarrier) node() string { return b.path + "/" + b.id }

// Enter joins the barrier and waits until count participants have joined.
// If ctx ends first, it leaves again (deletes its node) and returns the
// context's error.
func (b *DoubleBarrier) Enter(ctx context.Context) error {
	switch {
	case b.id == "" || b.id == readyNode || strings.Contains(b.id, "/"):
		return b.errorf("invalid participant id")
	case b.count < 1:
		return b.errorf("count %d is not positive", b.count)
	}
	for {
		err := b.enter(ctx)
		if err == nil {
			return nil
		}
		if !isConnLoss(err) {
			if !ended(err) {
				cctx, cancel := cleanupCtx(ctx, b.c)
				b.deleteOwn(cctx)
				cancel()
			}
			return b.errorf("enter: %w", err)
		}
	}
}

// enter is one attempt at Enter; a connection loss makes Enter repeat it.
func (b *DoubleBarrier) enter(ctx context.Context) error {
	// Watch for the ready node before joining, so its creation cannot be
	// missed between the count check and the wait.
	st, ready, err := b.c.ExistsW(ctx, b.path+"/"+readyNode)
	if err != nil {
		return err
	}
	if err := b.join(ctx); err != nil {
		return err
	}
	if st != nil {
		return nil // the count was reached already
	}
	names, err := childrenRetry(ctx, b.c, b.path)
	if err != nil {
		return err
	}
	if len(participants(names)) >= b.count {
		_, _, err := b.c.Create(ctx, b.path+"/"+readyNode, nil, client.ModePersistent, b.acl)
		if err != nil && !errors.Is(err, client.ErrNodeExists) {
			return err
		}
		return nil
	}
	select {
	case ev := <-ready:
		if ev.Type == client.EventNone {
			return watchEnded(ev)
		}
		return nil // created (or, if it raced with a Leave, gone again)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// join creates the participant's ephemeral node (and the barrier's node).
func (b *DoubleBarrier) join(ctx context.Context) error {
	for {
		_, _, err := b.c.Create(ctx, b.node(), nil, client.ModeEphemeral, b.acl)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, client.ErrNoNode):
			if err := ensurePath(ctx, b.c, b.path, b.acl); err != nil {
				return err
			}
		case errors.Is(err, client.ErrNodeExists):
			// Ours if a create whose answer was lost took effect.
			st, err := b.c.Exists(ctx, b.node())
			if err != nil {
				return err
			}
			if st == nil {
				continue
			}
			if st.EphemeralOwner != b.c.SessionID() {
				return fmt.Errorf("participant id %q is in use by session 0x%x", b.id, st.EphemeralOwner)
			}
			return nil
		case isConnLoss(err):
		default:
			return err
		}
	}
}

// deleteOwn deletes the participant's node if this session owns it.
func (b *DoubleBarrier) deleteOwn(ctx context.Context) error {
	for {
		st, err := b.c.Exists(ctx, b.node())
		switch {
		case isConnLoss(err):
			continue
		case err != nil:
			return err
		case st == nil || st.EphemeralOwner != b.c.SessionID():
			return nil
		}
		err = b.c.Delete(ctx, b.node(), st.Version)
		if err == nil || errors.Is(err, client.ErrNoNode) {
			return nil
		}
		if !isConnLoss(err) && !errors.Is(err, client.ErrBadVersion) {
			return err
		}
	}
}

// participants returns the participant names among a barrier's children,
// sorted.
func participants(names []string) []string {
	out := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == readyNode })
	slices.Sort(out)
	return out
}

// Leave leaves the barrier and waits until every participant has left.
// Participants wait without a herd: the lowest-named one waits for the
// highest, every other one for the lowest, and the lowest leaves last.
func (b *DoubleBarrier) Leave(ctx context.Context) error {
	// Everyone who entered has passed the ready node by now (its creation
	// fired their watches), so removing it readies the barrier for reuse.
	if err := deleteRetry(ctx, b.c, b.path+"/"+readyNode); err != nil {
		return b.errorf("leave: %w", err)
	}
	for {
		names, err := childrenRetry(ctx, b.c, b.path)
		if errors.Is(err, client.ErrNoNode) {
			return nil
		}
		if err != nil {
			return b.errorf("leave: %w", err)
		}
		ps := participants(names)
		if len(ps) == 0 {
			return nil
		}
		var wait string
		switch {
		case len(ps) == 1 && ps[0] == b.id:
			if err := b.deleteOwn(ctx); err != nil {
				return b.errorf("leave: %w", err)
			}
			return nil
		case ps[0] == b.id:
			wait = ps[len(ps)-1]
		default:
			if slices.Contains(ps, b.id) {
				if err := b.deleteOwn(ctx); err != nil {
					return b.errorf("leave: %w", err)
				}
			}
			wait = ps[0]
		}
		if err := waitGone(ctx, b.c, path.Join(b.path, wait)); err != nil {
			return b.errorf("leave: wait for %s: %w", wait, err)
		}
	}
}

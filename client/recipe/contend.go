package recipe

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zkd/zkd/client"
)

// contender takes part, for one owner, in a herd-free contention over the
// children of dir: it queues an ephemeral sequential node and waits until
// no node it must yield to is ordered before its own, watching only the
// nearest such node. Mutex, RWMutex and Election are contenders with
// different rules for whom to yield to.
type contender struct {
	c    *client.Client
	dir  string
	acl  []client.ACL
	what string // "lock", "read-write lock", "election": for error messages

	mu      sync.Mutex // guards busy, held and orphans
	busy    bool       // an acquire is running
	held    *holding   // the node currently held, or nil
	orphans []string   // GUIDs of nodes whose removal failed; retried later
}

// holding is one acquired node. Invariant: lost is closed once the owner
// has released the node or is known to have lost it (its deletion was
// seen, or the Client ended), and never while the node exists and the
// session is alive. In between (the Client disconnected, the session
// perhaps expired on the server) the owner cannot know, and lost stays
// open.
type holding struct {
	node     string // full path
	guid     string
	kind     string
	lost     chan struct{}
	lostOnce sync.Once
	stop     context.CancelFunc // stops the watch goroutine
	done     chan struct{}      // closed when the watch goroutine has returned
}

func (h *holding) markLost() { h.lostOnce.Do(func() { close(h.lost) }) }

// yieldsTo reports whether a node of kind own must wait while a node of
// kind other is ordered before it.
type yieldsTo func(own, other string) bool

// yieldToSameKind makes every node wait for the earlier nodes of its own
// kind: an exclusive lock, or an election.
func yieldToSameKind(own, other string) bool { return own == other }

var closedCh = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

func (k *contender) errorf(err error) error {
	return fmt.Errorf("%s %s: %w", k.what, k.dir, err)
}

// acquire queues a node of kind with data and waits until it is first
// among the nodes it yields to. With try, it gives up at once instead of
// waiting, with ErrLocked. On failure, its node is removed.
func (k *contender) acquire(ctx context.Context, kind string, data []byte, yields yieldsTo, try bool) error {
	k.mu.Lock()
	if k.busy || k.held != nil {
		k.mu.Unlock()
		return k.errorf(ErrBusy)
	}
	k.busy = true
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.busy = false
		k.mu.Unlock()
	}()

	k.sweep(ctx)
	guid := newGUID()
	name, err := createProtected(ctx, k.c, k.dir, guid, kind, data, client.ModeEphemeralSequential, k.acl)
	if err != nil {
		return k.abandon(ctx, guid, "", err)
	}
	if err := k.wait(ctx, name, yields, try); err != nil {
		return k.abandon(ctx, guid, name, err)
	}
	wctx, stop := context.WithCancel(context.Background())
	h := &holding{
		node: k.dir + "/" + name, guid: guid, kind: kind,
		lost: make(chan struct{}), stop: stop, done: make(chan struct{}),
	}
	go k.watchHeld(wctx, h)
	k.mu.Lock()
	k.held = h
	k.mu.Unlock()
	return nil
}

// wait returns once no node that the node name yields to is ordered before
// it. It watches only the nearest such node, so a release wakes one waiter
// (or, for readers behind a writer, the readers that share it).
func (k *contender) wait(ctx context.Context, name string, yields yieldsTo, try bool) error {
	for {
		names, err := childrenRetry(ctx, k.c, k.dir)
		if err != nil {
			return err
		}
		ms := sortedMembers(names)
		i := -1
		for j, m := range ms {
			if m.name == name {
				i = j
				break
			}
		}
		if i < 0 {
			return ErrNodeGone
		}
		pred := ""
		for j := i - 1; j >= 0; j-- {
			if yields(ms[i].kind, ms[j].kind) {
				pred = ms[j].name
				break
			}
		}
		if pred == "" {
			return nil
		}
		if try {
			return ErrLocked
		}
		// A data watch, not an exists watch: it fires on deletion too, and
		// is not left behind when the node is already gone.
		_, _, ch, err := k.c.GetW(ctx, k.dir+"/"+pred)
		if errors.Is(err, client.ErrNoNode) || isConnLoss(err) {
			continue
		}
		if err != nil {
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

// abandon removes the node of a failed acquire (found by guid when its
// name is not known, as after a lost create) and returns cause, wrapped.
// When the node cannot be removed now, the next acquire or release tries
// again; meanwhile the node blocks others until the session ends.
func (k *contender) abandon(ctx context.Context, guid, name string, cause error) error {
	if ended(cause) {
		return k.errorf(cause) // the session's ephemeral nodes went with it
	}
	cctx, cancel := cleanupCtx(ctx, k.c)
	defer cancel()
	err := k.removeGUID(cctx, guid, name)
	if err != nil && !ended(err) {
		k.mu.Lock()
		k.orphans = append(k.orphans, guid)
		k.mu.Unlock()
		return k.errorf(errors.Join(cause, fmt.Errorf("remove own node: %w", err)))
	}
	return k.errorf(cause)
}

// removeGUID deletes the child of dir carrying guid; name, if known, saves
// the search.
func (k *contender) removeGUID(ctx context.Context, guid, name string) error {
	if name == "" {
		n, found, err := findGUID(ctx, k.c, k.dir, guid)
		if err != nil || !found {
			return err
		}
		name = n
	}
	return deleteRetry(ctx, k.c, k.dir+"/"+name)
}

// sweep retries the removal of nodes a failed cleanup left behind.
func (k *contender) sweep(ctx context.Context) {
	k.mu.Lock()
	orphans := k.orphans
	k.orphans = nil
	k.mu.Unlock()
	var left []string
	for _, g := range orphans {
		if err := k.removeGUID(ctx, g, ""); err != nil && !ended(err) {
			left = append(left, g)
		}
	}
	if len(left) > 0 {
		k.mu.Lock()
		k.orphans = append(k.orphans, left...)
		k.mu.Unlock()
	}
}

// watchHeld closes h.lost when the held node disappears or the Client
// ends, until release stops it. A connection loss alone is not a loss: the
// Client keeps the watch across reconnects.
func (k *contender) watchHeld(ctx context.Context, h *holding) {
	defer close(h.done)
	for {
		_, _, ch, err := k.c.GetW(ctx, h.node)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case isConnLoss(err):
			continue
		default: // ErrNoNode, or the Client ended
			h.markLost()
			return
		}
		select {
		case ev := <-ch:
			if ev.Type == client.EventNone || ev.Type == client.EventNodeDeleted {
				h.markLost()
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// release deletes the held node of kind (any kind if kind is "") and
// closes its lost channel.
func (k *contender) release(ctx context.Context, kind string) error {
	k.mu.Lock()
	h := k.held
	if h == nil || (kind != "" && h.kind != kind) {
		k.mu.Unlock()
		return k.errorf(ErrNotHeld)
	}
	k.held = nil
	k.mu.Unlock()
	h.stop()
	<-h.done
	defer h.markLost()
	k.sweep(ctx)
	if err := deleteRetry(ctx, k.c, h.node); err != nil && !ended(err) {
		k.mu.Lock()
		k.orphans = append(k.orphans, h.guid)
		k.mu.Unlock()
		return k.errorf(fmt.Errorf("release %s: %w", h.node, err))
	}
	return nil
}

// lostCh returns the lost channel of the held node, or a closed channel
// when nothing is held.
func (k *contender) lostCh() <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.held == nil {
		return closedCh
	}
	return k.held.lost
}

// node returns the path of the held node, or "".
func (k *contender) node() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.held == nil {
		return ""
	}
	return k.held.node
}

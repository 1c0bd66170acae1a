package recipe_test

import (
	"context"
	"errors"
	"path"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/client/recipe"
)

func TestMutexExcludesManyContenders(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		const owners, rounds = 12, 4
		lock, shared := e.path("lock"), e.path("shared")
		setup := e.connect(t)
		if _, _, err := setup.Create(testCtx(t), shared, []byte("0"), client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
			t.Fatal(err)
		}
		var inside, overlaps atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, owners)
		for range owners {
			c := e.connect(t)
			ctx := testCtx(t)
			wg.Go(func() {
				m := recipe.NewMutex(c.Client, lock)
				for range rounds {
					if err := m.Lock(ctx); err != nil {
						errs <- err
						return
					}
					if inside.Add(1) != 1 {
						overlaps.Add(1)
					}
					// An unguarded read-modify-write of a shared node: any
					// overlap of two holders loses an increment.
					data, _, err := c.Get(ctx, shared)
					if err == nil {
						v, _ := strconv.Atoi(string(data))
						_, err = c.Set(ctx, shared, []byte(strconv.Itoa(v+1)), client.AnyVersion)
					}
					inside.Add(-1)
					if err != nil {
						errs <- err
						return
					}
					if err := m.Unlock(ctx); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			})
		}
		wg.Wait()
		for range owners {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if n := overlaps.Load(); n != 0 {
			t.Errorf("%d times two owners were inside the lock at once", n)
		}
		data, _, err := setup.Get(testCtx(t), shared)
		if err != nil || string(data) != strconv.Itoa(owners*rounds) {
			t.Errorf("shared counter %q (%v), want %d", data, err, owners*rounds)
		}
		if left := children(t, setup, lock); len(left) != 0 {
			t.Errorf("nodes left under the lock: %v", left)
		}
	})
}

// waiter is a Mutex queued behind a holder: its client, its node and the
// channel its Lock returns on.
type waiter struct {
	c    *zk
	m    *recipe.Mutex
	node string // path of its queued node
	done chan error
}

// queueWaiters starts n Lock calls on lock, each once the previous one is
// queued (its node is among the children), and returns them in queue
// order.
func queueWaiters(t *testing.T, e *env, lock string, n int, observer *zk) []*waiter {
	t.Helper()
	var ws []*waiter
	for range n {
		w := &waiter{c: e.connect(t), done: make(chan error, 1)}
		w.m = recipe.NewMutex(w.c.Client, lock)
		before := children(t, observer, lock)
		ctx := testCtx(t)
		go func() { w.done <- w.m.Lock(ctx) }()
		waitFor(t, "the waiter's node", func() bool { return len(children(t, observer, lock)) == len(before)+1 })
		for _, name := range children(t, observer, lock) {
			if !slices.Contains(before, name) {
				w.node = path.Join(lock, name)
			}
		}
		ws = append(ws, w)
	}
	return ws
}

func TestMutexWaiterWatchesOnlyItsPredecessor(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		lock := e.path("lock")
		ctx := testCtx(t)
		holder := e.connect(t)
		hm := recipe.NewMutex(holder.Client, lock)
		if err := hm.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		ws := queueWaiters(t, e, lock, 4, holder)
		preds := []string{hm.Node()}
		for _, w := range ws[:len(ws)-1] {
			preds = append(preds, w.node)
		}
		for i, w := range ws {
			waitFor(t, "waiter "+strconv.Itoa(i)+" to watch exactly its predecessor", func() bool {
				return slices.Equal(e.dataWatches(t, w.c), preds[i:i+1])
			})
		}
		// (On Apache ZooKeeper this asks whether anyone does.)
		if err := ws[0].c.CheckWatches(ctx, lock, client.WatcherChildren); !errors.Is(err, client.ErrNoWatcher) {
			t.Errorf("the lock's children are watched: %v", err)
		}

		// Each release wakes exactly the next waiter: the others' one-shot
		// watches are still in place, so they were not notified.
		prev := hm
		for i, w := range ws {
			if err := prev.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if err := result(t, "waiter "+strconv.Itoa(i)+" to get the lock", w.done); err != nil {
				t.Fatal(err)
			}
			if w.m.Node() != w.node {
				t.Errorf("waiter %d holds %s, queued %s", i, w.m.Node(), w.node)
			}
			for j := i + 1; j < len(ws); j++ {
				if got := e.dataWatches(t, ws[j].c); !slices.Equal(got, preds[j:j+1]) {
					t.Errorf("releasing %s woke waiter %d, which waits for %s (its watches now: %v)", preds[i], j, preds[j], got)
				}
				if len(ws[j].done) != 0 {
					t.Errorf("waiter %d got the lock out of turn", j)
				}
			}
			prev = w.m
		}
		if err := prev.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMutexIsLostWhenTheSessionExpires(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		lock := e.path("lock")
		ctx := testCtx(t)
		a := e.connect(t)
		am := recipe.NewMutex(a.Client, lock)
		if err := am.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		lost := am.Lost()
		if !isOpen(lost) {
			t.Fatal("Lost is closed while the lock is held")
		}
		ws := queueWaiters(t, e, lock, 1, e.connect(t))

		e.expire(t, a)
		closedWithin(t, "the expired holder's Lost", lost)
		if err := result(t, "the waiter to get the lock", ws[0].done); err != nil {
			t.Fatal(err)
		}
		if !isOpen(ws[0].m.Lost()) {
			t.Error("the new holder's Lost is closed")
		}
		if err := am.Unlock(ctx); err != nil {
			t.Errorf("Unlock of a lock lost with the session: %v", err)
		}
		if err := am.Lock(ctx); !errors.Is(err, client.ErrSessionExpired) {
			t.Errorf("Lock on an expired session: %v", err)
		}
	})
}

func TestMutexLockGivesUpWhenTheContextEnds(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		lock := e.path("lock")
		ctx := testCtx(t)
		a := e.connect(t)
		am := recipe.NewMutex(a.Client, lock)
		if err := am.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		b := e.connect(t)
		bm := recipe.NewMutex(b.Client, lock)

		// Cancelled while waiting: its node goes.
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- bm.Lock(cctx) }()
		waitFor(t, "the waiter's node", func() bool { return len(children(t, a, lock)) == 2 })
		cancel()
		if err := result(t, "the cancelled Lock", done); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Lock: %v", err)
		}
		if left := children(t, a, lock); len(left) != 1 || path.Join(lock, left[0]) != am.Node() {
			t.Errorf("children after the cancelled Lock: %v, want only the holder's %s", left, am.Node())
		}

		// A deadline works the same way.
		dctx, dcancel := context.WithTimeout(ctx, 100*time.Millisecond)
		err := bm.Lock(dctx)
		dcancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock past its deadline: %v", err)
		}
		// TryLock does not wait at all.
		if err := bm.TryLock(ctx); !errors.Is(err, recipe.ErrLocked) {
			t.Fatalf("TryLock on a held lock: %v", err)
		}
		if left := children(t, a, lock); len(left) != 1 {
			t.Errorf("children after the failed attempts: %v", left)
		}
		if err := bm.Unlock(ctx); !errors.Is(err, recipe.ErrNotHeld) {
			t.Errorf("Unlock of a lock not held: %v", err)
		}
		if !isOpen(am.Lost()) {
			t.Error("the holder lost the lock")
		}

		if err := am.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		closedWithin(t, "Lost after Unlock", am.Lost())
		if err := bm.TryLock(ctx); err != nil {
			t.Fatalf("TryLock on a free lock: %v", err)
		}
		if err := bm.Lock(ctx); !errors.Is(err, recipe.ErrBusy) {
			t.Errorf("Lock on a Mutex that holds the lock: %v", err)
		}
		if err := bm.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMutexSurvivesConnectionLoss(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		lock := e.path("lock")
		ctx := testCtx(t)
		a := e.connect(t)
		am := recipe.NewMutex(a.Client, lock)

		// The answer to the create is lost: Lock finds its node by the
		// protected prefix instead of queueing a second one (behind which
		// it would wait for ever).
		if _, _, err := a.Create(ctx, lock, nil, client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
			t.Fatal(err)
		}
		a.proxy.CutOnNextReply()
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := am.Lock(lctx); err != nil {
			t.Fatal(err)
		}
		if a.proxy.RepliesDropped() != 1 {
			t.Fatalf("%d replies were dropped, want the create's", a.proxy.RepliesDropped())
		}
		if left := children(t, a, lock); len(left) != 1 || path.Join(lock, left[0]) != am.Node() {
			t.Fatalf("children %v, want only %s", left, am.Node())
		}

		// A broken connection does not lose the lock.
		ws := queueWaiters(t, e, lock, 1, a)
		a.cut(t)
		if st, err := a.Exists(ctx, am.Node()); err != nil || st == nil {
			t.Fatalf("holder's node after reconnecting: %v %v", st, err)
		}
		if !isOpen(am.Lost()) || len(ws[0].done) != 0 {
			t.Fatal("a connection loss cost the holder the lock")
		}
		// Nor does it stop a waiter.
		ws[0].c.cut(t)
		if err := am.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := result(t, "the waiter to get the lock", ws[0].done); err != nil {
			t.Fatal(err)
		}
		if err := ws[0].m.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMutexRetriesAReleaseThatFailed(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		lock := e.path("lock")
		ctx := testCtx(t)
		a := e.connect(t)
		am := recipe.NewMutex(a.Client, lock)
		if err := am.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		node := am.Node()
		dead, cancel := context.WithCancel(ctx)
		cancel()
		if err := am.Unlock(dead); !errors.Is(err, context.Canceled) {
			t.Fatalf("Unlock with a cancelled context: %v", err)
		}
		closedWithin(t, "Lost after Unlock", am.Lost())
		// The node is still there, so the lock is still taken...
		other := recipe.NewMutex(e.connect(t).Client, lock)
		if err := other.TryLock(ctx); !errors.Is(err, recipe.ErrLocked) {
			t.Fatalf("TryLock while the old node remains: %v", err)
		}
		// ...until the Mutex's next call deletes it.
		if err := am.TryLock(ctx); err != nil {
			t.Fatalf("TryLock after the failed Unlock: %v", err)
		}
		if am.Node() == node {
			t.Fatal("the Mutex holds its old node again")
		}
		if left := children(t, a, lock); len(left) != 1 || path.Join(lock, left[0]) != am.Node() {
			t.Fatalf("children %v, want only %s", left, am.Node())
		}
		if err := am.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

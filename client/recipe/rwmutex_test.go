package recipe_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zkd/zkd/client/recipe"
)

func TestRWMutexReadersShareAndAWriterExcludesBoth(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		lock := e.path("rw")
		ctx := testCtx(t)
		observer := e.connect(t)
		newRW := func() *recipe.RWMutex { return recipe.NewRWMutex(e.connect(t).Client, lock) }
		r1, r2, w, r3, w2 := newRW(), newRW(), newRW(), newRW(), newRW()

		// Two readers hold the lock together.
		if err := r1.RLock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r2.RLock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w2.TryLock(ctx); !errors.Is(err, recipe.ErrLocked) {
			t.Fatalf("TryLock while readers hold the lock: %v", err)
		}

		// A writer waits for both; a reader that comes after the writer
		// waits for the writer.
		wDone := make(chan error, 1)
		go func() { wDone <- w.Lock(ctx) }()
		waitFor(t, "the writer's node", func() bool { return len(children(t, observer, lock)) == 3 })
		r3Done := make(chan error, 1)
		go func() { r3Done <- r3.RLock(ctx) }()
		waitFor(t, "the late reader's node", func() bool { return len(children(t, observer, lock)) == 4 })
		if err := w2.TryRLock(ctx); !errors.Is(err, recipe.ErrLocked) {
			t.Fatalf("TryRLock behind a waiting writer: %v", err)
		}

		if err := r1.RUnlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r2.RUnlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := result(t, "the writer to get the lock", wDone); err != nil {
			t.Fatal(err)
		}
		if len(r3Done) != 0 {
			t.Fatal("a reader got the lock while a writer holds it")
		}
		if err := w.RUnlock(ctx); !errors.Is(err, recipe.ErrNotHeld) {
			t.Errorf("RUnlock of a write lock: %v", err)
		}
		if err := w.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := result(t, "the late reader to get the lock", r3Done); err != nil {
			t.Fatal(err)
		}
		if err := r3.RUnlock(ctx); err != nil {
			t.Fatal(err)
		}
		if left := children(t, observer, lock); len(left) != 0 {
			t.Errorf("nodes left: %v", left)
		}
	})
}

func TestRWMutexKeepsWritersAlone(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		const owners, rounds = 8, 4
		lock := e.path("rw")
		var readers, writers atomic.Int32
		var violations atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, owners)
		for i := range owners {
			rw := recipe.NewRWMutex(e.connect(t).Client, lock)
			ctx := testCtx(t)
			wg.Go(func() {
				for r := range rounds {
					write := (i+r)%3 == 0
					var err error
					if write {
						err = rw.Lock(ctx)
					} else {
						err = rw.RLock(ctx)
					}
					if err != nil {
						errs <- err
						return
					}
					if write {
						if writers.Add(1) != 1 || readers.Load() != 0 {
							violations.Add(1)
						}
						writers.Add(-1)
						err = rw.Unlock(ctx)
					} else {
						readers.Add(1)
						if writers.Load() != 0 {
							violations.Add(1)
						}
						readers.Add(-1)
						err = rw.RUnlock(ctx)
					}
					if err != nil {
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
		if n := violations.Load(); n != 0 {
			t.Errorf("%d times a writer shared the lock", n)
		}
	})
}

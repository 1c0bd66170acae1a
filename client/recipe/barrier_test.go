package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zkd/zkd/client/recipe"
)

func TestBarrierHoldsWaitersUntilRemoved(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		path := e.path("barrier")
		ctx := testCtx(t)
		owner := e.connect(t)
		b := recipe.NewBarrier(owner.Client, path)
		if err := b.Wait(ctx); err != nil {
			t.Fatalf("Wait on a barrier that is down: %v", err)
		}
		if err := b.Set(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Set(ctx); err != nil {
			t.Fatalf("Set on a barrier that is up: %v", err)
		}
		type waiter struct {
			c    *zk
			done chan error
		}
		var ws []waiter
		for range 3 {
			w := waiter{e.connect(t), make(chan error, 1)}
			go func() { w.done <- recipe.NewBarrier(w.c.Client, path).Wait(ctx) }()
			ws = append(ws, w)
		}
		for i, w := range ws {
			waitFor(t, fmt.Sprintf("waiter %d to watch the barrier", i), func() bool {
				return slices.Equal(e.dataWatches(t, w.c), []string{path})
			})
		}
		// A waiter whose connection breaks keeps waiting, and still
		// passes.
		ws[0].c.cut(t)
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		err := recipe.NewBarrier(ws[1].c.Client, path).Wait(dctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait past its deadline: %v", err)
		}
		for i, w := range ws {
			if len(w.done) != 0 {
				t.Fatalf("waiter %d passed a barrier that is up: %v", i, <-w.done)
			}
		}
		if err := b.Remove(ctx); err != nil {
			t.Fatal(err)
		}
		for i, w := range ws {
			if err := result(t, fmt.Sprintf("waiter %d to pass", i), w.done); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Remove(ctx); err != nil {
			t.Fatalf("Remove on a barrier that is down: %v", err)
		}
	})
}

func TestDoubleBarrierEntersAndLeavesTogether(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		const n = 4
		path := e.path("double")
		ctx := testCtx(t)
		observer := e.connect(t)
		var bs []*recipe.DoubleBarrier
		for i := range n {
			bs = append(bs, recipe.NewDoubleBarrier(e.connect(t).Client, path, fmt.Sprintf("p%d", i), n))
		}
		// Two rounds: the barrier can be used again once everyone left.
		for round := range 2 {
			entered := make(chan error, n)
			for _, b := range bs[:n-1] {
				go func() { entered <- b.Enter(ctx) }()
			}
			waitFor(t, "the first participants to join", func() bool { return len(children(t, observer, path)) == n-1 })
			if len(entered) != 0 {
				t.Fatalf("round %d: a participant entered before all %d joined: %v", round, n, <-entered)
			}
			go func() { entered <- bs[n-1].Enter(ctx) }()
			for range n {
				if err := result(t, "a participant to enter", entered); err != nil {
					t.Fatal(err)
				}
			}

			left := make(chan error, n)
			for _, b := range bs[1:] {
				go func() { left <- b.Leave(ctx) }()
			}
			// All but p0 delete their nodes, then wait for p0, which
			// has not left yet.
			waitFor(t, "the others to leave", func() bool {
				return slices.Equal(children(t, observer, path), []string{"p0"})
			})
			if len(left) != 0 {
				t.Fatalf("round %d: a participant left before all did: %v", round, <-left)
			}
			go func() { left <- bs[0].Leave(ctx) }()
			for range n {
				if err := result(t, "a participant to leave", left); err != nil {
					t.Fatal(err)
				}
			}
			if rest := children(t, observer, path); len(rest) != 0 {
				t.Fatalf("round %d: children left: %v", round, rest)
			}
		}
	})
}

func TestDoubleBarrierEnterGivesUpWhenTheContextEnds(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		path := e.path("double")
		c := e.connect(t)
		ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
		defer cancel()
		err := recipe.NewDoubleBarrier(c.Client, path, "alone", 2).Enter(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Enter past its deadline: %v", err)
		}
		if rest := children(t, c, path); len(rest) != 0 {
			t.Fatalf("children left: %v", rest)
		}
		if err := recipe.NewDoubleBarrier(c.Client, path, "ready", 2).Enter(testCtx(t)); err == nil {
			t.Fatal("a participant named ready entered")
		}
	})
}

package recipe_test

import (
	"sync"
	"testing"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/client/recipe"
)

func TestCounterSumsConcurrentAdds(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		const clients, adds = 6, 15
		path := e.path("counters/hits") // the parent is created too
		ctx := testCtx(t)
		first := recipe.NewCounter(e.connect(t).Client, path)
		if v, err := first.Get(ctx); err != nil || v != 0 {
			t.Fatalf("Get of a missing counter: %d %v", v, err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		var want int64
		for i := range clients {
			n := recipe.NewCounter(e.connect(t).Client, path)
			delta := int64(i + 1)
			if i%2 == 1 {
				delta = -delta * 3
			}
			want += delta * adds
			wg.Go(func() {
				for range adds {
					if _, err := n.Add(ctx, delta); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if v, err := first.Get(ctx); err != nil || v != want {
			t.Fatalf("counter %d (%v), want %d", v, err, want)
		}
		if v, err := first.Add(ctx, 0); err != nil || v != want {
			t.Fatalf("Add(0) = %d (%v), want %d", v, err, want)
		}
	})
}

func TestCounterRejectsForeignData(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		c := e.connect(t)
		if _, _, err := c.Create(ctx, e.path("n"), []byte("twelve"), client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
			t.Fatal(err)
		}
		n := recipe.NewCounter(c.Client, e.path("n"))
		if _, err := n.Get(ctx); err == nil {
			t.Fatal("Get of non-numeric data succeeded")
		}
		if _, err := n.Add(ctx, 1); err == nil {
			t.Fatal("Add to non-numeric data succeeded")
		}
	})
}

func TestCounterWorksAcrossAConnectionCut(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		c := e.connect(t)
		n := recipe.NewCounter(c.Client, e.path("n"))
		if v, err := n.Add(ctx, 5); err != nil || v != 5 {
			t.Fatalf("Add = %d, %v", v, err)
		}
		c.cut(t)
		if v, err := n.Add(ctx, 2); err != nil || v != 7 {
			t.Fatalf("Add after a cut = %d, %v", v, err)
		}
	})
}

package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/client/recipe"
)

func TestQueueIsFIFO(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		q := recipe.NewQueue(e.connect(t).Client, e.path("queue"))
		if _, ok, err := q.Poll(ctx); ok || err != nil {
			t.Fatalf("Poll on a queue that does not exist: %v %v", ok, err)
		}
		for i := range 12 {
			if err := q.Offer(ctx, fmt.Appendf(nil, "item-%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 12 {
			data, ok, err := q.Poll(ctx)
			if err != nil || !ok || string(data) != fmt.Sprintf("item-%d", i) {
				t.Fatalf("Poll %d: %q %v %v", i, data, ok, err)
			}
		}
		if _, ok, err := q.Poll(ctx); ok || err != nil {
			t.Fatalf("Poll on an empty queue: %v %v", ok, err)
		}
	})
}

func TestQueueGivesEachItemToOneConsumer(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		const producers, consumers, perProducer = 3, 4, 15
		path := e.path("queue")
		ctx := testCtx(t)
		var wg sync.WaitGroup
		errs := make(chan error, producers+consumers)
		for p := range producers {
			q := recipe.NewQueue(e.connect(t).Client, path)
			wg.Go(func() {
				for i := range perProducer {
					if err := q.Offer(ctx, fmt.Appendf(nil, "p%d-%02d", p, i)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		var mu sync.Mutex
		var got []string
		taken := make([][]string, consumers)
		cctx, stop := context.WithCancel(ctx)
		defer stop()
		for c := range consumers {
			q := recipe.NewQueue(e.connect(t).Client, path)
			wg.Go(func() {
				for {
					data, err := q.Take(cctx)
					if err != nil {
						if !errors.Is(err, context.Canceled) {
							errs <- err
						}
						return
					}
					taken[c] = append(taken[c], string(data))
					mu.Lock()
					got = append(got, string(data))
					if len(got) == producers*perProducer {
						stop()
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var want []string
		for p := range producers {
			for i := range perProducer {
				want = append(want, fmt.Sprintf("p%d-%02d", p, i))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("items taken %v, want each of %v once", got, want)
		}
		// Each consumer saw each producer's items in the order offered.
		for c, items := range taken {
			for p := range producers {
				prefix := fmt.Sprintf("p%d-", p)
				mine := slices.DeleteFunc(slices.Clone(items), func(s string) bool { return s[:3] != prefix })
				if !slices.IsSorted(mine) {
					t.Errorf("consumer %d took producer %d's items out of order: %v", c, p, mine)
				}
			}
		}
	})
}

func TestQueueTakeWaitsForAnItem(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		path := e.path("queue")
		ctx := testCtx(t)
		consumer := e.connect(t)
		q := recipe.NewQueue(consumer.Client, path)
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := q.Take(dctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Take on an empty queue past its deadline: %v", err)
		}
		done := make(chan []byte, 1)
		go func() {
			data, err := q.Take(ctx)
			if err != nil {
				t.Error(err)
			}
			done <- data
		}()
		waitFor(t, "the consumer to watch the queue", func() bool {
			return consumer.CheckWatches(ctx, path, client.WatcherChildren) == nil
		})
		consumer.cut(t) // the watch outlives the connection
		producer := recipe.NewQueue(e.connect(t).Client, path)
		if err := producer.Offer(ctx, []byte("late")); err != nil {
			t.Fatal(err)
		}
		if got := result(t, "Take to return the item", done); string(got) != "late" {
			t.Fatalf("Take returned %q", got)
		}
	})
}

func TestQueueOfferDoesNotDuplicateWhenTheAnswerIsLost(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		c := e.connect(t)
		q := recipe.NewQueue(c.Client, e.path("queue"))
		if err := q.Offer(ctx, []byte("first")); err != nil {
			t.Fatal(err)
		}
		c.proxy.CutOnNextReply()
		if err := q.Offer(ctx, []byte("second")); err != nil {
			t.Fatal(err)
		}
		if c.proxy.RepliesDropped() != 1 {
			t.Fatal("no reply was dropped")
		}
		if n := len(children(t, c, e.path("queue"))); n != 2 {
			t.Fatalf("%d items, want 2", n)
		}
	})
}

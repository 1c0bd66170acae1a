package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/client/recipe"
)

// exampleConnect starts an in-memory zkd on a loopback port, so that each
// example runs on its own, and connects n clients to it. A real program
// connects to its ensemble: client.Connect(ctx, []string{"zk1:2181",
// "zk2:2181", "zk3:2181"}).
func exampleConnect(n int) (cs []*client.Client, stop func()) {
	s, err := newZkd()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range n {
		c, err := client.Connect(ctx, []string{s.Addr().String()})
		if err != nil {
			log.Fatal(err)
		}
		cs = append(cs, c)
	}
	return cs, func() {
		for _, c := range cs {
			c.Close(context.Background())
		}
		s.Close()
	}
}

func ExampleMutex() {
	cs, stop := exampleConnect(2)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	m := recipe.NewMutex(cs[0], "/locks/report")
	if err := m.Lock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("locked")

	// Another owner cannot take it meanwhile.
	other := recipe.NewMutex(cs[1], "/locks/report")
	err := other.TryLock(ctx)
	fmt.Println("other owner:", errors.Is(err, recipe.ErrLocked))

	// Work under the lock stops if the lock is lost (session expiry).
	select {
	case <-m.Lost():
		fmt.Println("lost the lock")
	default:
		fmt.Println("still held")
	}
	if err := m.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("other owner after Unlock:", other.TryLock(ctx))
	other.Unlock(ctx)
	// Output:
	// locked
	// other owner: true
	// still held
	// other owner after Unlock: <nil>
}

func ExampleRWMutex() {
	cs, stop := exampleConnect(3)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	r1 := recipe.NewRWMutex(cs[0], "/locks/table")
	r2 := recipe.NewRWMutex(cs[1], "/locks/table")
	w := recipe.NewRWMutex(cs[2], "/locks/table")
	fmt.Println("reader 1:", r1.RLock(ctx))
	fmt.Println("reader 2:", r2.RLock(ctx))
	fmt.Println("writer while read:", errors.Is(w.TryLock(ctx), recipe.ErrLocked))
	r1.RUnlock(ctx)
	r2.RUnlock(ctx)
	fmt.Println("writer:", w.Lock(ctx))
	w.Unlock(ctx)
	// Output:
	// reader 1: <nil>
	// reader 2: <nil>
	// writer while read: true
	// writer: <nil>
}

func ExampleElection() {
	cs, stop := exampleConnect(2)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	alpha := recipe.NewElection(cs[0], "/election/scheduler", "alpha")
	if err := alpha.Campaign(ctx); err != nil {
		log.Fatal(err)
	}
	leader, _ := alpha.Leader(ctx)
	fmt.Println("leader:", leader)

	// beta waits in line, watching only alpha's node.
	beta := recipe.NewElection(cs[1], "/election/scheduler", "beta")
	elected := make(chan error, 1)
	go func() { elected <- beta.Campaign(ctx) }()

	alpha.Resign(ctx)
	<-alpha.Lost()
	if err := <-elected; err != nil {
		log.Fatal(err)
	}
	leader, _ = beta.Leader(ctx)
	fmt.Println("leader:", leader)
	beta.Resign(ctx)
	// Output:
	// leader: alpha
	// leader: beta
}

func ExampleBarrier() {
	cs, stop := exampleConnect(2)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	gate := recipe.NewBarrier(cs[0], "/barriers/deploy")
	if err := gate.Set(ctx); err != nil {
		log.Fatal(err)
	}
	passed := make(chan error)
	go func() { passed <- recipe.NewBarrier(cs[1], "/barriers/deploy").Wait(ctx) }()

	fmt.Println("removing the barrier")
	gate.Remove(ctx)
	fmt.Println("waiter passed:", <-passed)
	// Output:
	// removing the barrier
	// waiter passed: <nil>
}

func ExampleDoubleBarrier() {
	const workers = 3
	cs, stop := exampleConnect(workers)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var events []string
	for i, c := range cs {
		wg.Go(func() {
			b := recipe.NewDoubleBarrier(c, "/barriers/round", fmt.Sprintf("worker-%d", i), workers)
			if err := b.Enter(ctx); err != nil {
				panic(err)
			}
			mu.Lock()
			events = append(events, "entered") // all workers have joined
			mu.Unlock()
			// ... the round's work ...
			if err := b.Leave(ctx); err != nil {
				panic(err)
			}
		})
	}
	wg.Wait() // every Leave returned: all workers have left
	fmt.Println(strings.Join(events, " "), "and left")
	// Output:
	// entered entered entered and left
}

func ExampleQueue() {
	cs, stop := exampleConnect(2)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	producer := recipe.NewQueue(cs[0], "/queues/jobs")
	consumer := recipe.NewQueue(cs[1], "/queues/jobs")
	for _, job := range []string{"build", "test", "ship"} {
		if err := producer.Offer(ctx, []byte(job)); err != nil {
			log.Fatal(err)
		}
	}
	job, err := consumer.Take(ctx) // waits if the queue is empty
	fmt.Printf("%s %v\n", job, err)
	for {
		job, ok, err := consumer.Poll(ctx) // never waits
		if err != nil || !ok {
			break
		}
		fmt.Printf("%s\n", job)
	}
	// Output:
	// build <nil>
	// test
	// ship
}

func ExampleDiscovery() {
	cs, stop := exampleConnect(3)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Each server registers itself under /services/web.
	recipe.Register(ctx, cs[0], "/services/web", "web-1", []byte("10.0.0.1:8080"))

	// A client keeps the list of instances.
	d, err := recipe.NewDiscovery(ctx, cs[2], "/services/web")
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	fmt.Println(len(d.Instances()), "instance")

	recipe.Register(ctx, cs[1], "/services/web", "web-2", []byte("10.0.0.2:8080"))
	for len(d.Instances()) != 2 {
		<-d.Changes()
	}
	for _, in := range d.Instances() {
		fmt.Printf("%s at %s\n", in.ID, in.Data)
	}

	cs[0].Close(ctx) // web-1's session ends, and its node with it
	for len(d.Instances()) != 1 {
		<-d.Changes()
	}
	fmt.Println(d.Instances()[0].ID)
	// Output:
	// 1 instance
	// web-1 at 10.0.0.1:8080
	// web-2 at 10.0.0.2:8080
	// web-2
}

func ExampleKeepRegistered() {
	s, err := newZkd()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The Registration dials its own sessions, a new one after each
	// expiry.
	dial := func(ctx context.Context) (*client.Client, error) {
		return client.Connect(ctx, []string{s.Addr().String()})
	}
	r, err := recipe.KeepRegistered(ctx, dial, "/services/web", "web-1", []byte("10.0.0.1:8080"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered as", r.Path())
	if err := r.Close(ctx); err != nil { // deregisters
		log.Fatal(err)
	}
	// Output:
	// registered as /services/web/web-1
}

func ExampleWatchConfig() {
	cs, stop := exampleConnect(2)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	w, err := recipe.WatchConfig(ctx, cs[0], "/config/feature-x")
	if err != nil {
		log.Fatal(err)
	}
	defer w.Stop()
	show := func() {
		v := <-w.Values()
		if !v.Exists {
			fmt.Println("(no node)")
			return
		}
		fmt.Printf("%s\n", v.Data)
	}

	show() // the current state comes first
	admin := cs[1]
	admin.Create(ctx, "/config", nil, client.ModePersistent, client.WorldACL(client.PermAll))
	admin.Create(ctx, "/config/feature-x", []byte("off"), client.ModePersistent, client.WorldACL(client.PermAll))
	show()
	admin.Set(ctx, "/config/feature-x", []byte("on"), client.AnyVersion)
	show()
	admin.Delete(ctx, "/config/feature-x", client.AnyVersion)
	show()
	// Output:
	// (no node)
	// off
	// on
	// (no node)
}

func ExampleCounter() {
	cs, stop := exampleConnect(2)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hits := recipe.NewCounter(cs[0], "/counters/hits")
	hits.Add(ctx, 5)
	recipe.NewCounter(cs[1], "/counters/hits").Add(ctx, 2) // another client
	v, err := hits.Get(ctx)
	fmt.Println(v, err)
	// Output:
	// 7 <nil>
}

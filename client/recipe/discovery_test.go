package recipe_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/client/recipe"
)

// instanceList renders a Discovery's instances as "id=data,...".
func instanceList(d *recipe.Discovery) string {
	var parts []string
	for _, in := range d.Instances() {
		parts = append(parts, in.ID+"="+string(in.Data))
	}
	return strings.Join(parts, ",")
}

// waitInstances waits, through Changes, until d lists want.
func waitInstances(t *testing.T, d *recipe.Discovery, want string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for instanceList(d) != want {
		select {
		case _, ok := <-d.Changes():
			if !ok {
				t.Fatalf("the cache ended (%v) with %q, want %q", d.Err(), instanceList(d), want)
			}
		case <-timeout:
			t.Fatalf("instances %q, want %q", instanceList(d), want)
		}
	}
}

func TestDiscoveryFollowsRegistrations(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		service := e.path("services/web")
		ctx := testCtx(t)
		d, err := recipe.NewDiscovery(ctx, e.connect(t).Client, service)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if got := instanceList(d); got != "" {
			t.Fatalf("instances of a service with no node: %q", got)
		}
		a, b := e.connect(t), e.connect(t)
		if err := recipe.Register(ctx, a.Client, service, "a", []byte("10.0.0.1:80")); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, d, "a=10.0.0.1:80")
		if err := recipe.Register(ctx, b.Client, service, "b", []byte("10.0.0.2:80")); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, d, "a=10.0.0.1:80,b=10.0.0.2:80")

		// Registering again from the same session updates the data;
		// another session cannot take the id.
		if err := recipe.Register(ctx, a.Client, service, "a", []byte("10.0.0.1:81")); err != nil {
			t.Fatal(err)
		}
		if err := recipe.Register(ctx, b.Client, service, "a", []byte("stolen")); !errors.Is(err, client.ErrNodeExists) {
			t.Fatalf("Register of an id another session holds: %v", err)
		}
		// The data change alone is not tracked; the next list change
		// brings it in.
		e.expire(t, b)
		waitInstances(t, d, "a=10.0.0.1:81")
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, d, "")
	})
}

func TestDiscoveryResyncsAfterAConnectionCut(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		service := e.path("services/web")
		ctx := testCtx(t)
		a, b := e.connect(t), e.connect(t)
		if err := recipe.Register(ctx, a.Client, service, "a", []byte("A")); err != nil {
			t.Fatal(err)
		}
		if err := recipe.Register(ctx, b.Client, service, "b", []byte("B")); err != nil {
			t.Fatal(err)
		}
		watcher := e.connect(t)
		d, err := recipe.NewDiscovery(ctx, watcher.Client, service)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if got := instanceList(d); got != "a=A,b=B" {
			t.Fatalf("first load: %q", got)
		}

		// Changes made while the cache is cut off show up once it is back.
		watcher.proxy.SetDown(true)
		watcher.proxy.Cut()
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		c := e.connect(t)
		if err := recipe.Register(ctx, c.Client, service, "c", []byte("C")); err != nil {
			t.Fatal(err)
		}
		watcher.proxy.SetDown(false)
		waitInstances(t, d, "a=A,c=C")

		watcher.cut(t)
		if err := recipe.Register(ctx, c.Client, service, "d", []byte("D")); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, d, "a=A,c=C,d=D")
	})
}

func TestDiscoveryEndsWhenTheSessionExpires(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		watcher := e.connect(t)
		d, err := recipe.NewDiscovery(ctx, watcher.Client, e.path("services/web"))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		e.expire(t, watcher)
		for {
			if _, ok := recvOK(t, d.Changes()); !ok {
				break
			}
		}
		if err := d.Err(); !errors.Is(err, client.ErrSessionExpired) {
			t.Fatalf("Err after expiry: %v", err)
		}
	})
}

func TestRegistrationComesBackAfterSessionExpiry(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		service := e.path("services/web")
		ctx := testCtx(t)
		var mu sync.Mutex
		var dialed []*zk
		dial := func(ctx context.Context) (*client.Client, error) {
			c, err := e.open(t, ctx)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			dialed = append(dialed, c)
			mu.Unlock()
			return c.Client, nil
		}
		current := func() *zk {
			mu.Lock()
			defer mu.Unlock()
			return dialed[len(dialed)-1]
		}
		r, err := recipe.KeepRegistered(ctx, dial, service, "a", []byte("A"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(context.Background()) })
		observer := e.connect(t)
		d, err := recipe.NewDiscovery(ctx, observer.Client, service)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if got := instanceList(d); got != "a=A" {
			t.Fatalf("instances %q", got)
		}

		for round := range 2 {
			old := current()
			oldID := old.SessionID()
			e.expire(t, old)
			waitFor(t, "the instance to be registered by a new session", func() bool {
				st, err := observer.Exists(ctx, r.Path())
				return err == nil && st != nil && st.EphemeralOwner != oldID && st.EphemeralOwner != 0
			})
			waitInstances(t, d, "a=A")
			if current() == old {
				t.Fatalf("round %d: no new client", round)
			}
		}

		// Someone deletes the node: it comes back on the same session.
		sid := current().SessionID()
		if err := observer.Delete(ctx, r.Path(), client.AnyVersion); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the instance to be registered again", func() bool {
			st, err := observer.Exists(ctx, r.Path())
			return err == nil && st != nil && st.EphemeralOwner == sid
		})

		if err := r.Close(ctx); err != nil {
			t.Fatal(err)
		}
		waitInstances(t, d, "")
		if st := current().State(); st != client.StateClosed {
			t.Errorf("the Registration's client is %v after Close", st)
		}
		mu.Lock()
		n := len(dialed)
		mu.Unlock()
		if n != 3 {
			t.Errorf("%d clients dialed, want 3", n)
		}
	})
}

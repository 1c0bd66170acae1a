package recipe_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/client/recipe"
)

// next returns the next value of w, failing the test if none comes in
// time or the watch ended.
func next(t *testing.T, w *recipe.ConfigWatch) recipe.ConfigValue {
	t.Helper()
	v, ok := recvOK(t, w.Values())
	if !ok {
		t.Fatalf("the watch ended: %v", w.Err())
	}
	return v
}

func TestConfigWatchDeliversEveryValueInOrder(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		path := e.path("config")
		ctx := testCtx(t)
		writer := e.connect(t)
		w, err := recipe.WatchConfig(ctx, e.connect(t).Client, path)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if v := next(t, w); v.Exists {
			t.Fatalf("first value of a missing node: %+v", v)
		}
		if _, _, err := writer.Create(ctx, path, []byte("v0"), client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
			t.Fatal(err)
		}
		if v := next(t, w); !v.Exists || string(v.Data) != "v0" || v.Stat.Version != 0 {
			t.Fatalf("value after create: %+v", v)
		}
		for i := 1; i <= 5; i++ {
			if _, err := writer.Set(ctx, path, fmt.Appendf(nil, "v%d", i), client.AnyVersion); err != nil {
				t.Fatal(err)
			}
			if v := next(t, w); string(v.Data) != fmt.Sprintf("v%d", i) || v.Stat.Version != int32(i) {
				t.Fatalf("value after set %d: %q version %d", i, v.Data, v.Stat.Version)
			}
		}
		if err := writer.Delete(ctx, path, client.AnyVersion); err != nil {
			t.Fatal(err)
		}
		if v := next(t, w); v.Exists {
			t.Fatalf("value after delete: %+v", v)
		}
		if _, _, err := writer.Create(ctx, path, []byte("again"), client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
			t.Fatal(err)
		}
		if v := next(t, w); !v.Exists || string(v.Data) != "again" {
			t.Fatalf("value after re-create: %+v", v)
		}

		// Fast changes may be coalesced, but arrive in order and end with
		// the last one.
		const burst = 30
		for i := range burst {
			if _, err := writer.Set(ctx, path, fmt.Appendf(nil, "b%d", i), client.AnyVersion); err != nil {
				t.Fatal(err)
			}
		}
		var last int32
		for last != burst {
			v := next(t, w)
			if v.Stat.Version <= last {
				t.Fatalf("version %d after %d", v.Stat.Version, last)
			}
			last = v.Stat.Version
		}
		if t.Failed() {
			return
		}
		w.Stop()
		if _, ok := recvOK(t, w.Values()); ok {
			t.Fatal("a value after Stop")
		}
		if err := w.Err(); err != nil {
			t.Fatalf("Err after Stop: %v", err)
		}
	})
}

func TestConfigWatchSurvivesAConnectionCut(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		path := e.path("config")
		ctx := testCtx(t)
		writer := e.connect(t)
		if _, _, err := writer.Create(ctx, path, []byte("before"), client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
			t.Fatal(err)
		}
		watcher := e.connect(t)
		w, err := recipe.WatchConfig(ctx, watcher.Client, path)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if v := next(t, w); string(v.Data) != "before" {
			t.Fatalf("first value %q", v.Data)
		}
		// A change made while the watcher is cut off arrives when it
		// reconnects.
		watcher.proxy.SetDown(true)
		watcher.proxy.Cut()
		if _, err := writer.Set(ctx, path, []byte("during"), client.AnyVersion); err != nil {
			t.Fatal(err)
		}
		watcher.proxy.SetDown(false)
		if v := next(t, w); string(v.Data) != "during" {
			t.Fatalf("value after the cut %q", v.Data)
		}
		watcher.cut(t)
		if _, err := writer.Set(ctx, path, []byte("after"), client.AnyVersion); err != nil {
			t.Fatal(err)
		}
		if v := next(t, w); string(v.Data) != "after" {
			t.Fatalf("value after reconnecting %q", v.Data)
		}
	})
}

func TestConfigWatchEndsWhenTheSessionExpires(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		path := e.path("config")
		ctx := testCtx(t)
		watcher := e.connect(t)
		w, err := recipe.WatchConfig(ctx, watcher.Client, path)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		next(t, w)
		e.expire(t, watcher)
		if v, ok := recvOK(t, w.Values()); ok {
			t.Fatalf("value after expiry: %+v", v)
		}
		if err := w.Err(); !errors.Is(err, client.ErrSessionExpired) {
			t.Fatalf("Err after expiry: %v", err)
		}
	})
}

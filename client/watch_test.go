package client_test

import (
	"errors"
	"testing"

	"github.com/zkd/zkd/client"
)

func TestOneShotWatchesFireOnceAndClose(t *testing.T) {
	addr := startServer(t, nil)
	c := connect(t, addr)
	writer := connect(t, addr)
	ctx := testCtx(t)
	mustCreate(t, writer, "/w", "0")

	tests := []struct {
		name   string
		arm    func() (<-chan client.Event, error)
		change func() error
		typ    client.EventType
		path   string
	}{
		{"a data watch sees the node's data change", func() (<-chan client.Event, error) {
			_, _, ch, err := c.GetW(ctx, "/w")
			return ch, err
		}, func() error {
			_, err := writer.Set(ctx, "/w", []byte("1"), client.AnyVersion)
			return err
		}, client.EventNodeDataChanged, "/w"},
		{"an exist watch on a missing node sees it created", func() (<-chan client.Event, error) {
			st, ch, err := c.ExistsW(ctx, "/w/new")
			if st != nil {
				t.Fatalf("missing node has stat %+v", st)
			}
			return ch, err
		}, func() error {
			_, _, err := writer.Create(ctx, "/w/new", nil, client.ModePersistent, open)
			return err
		}, client.EventNodeCreated, "/w/new"},
		{"a child watch sees a child created", func() (<-chan client.Event, error) {
			_, _, ch, err := c.ChildrenW(ctx, "/w")
			return ch, err
		}, func() error {
			_, _, err := writer.Create(ctx, "/w/other", nil, client.ModePersistent, open)
			return err
		}, client.EventNodeChildrenChanged, "/w"},
		{"an exist watch on an existing node sees it deleted", func() (<-chan client.Event, error) {
			_, ch, err := c.ExistsW(ctx, "/w/new")
			return ch, err
		}, func() error {
			return writer.Delete(ctx, "/w/new", client.AnyVersion)
		}, client.EventNodeDeleted, "/w/new"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := tc.arm()
			if err != nil || ch == nil {
				t.Fatalf("arm: %v (channel %v)", err, ch)
			}
			if err := tc.change(); err != nil {
				t.Fatal(err)
			}
			ev := nextEvent(t, ch)
			if ev.Type != tc.typ || ev.Path != tc.path || ev.State != client.StateConnected {
				t.Fatalf("event %+v, want %v on %s", ev, tc.typ, tc.path)
			}
			expectClosed(t, ch)
		})
	}
}

func TestAFailedReadLeavesNoWatch(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	if _, _, ch, err := c.GetW(ctx, "/missing"); !errors.Is(err, client.ErrNoNode) || ch != nil {
		t.Fatalf("GetW on a missing node: %v, %v", ch, err)
	}
	if err := c.CheckWatches(ctx, "/missing", client.WatcherData); !errors.Is(err, client.ErrNoWatcher) {
		t.Fatalf("checkWatches: %v, want NoWatcher", err)
	}
}

func TestEveryWatcherOfAPathGetsTheEvent(t *testing.T) {
	addr := startServer(t, nil)
	c := connect(t, addr)
	ctx := testCtx(t)
	mustCreate(t, c, "/n", "")
	_, _, a, err := c.GetW(ctx, "/n")
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := c.ExistsW(ctx, "/n")
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.AddWatch(ctx, "/n", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(ctx, "/n", []byte("x"), client.AnyVersion); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan client.Event{a, b, w.Events()} {
		expectEvent(t, ch, client.EventNodeDataChanged, "/n")
	}
}

func TestPersistentWatchSeesThePathAndItsChildrenList(t *testing.T) {
	addr := startServer(t, nil)
	c := connect(t, addr)
	writer := connect(t, addr)
	ctx := testCtx(t)
	w, err := c.AddWatch(ctx, "/pw", false)
	if err != nil {
		t.Fatal(err)
	}
	if w.Path() != "/pw" || w.Recursive() {
		t.Fatalf("watcher %q recursive=%v", w.Path(), w.Recursive())
	}
	if err := c.CheckWatches(ctx, "/pw", client.WatcherPersistent); err != nil {
		t.Fatalf("checkWatches: %v", err)
	}
	steps := []struct {
		do   func() error
		typ  client.EventType
		path string
	}{
		{func() error { mustCreate(t, writer, "/pw", ""); return nil }, client.EventNodeCreated, "/pw"},
		{func() error { _, err := writer.Set(ctx, "/pw", []byte("1"), 0); return err }, client.EventNodeDataChanged, "/pw"},
		{func() error { mustCreate(t, writer, "/pw/c", ""); return nil }, client.EventNodeChildrenChanged, "/pw"},
		// A grandchild-level change (data of /pw/c) is not the watch's
		// business; the next event is the one for /pw's own data.
		{func() error {
			if _, err := writer.Set(ctx, "/pw/c", []byte("x"), 0); err != nil {
				return err
			}
			_, err := writer.Set(ctx, "/pw", []byte("2"), 1)
			return err
		}, client.EventNodeDataChanged, "/pw"},
		{func() error { return writer.Delete(ctx, "/pw/c", client.AnyVersion) }, client.EventNodeChildrenChanged, "/pw"},
		{func() error { return writer.Delete(ctx, "/pw", client.AnyVersion) }, client.EventNodeDeleted, "/pw"},
		{func() error { mustCreate(t, writer, "/pw", ""); return nil }, client.EventNodeCreated, "/pw"},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatal(err)
		}
		expectEvent(t, w.Events(), s.typ, s.path)
	}
	if err := w.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, w.Events(), client.EventPersistentWatchRemoved, "/pw")
	expectClosed(t, w.Events())
	if err := c.CheckWatches(ctx, "/pw", client.WatcherPersistent); !errors.Is(err, client.ErrNoWatcher) {
		t.Fatalf("checkWatches after Remove: %v, want NoWatcher", err)
	}
	if err := w.Remove(ctx); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
}

func TestRecursiveWatchSeesEveryDescendantButNoChildrenEvents(t *testing.T) {
	addr := startServer(t, nil)
	c := connect(t, addr)
	writer := connect(t, addr)
	ctx := testCtx(t)
	w, err := c.AddWatch(ctx, "/rw", true)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, writer, "/rw", "")
	mustCreate(t, writer, "/rw/a", "")
	mustCreate(t, writer, "/rw/a/b", "")
	mustCreate(t, writer, "/rwx", "") // a sibling with a common prefix is not a descendant
	if _, err := writer.Set(ctx, "/rw/a/b", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if err := writer.Delete(ctx, "/rw/a/b", 1); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		typ  client.EventType
		path string
	}{
		{client.EventNodeCreated, "/rw"},
		{client.EventNodeCreated, "/rw/a"},
		{client.EventNodeCreated, "/rw/a/b"},
		{client.EventNodeDataChanged, "/rw/a/b"},
		{client.EventNodeDeleted, "/rw/a/b"},
	} {
		expectEvent(t, w.Events(), want.typ, want.path)
	}
}

func TestRemovingOneOfTwoWatchersKeepsTheOther(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	a, err := c.AddWatch(ctx, "/two", true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.AddWatch(ctx, "/two", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckWatches(ctx, "/two", client.WatcherPersistentRecursive); err != nil {
		t.Fatalf("the server lost the watch the other Watcher needs: %v", err)
	}
	mustCreate(t, c, "/two", "")
	expectEvent(t, b.Events(), client.EventNodeCreated, "/two")
	expectEvent(t, a.Events(), client.EventPersistentWatchRemoved, "/two")
	expectClosed(t, a.Events())
}

func TestRemoveWatchesEndsTheMatchingWatches(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	mustCreate(t, c, "/rm", "")
	_, _, data, err := c.GetW(ctx, "/rm")
	if err != nil {
		t.Fatal(err)
	}
	_, _, kids, err := c.ChildrenW(ctx, "/rm")
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.AddWatch(ctx, "/rm", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveWatches(ctx, "/rm", client.WatcherData); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, data, client.EventDataWatchRemoved, "/rm")
	expectClosed(t, data)
	if err := c.CheckWatches(ctx, "/rm", client.WatcherChildren); err != nil {
		t.Fatalf("the child watch went too: %v", err)
	}
	if err := c.RemoveWatches(ctx, "/rm", client.WatcherAny); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, kids, client.EventChildWatchRemoved, "/rm")
	expectEvent(t, w.Events(), client.EventPersistentWatchRemoved, "/rm")
	expectClosed(t, w.Events())
	if err := c.RemoveWatches(ctx, "/rm", client.WatcherAny); !errors.Is(err, client.ErrNoWatcher) {
		t.Fatalf("removing nothing: %v, want NoWatcher", err)
	}
}

func TestWatchesEndWithAFinalEventOnClose(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	mustCreate(t, c, "/f", "")
	_, _, one, err := c.GetW(ctx, "/f")
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.AddWatch(ctx, "/f", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan client.Event{one, w.Events()} {
		ev := nextEvent(t, ch)
		if ev.Type != client.EventNone || ev.State != client.StateClosed || !errors.Is(ev.Err, client.ErrClosed) || ev.Path != "/f" {
			t.Fatalf("final event %+v", ev)
		}
		expectClosed(t, ch)
	}
}

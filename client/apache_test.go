package client_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/testcluster"
)

// TestAgainstApacheZooKeeper runs the client's core operations against a
// real Apache ZooKeeper 3.8, so that zkd is not the only judge of the
// client.
func TestAgainstApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedApacheZooKeeper)
	zk := testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: []string{"-Dzookeeper.extendedTypesEnabled=true"}})
	ctx := t.Context()
	c, err := client.Connect(ctx, []string{zk.Addr}, client.WithSessionTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	open := client.WorldACL(client.PermAll)

	path, st, err := c.Create(ctx, "/app", []byte("v1"), client.ModePersistent, open)
	if err != nil || path != "/app" || st.Version != 0 || st.DataLength != 2 {
		t.Fatalf("create: %q %+v %v", path, st, err)
	}
	if _, _, err := c.Create(ctx, "/app", nil, client.ModePersistent, open); !errors.Is(err, client.ErrNodeExists) {
		t.Fatalf("create over an existing node: %v", err)
	}
	data, _, events, err := c.GetW(ctx, "/app")
	if err != nil || string(data) != "v1" {
		t.Fatalf("getW: %q %v", data, err)
	}
	if _, err := c.Set(ctx, "/app", []byte("v2"), 0); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.Type != client.EventNodeDataChanged || ev.Path != "/app" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no NodeDataChanged from Apache ZooKeeper")
	}
	seq, _, err := c.Create(ctx, "/app/s-", nil, client.ModeEphemeralSequential, open)
	if err != nil || seq != "/app/s-0000000000" {
		t.Fatalf("ephemeral sequential: %q %v", seq, err)
	}
	if _, err := c.Multi(ctx,
		client.CreateOp{Path: "/app/m", Data: []byte("x"), ACL: open},
		client.CheckOp{Path: "/app", Version: 7},
	); !errors.Is(err, client.ErrBadVersion) {
		t.Fatalf("failed multi: %v", err)
	}
	if _, err := c.Multi(ctx,
		client.CreateOp{Path: "/app/m", Data: []byte("x"), ACL: open},
		client.SetOp{Path: "/app", Data: []byte("v3"), Version: 1},
	); err != nil {
		t.Fatalf("multi: %v", err)
	}
	children, _, err := c.Children(ctx, "/app")
	slices.Sort(children)
	if err != nil || !slices.Equal(children, []string{"m", "s-0000000000"}) {
		t.Fatalf("children %v %v", children, err)
	}
	w, err := c.AddWatch(ctx, "/app", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "/app/m", -1); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.Events():
		if ev.Type != client.EventNodeDeleted || ev.Path != "/app/m" {
			t.Fatalf("recursive watch event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no NodeDeleted on the recursive watch")
	}
	if eph, err := c.GetEphemerals(ctx, "/app"); err != nil || !slices.Equal(eph, []string{"/app/s-0000000000"}) {
		t.Fatalf("ephemerals %v %v", eph, err)
	}
}

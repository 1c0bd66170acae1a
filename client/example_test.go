package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/server"
)

// exampleServer starts an in-memory zkd on a loopback port, so the example
// runs on its own; a real program passes its ensemble's addresses, e.g.
// []string{"zk1:2181", "zk2:2181", "zk3:2181"}.
func exampleServer() (addr string, stop func()) {
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	s, err := server.New(cfg, server.Options{InMemory: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	return s.Addr().String(), func() { s.Close() }
}

func Example() {
	addr, stop := exampleServer()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, []string{addr}, client.WithSessionTimeout(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)

	// Create a node and watch it.
	path, stat, err := c.Create(ctx, "/config", []byte("v1"), client.ModePersistent, client.WorldACL(client.PermAll))
	if err != nil {
		log.Fatal(err)
	}
	data, _, changed, err := c.GetW(ctx, path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s = %s (version %d)\n", path, data, stat.Version)

	// Update it only if nobody else has: the version acts as a compare-and-set.
	if _, err := c.Set(ctx, path, []byte("v2"), stat.Version); err != nil {
		log.Fatal(err)
	}
	ev := <-changed
	fmt.Println(ev.Type, ev.Path)

	// Several changes at once, all or nothing.
	_, err = c.Multi(ctx,
		client.CheckOp{Path: path, Version: 1},
		client.CreateOp{Path: path + "/lock-", Mode: client.ModeEphemeralSequential, ACL: client.WorldACL(client.PermAll)},
	)
	fmt.Println("multi:", err)
	_, err = c.Multi(ctx, client.DeleteOp{Path: path, Version: 0})
	fmt.Println("stale delete:", err)

	// Output:
	// /config = v1 (version 0)
	// NodeDataChanged /config
	// multi: <nil>
	// stale delete: zookeeper multi: op 0 (delete /config): BADVERSION (-103)
}

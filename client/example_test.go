package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"os"
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

// A persistent, recursive watch sees every change under a path until it is
// removed.
func ExampleClient_AddWatch() {
	addr, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, []string{addr})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)

	w, err := c.AddWatch(ctx, "/services", true)
	if err != nil {
		log.Fatal(err)
	}
	open := client.WorldACL(client.PermAll)
	c.Create(ctx, "/services", nil, client.ModePersistent, open)
	c.Create(ctx, "/services/web", []byte("10.0.0.1:80"), client.ModeEphemeral, open)
	c.Set(ctx, "/services/web", []byte("10.0.0.2:80"), client.AnyVersion)
	for range 3 {
		ev := <-w.Events()
		fmt.Println(ev.Type, ev.Path)
	}
	if err := w.Remove(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// NodeCreated /services
	// NodeCreated /services/web
	// NodeDataChanged /services/web
}

// A restarted process can take its session back, with its ephemeral nodes
// and watches' session, if it saved the session id and password and comes
// back within the session timeout. (Not run: it needs the first process to
// be gone without closing its session.)
func ExampleWithSession() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	servers := []string{"zk1:2181", "zk2:2181", "zk3:2181"}

	// First run: save the session.
	c, err := client.Connect(ctx, servers)
	if err != nil {
		log.Fatal(err)
	}
	saved := struct {
		ID       int64
		Password []byte
	}{c.SessionID(), c.SessionPassword()}

	// After a restart: reattach, or start over if the session expired.
	c, err = client.Connect(ctx, servers, client.WithSession(saved.ID, saved.Password))
	if errors.Is(err, client.ErrSessionExpired) {
		c, err = client.Connect(ctx, servers)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)
}

// A server's secure port takes TLS, here with a client certificate, and
// SASL authenticates the session: DIGEST-MD5 with a user of the server's
// JAAS Server section (client.GSSAPI gives Kerberos instead). Both run
// again on every reconnection. (Not run: it needs such a server.)
func ExampleWithSASL() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cert, err := tls.LoadX509KeyPair("client.pem", "client-key.pem")
	if err != nil {
		log.Fatal(err)
	}
	ca, err := os.ReadFile("ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	c, err := client.Connect(ctx, []string{"zk1:2281", "zk2:2281", "zk3:2281"},
		client.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots}),
		client.WithSASL(client.DigestMD5("bob", "secret")))
	if errors.Is(err, client.ErrAuthFailed) {
		log.Fatalf("the server refused bob's password: %v", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)
	ids, err := c.WhoAmI(ctx) // x509 (the certificate's subject), sasl bob, ip
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ids)
}

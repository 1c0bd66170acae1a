// Package recipe builds coordination recipes on top of package client: an
// exclusive lock, a shared/exclusive (read-write) lock, leader election,
// barriers, a queue, service registration and discovery, config watching and
// a shared counter. They follow the algorithms of the ZooKeeper recipes page
// and of Apache Curator, and work against zkd and Apache ZooKeeper alike.
//
// # Sessions and connections
//
// Every recipe works through a *client.Client given by the caller and
// leaves its nodes under a path the caller chooses. The recipes never read
// the Client's Events channel (it has one reader, the caller); they learn
// that a session ended from the final event every watch receives.
//
// A connection loss is not an error for a recipe: reads are repeated on the
// next connection, and a create whose answer was lost is found again by
// name, because the lock, election and queue recipes give every node they
// create a unique "protected" prefix (_c_<guid>-). The two exceptions are
// writes whose effect cannot be checked afterwards, a queue consumer's
// delete and a counter's update: when their answer is lost, Queue.Take,
// Queue.Poll and Counter.Add return an error wrapping
// client.ErrConnectionLoss rather than guess. A session expiry, on the
// other hand, ends every recipe that used the Client: a held lock or a
// leadership is lost (Mutex.Lost, Election.Lost), a watch ends with an error
// wrapping client.ErrSessionExpired, and a new Client is needed. Only
// Registration, which dials its own Clients, carries on across expiries.
//
// # Contexts
//
// Every call that may block takes a context.Context first, which bounds that
// call only. Long-lived objects (a held lock, a Discovery cache, a
// ConfigWatch, a Registration) run one goroutine each, which their Close,
// Stop or Unlock method stops and waits for.
//
// # Nodes
//
// Missing parents of a recipe's path are created as persistent nodes with
// the recipe's ACL (WithACL; the open list by default). Participants of a
// lock or an election must be able to read each other's nodes, since each
// watches its predecessor's.
package recipe

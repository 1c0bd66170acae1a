// Package prep turns a client's write request into the transaction that
// will be logged and applied: it validates paths, ACLs, versions and modes
// in ZooKeeper's order (client-protocol.md §4.3), names sequential nodes,
// decides multi requests as a whole (§7), and, with
// zookeeper.enforceQuota, refuses creates and setData beyond hard quotas
// (§9.4). A request that fails becomes an error transaction, which still
// consumes a zxid, as in ZooKeeper.
//
// Prep never mutates the tree. It judges each request against the tree plus
// the changes of transactions that are prepared but not yet applied (the
// Overlay), so the server can prepare new requests while earlier ones are
// still being made durable. Once a transaction has been applied to the
// tree, the server calls Overlay.Applied to retire its pending changes.
package prep

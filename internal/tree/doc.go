// Package tree is the znode tree: nodes with their data, ACLs and Stat, the
// parent/child structure, and the indexes of ephemeral, container and TTL
// nodes.
//
// The tree changes only through Apply, which takes a committed transaction
// (jute.Txn) and returns its result and the watch triggers it fired, in the
// order ZooKeeper fires them. Apply is deterministic: the same transactions
// in the same order leave the same tree. It follows ZooKeeper's replay rules
// (storage-and-quorum.md §2.7), so it also serves log replay and followers.
//
// The tree is not safe for concurrent use; its owner (the server's apply
// loop) serialises access. The one exception is a View (Freeze): a frozen,
// copy-on-write copy that any goroutine may read while the owner goes on,
// and that the owner releases once the reader is done. It knows nothing of sessions or connections: an
// ephemeral node's owner is just an int64.
//
// Stat rules that copy ZooKeeper quirks on purpose (client-protocol.md §5):
// the stored child counter C counts child creations only, and clients see
// cversion = 2·C − numChildren; containers and TTL nodes keep a marker in
// the stored ephemeralOwner but show 0 to clients.
package tree

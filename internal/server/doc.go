// Package server assembles a zkd server and runs its request pipeline:
//
//	clientport ──Request──▶ core: prep (writes) ──Txn──▶ Committer ──▶ core: apply ──▶ replies, events
//
// One goroutine, the core, owns every piece of mutable ZooKeeper state: the
// data tree, the prep overlay, the watch registry, the session table and
// the per-connection request queues. Connection readers, the committer and
// timers talk to it only through its inbox queue, so nothing in the state
// needs a lock.
//
// Ordering (client-protocol.md §3.5, §6.8): a connection's requests are
// answered strictly in arrival order. A write is prepared the moment it
// arrives (against the tree plus the changes still in flight) and handed
// to the Committer; later requests of the same connection wait in its
// queue until that write is applied, so a read never overtakes the
// session's own write. Applying a transaction queues its watch events on
// every affected connection before any reply that follows it, so a client
// always sees the event before data that reflects the change.
//
// Goroutines and owners:
//
//	goroutine         started by        owns
//	core              Server.Start      tree, overlay, watches, sessions, conn queues,
//	                                    the encoding of a background snapshot
//	log writer        LogCommitter      the open log segment (group commit)
//	snapshot writer   the core          one snapshot file being written
//	accept loop       Server.Start      the listening socket
//	conn reader       clientport        one socket's reads
//	conn writer       clientport        one socket's writes
//	AdminServer       Server.Start      the HTTP listener (reads state via queries to the core)
//	metrics endpoint  Server.Start      the Prometheus HTTP listener (likewise)
//	autopurge         Server.Start      nothing: deletes old files on a timer
//
// Metrics (mntr, the AdminServer's monitor, Prometheus /metrics; spec
// client-protocol.md Appendix A) are measured where the work happens,
// without new locks on the request path: the core keeps its counters and
// summaries in plain fields (request latencies, prep, apply, watches,
// sessions, connections, startup), the log writer keeps the sync
// processor's under a mutex it takes once per batch, and connection
// goroutines add the bytes of four-letter words to one atomic. A summary
// is an admin.Recorder, whose quantiles cover the last ten minutes.
// metrics.go lists what is measured and which of ZooKeeper's metrics stay
// 0 because a standalone zkd has no such stage. srst resets them all, as
// in ZooKeeper 3.8.
//
// Notifications carry the zxid of the transaction that fired them, as
// ZooKeeper 3.9 does (3.8 sent -1; clients ignore the field), and -1 for
// setWatches catch-up events.
//
// Server.Close stops all of them and waits.
package server

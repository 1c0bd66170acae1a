// Package sim is a deterministic simulation of a zkd ensemble: N servers,
// each running the real internal/fle election and internal/zab leader or
// learner, a storage.Log and snapshots on a crashable storage.MemFS, epoch
// files, and an internal/tree applied from the committed transactions. One
// seeded *rand.Rand (math/rand/v2 PCG) decides everything: message delays,
// drops, duplicates and reordering, partitions, connection breaks, crashes
// (storage.MemFS.CrashClone) and restarts, log-writer latency and the
// client workload. Time is simulated milliseconds; nothing runs
// concurrently and no real clock, socket or goroutine is involved, so one
// seed replays one run exactly.
//
// # The model
//
// Each server plays internal/peer's role of driver, as peer.go does it:
// LOOKING runs an fle.Election; its decision starts a zab.Leader (with the
// committed tail of its own log as DIFF history) or connects a zab.Learner
// to the elected leader; a role ends on any error, on a lost link or on
// the leader's Disconnect, and ending it flushes the log, fast-forwards the
// tree over the role's uncommitted proposals that reached the log, and
// starts a new election. Ready batches are executed in zab's documented
// order (epochs, truncate/snapshot, deliveries, messages, appends).
//
// Election messages are datagrams between any two servers: delayed,
// dropped, duplicated and reordered at random. Quorum links are
// connections: FIFO while up; a partition, a crash or a random drop
// breaks one, losing what is in flight and telling both ends after a
// delay. The log writer is asynchronous: appends become durable (and are
// reported with Persisted) a few milliseconds later, in group-commit
// batches, and a crash loses what was not synced. Log rolls take a
// snapshot of the applied tree. A restart restores from the crashed disk
// exactly as the server does: newest valid snapshot, log replay, epoch
// files through storage.LoadEpochs.
//
// Clients propose creates and setData on any serving leader; a write is
// acknowledged when the leader delivers it (commits it).
//
// # Invariants
//
// After every step the simulation checks that no two leaders became
// established (Serving) in the same epoch; that the sequence of
// transactions applied by every serving server, leader or learner, is a
// prefix of one committed history (which grows by what serving leaders
// apply, and is therefore checked on every server in turn); that a leader
// starts serving only with every committed transaction (so no
// acknowledged write is ever lost); and that state restored after a crash
// is the state the snapshot and log describe. At the end the faults stop,
// partitions heal and every server restarts; once the ensemble is quiet
// every server must serve the same epoch with the same tree
// (tree.Digest), equal to the committed history applied to a fresh tree.
//
// Not simulated: observers, forwarded requests, sessions and their
// expiry, sync, purge, disk errors (only crashes), fuzzy snapshots (a
// snapshot is taken in one step), clock drift beyond the tick phase, and
// the CnxManager's one-connection-per-pair rules for election traffic.
package sim

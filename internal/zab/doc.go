// Package zab is ZooKeeper's atomic broadcast protocol (storage-and-quorum.md
// §5) as pure state machines: a [Leader] and a [Learner] (follower or
// observer) that take quorum packets and ticks and hand back a [Ready] batch
// of packets to send, epochs to persist, transactions to log and
// transactions committed. They do no I/O, read no clock and start no
// goroutine; internal/peer drives them, and the simulator drives the same
// code with a seeded network.
//
// # The Ready contract
//
// After every call that changes state the driver takes [Leader.Ready] or
// [Learner.Ready] and executes it in this order:
//
//  1. Persist AcceptedEpoch and CurrentEpoch when set (atomically, synced).
//  2. Truncate the log / load the snapshot / take a snapshot when asked
//     (learner sync, §5.4), and apply Deliveries in order; a snapshot taken
//     must include every Delivery before it.
//  3. Send Messages, each link's messages in order.
//  4. Hand Append to the log writer. Appends are asynchronous: the driver
//     reports each durable prefix with Persisted, and only then does the
//     core acknowledge those transactions (a follower ACKs zxid z only after
//     z is durable, and the leader counts its own ACK the same way).
//
// Time is counted in ticks: the driver calls Tick every half tickTime (the
// leader pings learners every half tick and checks its quorum every full
// tick, §5.5, §5.10).
//
// Not implemented: dynamic reconfiguration (COMMITANDACTIVATE,
// INFORMANDACTIVATE), observer masters, and reading the on-disk log for a
// DIFF older than the in-memory committed log (the leader sends SNAP
// instead).
package zab

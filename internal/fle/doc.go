// Package fle is ZooKeeper's Fast Leader Election (electionAlg=3) as a pure
// state machine: election notifications and clock readings go in, and
// notifications to send and a decision come out (spec storage-and-quorum.md
// §4.4-§4.6).
//
// # Driving an Election
//
// The package does no I/O, starts no goroutines and never reads a clock. A
// driver (internal/peer, or a test's simulated network) owns the
// election-port connections and the clock, and calls:
//
//   - Start when the server enters LOOKING: at startup, and again whenever
//     ZAB gives up (§4.6). Each call begins a new round (logical clock + 1).
//   - Step for every notification received from another server, in any
//     state. Besides the election itself, Step produces the replies that
//     ZooKeeper's receive thread sends (§4.5): to a sender that is not a
//     voter, to a LOOKING sender while this server is FOLLOWING, LEADING or
//     OBSERVING, and to a LOOKING sender still in an older round.
//   - Tick regularly (every few tens of milliseconds is plenty) with the
//     current time in milliseconds. Time only has to be monotonic; its
//     origin is the driver's choice.
//   - Ready after each of those calls, to collect the notifications to send,
//     whether to reconnect, and the decision once one is made.
//   - SetPeerEpoch once ZAB has established a new epoch, so that the vote
//     this server replies with carries it (§4.5).
//
// # Self-delivery
//
// ZooKeeper sends each notification to every voter, itself included, and a
// server counts its own vote. The Election does that internally: a
// notification addressed to itself is queued and processed, like one from a
// peer, before the call that produced it returns. Ready never holds a
// Message addressed to the server's own id, and the driver must not feed a
// server its own notifications.
//
// # Timers
//
// While LOOKING, the Election waits for notifications with a timeout that
// starts at MinNotificationIntervalMS (ZooKeeper's 200 ms) and doubles up to
// MaxNotificationIntervalMS (60 s); each notification processed restarts
// the wait. When the wait runs out, Tick re-broadcasts the current proposal
// and sets Ready.Reconnect. Once the votes for its own proposal form a
// quorum, the server waits FinalizeWaitMS (200 ms) before deciding; a better
// vote arriving in that window sends it back to the election, while any
// other notification is discarded and restarts the window, as in ZooKeeper.
// The decision itself is made by Tick.
//
// # Scope
//
// Quorums are majorities of Config.Voters (QuorumMaj). Hierarchical and
// oracle quorums are not supported, and neither is dynamic reconfiguration:
// the config text a notification carries is sent but never interpreted,
// which is what ZooKeeper does with reconfigEnabled=false as long as every
// server holds the same version-0 config (§4.3).
package fle

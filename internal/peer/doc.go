// Package peer is the quorum peer driver: it owns the sockets, disks and
// clocks of a server in an ensemble. It keeps the election links (one TCP
// connection per pair of servers, chosen by ZooKeeper's tie-break rule) and
// the quorum links, turns time into ticks, and runs the
// LOOKING→LEADING/FOLLOWING/OBSERVING loop that feeds the pure election
// (internal/fle) and atomic broadcast (internal/zab) cores and executes what
// they ask for.
package peer

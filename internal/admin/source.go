package admin

import (
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// Detail selects the costly parts of a Snapshot a command needs.
type Detail uint8

// Parts of a Snapshot beyond the always-present counters.
const (
	WithConnections   Detail = 1 << iota // Snapshot.Connections
	WithSessions                         // Snapshot.Sessions (with ephemerals)
	WithWatchesByConn                    // Snapshot.WatchesByConnection
	WithWatchesByPath                    // Snapshot.WatchesByPath
)

// Latency is a latency summary in milliseconds.
type Latency struct {
	Min, Max int64
	Avg      float64
	Count    int64
}

// Summary is one of mntr's summary families: avg/min/max/cnt/sum over
// every observation since the server started (or srst), and quantiles
// over the recent ones. A Recorder makes them.
type Summary struct {
	Min, Max, Sum, Count int64
	// Recent samples the observations of the last QuantileWindow; mntr's
	// p50..p999 and the Prometheus quantiles are read from it. With no
	// recent observation it is empty, and the quantiles are 0 in mntr and
	// NaN in Prometheus, as ZooKeeper reports them.
	Recent Sample
}

// ConnInfo describes one client connection (cons, stat).
type ConnInfo struct {
	// Secure is set for a connection to the secure client port, which the
	// AdminServer lists under secure_connections.
	Secure       bool
	Remote       string // "127.0.0.1:37184" (without the leading slash)
	InterestOps  int    // 1 while reading, 0 otherwise
	Queued       int64  // outstanding requests
	Received     int64  // packets received
	Sent         int64  // packets sent
	HasSession   bool
	SessionID    jute.SessionID
	LastOp       string // NA, CREA, GETD, ... (cons)
	Established  time.Time
	Timeout      int32
	LastCxid     int32
	LastZxid     jute.Zxid
	LastResponse int64 // ms, monotonic
	LastLatency  int64
	MinLatency   int64
	AvgLatency   int64
	MaxLatency   int64
}

// SessionInfo describes one session (dump).
type SessionInfo struct {
	ID         jute.SessionID
	Timeout    int32
	Deadline   time.Time
	Ephemerals []string
}

// Snapshot is a consistent view of the server's state, taken at one
// moment by the goroutine that owns that state.
type Snapshot struct {
	Version  string // e.g. "3.8.0-zkd-0.1.0, built on ..."
	Mode     string // standalone | leader | follower | observer | read-only
	Serving  bool
	ReadOnly bool
	Zxid     jute.Zxid

	// NodeCount is ZooKeeper's node-map size: znodes + 1 (spec §9.3).
	NodeCount       int
	ApproxDataSize  int64
	EphemeralsCount int
	// DataWatchConnections, DataWatchPaths and DataWatches are wchs's
	// numbers; TotalWatches is zk_watch_count.
	DataWatchConnections int
	DataWatchPaths       int
	DataWatches          int
	TotalWatches         int

	PacketsReceived int64
	PacketsSent     int64
	Outstanding     int64
	// ConnectionDropProbability is the connection throttle's random
	// drop probability (zk_connection_drop_probability).
	ConnectionDropProbability float64
	Latency                   Latency
	AliveConnections          int
	GlobalSessions            int
	AuthFailed                int64
	// TLS are the client ports' TLS counters: outstanding_tls_handshake,
	// non_mtls_local_conn_count and non_mtls_remote_conn_count
	// (unsuccessful_handshake and tls_handshake_exceeded are Counters).
	TLS TLSStats
	// Client response sizes; -1 before any response.
	LastResponseSize, MinResponseSize, MaxResponseSize int64
	Uptime                                             time.Duration
	OpenFDs, MaxFDs                                    int64
	DataDirSize, LogDirSize                            int64

	// Counters holds the counters the server tracks, by mntr name (e.g.
	// "connection_request_count"); the others print as zeros.
	Counters map[string]int64
	// Summaries holds the summary families the server tracks, by mntr
	// name (e.g. "fsynctime"); the others print as zeros.
	Summaries map[string]Summary

	// CounterSets and GaugeSets hold ZooKeeper's labelled families, by
	// family name and then label value, e.g.
	// CounterSets["quota_exceeded_error_per_namespace"]["app"]. Like
	// ZooKeeper's default metrics provider, mntr does not print them; the
	// Prometheus collector serves those in LabelledCounters and
	// LabelledGauges.
	CounterSets map[string]map[string]int64
	GaugeSets   map[string]map[string]float64

	// Quorum is set on an ensemble member: what ZooKeeper adds to srvr and
	// mntr for its role.
	Quorum *QuorumStatus

	Connections         []ConnInfo
	Sessions            []SessionInfo
	WatchesByConnection map[jute.SessionID][]string
	WatchesByPath       map[string][]jute.SessionID
}

// QuorumStatus is an ensemble member's part of a Snapshot.
type QuorumStatus struct {
	// PeerState is mntr's zk_peer_state: "leading - broadcast",
	// "following - broadcast", "observing - broadcast", "looking", ...
	PeerState string
	// QuorumSize is the number of voting members.
	QuorumSize int
	// Leader only: the learners connected, those synchronized and heard
	// from within syncLimit (voting followers, non-voting followers and
	// observers), syncs waiting for their proposals, how long this server
	// has led, and the sizes of its proposals (last, min, max; -1 before
	// the first).
	Learners                 int
	SyncedFollowers          int
	SyncedNonVotingFollowers int
	SyncedObservers          int
	PendingSyncs             int
	LeaderUptime             time.Duration
	LastProposalSize         int64
	MinProposalSize          int64
	MaxProposalSize          int64
}

// Source is what the admin commands read and reset. The server implements
// it.
type Source interface {
	Snapshot(d Detail) Snapshot
	ResetServerStats()
	ResetConnectionStats()
	Config() *config.Config
}

// TLSStats are the TLS gauges mntr shows.
type TLSStats struct {
	OutstandingHandshakes       int64
	NonMTLSLocal, NonMTLSRemote int64
}

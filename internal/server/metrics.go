package server

import (
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/admin"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/prep"
)

// This file holds the ZooKeeper metrics a standalone server measures for
// mntr, the AdminServer's monitor and Prometheus (spec client-protocol.md
// Appendix A). Times are in milliseconds, as in ZooKeeper.
//
// Measured by the core (coreMetrics): readlatency and updatelatency (a
// request's arrival to its reply, without and with a transaction; auth and
// SASL packets, which ZooKeeper handles beside its pipeline, are in
// neither), propagation_latency, prep_processor_queue_time_ms,
// prep_process_time and close_session_prep_time (per prepared
// transaction; zkd prepares only writes), node_{created,deleted,changed,
// children}_watch_count, dbinittime, startup_snap_load_time,
// startup_txns_load_time and startup_txns_loaded; the counters
// connection_request_count, connection_revalidate_count,
// bytes_received_count (with the bytes of four-letter words, which
// connection goroutines add), connection_drop_count,
// stale_sessions_expired, prep_processor_request_queued,
// outstanding_changes_queued/removed and digest_mismatches_count. By the
// snapshot writer: snapshottime. By the LogCommitter (logStats):
// fsynctime, sync_processor_batch_size, sync_processor_queue_time_ms,
// sync_processor_queue_flush_time_ms,
// sync_processor_queue_and_flush_time_ms, sync_processor_request_queued
// and unrecoverable_error_count. ZooKeeper's standalone pipeline passes
// reads through its sync processor too; zkd's log writer sees only
// transactions, so those count transactions.
//
// Counters and summaries of Appendix A that stay 0, because a standalone
// zkd has no stage they could count:
//
//   - ensemble only: looking_count, diff_count, snap_count (learner syncs
//     served with a snapshot, not snapshots taken: see cnt_snapshottime),
//     commit_count and proposal_count (leader commits and proposals; a
//     standalone ZooKeeper prints 0 for both too), revalidate_count,
//     learner_*, quit_leading_due_to_disloyal_voter, ensemble_auth_*,
//     skip_learner_request_to_next_processor_count,
//     requests_not_forwarded_to_commit_processor, election_time,
//     follower_sync_time, observer_sync_time, inflight_snap_count,
//     inflight_diff_count, unavailable_time, leader_unavailable_time,
//     propagation and ack families of the leader (proposal_latency,
//     proposal_ack_creation_latency, commit_propagation_latency,
//     quorum_ack_latency, om_*), learner_request_processor_queue_size.
//   - ZooKeeper's commit processor, which a standalone ZooKeeper does not
//     run either: request_commit_queued, the *_commit_proc_* and
//     *_commitproc_time_ms families, local_write_committed_time_ms,
//     server_write_committed_time_ms, requests_in_session_queue,
//     pending_session_queue_size, reads_*_session_queue,
//     session_queues_drained, write_batch_time_in_commit_processor,
//     concurrent_request_processing_in_commit_processor,
//     time_waiting_empty_pool_in_commit_processor_read_ms,
//     commit_process_time.
//   - throttled_ops (zkd never answers THROTTLEDOP: a held request waits
//     instead) and stale_replies (stale requests are dropped before they
//     run, so no reply is computed for a closed connection). The other
//     throttling metrics are measured (schedule.go, throttle.go).
//   - other machinery zkd lacks: the response cache
//     (response_packet_*cache*), the dead-watcher cleaner (dead_watchers_*,
//     add_dead_watcher_stall_time, dead_watchers_cleaner_latency), the
//     AdminServer's TLS (insecure_admin_count; the client ports' TLS
//     counters are measured: tls.go), Netty (netty_queued_buffer_capacity), the JVM
//     (jvm_pause_time_ms), cnxn_closed_without_zk_server_running.
//   - measured inside internal/clientport, which does not report them:
//     response_bytes, watch_bytes, sessionless_connections_expired,
//     socket_closing_time (and the client response size gauges).
//   - stages zkd does not have in ZooKeeper's shape: proposal_process_time
//     (no proposal processor), prep_processor_queue_size and
//     sync_processor_queue_size (the core and the log writer take their
//     whole queue at once), sync_process_time, read_final_proc_time_ms and
//     write_final_proc_time_ms (left unmeasured to keep two clock reads off
//     every request).

// coreMetrics are the metrics the core goroutine measures; only the core
// goroutine touches them (New fills the startup ones before it starts).
type coreMetrics struct {
	// readLatency and updateLatency: ms from a request's arrival to its
	// reply, for requests without and with a transaction.
	readLatency, updateLatency admin.Recorder
	// propagationLatency: ms from a transaction's time (set when it is
	// prepared) to its application.
	propagationLatency admin.Recorder
	// prepQueueTime: ms a request waited in the core's inbox before the
	// core took it up. prepProcessTime: ms to prepare a transaction;
	// closeSessionPrepTime the same for closeSession alone.
	prepQueueTime, prepProcessTime, closeSessionPrepTime admin.Recorder
	// watches*: watchers triggered per event that reached any.
	watchesCreated, watchesDeleted, watchesChanged, watchesChildren admin.Recorder
	// Startup: ms to load the database, to load its snapshot and to
	// replay the log after it, and the transactions replayed.
	dbInit, snapLoadTime, txnsLoadTime, txnsLoaded admin.Recorder
	// electionTime: ms from entering LOOKING to serving in the new role
	// (ZooKeeper's election_time); commits: transactions an ensemble
	// member applied (commit_count).
	electionTime admin.Recorder
	commits      int64

	// throttleQueueTime: ms requests waited for the request throttler;
	// tokenDeficit: the connection bucket's deficit at each handshake.
	throttleQueueTime, tokenDeficit admin.Recorder

	staleRequests         int64 // requests whose connection closed before they started
	staleRequestsDropped  int64 // those of them dropped
	throttleWaits         int64 // requests the request throttler held back
	connectionRejected    int64 // handshakes refused by the connection throttle
	connectionRequests    int64 // ConnectRequests received
	connectionRevalidates int64 // ConnectRequests resuming a session
	bytesReceived         int64 // request and handshake bytes (with length prefixes)
	connectionDrops       int64 // connections closed by the client or a failed read
	staleSessionsExpired  int64 // sessions expired by the session clock
	requestsQueued        int64 // requests entering the pipeline
	changesQueued         int64 // pending node changes made by prepared transactions
	changesRemoved        int64 // pending node changes retired by apply or failure
	digestMismatches      int64 // snapshot digests that did not match at load
}

// reset forgets everything (srst), as ZooKeeper 3.8's srst resets every
// metric.
func (m *coreMetrics) reset() { *m = coreMetrics{} }

// watchRecorder returns the summary of watchers triggered by an event of
// type t.
func (m *coreMetrics) watchRecorder(t jute.EventType) *admin.Recorder {
	switch t {
	case jute.EventNodeCreated:
		return &m.watchesCreated
	case jute.EventNodeDeleted:
		return &m.watchesDeleted
	case jute.EventNodeDataChanged:
		return &m.watchesChanged
	case jute.EventNodeChildrenChanged:
		return &m.watchesChildren
	}
	return nil
}

// fill puts the core's metrics into snap.
func (m *coreMetrics) fill(snap *admin.Snapshot, now time.Time) {
	for name, r := range map[string]*admin.Recorder{
		"readlatency":                    &m.readLatency,
		"updatelatency":                  &m.updateLatency,
		"propagation_latency":            &m.propagationLatency,
		"prep_processor_queue_time_ms":   &m.prepQueueTime,
		"prep_process_time":              &m.prepProcessTime,
		"close_session_prep_time":        &m.closeSessionPrepTime,
		"node_created_watch_count":       &m.watchesCreated,
		"node_deleted_watch_count":       &m.watchesDeleted,
		"node_changed_watch_count":       &m.watchesChanged,
		"node_children_watch_count":      &m.watchesChildren,
		"dbinittime":                     &m.dbInit,
		"startup_snap_load_time":         &m.snapLoadTime,
		"startup_txns_load_time":         &m.txnsLoadTime,
		"startup_txns_loaded":            &m.txnsLoaded,
		"election_time":                  &m.electionTime,
		"request_throttle_queue_time_ms": &m.throttleQueueTime,
		"connection_token_deficit":       &m.tokenDeficit,
	} {
		snap.Summaries[name] = r.Summary(now)
	}
	for name, v := range map[string]int64{
		"connection_request_count":      m.connectionRequests,
		"connection_revalidate_count":   m.connectionRevalidates,
		"bytes_received_count":          m.bytesReceived,
		"connection_drop_count":         m.connectionDrops,
		"stale_sessions_expired":        m.staleSessionsExpired,
		"prep_processor_request_queued": m.requestsQueued,
		"outstanding_changes_queued":    m.changesQueued,
		"outstanding_changes_removed":   m.changesRemoved,
		"digest_mismatches_count":       m.digestMismatches,
		"commit_count":                  m.commits,
		"stale_requests":                m.staleRequests,
		"stale_requests_dropped":        m.staleRequestsDropped,
		"request_throttle_wait_count":   m.throttleWaits,
		"connection_rejected":           m.connectionRejected,
	} {
		snap.Counters[name] = v
	}
}

// changeRecords returns how many pending node changes a transaction
// record makes while it is in flight: ZooKeeper's outstanding change
// records, which prep's overlay mirrors (a created or deleted node and its
// parent, a node whose data or ACL is set, each sub-transaction of a
// multi; nothing for a failed one).
func changeRecords(rec jute.Record) int64 {
	switch r := rec.(type) {
	case *jute.CreateTxn, *jute.CreateContainerTxn, *jute.CreateTTLTxn, *jute.DeleteTxn:
		return 2
	case *jute.SetDataTxn, *jute.SetACLTxn:
		return 1
	case *jute.CloseSessionTxn:
		return 2 * int64(len(r.Paths))
	case *jute.MultiTxn:
		n := int64(0)
		for _, op := range r.Ops {
			n += changeRecords(op.Record)
		}
		return n
	}
	return 0
}

// connectFrameSize is the bytes a ConnectRequest took on the wire, with
// its length prefix.
func connectFrameSize(req *jute.ConnectRequest) int64 {
	n := int64(4 + 4 + 8 + 4 + 8 + 4 + len(req.Passwd))
	if req.HasReadOnly {
		n++
	}
	return n
}

// summaryStat is a summary that goroutines other than the core add to
// (the snapshot writer); the core reads it for mntr.
type summaryStat struct {
	mu sync.Mutex // guards r
	r  admin.Recorder
}

func (st *summaryStat) add(v int64) {
	now := time.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.r.Observe(v, now)
}

func (st *summaryStat) get(now time.Time) admin.Summary {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.r.Summary(now)
}

func (st *summaryStat) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.r.Reset()
}

// fillQuotaMetrics puts ZooKeeper's quota families into snap: the
// QUOTAEXCEEDED failures per namespace and the quota limit and usage
// gauges (served by the Prometheus collector only, as in ZooKeeper 3.8,
// whose mntr prints none of them).
func (s *Server) fillQuotaMetrics(snap *admin.Snapshot) {
	snap.CounterSets = map[string]map[string]int64{
		"quota_exceeded_error_per_namespace": maps.Clone(map[string]int64(s.prep.QuotaExceeded)),
	}
	snap.GaugeSets = prep.QuotaGauges(s.tree)
}

// logQuotaWarning logs what a quota check reports (prep.Settings.Warn):
// "Quota exceeded: /app [current count=11, softCountLimit=10]", as
// ZooKeeper words it.
func logQuotaWarning(msg, path string) { slog.Warn(msg, "path", path) }

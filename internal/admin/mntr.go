package admin

import (
	"slices"
	"strconv"
	"strings"
)

// metric is one mntr value: its key without the "zk_" prefix and an int64,
// float64 or string value. The AdminServer's monitor command serves the
// same list as typed JSON.
type metric struct {
	key   string
	value any
}

// mntrCounters are the counters every 3.8 server prints (spec Appendix
// A.5), one line each.
var mntrCounters = []string{
	"looking_count", "diff_count", "snap_count", "commit_count",
	"connection_request_count", "connection_rejected", "bytes_received_count",
	"unrecoverable_error_count", "add_dead_watcher_stall_time",
	"dead_watchers_queued", "dead_watchers_cleared",
	"response_packet_cache_hits", "response_packet_cache_misses",
	"response_packet_get_children_cache_hits", "response_packet_get_children_cache_misses",
	"ensemble_auth_success", "ensemble_auth_fail", "ensemble_auth_skip",
	"prep_processor_request_queued", "outstanding_changes_queued",
	"outstanding_changes_removed", "revalidate_count", "connection_drop_count",
	"connection_revalidate_count", "sessionless_connections_expired",
	"stale_sessions_expired", "request_commit_queued", "throttled_ops",
	"learner_proposal_received_count", "learner_commit_received_count",
	"sync_processor_request_queued", "proposal_count",
	"quit_leading_due_to_disloyal_voter", "stale_requests",
	"stale_requests_dropped", "stale_replies", "request_throttle_wait_count",
	"large_requests_rejected", "digest_mismatches_count",
	"unsuccessful_handshake", "insecure_admin_count", "tls_handshake_exceeded",
	"cnxn_closed_without_zk_server_running",
	"skip_learner_request_to_next_processor_count",
	"requests_not_forwarded_to_commit_processor", "response_bytes", "watch_bytes",
}

// mntrBasicSummaries are the summaries that print avg, min, max, cnt and
// sum lines (spec Appendix A.6).
var mntrBasicSummaries = []string{
	"fsynctime", "snapshottime", "dbinittime", "follower_sync_time",
	"observer_sync_time", "election_time", "connection_token_deficit",
	"inflight_snap_count", "inflight_diff_count", "node_created_watch_count",
	"node_deleted_watch_count", "node_changed_watch_count",
	"node_children_watch_count", "prep_processor_queue_size",
	"prep_process_time", "proposal_process_time", "unavailable_time",
	"leader_unavailable_time", "requests_in_session_queue",
	"pending_session_queue_size", "reads_after_write_in_session_queue",
	"reads_issued_from_session_queue", "session_queues_drained",
	"time_waiting_empty_pool_in_commit_processor_read_ms",
	"write_batch_time_in_commit_processor",
	"concurrent_request_processing_in_commit_processor",
	"read_commit_proc_req_queued", "write_commit_proc_req_queued",
	"commit_commit_proc_req_queued", "read_commit_proc_issued",
	"write_commit_proc_issued", "commit_process_time", "startup_txns_loaded",
	"startup_txns_load_time", "startup_snap_load_time",
	"sync_processor_queue_size", "sync_process_time",
	"sync_processor_batch_size", "netty_queued_buffer_capacity",
	"learner_request_processor_queue_size", "socket_closing_time",
}

// mntrAdvancedSummaries are the summaries that also print p50, p95, p99
// and p999 lines (spec Appendix A.7).
var mntrAdvancedSummaries = []string{
	"readlatency", "updatelatency", "propagation_latency",
	"dead_watchers_cleaner_latency", "prep_processor_queue_time_ms",
	"close_session_prep_time", "read_commitproc_time_ms",
	"write_commitproc_time_ms", "local_write_committed_time_ms",
	"server_write_committed_time_ms", "om_proposal_process_time_ms",
	"om_commit_process_time_ms", "read_final_proc_time_ms",
	"write_final_proc_time_ms", "proposal_latency",
	"proposal_ack_creation_latency", "commit_propagation_latency",
	"sync_processor_queue_and_flush_time_ms", "sync_processor_queue_time_ms",
	"sync_processor_queue_flush_time_ms", "quorum_ack_latency",
	"request_throttle_queue_time_ms", "jvm_pause_time_ms",
}

// monitorMetrics returns mntr's values in the order mntr prints them: the
// version and server state, the gauges, then every counter and summary
// family. ZooKeeper prints the groups after the first two lines in hash
// order; monitoring tools read by key.
//
// Counters and summaries the Snapshot lacks print as zeros, which is what
// a fresh ZooKeeper prints for most of them.
func monitorMetrics(s *Snapshot) []metric {
	m := []metric{
		{"version", s.Version},
		{"server_state", s.Mode},

		{"ephemerals_count", int64(s.EphemeralsCount)},
		{"num_alive_connections", int64(s.AliveConnections)},
		{"avg_latency", round4(s.Latency.Avg)},
		{"min_latency", s.Latency.Min},
		{"max_latency", s.Latency.Max},
		{"outstanding_requests", s.Outstanding},
		{"znode_count", int64(s.NodeCount)},
		{"global_sessions", int64(s.GlobalSessions)},
		{"local_sessions", int64(0)}, // zkd has no local sessions
		{"packets_received", s.PacketsReceived},
		{"packets_sent", s.PacketsSent},
		{"last_client_response_size", s.LastResponseSize},
		{"min_client_response_size", s.MinResponseSize},
		{"max_client_response_size", s.MaxResponseSize},
		{"connection_drop_probability", s.ConnectionDropProbability},
		{"watch_count", int64(s.TotalWatches)},
		{"auth_failed_count", s.AuthFailed},
		{"open_file_descriptor_count", s.OpenFDs},
		{"max_file_descriptor_count", s.MaxFDs},
		{"approximate_data_size", s.ApproxDataSize},
		{"uptime", s.Uptime.Milliseconds()},
		{"outstanding_tls_handshake", s.TLS.OutstandingHandshakes},
		{"non_mtls_remote_conn_count", s.TLS.NonMTLSRemote},
		{"non_mtls_local_conn_count", s.TLS.NonMTLSLocal},
	}
	if q := s.Quorum; q != nil {
		// zk_peer_state follows zk_server_state, as in ZooKeeper.
		m = slices.Insert(m, 2, metric{"peer_state", q.PeerState})
		m = append(m, metric{"quorum_size", int64(q.QuorumSize)})
		if s.Mode == "leader" {
			m = append(m,
				metric{"learners", int64(q.Learners)},
				metric{"synced_followers", int64(q.SyncedFollowers)},
				metric{"synced_non_voting_followers", int64(q.SyncedNonVotingFollowers)},
				metric{"synced_observers", int64(q.SyncedObservers)},
				metric{"pending_syncs", int64(q.PendingSyncs)},
				metric{"leader_uptime", q.LeaderUptime.Milliseconds()},
				metric{"last_proposal_size", q.LastProposalSize},
				metric{"min_proposal_size", q.MinProposalSize},
				metric{"max_proposal_size", q.MaxProposalSize},
			)
		}
	}
	for _, name := range mntrCounters {
		m = append(m, metric{name, s.Counters[name]})
	}
	for _, name := range mntrBasicSummaries {
		m = appendSummary(m, name, s.Summaries[name], false)
	}
	for _, name := range mntrAdvancedSummaries {
		m = appendSummary(m, name, s.Summaries[name], true)
	}
	return m
}

// mntrPercentiles are the quantiles mntr prints for an advanced summary,
// under the prefixes in mntrPercentileKeys.
var (
	mntrPercentiles    = []float64{0.5, 0.95, 0.99, 0.999}
	mntrPercentileKeys = []string{"p50_", "p95_", "p99_", "p999_"}
)

// appendSummary appends the lines of a summary: avg (a double), min,
// max, cnt and sum, and with percentiles p50, p95, p99 and p999 of its
// recent observations (integers; 0 when there are none, as in ZooKeeper).
func appendSummary(m []metric, name string, v Summary, percentiles bool) []metric {
	avg := 0.0
	if v.Count > 0 {
		avg = round4(float64(v.Sum) / float64(v.Count))
	}
	m = append(m,
		metric{"avg_" + name, avg},
		metric{"min_" + name, v.Min},
		metric{"max_" + name, v.Max},
		metric{"cnt_" + name, v.Count},
		metric{"sum_" + name, v.Sum},
	)
	if percentiles {
		qs, ok := v.Recent.Quantiles(mntrPercentiles...)
		for i, p := range mntrPercentileKeys {
			q := int64(0)
			if ok {
				q = qs[i]
			}
			m = append(m, metric{p + name, q})
		}
	}
	return m
}

// mntr prints one "zk_<key>\t<value>" line per metric: integers in
// decimal, other numbers as Java doubles, strings as they are.
func (c *call) mntr() string {
	var b strings.Builder
	for _, m := range monitorMetrics(c.snapshot()) {
		b.WriteString("zk_" + m.key + "\t")
		switch v := m.value.(type) {
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		case float64:
			b.WriteString(javaDouble(v))
		case string:
			b.WriteString(v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

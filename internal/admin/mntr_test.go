package admin

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// mntrLine is one line of mntr output.
var mntrLine = regexp.MustCompile(`^zk_([a-z0-9_]+)\t(.*)$`)

// parseMntr returns mntr's keys in order and its values by key, failing on
// a malformed or repeated line.
func parseMntr(t *testing.T, out string) (keys []string, values map[string]string) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("mntr output does not end with a newline")
	}
	values = make(map[string]string)
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := mntrLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("malformed mntr line %q", line)
		}
		if _, dup := values[m[1]]; dup {
			t.Errorf("zk_%s appears twice", m[1])
		}
		keys = append(keys, m[1])
		values[m[1]] = m[2]
	}
	return keys, values
}

// runMntr runs mntr on snap.
func runMntr(t *testing.T, snap Snapshot) (keys []string, values map[string]string) {
	t.Helper()
	src := &fakeSource{snap: snap, cfg: standaloneConfig()}
	return parseMntr(t, testRegistry().RunFourLetter("mntr", src, everyWord, nil))
}

func TestMntrPrintsEveryKeyOfAppendixAOnce(t *testing.T) {
	keys, _ := runMntr(t, freshSnapshot())
	// Appendix A: 2 fixed lines, 24 gauges, 47 counters, 41 summaries of
	// 5 lines and 23 of 9.
	if want := 2 + 24 + 47 + 41*5 + 23*9; len(keys) != want {
		t.Errorf("mntr printed %d lines, want %d", len(keys), want)
	}
	if len(mntrCounters) != 47 || len(mntrBasicSummaries) != 41 || len(mntrAdvancedSummaries) != 23 {
		t.Errorf("families: %d counters, %d basic and %d advanced summaries; want 47, 41, 23",
			len(mntrCounters), len(mntrBasicSummaries), len(mntrAdvancedSummaries))
	}
	if len(keys) < 2 || keys[0] != "version" || keys[1] != "server_state" {
		t.Errorf("mntr starts with %q, want zk_version, zk_server_state", keys[:min(2, len(keys))])
	}
	capturedKeys, _ := parseMntr(t, capture(t, "standalone-fresh", "mntr"))
	got, want := slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(capturedKeys))
	for _, k := range want {
		if _, found := slices.BinarySearch(got, k); !found {
			t.Errorf("mntr lacks zk_%s, which ZooKeeper 3.8.0 prints", k)
		}
	}
	for _, k := range got {
		if _, found := slices.BinarySearch(want, k); !found {
			t.Errorf("mntr prints zk_%s, which ZooKeeper 3.8.0 does not", k)
		}
	}
}

// untrackedMetrics are the keys whose values a fresh ZooKeeper 3.8.0 printed
// as non-zero but zkd does not track, so it prints zeros: ZooKeeper's
// prep and sync processors sample their queue lengths, and zkd's core and
// log writer have no such queues (they take everything queued at once).
var untrackedMetrics = map[string]bool{
	"cnt_prep_processor_queue_size": true,
	"cnt_sync_processor_queue_size": true,
}

func TestMntrMatchesAFreshZooKeeper(t *testing.T) {
	snap := freshSnapshot()
	snap.PacketsReceived, snap.PacketsSent = 29, 30
	snap.OpenFDs, snap.MaxFDs = 269, 20000
	snap.Uptime = 12708 * time.Millisecond
	// What that server had measured: 29 four-letter words of 4 bytes, one
	// database load of 5 ms, one (empty) snapshot load and the startup
	// snapshot.
	snap.Counters = map[string]int64{"bytes_received_count": 116}
	snap.Summaries = map[string]Summary{
		"dbinittime":             recorded(5),
		"startup_snap_load_time": recorded(0),
		"snapshottime":           recorded(0),
	}
	_, got := runMntr(t, snap)
	_, want := parseMntr(t, capture(t, "standalone-fresh", "mntr"))
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			continue // reported by TestMntrPrintsEveryKeyOfAppendixAOnce
		}
		if strings.Contains(g, ".") != strings.Contains(w, ".") {
			t.Errorf("zk_%s = %q, want the type of ZooKeeper's %q", k, g, w)
		}
		if g != w && !untrackedMetrics[k] {
			t.Errorf("zk_%s = %q, want %q", k, g, w)
		}
	}
}

func TestMntrPrintsCountersAndPercentilesFromTheSnapshot(t *testing.T) {
	snap := freshSnapshot()
	snap.Counters = map[string]int64{"connection_request_count": 3, "outstanding_changes_queued": 8}
	snap.Summaries = map[string]Summary{
		"readlatency": recorded(seq(1, 20)...),
		"fsynctime":   recorded(0, 1, 0, 0, 0, 0, 0),
		// Observed before the quantile window: no percentiles.
		"updatelatency": {Min: 1, Max: 7, Sum: 19, Count: 7},
	}
	keys, got := runMntr(t, snap)
	for k, w := range map[string]string{
		"connection_request_count":   "3",
		"outstanding_changes_queued": "8",
		"commit_count":               "0",
		"avg_readlatency":            "10.5",
		"min_readlatency":            "1",
		"max_readlatency":            "20",
		"cnt_readlatency":            "20",
		"sum_readlatency":            "210",
		"p50_readlatency":            "10",
		"p95_readlatency":            "19",
		"p99_readlatency":            "20",
		"p999_readlatency":           "20",
		"avg_fsynctime":              "0.1429",
		"max_fsynctime":              "1",
		"cnt_fsynctime":              "7",
		"avg_updatelatency":          "2.7143",
		"cnt_updatelatency":          "7",
		"p50_updatelatency":          "0",
		"p999_updatelatency":         "0",
		"p50_propagation_latency":    "0",
	} {
		if got[k] != w {
			t.Errorf("zk_%s = %q, want %q", k, got[k], w)
		}
	}
	var want []string
	for _, m := range monitorMetrics(&Snapshot{}) {
		want = append(want, m.key)
	}
	if !slices.Equal(keys, want) {
		t.Errorf("values moved keys: mntr prints %d keys in another order than an empty snapshot's %d", len(keys), len(want))
	}
}

func TestMntrGaugesComeFromTheSnapshot(t *testing.T) {
	snap := busySnapshot(t)
	snap.PacketsReceived, snap.PacketsSent = 29, 27
	snap.LastResponseSize, snap.MinResponseSize, snap.MaxResponseSize = 84, 16, 88
	snap.ApproxDataSize = 62
	snap.AuthFailed = 2
	snap.OpenFDs, snap.MaxFDs = 273, 20000
	snap.Uptime = 23608 * time.Millisecond
	snap.Outstanding = 1
	_, got := runMntr(t, snap)
	want := map[string]string{
		"version":                    zkVersion,
		"server_state":               "standalone",
		"ephemerals_count":           "3",
		"num_alive_connections":      "4",
		"avg_latency":                "1.9231",
		"min_latency":                "0",
		"max_latency":                "7",
		"outstanding_requests":       "1",
		"znode_count":                "9",
		"global_sessions":            "3",
		"packets_received":           "29",
		"packets_sent":               "27",
		"last_client_response_size":  "84",
		"min_client_response_size":   "16",
		"max_client_response_size":   "88",
		"watch_count":                "5",
		"auth_failed_count":          "2",
		"open_file_descriptor_count": "273",
		"max_file_descriptor_count":  "20000",
		"approximate_data_size":      "62",
		"uptime":                     "23608",
		"avg_readlatency":            "0.0",
		"p999_readlatency":           "0",
		"watch_bytes":                "0",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("zk_%s = %q, want %q", k, got[k], w)
		}
	}
}

func TestMntrOfALeaderPrintsItsQuorumGaugesLikeZooKeeper(t *testing.T) {
	snap := freshSnapshot()
	snap.Mode = "leader"
	snap.Quorum = &QuorumStatus{PeerState: "leading - broadcast", QuorumSize: 3, Learners: 2, SyncedFollowers: 2,
		LeaderUptime: 41080 * time.Millisecond, LastProposalSize: 89, MinProposalSize: 36, MaxProposalSize: 89}
	keys, got := runMntr(t, snap)
	_, want := parseMntr(t, capture(t, "leader", "mntr"))
	for _, k := range []string{"peer_state", "quorum_size", "learners", "synced_followers", "synced_non_voting_followers",
		"synced_observers", "pending_syncs", "leader_uptime", "last_proposal_size", "min_proposal_size", "max_proposal_size"} {
		if got[k] != want[k] {
			t.Errorf("zk_%s = %q, want %q", k, got[k], want[k])
		}
	}
	if keys[2] != "peer_state" {
		t.Errorf("third line is zk_%s, want zk_peer_state", keys[2])
	}
	snap.Mode = "follower"
	snap.Quorum = &QuorumStatus{PeerState: "following - broadcast", QuorumSize: 3}
	_, got = runMntr(t, snap)
	_, want = parseMntr(t, capture(t, "follower", "mntr"))
	for _, k := range []string{"peer_state", "quorum_size"} {
		if got[k] != want[k] {
			t.Errorf("follower zk_%s = %q, want %q", k, got[k], want[k])
		}
	}
	if _, ok := got["synced_followers"]; ok {
		t.Error("a follower prints the leader's zk_synced_followers")
	}
}

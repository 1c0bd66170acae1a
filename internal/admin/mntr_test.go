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
// as non-zero but zkd does not track yet, so it prints zeros.
var untrackedMetrics = map[string]bool{
	"bytes_received_count":          true,
	"avg_dbinittime":                true,
	"min_dbinittime":                true,
	"max_dbinittime":                true,
	"cnt_dbinittime":                true,
	"sum_dbinittime":                true,
	"cnt_snapshottime":              true,
	"cnt_startup_snap_load_time":    true,
	"cnt_prep_processor_queue_size": true,
	"cnt_sync_processor_queue_size": true,
}

func TestMntrMatchesAFreshZooKeeper(t *testing.T) {
	snap := freshSnapshot()
	snap.PacketsReceived, snap.PacketsSent = 29, 30
	snap.OpenFDs, snap.MaxFDs = 269, 20000
	snap.Uptime = 12708 * time.Millisecond
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

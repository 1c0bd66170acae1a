package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/adler32"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
)

// mntrValues is one mntr answer: value by key, without "zk_".
type mntrValues map[string]string

// readMntr runs mntr on the client port.
func readMntr(t *testing.T, s *Server) mntrValues {
	t.Helper()
	out := fourLetter(t, s, "mntr")
	m := make(mntrValues)
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		k, v, ok := strings.Cut(line, "\t")
		if !ok || !strings.HasPrefix(k, "zk_") {
			t.Fatalf("malformed mntr line %q in\n%s", line, out)
		}
		m[strings.TrimPrefix(k, "zk_")] = v
	}
	return m
}

// int returns an integer value, failing the test if there is none.
func (m mntrValues) int(t *testing.T, key string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(m[key], 10, 64)
	if err != nil {
		t.Fatalf("zk_%s = %q: %v", key, m[key], err)
	}
	return v
}

// scrapeMetrics GETs the Prometheus endpoint and parses the text format.
func scrapeMetrics(t *testing.T, s *Server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + s.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// monitorJSON GETs the AdminServer's monitor command.
func monitorJSON(t *testing.T, s *Server) map[string]any {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + s.AdminAddr().String() + "/commands/monitor")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("monitor: %v\n%s", err, b)
	}
	return m
}

// delta is an expected change of an mntr integer: exactly want, or at
// least want with atLeast.
type delta struct {
	key     string
	want    int64
	atLeast bool
}

// exactly and atLeast build deltas.
func exactly(key string, n int64) delta { return delta{key: key, want: n} }
func atLeast(key string, n int64) delta { return delta{key: key, want: n, atLeast: true} }

// metricsServer starts a server with mntr, srst, the AdminServer and the
// Prometheus endpoint, and short session timeouts allowed.
func metricsServer(t *testing.T) *Server {
	t.Helper()
	s := startServer(t, func(c *config.Config) {
		c.TickTime = 100
		c.MinSessionTimeout, c.MaxSessionTimeout = 200, 30000
		c.Props["zookeeper.4lw.commands.whitelist"] = "mntr, srst"
		c.Props["zookeeper.admin.enableServer"] = "true"
		c.Props["zookeeper.admin.serverAddress"] = "127.0.0.1"
		c.Props["zookeeper.admin.serverPort"] = "0"
		c.MetricsProvider = map[string]string{"className": config.PrometheusClassName, "httpHost": "127.0.0.1", "httpPort": "0"}
	})
	if s.MetricsAddr() == nil || s.AdminAddr() == nil {
		t.Fatal("metrics endpoint or AdminServer not running")
	}
	return s
}

func TestMetricsMeasureWhatTheServerDoes(t *testing.T) {
	s := metricsServer(t)
	open := zk.WorldACL(zk.PermAll)
	var c *zk.Conn
	// Each step does something and says how mntr's numbers move; "at
	// least" where go-zookeeper's pings may add reads.
	steps := []struct {
		name string
		do   func(t *testing.T)
		want []delta
	}{
		{"a connect is a connection request and a session creation, which is an update", func(t *testing.T) {
			c = zkConnect(t, s)
		}, []delta{
			exactly("connection_request_count", 1), exactly("cnt_updatelatency", 1),
			exactly("cnt_propagation_latency", 1), exactly("cnt_prep_process_time", 1),
			atLeast("prep_processor_request_queued", 1),
			// The mntr word (4) and a ConnectRequest with a 16-byte password
			// (48 with its length prefix).
			atLeast("bytes_received_count", 4+48),
			exactly("commit_count", 0),
		}},
		{"writes are updates whose node changes are queued and retired", func(t *testing.T) {
			mustDo(t, func() error { _, err := c.Create("/m", nil, 0, open); return err })
			for i := range 5 {
				mustDo(t, func() error { _, err := c.Create(fmt.Sprintf("/m/n%d", i), []byte("x"), 0, open); return err })
			}
			mustDo(t, func() error { _, err := c.Set("/m/n0", []byte("y"), -1); return err })
			mustDo(t, func() error { return c.Delete("/m/n4", -1) })
		}, []delta{
			exactly("cnt_updatelatency", 8), exactly("cnt_propagation_latency", 8),
			exactly("cnt_prep_process_time", 8), atLeast("prep_processor_request_queued", 8),
			// Creates and deletes change a node and its parent, setData one.
			exactly("outstanding_changes_queued", 6*2+1+2), exactly("outstanding_changes_removed", 6*2+1+2),
			exactly("sync_processor_request_queued", 8), exactly("sum_sync_processor_batch_size", 8),
			exactly("cnt_sync_processor_queue_time_ms", 8), exactly("cnt_sync_processor_queue_and_flush_time_ms", 8),
			atLeast("cnt_fsynctime", 1), atLeast("cnt_sync_processor_queue_flush_time_ms", 1),
			// A standalone ZooKeeper counts no leader commits either.
			exactly("commit_count", 0), exactly("unrecoverable_error_count", 0),
		}},
		{"reads are timed as reads", func(t *testing.T) {
			for range 20 {
				mustDo(t, func() error { _, _, err := c.Get("/m/n1"); return err })
			}
		}, []delta{
			atLeast("cnt_readlatency", 20), exactly("cnt_updatelatency", 0),
			atLeast("prep_processor_request_queued", 20), atLeast("cnt_prep_processor_queue_time_ms", 20),
			exactly("sync_processor_request_queued", 0),
		}},
		{"triggered watches are counted per event", func(t *testing.T) {
			_, _, changed, err := c.GetW("/m/n0")
			mustDo(t, func() error { return err })
			_, _, children, err := c.ChildrenW("/m")
			mustDo(t, func() error { return err })
			_, _, created, err := c.ExistsW("/m/new")
			mustDo(t, func() error { return err })
			mustDo(t, func() error { _, err := c.Set("/m/n0", []byte("z"), -1); return err })
			mustDo(t, func() error { _, err := c.Create("/m/new", nil, 0, open); return err })
			for _, ch := range []<-chan zk.Event{changed, children, created} {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					t.Fatal("a watch did not fire")
				}
			}
		}, []delta{
			exactly("cnt_node_changed_watch_count", 1), exactly("sum_node_changed_watch_count", 1),
			exactly("cnt_node_created_watch_count", 1), exactly("cnt_node_children_watch_count", 1),
			exactly("cnt_node_deleted_watch_count", 0),
		}},
		{"go-zookeeper's session ends", func(t *testing.T) {
			// From here on nothing pings behind the test's back.
			c.Close()
			waitFor(t, func() bool { return coreConnections(s) == 0 })
		}, []delta{exactly("cnt_close_session_prep_time", 1)}},
		{"closing a session is not a dropped connection", func(t *testing.T) {
			r := rawConnect(t, s)
			if h := r.call(1, jute.OpCloseSession, nil, nil); h.Err != jute.OK {
				t.Fatalf("closeSession: %v", h.Err)
			}
			waitFor(t, func() bool { return coreConnections(s) == 0 })
		}, []delta{
			exactly("connection_request_count", 1), exactly("cnt_close_session_prep_time", 1),
			exactly("connection_drop_count", 0), exactly("cnt_updatelatency", 2), // create and close
		}},
		{"a client that goes away drops its connection", func(t *testing.T) {
			drops := readMntr(t, s).int(t, "connection_drop_count")
			r := rawConnect(t, s)
			r.Close()
			waitFor(t, func() bool { return readMntr(t, s).int(t, "connection_drop_count") > drops })
		}, []delta{exactly("connection_drop_count", 1), exactly("connection_request_count", 1)}},
		{"resuming a session is a revalidation", func(t *testing.T) {
			r := rawConnect(t, s)
			again := rawDial(t, s)
			if resp := again.handshake(&jute.ConnectRequest{SessionID: r.session, Passwd: r.passwd, Timeout: 30000}); resp == nil || resp.SessionID != r.session {
				t.Fatalf("resume refused: %+v", resp)
			}
		}, []delta{
			exactly("connection_request_count", 2), exactly("connection_revalidate_count", 1),
			exactly("connection_drop_count", 0),
		}},
		{"an idle session expires", func(t *testing.T) {
			r := rawDial(t, s)
			r.handshake(&jute.ConnectRequest{Timeout: 200, Passwd: make([]byte, 16)})
			r.Close() // the session outlives its connection
			waitFor(t, func() bool { return readMntr(t, s).int(t, "stale_sessions_expired") > 0 })
		}, []delta{
			exactly("stale_sessions_expired", 1), exactly("cnt_close_session_prep_time", 1),
			exactly("prep_processor_request_queued", 2), // its creation and its expiry
		}},
	}
	for _, step := range steps {
		before := readMntr(t, s)
		step.do(t)
		after := readMntr(t, s)
		for _, d := range step.want {
			got := after.int(t, d.key) - before.int(t, d.key)
			if got != d.want && (!d.atLeast || got < d.want) {
				op := "=="
				if d.atLeast {
					op = ">="
				}
				t.Errorf("%s: zk_%s moved by %d, want %s %d", step.name, d.key, got, op, d.want)
			}
		}
	}

	t.Run("bytes received are counted exactly", func(t *testing.T) {
		r := rawConnect(t, s)
		before := readMntr(t, s)
		r.call(1, jute.OpPing, nil, nil)
		r.call(2, jute.OpGetData, &jute.PathWatchRequest{Path: "/m"}, nil)
		after := readMntr(t, s)
		// The mntr word, a ping (length, xid, type) and a getData (the
		// same, the path as a string, the watch flag).
		if got, want := after.int(t, "bytes_received_count")-before.int(t, "bytes_received_count"), int64(4+12+(12+4+2+1)); got != want {
			t.Errorf("bytes_received_count moved by %d, want %d", got, want)
		}
		if got := after.int(t, "cnt_readlatency") - before.int(t, "cnt_readlatency"); got != 2 {
			t.Errorf("cnt_readlatency moved by %d, want 2", got)
		}
	})

	t.Run("mntr, monitor and Prometheus serve the same numbers", func(t *testing.T) {
		counters := []string{
			"connection_request_count", "connection_revalidate_count", "connection_drop_count",
			"stale_sessions_expired", "prep_processor_request_queued", "outstanding_changes_queued",
			"outstanding_changes_removed", "sync_processor_request_queued", "commit_count",
		}
		// The three answers agree but for the bytes of the mntr word once
		// nothing moves: the earlier subtests' connections close
		// asynchronously, so read until two mntr answers taken around
		// the others agree.
		var prom map[string]*dto.MetricFamily
		var m mntrValues
		var mon map[string]any
		for attempt := 0; ; attempt++ {
			first := readMntr(t, s)
			prom = scrapeMetrics(t, s)
			mon = monitorJSON(t, s)
			m = readMntr(t, s)
			settled := true
			for _, key := range counters {
				if first[key] != m[key] {
					settled = false
				}
			}
			if settled {
				break
			}
			if attempt == 100 {
				t.Fatal("the counters never settled")
			}
			time.Sleep(10 * time.Millisecond)
		}
		for _, key := range counters {
			f := prom[key]
			if f == nil || f.GetType() != dto.MetricType_COUNTER {
				t.Errorf("/metrics lacks the counter %s", key)
				continue
			}
			v := f.GetMetric()[0].GetCounter().GetValue()
			if v != float64(m.int(t, key)) || mon[key] != v {
				t.Errorf("%s: /metrics %v, mntr %s, monitor %v", key, v, m[key], mon[key])
			}
		}
		for _, name := range []string{
			"readlatency", "updatelatency", "propagation_latency", "prep_processor_queue_time_ms",
			"prep_process_time", "close_session_prep_time", "sync_processor_queue_and_flush_time_ms",
			"sync_processor_queue_time_ms", "fsynctime", "sync_processor_batch_size",
			"node_changed_watch_count", "dbinittime", "snapshottime", "startup_snap_load_time",
		} {
			f := prom[name]
			if f == nil || f.GetType() != dto.MetricType_SUMMARY {
				t.Errorf("/metrics lacks the summary %s", name)
				continue
			}
			sum := f.GetMetric()[0].GetSummary()
			if sum.GetSampleCount() != uint64(m.int(t, "cnt_"+name)) || sum.GetSampleSum() != float64(m.int(t, "sum_"+name)) {
				t.Errorf("%s: /metrics count %d sum %v, mntr cnt %s sum %s", name, sum.GetSampleCount(), sum.GetSampleSum(), m["cnt_"+name], m["sum_"+name])
			}
			if sum.GetSampleCount() == 0 {
				t.Errorf("%s: nothing observed", name)
				continue
			}
			lo, hi := float64(m.int(t, "min_"+name)), float64(m.int(t, "max_"+name))
			prev := lo
			for _, q := range sum.GetQuantile() {
				v := q.GetValue()
				if math.IsNaN(v) || v < prev || v > hi {
					t.Errorf("%s{quantile=%v} = %v, want a finite value in [%v, %v] not below the lower quantiles", name, q.GetQuantile(), v, prev, hi)
				}
				prev = v
			}
			if mon["cnt_"+name] != float64(m.int(t, "cnt_"+name)) {
				t.Errorf("monitor cnt_%s = %v, mntr %s", name, mon["cnt_"+name], m["cnt_"+name])
			}
		}
		for _, name := range []string{"readlatency", "updatelatency", "propagation_latency"} {
			prev := m.int(t, "min_"+name)
			for _, p := range []string{"p50_", "p95_", "p99_", "p999_", "max_"} {
				v := m.int(t, p+name)
				if v < prev {
					t.Errorf("zk_%s%s = %d, below the one before (%d)", p, name, v, prev)
				}
				prev = v
				if mon[p+name] != float64(v) {
					t.Errorf("monitor %s%s = %v, mntr %d", p, name, mon[p+name], v)
				}
			}
		}
		// Nothing observed: ZooKeeper's NaN quantiles. A standalone server
		// serves election_time but no quorum_size.
		for _, name := range []string{"election_time", "jvm_pause_time_ms", "write_commitproc_time_ms"} {
			f := prom[name]
			if f == nil {
				t.Errorf("/metrics lacks %s", name)
				continue
			}
			sum := f.GetMetric()[0].GetSummary()
			if sum.GetSampleCount() != 0 || len(sum.GetQuantile()) == 0 {
				t.Errorf("%s: %v", name, sum)
			}
			for _, q := range sum.GetQuantile() {
				if !math.IsNaN(q.GetValue()) {
					t.Errorf("%s{quantile=%v} = %v, want NaN", name, q.GetQuantile(), q.GetValue())
				}
			}
		}
		if prom["quorum_size"] != nil {
			t.Error("a standalone server serves quorum_size; ZooKeeper's does not")
		}
	})

	t.Run("srst resets every metric, as in ZooKeeper 3.8", func(t *testing.T) {
		if out := fourLetter(t, s, "srst"); out != "Server stats reset.\n" {
			t.Fatalf("srst: %q", out)
		}
		m := readMntr(t, s)
		for key, want := range map[string]string{
			"connection_request_count": "0", "cnt_readlatency": "0", "p50_readlatency": "0",
			"cnt_dbinittime": "0", "sync_processor_request_queued": "0", "cnt_fsynctime": "0",
			"outstanding_changes_queued": "0", "bytes_received_count": "4", // the mntr word
		} {
			if m[key] != want {
				t.Errorf("after srst zk_%s = %s, want %s", key, m[key], want)
			}
		}
	})
}

// coreConnections returns how many client connections the core knows
// (four-letter-word connections never reach it).
func coreConnections(s *Server) int {
	n := -1
	s.query(func() { n = len(s.conns) })
	return n
}

// mustDo fails the test if f fails.
func mustDo(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartupMetricsFollowZooKeepersRules(t *testing.T) {
	dir := t.TempDir()
	s, stop := startServerAt(t, dir, "zookeeper.4lw.commands.whitelist", "mntr")
	// A fresh dataDir: the database load and the (empty) snapshot load are
	// timed, no log is replayed, and the startup snapshot is written.
	m := readMntr(t, s)
	for key, want := range map[string]int64{
		"cnt_dbinittime": 1, "cnt_startup_snap_load_time": 1, "cnt_snapshottime": 1,
		"cnt_startup_txns_loaded": 0, "cnt_startup_txns_load_time": 0, "digest_mismatches_count": 0,
	} {
		if got := m.int(t, key); got != want {
			t.Errorf("fresh: zk_%s = %d, want %d", key, got, want)
		}
	}
	raw := rawConnect(t, s)
	for i := range 3 {
		if h := raw.call(int32(i+1), jute.OpCreate, &jute.CreateRequest{Path: fmt.Sprintf("/s%d", i), ACL: openACL}, nil); h.Err != jute.OK {
			t.Fatalf("create: %v", h.Err)
		}
	}
	raw.call(4, jute.OpCloseSession, nil, nil)
	stop()

	// The restart replays createSession, three creates and closeSession.
	s2, _ := startServerAt(t, dir, "zookeeper.4lw.commands.whitelist", "mntr")
	m = readMntr(t, s2)
	for key, want := range map[string]int64{
		"cnt_dbinittime": 1, "cnt_startup_snap_load_time": 1,
		"cnt_startup_txns_loaded": 1, "sum_startup_txns_loaded": 5, "cnt_startup_txns_load_time": 1,
	} {
		if got := m.int(t, key); got != want {
			t.Errorf("restarted: zk_%s = %d, want %d", key, got, want)
		}
	}
}

// TestSnapshotDigestMismatchIsCountedOnceServing starts from a snapshot
// whose digest trailer (re-sealed, so the file is otherwise sound) does
// not match its nodes: the server serves the tree, and the check it runs
// after starting logs the mismatch and counts it, as ZooKeeper does.
func TestSnapshotDigestMismatchIsCountedOnceServing(t *testing.T) {
	tr := tree.New()
	for i := range 5 {
		z := jute.Zxid(i + 1)
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate},
			Record: &jute.CreateTxn{Path: fmt.Sprintf("/d%d", i), Data: []byte("x"), ACL: openACL, ParentCVersion: -1}})
	}
	var buf bytes.Buffer
	if err := tr.WriteSnapshotOnce(&buf, nil); err != nil {
		t.Fatal(err)
	}
	// The file ends with the digest (8 bytes), seal #2 (8) and "/" (4+1).
	b := buf.Bytes()
	end := len(b) - 5 - 8
	b[end-1] ^= 0x5a // the digest's last byte
	binary.BigEndian.PutUint64(b[end:], uint64(adler32.Checksum(b[:end])))
	dir := t.TempDir()
	snapDir := filepath.Join(dir, storage.VersionDir)
	if err := os.MkdirAll(snapDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(snapDir, storage.SnapshotName(tr.LastZxid(), storage.Uncompressed)), b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := startServerAt(t, dir, "zookeeper.4lw.commands.whitelist", "mntr")
	waitFor(t, func() bool { return readMntr(t, s).int(t, "digest_mismatches_count") == 1 })
	c := zkConnect(t, s)
	if data, _, err := c.Get("/d4"); err != nil || string(data) != "x" {
		t.Fatalf("get /d4 from the loaded snapshot: %q, %v", data, err)
	}
}

package admin

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// promFamily is one metric family of a scrape in the Prometheus text
// format: its type and samples.
type promFamily struct {
	typ     string
	samples []promSample
}

// promSample is one sample line.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseProm parses the Prometheus text format (version 0.0.4) as both
// ZooKeeper's Java client and client_golang write it: every family has a
// TYPE line followed by its samples; label lists may end with a comma.
func parseProm(t *testing.T, text string) map[string]*promFamily {
	t.Helper()
	families := make(map[string]*promFamily)
	var cur string // the family of the last TYPE line
	for i, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "# HELP ") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, ok := strings.Cut(rest, " ")
			if !ok || families[name] != nil {
				t.Fatalf("line %d: bad or repeated TYPE line %q", i+1, line)
			}
			families[name] = &promFamily{typ: typ}
			cur = name
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parsePromSample(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if !sampleOf(s.name, cur, families[cur]) {
			t.Fatalf("line %d: sample %s outside its family (after TYPE %s)", i+1, s.name, cur)
		}
		families[cur].samples = append(families[cur].samples, s)
	}
	return families
}

// sampleOf reports whether a sample named name belongs to family.
func sampleOf(name, family string, f *promFamily) bool {
	if f == nil {
		return false
	}
	if name == family {
		return true
	}
	return (f.typ == "summary" || f.typ == "histogram") &&
		(name == family+"_count" || name == family+"_sum" || name == family+"_bucket")
}

// parsePromSample parses `name{label="value",...} value`.
func parsePromSample(line string) (promSample, error) {
	s := promSample{labels: make(map[string]string)}
	end := strings.IndexAny(line, "{ ")
	if end <= 0 {
		return s, fmt.Errorf("malformed sample %q", line)
	}
	s.name, line = line[:end], line[end:]
	if line[0] == '{' {
		line = line[1:]
		for {
			if rest, ok := strings.CutPrefix(line, "}"); ok {
				line = rest
				break
			}
			name, rest, ok := strings.Cut(line, `="`)
			if !ok {
				return s, fmt.Errorf("malformed labels in %q", line)
			}
			var value strings.Builder
			i := 0
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
					if rest[i] == 'n' {
						value.WriteByte('\n')
						continue
					}
				}
				value.WriteByte(rest[i])
			}
			if i == len(rest) {
				return s, fmt.Errorf("unterminated label value in %q", line)
			}
			s.labels[name] = value.String()
			line = strings.TrimPrefix(rest[i+1:], ",")
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(line), 64)
	if err != nil {
		return s, fmt.Errorf("sample %s: %v", s.name, err)
	}
	s.value = v
	return s, nil
}

// promCapture returns a scrape of ZooKeeper 3.8.0's /metrics (see
// testdata/zookeeper-3.8.0/prometheus/README.md).
func promCapture(t *testing.T, scenario string) map[string]*promFamily {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(captureDir, "prometheus", scenario+".txt"))
	if err != nil {
		t.Fatalf("read capture: %v", err)
	}
	return parseProm(t, string(b))
}

// scrape runs one GET against NewMetricsHandler(src) and returns the body,
// failing unless it is a 200 in the text format.
func scrape(t *testing.T, src Source) string {
	t.Helper()
	rec := httptest.NewRecorder()
	NewMetricsHandler(src).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, MetricsPath, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", MetricsPath, res.Status, body)
	}
	// ZooKeeper answers text/plain; version=0.0.4; charset=utf-8.
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want the text format 0.0.4", ct)
	}
	return string(body)
}

// zkLabelledFamilies are the families ZooKeeper 3.8.0 declares that zkd
// does not serve: labelled per-namespace and per-learner families.
var zkLabelledFamilies = map[string]bool{
	"read_per_namespace":         true,
	"write_per_namespace":        true,
	"learner_handler_qp_size":    true,
	"learner_handler_qp_time_ms": true,
	"ack_latency":                true,
}

// runtimeFamily reports whether name is a family of the language runtime
// or the process rather than of ZooKeeper. (jvm_pause_time_ms is
// ZooKeeper's own summary, which mntr prints too.)
func runtimeFamily(name string) bool {
	if name == "jvm_pause_time_ms" {
		return false
	}
	return strings.HasPrefix(name, "jvm_") || strings.HasPrefix(name, "go_") ||
		strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "promhttp_")
}

func TestMetricsServeZooKeeperFamiliesWithZooKeeperTypes(t *testing.T) {
	for _, scenario := range []string{"standalone-fresh", "standalone-busy"} {
		t.Run(scenario, func(t *testing.T) {
			zk := promCapture(t, scenario)
			// ZooKeeper declares its labelled families even before they
			// have a series; client_golang prints a family with one.
			got := parseProm(t, scrape(t, &fakeSource{snap: quotaSnapshot(), cfg: standaloneConfig()}))
			for name, f := range zk {
				if runtimeFamily(name) {
					continue
				}
				g, ok := got[name]
				switch {
				case zkLabelledFamilies[name]:
					if ok {
						t.Errorf("%s is served; drop it from zkLabelledFamilies", name)
					}
				case !ok:
					t.Errorf("%s (%s) is missing; ZooKeeper 3.8.0 serves it", name, f.typ)
				case g.typ != f.typ:
					t.Errorf("%s is a %s, ZooKeeper 3.8.0 serves a %s", name, g.typ, f.typ)
				}
			}
			for name, g := range got {
				if runtimeFamily(name) {
					continue
				}
				if _, ok := zk[name]; !ok {
					t.Errorf("%s (%s) is served; ZooKeeper 3.8.0 has no such metric", name, g.typ)
				}
			}
			for name := range zkLabelledFamilies {
				if zk[name] == nil {
					t.Errorf("zkLabelledFamilies names %s, which ZooKeeper 3.8.0 does not serve", name)
				}
			}
		})
	}
}

// recorded returns the summary of values observed now.
func recorded(values ...int64) Summary {
	now := time.Now()
	var r Recorder
	for _, v := range values {
		r.Observe(v, now)
	}
	return r.Summary(now)
}

func TestMetricsSummariesServeZooKeepersQuantiles(t *testing.T) {
	zk := promCapture(t, "standalone-fresh")
	snap := freshSnapshot()
	snap.Summaries = map[string]Summary{
		// Observed recently: quantiles are the observations' nearest ranks.
		"fsynctime":   recorded(0, 3, 1, 3),
		"readlatency": recorded(seq(1, 20)...),
		// Observed, but not in the last QuantileWindow: NaN, as ZooKeeper
		// reports a quantile whose window is empty.
		"updatelatency": {Min: 0, Max: 3, Sum: 7, Count: 4},
	}
	want := map[string]map[string]float64{
		"fsynctime":   {"0.5": 1},
		"readlatency": {"0.5": 10, "0.9": 18, "0.99": 20},
	}
	got := parseProm(t, scrape(t, &fakeSource{snap: snap, cfg: standaloneConfig()}))
	summaries := 0
	for name, f := range zk {
		if f.typ != "summary" || runtimeFamily(name) || zkLabelledFamilies[name] {
			continue
		}
		summaries++
		g := got[name]
		if g == nil {
			t.Errorf("summary %s is missing", name)
			continue
		}
		var declared, have []string
		for _, s := range f.samples {
			if q, ok := s.labels["quantile"]; ok {
				declared = append(declared, q)
			}
		}
		for _, s := range g.samples {
			switch s.name {
			case name:
				q := s.labels["quantile"]
				have = append(have, q)
				w, measured := want[name][q]
				switch {
				case measured && s.value != w:
					t.Errorf("%s{quantile=%q} = %v, want %v", name, q, s.value, w)
				case !measured && !math.IsNaN(s.value):
					t.Errorf("%s{quantile=%q} = %v, want NaN: no recent observations", name, q, s.value)
				}
			case name + "_count", name + "_sum":
			default:
				t.Errorf("summary %s has a sample %s", name, s.name)
			}
		}
		slices.Sort(declared)
		slices.Sort(have)
		if !slices.Equal(have, declared) {
			t.Errorf("%s has quantiles %q, ZooKeeper 3.8.0 declares %q", name, have, declared)
		}
	}
	if want := len(mntrBasicSummaries) + len(mntrAdvancedSummaries); summaries != want {
		t.Errorf("the capture has %d unlabelled summaries, mntr %d", summaries, want)
	}
	for _, tc := range []struct {
		sample string
		want   float64
	}{
		{"fsynctime_count", 4}, {"fsynctime_sum", 7},
		{"readlatency_count", 20}, {"readlatency_sum", 210},
		{"updatelatency_count", 4}, {"updatelatency_sum", 7},
	} {
		family := strings.TrimSuffix(strings.TrimSuffix(tc.sample, "_count"), "_sum")
		if v := value(t, got, family, tc.sample); v != tc.want {
			t.Errorf("%s = %v, want %v", tc.sample, v, tc.want)
		}
	}
}

// value returns the value of the sample named name with no labels.
func value(t *testing.T, families map[string]*promFamily, family, name string) float64 {
	t.Helper()
	if f := families[family]; f != nil {
		for _, s := range f.samples {
			if s.name == name && len(s.labels) == 0 {
				return s.value
			}
		}
	}
	t.Errorf("no sample %s", name)
	return math.NaN()
}

// detailSource records the Detail of every Snapshot call.
type detailSource struct {
	fakeSource
	details []Detail
}

func (d *detailSource) Snapshot(detail Detail) Snapshot {
	d.details = append(d.details, detail)
	return d.fakeSource.Snapshot(detail)
}

func TestMetricsReadOneSnapshotPerScrape(t *testing.T) {
	snap := busySnapshot(t)
	snap.PacketsReceived, snap.PacketsSent = 34, 33
	snap.Uptime = 46329_000_000 // 46.329 s
	snap.Summaries = map[string]Summary{
		"fsynctime":   {Min: 0, Max: 1, Sum: 1, Count: 11},
		"readlatency": {Min: 0, Max: 2, Sum: 13, Count: 23},
	}
	snap.Counters = map[string]int64{"connection_request_count": 3, "bytes_received_count": 1134}
	src := &detailSource{fakeSource: fakeSource{snap: snap, cfg: standaloneConfig()}}
	got := parseProm(t, scrape(t, src))
	if !slices.Equal(src.details, []Detail{0}) {
		t.Errorf("one scrape took snapshots with details %v, want one with none", src.details)
	}
	for _, tc := range []struct {
		family, sample string
		want           float64
	}{
		{"znode_count", "znode_count", 9},
		{"ephemerals_count", "ephemerals_count", 3},
		{"watch_count", "watch_count", 5},
		{"global_sessions", "global_sessions", 3},
		{"num_alive_connections", "num_alive_connections", 4},
		{"avg_latency", "avg_latency", 1.9231}, // rounded as mntr rounds it
		{"max_latency", "max_latency", 7},
		{"min_client_response_size", "min_client_response_size", -1},
		{"packets_received", "packets_received", 34},
		{"uptime", "uptime", 46329},
		{"approximate_data_size", "approximate_data_size", 44},
		{"commit_count", "commit_count", 0},
		{"connection_request_count", "connection_request_count", 3},
		{"bytes_received_count", "bytes_received_count", 1134},
		{"fsynctime", "fsynctime_count", 11},
		{"fsynctime", "fsynctime_sum", 1},
		{"readlatency", "readlatency_count", 23},
		{"readlatency", "readlatency_sum", 13},
		{"updatelatency", "updatelatency_count", 0},
	} {
		if v := value(t, got, tc.family, tc.sample); v != tc.want {
			t.Errorf("%s = %v, want %v", tc.sample, v, tc.want)
		}
	}
	for _, name := range []string{"version", "server_state"} {
		if got[name] != nil {
			t.Errorf("text value %s is served; ZooKeeper serves no such metric", name)
		}
	}
}

func TestMetricsServeProcessFamiliesLikeZooKeeper(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the process collector reads /proc")
	}
	zk := promCapture(t, "standalone-fresh")
	got := parseProm(t, scrape(t, &fakeSource{snap: freshSnapshot(), cfg: standaloneConfig()}))
	for name, f := range zk {
		if !strings.HasPrefix(name, "process_") {
			continue
		}
		if g := got[name]; g == nil || g.typ != f.typ {
			t.Errorf("%s: got %+v, ZooKeeper 3.8.0 serves a %s", name, g, f.typ)
		}
	}
	if got["go_goroutines"] == nil {
		t.Errorf("go_goroutines is missing: the Go collector is not registered")
	}
}

func TestCollectorGathersConsistently(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(&fakeSource{snap: busySnapshot(t), cfg: standaloneConfig()}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	want := 24 + len(mntrCounters) + len(mntrBasicSummaries) + len(mntrAdvancedSummaries)
	if len(mfs) != want {
		t.Errorf("gathered %d families, want %d (mntr's numbers)", len(mfs), want)
	}
}

// lockedSource is a fakeSource safe for concurrent use.
type lockedSource struct {
	mu sync.Mutex // guards fakeSource's counts
	*fakeSource
}

func (l *lockedSource) Snapshot(d Detail) Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fakeSource.Snapshot(d)
}

func TestMetricsHandlerServesConcurrentScrapes(t *testing.T) {
	src := &lockedSource{fakeSource: &fakeSource{snap: freshSnapshot(), cfg: standaloneConfig()}}
	srv := httptest.NewServer(NewMetricsHandler(src))
	defer srv.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			res, err := http.Get(srv.URL + MetricsPath)
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "\nznode_count 5\n") {
				errs <- fmt.Errorf("scrape: %s\n%.300s", res.Status, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := src.snapshots; n != 4 {
		t.Errorf("4 scrapes took %d snapshots, want 4", n)
	}
}

func TestMetricsServeTheLeadersQuorumGauges(t *testing.T) {
	snap := freshSnapshot()
	snap.Mode = "leader"
	snap.Quorum = &QuorumStatus{PeerState: "leading - broadcast", QuorumSize: 3, Learners: 2, SyncedFollowers: 2,
		LastProposalSize: 89, MinProposalSize: 36, MaxProposalSize: 89}
	families := parseProm(t, scrape(t, &fakeSource{snap: snap, cfg: standaloneConfig()}))
	for name, want := range map[string]float64{"quorum_size": 3, "learners": 2, "synced_followers": 2, "max_proposal_size": 89} {
		if f := families[name]; f == nil || f.typ != "gauge" {
			t.Errorf("%s is not served as a gauge", name)
			continue
		}
		if got := value(t, families, name, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if families["peer_state"] != nil {
		t.Error("the text line peer_state is served as a metric")
	}
	standalone := parseProm(t, scrape(t, &fakeSource{snap: freshSnapshot(), cfg: standaloneConfig()}))
	if f := standalone["learners"]; f != nil && len(f.samples) > 0 {
		t.Error("a standalone server serves the leader's learners gauge")
	}
}

// quotaSnapshot is a fresh snapshot with a quota on /app: limits and usage,
// and two QUOTAEXCEEDED failures.
func quotaSnapshot() Snapshot {
	s := freshSnapshot()
	s.CounterSets = map[string]map[string]int64{"quota_exceeded_error_per_namespace": {"app": 2}}
	s.GaugeSets = map[string]map[string]float64{
		"quota_count_limit_per_namespace": {"app": 10},
		"quota_bytes_limit_per_namespace": {"app": 100},
		"quota_count_usage_per_namespace": {"app": 3},
		"quota_bytes_usage_per_namespace": {"app": 42},
	}
	return s
}

func TestMetricsServeQuotaFamiliesLabelledByNamespace(t *testing.T) {
	got := parseProm(t, scrape(t, &fakeSource{snap: quotaSnapshot(), cfg: standaloneConfig()}))
	for name, want := range map[string]float64{
		"quota_exceeded_error_per_namespace": 2,
		"quota_count_limit_per_namespace":    10,
		"quota_bytes_limit_per_namespace":    100,
		"quota_count_usage_per_namespace":    3,
		"quota_bytes_usage_per_namespace":    42,
	} {
		f := got[name]
		if f == nil || len(f.samples) != 1 {
			t.Errorf("%s: %+v, want one sample", name, f)
			continue
		}
		s := f.samples[0]
		if s.labels["key"] != "app" || s.value != want {
			t.Errorf("%s: labels %v value %v, want key=app value %v", name, s.labels, s.value, want)
		}
	}
	mntr := (&call{src: &fakeSource{snap: quotaSnapshot(), cfg: standaloneConfig()}, cmd: &Command{}}).mntr()
	if strings.Contains(mntr, "quota") {
		t.Errorf("mntr prints quota lines; ZooKeeper 3.8.0's does not:\n%s", mntr)
	}
}

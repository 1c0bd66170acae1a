package admin

import (
	"log/slog"
	"math"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath is where ZooKeeper's Prometheus metrics provider serves its
// metrics (on metricsProvider.httpHost:metricsProvider.httpPort, by
// default 0.0.0.0:7000).
const MetricsPath = "/metrics"

// Quantiles ZooKeeper 3.8's Prometheus provider declares for a summary: the
// median for the summaries mntr prints without percentiles, the median, 90th
// and 99th percentiles for those it prints with p50..p999.
var (
	basicQuantiles    = []float64{0.5}
	advancedQuantiles = []float64{0.5, 0.9, 0.99}
)

// NewCollector returns a Prometheus collector that serves the numbers mntr
// prints under the names ZooKeeper 3.8's Prometheus metrics provider uses:
// the mntr key without "zk_". Each scrape reads one Snapshot (with no
// Detail), so every value comes from the same moment.
//
//   - mntr's gauges (znode_count, avg_latency, ...) are gauges and its
//     counters (connection_request_count, ...) are counters. The text
//     lines, version and server_state, are not exported, as in ZooKeeper.
//   - Each summary family (avg_, min_, max_, cnt_ and sum_ in mntr) is a
//     summary of the family's name with _count and _sum, and the quantile
//     series ZooKeeper declares: 0.5, and 0.9 and 0.99 for the families
//     mntr prints percentiles for. Quantiles are read from the summary's
//     recent observations (Summary.Recent, the last QuantileWindow, as
//     ZooKeeper's provider keeps them); with none they are NaN, as in
//     ZooKeeper.
//
// The Snapshot says which counters and summaries are measured; the others
// are 0 (and their quantiles NaN), as on a ZooKeeper server that never
// does what they count. A standalone zkd measures (see internal/server)
// the counters connection_request_count, connection_revalidate_count,
// bytes_received_count, connection_drop_count, stale_sessions_expired,
// prep_processor_request_queued, outstanding_changes_queued,
// outstanding_changes_removed, sync_processor_request_queued,
// digest_mismatches_count and unrecoverable_error_count, and the
// summaries readlatency, updatelatency, propagation_latency,
// prep_processor_queue_time_ms, prep_process_time,
// close_session_prep_time, the node_*_watch_count families, fsynctime,
// sync_processor_batch_size, sync_processor_queue_time_ms,
// sync_processor_queue_flush_time_ms,
// sync_processor_queue_and_flush_time_ms, snapshottime, dbinittime,
// startup_snap_load_time, startup_txns_load_time and startup_txns_loaded.
//
// Of the labelled families ZooKeeper adds, the quota ones are served:
// LabelledCounters and LabelledGauges, one series per label value under
// the label "key", as ZooKeeper's provider labels them. The others
// (read_per_namespace, write_per_namespace, ack_latency, ...) and the
// JVM's are not. The collector is safe for concurrent use if src is.
func NewCollector(src Source) prometheus.Collector {
	c := &collector{src: src, byKey: make(map[string]collectorMetric), sets: make(map[string]collectorMetric)}
	for _, name := range LabelledCounters {
		c.sets[name] = collectorMetric{desc: prometheus.NewDesc(name, name, []string{setLabel}, nil), typ: prometheus.CounterValue}
	}
	for _, name := range LabelledGauges {
		c.sets[name] = collectorMetric{desc: prometheus.NewDesc(name, name, []string{setLabel}, nil), typ: prometheus.GaugeValue}
	}
	counters := make(map[string]bool, len(mntrCounters))
	for _, name := range mntrCounters {
		counters[name] = true
	}
	summaryKeys := make(map[string]bool)
	addSummaries := func(names []string, advanced bool) {
		quantiles := basicQuantiles
		if advanced {
			quantiles = advancedQuantiles
		}
		for _, name := range names {
			c.summaries = append(c.summaries, collectorSummary{name: name, desc: zkDesc(name), quantiles: quantiles})
			for _, m := range appendSummary(nil, name, Summary{}, advanced) {
				summaryKeys[m.key] = true
			}
		}
	}
	addSummaries(mntrBasicSummaries, false)
	addSummaries(mntrAdvancedSummaries, true)

	// The keys mntr prints do not depend on the snapshot's values, only on
	// the server's role: learn them, and which are numbers, from an empty
	// standalone one and an empty leader's (the ensemble gauges).
	leader := &Snapshot{Mode: "leader", Quorum: &QuorumStatus{}}
	for _, m := range append(monitorMetrics(&Snapshot{}), monitorMetrics(leader)...) {
		if _, ok := metricValue(m.value); !ok || summaryKeys[m.key] {
			continue
		}
		typ := prometheus.GaugeValue
		if counters[m.key] {
			typ = prometheus.CounterValue
		}
		c.byKey[m.key] = collectorMetric{desc: zkDesc(m.key), typ: typ}
	}
	return c
}

// LabelledCounters are the counter sets (ZooKeeper's CounterSet) the
// collector serves from Snapshot.CounterSets.
var LabelledCounters = []string{"quota_exceeded_error_per_namespace"}

// LabelledGauges are the gauge sets (ZooKeeper's GaugeSet) the collector
// serves from Snapshot.GaugeSets.
var LabelledGauges = []string{
	"quota_count_limit_per_namespace", "quota_bytes_limit_per_namespace",
	"quota_count_usage_per_namespace", "quota_bytes_usage_per_namespace",
}

// setLabel is the label ZooKeeper's Prometheus provider gives the series of
// a labelled family.
const setLabel = "key"

// zkDesc describes a ZooKeeper metric the way its Prometheus provider
// does: no labels, and the name as help text.
func zkDesc(name string) *prometheus.Desc {
	return prometheus.NewDesc(name, name, nil, nil)
}

// collector is NewCollector's prometheus.Collector. Its fields are set by
// NewCollector and only read afterwards.
type collector struct {
	src       Source
	byKey     map[string]collectorMetric // gauges and counters by mntr key
	sets      map[string]collectorMetric // labelled families by name
	summaries []collectorSummary
}

// collectorMetric is one mntr gauge or counter.
type collectorMetric struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
}

// collectorSummary is one mntr summary family.
type collectorSummary struct {
	name      string // mntr family name, e.g. "fsynctime"
	desc      *prometheus.Desc
	quantiles []float64
}

// Describe sends the descriptors of every metric Collect sends.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.byKey {
		ch <- m.desc
	}
	for _, m := range c.sets {
		ch <- m.desc
	}
	for _, s := range c.summaries {
		ch <- s.desc
	}
}

// Collect takes one Snapshot and sends its metrics.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Snapshot(0)
	// The gauges and counters; summaries are sent below, with their
	// Prometheus quantiles rather than mntr's percentiles.
	flat := s
	flat.Summaries = nil
	for _, m := range monitorMetrics(&flat) {
		cm, ok := c.byKey[m.key]
		if !ok {
			continue
		}
		if v, ok := metricValue(m.value); ok {
			ch <- prometheus.MustNewConstMetric(cm.desc, cm.typ, v)
		}
	}
	for name, values := range s.CounterSets {
		if m, ok := c.sets[name]; ok {
			for key, v := range values {
				ch <- prometheus.MustNewConstMetric(m.desc, m.typ, float64(v), key)
			}
		}
	}
	for name, values := range s.GaugeSets {
		if m, ok := c.sets[name]; ok {
			for key, v := range values {
				ch <- prometheus.MustNewConstMetric(m.desc, m.typ, v, key)
			}
		}
	}
	for _, sum := range c.summaries {
		v := s.Summaries[sum.name]
		values, ok := v.Recent.Quantiles(sum.quantiles...)
		quantiles := make(map[float64]float64, len(sum.quantiles))
		for i, q := range sum.quantiles {
			quantiles[q] = math.NaN()
			if ok {
				quantiles[q] = float64(values[i])
			}
		}
		ch <- prometheus.MustNewConstSummary(sum.desc, uint64(max(v.Count, 0)), float64(v.Sum), quantiles)
	}
}

// metricValue returns an mntr value as a Prometheus sample value, and false
// for a text value.
func metricValue(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// NewMetricsHandler returns the HTTP handler of ZooKeeper's Prometheus
// metrics provider: whatever the request path, it answers a scrape of a
// private registry holding NewCollector(src) and the Go runtime and
// process collectors (go_*, process_*; ZooKeeper serves jvm_* and
// process_* in their place). Mount it at MetricsPath.
//
// A collector that fails is logged and left out of the answer; the rest
// is still served. The handler is safe for concurrent use if src is.
func NewMetricsHandler(src Source) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(src),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

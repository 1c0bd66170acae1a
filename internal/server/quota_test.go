package server

import (
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
)

// With zookeeper.enforceQuota=true a create beyond a hard quota fails with
// QUOTAEXCEEDED, and /metrics serves the failure and the quota's limits and
// usage per namespace (label key), as ZooKeeper 3.8's Prometheus provider.
func TestQuotaEnforcedAndServedOnMetrics(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.Props["zookeeper.enforceQuota"] = "true"
		c.MetricsProvider = map[string]string{"className": config.PrometheusClassName, "httpHost": "127.0.0.1", "httpPort": "0"}
	})
	c := zkConnect(t, s)
	open := zk.WorldACL(zk.PermAll)
	for _, n := range []struct{ path, data string }{
		{"/q", "abc"}, {"/zookeeper/quota/q", ""},
		{"/zookeeper/quota/q/zookeeper_limits", "count=-1,bytes=-1=;byteHardLimit=100;countHardLimit=2"},
		{"/zookeeper/quota/q/zookeeper_stats", "count=0,bytes=0"},
		{"/q/a", ""},
	} {
		mustDo(t, func() error { _, err := c.Create(n.path, []byte(n.data), 0, open); return err })
	}
	if _, err := c.Create("/q/b", nil, 0, open); err == nil || err.Error() != "unknown error: -125" {
		t.Fatalf("create beyond the hard count: %v, want QUOTAEXCEEDED (-125)", err)
	}
	families := scrapeMetrics(t, s)
	for name, want := range map[string]float64{
		"quota_exceeded_error_per_namespace": 1,
		"quota_count_limit_per_namespace":    2,
		"quota_bytes_limit_per_namespace":    100,
		"quota_count_usage_per_namespace":    2,
		"quota_bytes_usage_per_namespace":    3,
	} {
		f := families[name]
		if f == nil || len(f.Metric) != 1 {
			t.Errorf("%s: %v, want one series", name, f)
			continue
		}
		m := f.Metric[0]
		v := m.GetGauge().GetValue()
		if m.Counter != nil {
			v = m.GetCounter().GetValue()
		}
		if len(m.Label) != 1 || m.Label[0].GetName() != "key" || m.Label[0].GetValue() != "q" || v != want {
			t.Errorf("%s: %v, want key=q value %v", name, m, want)
		}
	}
}

package config

import "strconv"

// Throttling holds ZooKeeper's request, connection and large-request
// throttling settings, under their ZooKeeper names and with ZooKeeper's
// defaults.
type Throttling struct {
	// GlobalOutstandingLimit is globalOutstandingLimit (default 1000).
	GlobalOutstandingLimit int
	// MaxRequests is zookeeper.request_throttle_max_requests: requests
	// in process beyond which no new one starts; 0 (the default) turns
	// the request throttler off.
	MaxRequests int
	// StallTimeMS is zookeeper.request_throttle_stall_time (default 100).
	// ZooKeeper's throttler sleeps this long between checks; zkd starts
	// the next request as soon as one finishes, so it only reports it.
	StallTimeMS int
	// DropStale is zookeeper.request_throttle_drop_stale (default true):
	// requests of connections that closed before they started are dropped.
	DropStale bool
	// LargeRequestThreshold and LargeRequestMaxBytes are
	// zookeeper.largeRequestThreshold (default -1, off) and
	// zookeeper.largeRequestMaxBytes (default 100 MiB).
	LargeRequestThreshold int
	LargeRequestMaxBytes  int64
	// Connection is the connection token bucket.
	Connection ConnectionThrottle
}

// ConnectionThrottle is ZooKeeper's connection token bucket, the
// zookeeper.connection_throttle_* settings.
type ConnectionThrottle struct {
	// Tokens is the bucket's size; 0 (the default) turns it off.
	Tokens int
	// FillTimeMS and FillCount: FillCount tokens are added every
	// FillTimeMS (defaults 1 and 1).
	FillTimeMS, FillCount int
	// FreezeTimeMS is how often the drop probability may change; -1 (the
	// default) turns random early dropping off.
	FreezeTimeMS int
	// DropIncrease and DropDecrease change the drop probability (defaults
	// 0.02 and 0.002); DecreaseRatio is the share of the bucket below
	// which the probability decreases (default 0).
	DropIncrease, DropDecrease, DecreaseRatio float64
	// WeightEnabled gives connections weights (default false): a new
	// session GlobalWeight tokens (3), a resumed one RenewWeight (2), a
	// local one LocalWeight (1); otherwise every connection costs 1.
	WeightEnabled                          bool
	GlobalWeight, LocalWeight, RenewWeight int
}

// Throttling returns the throttling settings.
func (c *Config) Throttling() Throttling {
	t := Throttling{
		GlobalOutstandingLimit: int(c.intProp("globalOutstandingLimit", 1000)),
		MaxRequests:            int(c.intProp("request_throttle_max_requests", 0)),
		StallTimeMS:            int(c.intProp("request_throttle_stall_time", 100)),
		DropStale:              c.boolProp("request_throttle_drop_stale", true),
		LargeRequestThreshold:  int(c.intProp("largeRequestThreshold", -1)),
		LargeRequestMaxBytes:   c.intProp("largeRequestMaxBytes", 100<<20),
		Connection: ConnectionThrottle{
			Tokens:        int(c.intProp("connection_throttle_tokens", 0)),
			FillTimeMS:    int(c.intProp("connection_throttle_fill_time", 1)),
			FillCount:     int(c.intProp("connection_throttle_fill_count", 1)),
			FreezeTimeMS:  int(c.intProp("connection_throttle_freeze_time", -1)),
			DropIncrease:  c.floatProp("connection_throttle_drop_increase", 0.02),
			DropDecrease:  c.floatProp("connection_throttle_drop_decrease", 0.002),
			DecreaseRatio: c.floatProp("connection_throttle_decrease_ratio", 0),
			WeightEnabled: c.boolProp("connection_throttle_weight_enabled", false),
			GlobalWeight:  int(c.intProp("connection_throttle_global_session_weight", 3)),
			LocalWeight:   int(c.intProp("connection_throttle_local_session_weight", 1)),
			RenewWeight:   int(c.intProp("connection_throttle_renew_session_weight", 2)),
		},
	}
	if t.GlobalOutstandingLimit <= 0 {
		t.GlobalOutstandingLimit = 1000
	}
	if t.LargeRequestMaxBytes <= 0 {
		t.LargeRequestMaxBytes = 100 << 20
	}
	w := &t.Connection
	// ZooKeeper's rules for weights: positive, and neither a global nor a
	// renewed session costs less than a local one.
	if w.LocalWeight <= 0 {
		w.LocalWeight = 1
	}
	if w.GlobalWeight <= 0 {
		w.GlobalWeight = 3
	}
	if w.RenewWeight <= 0 {
		w.RenewWeight = 2
	}
	w.GlobalWeight = max(w.GlobalWeight, w.LocalWeight)
	w.RenewWeight = max(w.RenewWeight, w.LocalWeight)
	if w.FillTimeMS <= 0 {
		w.FillTimeMS = 1
	}
	return t
}

// floatProp returns a decimal property, or def when unset or invalid.
func (c *Config) floatProp(k string, def float64) float64 {
	v, ok := c.prop(k)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return def
	}
	return f
}

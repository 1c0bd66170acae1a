package loadgen

import (
	"context"
	"errors"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// memServer is an in-memory stand-in for a ZooKeeper server: a flat map of
// paths, parents required on create, that counts the requests it serves.
type memServer struct {
	mu     sync.Mutex // guards everything below
	nodes  map[string][]byte
	counts map[string]int // by operation name
	failOn string         // a path whose requests fail
}

func newMemServer() *memServer {
	return &memServer{nodes: map[string][]byte{"/": nil}, counts: map[string]int{}}
}

var errInjected = errors.New("injected failure")

func (m *memServer) do(op, p string, f func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts[op]++
	if p == m.failOn {
		return errInjected
	}
	return f()
}

// session returns a Session on m.
func (m *memServer) session() Session { return memSession{m} }

type memSession struct{ m *memServer }

func (s memSession) Get(_ context.Context, p string) (data []byte, err error) {
	err = s.m.do("get", p, func() error {
		d, ok := s.m.nodes[p]
		if !ok {
			return ErrNoNode
		}
		data = d
		return nil
	})
	return data, err
}

func (s memSession) Set(_ context.Context, p string, data []byte) error {
	return s.m.do("set", p, func() error {
		if _, ok := s.m.nodes[p]; !ok {
			return ErrNoNode
		}
		s.m.nodes[p] = append([]byte(nil), data...)
		return nil
	})
}

func (s memSession) Create(_ context.Context, p string, data []byte) error {
	return s.m.do("create", p, func() error {
		if _, ok := s.m.nodes[p]; ok {
			return ErrNodeExists
		}
		if _, ok := s.m.nodes[path.Dir(p)]; !ok {
			return ErrNoNode
		}
		s.m.nodes[p] = append([]byte(nil), data...)
		return nil
	})
}

func (s memSession) Delete(_ context.Context, p string) error {
	return s.m.do("delete", p, func() error {
		if _, ok := s.m.nodes[p]; !ok {
			return ErrNoNode
		}
		delete(s.m.nodes, p)
		return nil
	})
}

func (m *memServer) sessions(n int) []Session {
	ss := make([]Session, n)
	for i := range ss {
		ss[i] = m.session()
	}
	return ss
}

// under returns how many nodes have the prefix.
func (m *memServer) under(prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for p := range m.nodes {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

func TestSetupMakesTheKeySpaceAndTeardownRemovesIt(t *testing.T) {
	m := newMemServer()
	ss := m.sessions(7)
	cfg := Config{Keys: 100, ValueSize: 10, Root: "/lg"}
	for range 2 { // Setup may be repeated
		if err := Setup(t.Context(), ss, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.under("/lg/keys/"); got != 100 {
		t.Fatalf("after Setup: %d keys, want 100", got)
	}
	if got := len(m.nodes["/lg/keys/42"]); got != 10 {
		t.Fatalf("key has %d bytes, want 10", got)
	}
	if err := Teardown(t.Context(), ss, cfg); err != nil {
		t.Fatal(err)
	}
	if got := m.under("/lg"); got != 0 {
		t.Fatalf("after Teardown: %d nodes left under /lg", got)
	}
}

func TestRunIssuesTheWorkloadsRequests(t *testing.T) {
	tests := []struct {
		workload Workload
		want     func(counts map[string]int) bool
	}{
		{GetData, func(c map[string]int) bool { return c["get"] == 5000 && c["set"] == 0 && c["create"] == 0 }},
		{SetData, func(c map[string]int) bool { return c["set"] == 5000 && c["get"] == 0 && c["create"] == 0 }},
		// The clean-up deletes every created node, outside the measurement.
		{Create, func(c map[string]int) bool { return c["create"] == 5000 && c["delete"] == 5000 }},
		// Nine reads to one write, give or take chance.
		{Mix9010, func(c map[string]int) bool {
			return c["get"]+c["set"] == 5000 && c["set"] > 400 && c["set"] < 600
		}},
	}
	for _, tt := range tests {
		t.Run(tt.workload.String()+" issues its mix and stops after Ops", func(t *testing.T) {
			m := newMemServer()
			ss := m.sessions(8)
			cfg := Config{Workload: tt.workload, Ops: 5000, Keys: 50}
			if err := Setup(t.Context(), ss, cfg); err != nil {
				t.Fatal(err)
			}
			clear(m.counts)
			res, err := Run(t.Context(), ss, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Ops != 5000 || res.Latency.Count() != 5000 || res.Sessions != 8 || res.Workload != tt.workload {
				t.Errorf("result: %d ops (%d latencies), %d sessions, %v; want 5000, 8, %v",
					res.Ops, res.Latency.Count(), res.Sessions, res.Workload, tt.workload)
			}
			if !tt.want(m.counts) {
				t.Errorf("requests served: %v", m.counts)
			}
			if got := m.under(DefaultRoot + "/creates/"); got != 0 {
				t.Errorf("%d created nodes left behind", got)
			}
		})
	}
}

// pathRecorder is a Session that notes every path it is asked about. Its
// first Get or Set waits until every recorder sharing its WaitGroup has
// made one, so that no session can finish a run before the others start.
type pathRecorder struct {
	Session
	arrived *sync.WaitGroup
	first   sync.Once
	mu      sync.Mutex // guards paths
	paths   map[string]bool
}

func (r *pathRecorder) note(p string) {
	r.first.Do(func() {
		r.arrived.Done()
		r.arrived.Wait()
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.paths[p] = true
}

func (r *pathRecorder) Get(ctx context.Context, p string) ([]byte, error) {
	r.note(p)
	return r.Session.Get(ctx, p)
}

func (r *pathRecorder) Set(ctx context.Context, p string, data []byte) error {
	r.note(p)
	return r.Session.Set(ctx, p, data)
}

func TestRunWithOwnKeyKeepsEverySessionOnItsOwnKey(t *testing.T) {
	m := newMemServer()
	recs := make([]*pathRecorder, 5)
	ss := make([]Session, len(recs))
	var arrived sync.WaitGroup
	arrived.Add(len(recs))
	for i := range recs {
		recs[i] = &pathRecorder{Session: m.session(), arrived: &arrived, paths: map[string]bool{}}
		ss[i] = recs[i]
	}
	cfg := Config{Workload: Mix9010, Ops: 2000, Keys: 20, OwnKey: true}
	if err := Setup(t.Context(), ss, cfg); err != nil { // Setup only creates: nothing is noted
		t.Fatal(err)
	}
	if _, err := Run(t.Context(), ss, cfg); err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		want := DefaultRoot + "/keys/" + strconv.Itoa(i)
		if len(r.paths) != 1 || !r.paths[want] {
			t.Errorf("session %d touched %v, want only %s", i, r.paths, want)
		}
	}
}

func TestRunRefusesOwnKeyWithFewerKeysThanSessions(t *testing.T) {
	m := newMemServer()
	cfg := Config{Workload: SetData, Ops: 10, Keys: 3, OwnKey: true}
	if _, err := Run(t.Context(), m.sessions(4), cfg); err == nil || !strings.Contains(err.Error(), "OwnKey") {
		t.Fatalf("Run = %v, want a refusal of OwnKey", err)
	}
}

func TestRunStopsAfterItsDuration(t *testing.T) {
	m := newMemServer()
	ss := m.sessions(4)
	cfg := Config{Workload: Mix9010, Duration: 100 * time.Millisecond, Warmup: 50 * time.Millisecond, Keys: 10}
	if err := Setup(t.Context(), ss, cfg); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := Run(t.Context(), ss, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a 150ms run took %v", took)
	}
	if res.Elapsed < 100*time.Millisecond || res.Ops == 0 || res.Throughput() <= 0 {
		t.Errorf("result: %d ops in %v (%.0f/s), want some ops over at least 100ms", res.Ops, res.Elapsed, res.Throughput())
	}
	if res.Ops >= int64(m.counts["get"]+m.counts["set"]) {
		t.Errorf("measured %d ops of %d served: the warm-up was measured", res.Ops, m.counts["get"]+m.counts["set"])
	}
}

func TestRunEndsAtTheFirstFailureAndSaysWhere(t *testing.T) {
	m := newMemServer()
	ss := m.sessions(4)
	cfg := Config{Workload: Create, Duration: time.Minute}
	if err := Setup(t.Context(), ss, cfg); err != nil {
		t.Fatal(err)
	}
	m.failOn = DefaultRoot + "/creates/2-100"
	_, err := Run(t.Context(), ss, cfg)
	if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "session 2: create /loadgen/creates/2-100") {
		t.Fatalf("Run = %v, want the injected failure of session 2's create", err)
	}
	if got := m.under(DefaultRoot + "/creates/"); got != 0 {
		t.Errorf("%d created nodes left behind after a failed run", got)
	}
}

func TestRunStopsWhenTheContextEnds(t *testing.T) {
	m := newMemServer()
	ss := m.sessions(2)
	cfg := Config{Workload: GetData, Duration: time.Hour, Keys: 10}
	if err := Setup(t.Context(), ss, cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := Run(ctx, ss, cfg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the context's deadline", err)
	}
}

func TestWorkloadNamesRoundTrip(t *testing.T) {
	for _, w := range Workloads() {
		got, err := ParseWorkload(w.String())
		if err != nil || got != w {
			t.Errorf("ParseWorkload(%q) = %v, %v", w.String(), got, err)
		}
	}
	if _, err := ParseWorkload("scan"); err == nil {
		t.Errorf("ParseWorkload(\"scan\") succeeded")
	}
}

func TestSetupWithParentsMakesATwoLevelTree(t *testing.T) {
	m := newMemServer()
	ss := m.sessions(3)
	cfg := Config{Keys: 12, ValueSize: 4, Root: "/lg", Parents: 4}
	if err := Setup(t.Context(), ss, cfg); err != nil {
		t.Fatal(err)
	}
	// 4 parents and 12 keys, 3 under each parent.
	if got := m.under("/lg/keys/"); got != 16 {
		t.Fatalf("after Setup: %d nodes under /lg/keys, want 16", got)
	}
	if got := m.under("/lg/keys/1/"); got != 3 {
		t.Fatalf("parent 1 has %d children, want 3", got)
	}
	// Key 9 is child 9/4 = 2 of parent 9%4 = 1.
	if got := len(m.nodes["/lg/keys/1/2"]); got != 4 {
		t.Fatalf("key 9 has %d bytes, want 4", got)
	}
	res, err := Run(t.Context(), ss, Config{Workload: SetData, Ops: 100, Keys: 12, ValueSize: 4, Root: "/lg", Parents: 4})
	if err != nil || res.Ops != 100 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if got := m.under("/lg/keys/"); got != 16 {
		t.Fatalf("after Run: %d nodes under /lg/keys, want 16", got)
	}
	if err := Teardown(t.Context(), ss, cfg); err != nil {
		t.Fatal(err)
	}
	if got := m.under("/lg"); got != 0 {
		t.Fatalf("after Teardown: %d nodes left under /lg", got)
	}
}

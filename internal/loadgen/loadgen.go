// Package loadgen drives ZooKeeper workloads against any server and reports
// throughput and latency percentiles.
//
// A run is N client sessions, each issuing synchronous requests in a loop
// (one outstanding request per session) until a fixed duration has passed or
// a fixed number of operations has been issued. Every operation's latency,
// from the call to the reply, goes into a per-session Histogram; the run's
// Result merges them.
//
// The package knows no client library: the caller opens the sessions and
// hands them over behind the small Session interface, so the same workloads
// can be driven through go-zookeeper in tests and through zkd's own client
// later.
//
// Every node a run touches lives under Config.Root:
//
//	<root>/keys/<i>          Config.Keys nodes of Config.ValueSize bytes, made by Setup
//	<root>/keys/<p>/<c>      the same with Config.Parents set: key i is child
//	                         i/Parents of parent i%Parents
//	<root>/creates/<s>-<n>   made by the Create workload, deleted again by Run
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Session is one client session. Each call is synchronous: it returns once
// the server has answered. A run uses a Session from one goroutine at a
// time. Implementations may ignore ctx if their client cannot be interrupted;
// the run then stops at its next request instead.
type Session interface {
	// Get returns the node's data (getData, no watch).
	Get(ctx context.Context, path string) ([]byte, error)
	// Set replaces the node's data whatever its version (setData, version -1).
	Set(ctx context.Context, path string, data []byte) error
	// Create makes a persistent node with an open ACL. If the node exists,
	// the error wraps ErrNodeExists.
	Create(ctx context.Context, path string, data []byte) error
	// Delete removes the node whatever its version. If there is no such
	// node, the error wraps ErrNoNode.
	Delete(ctx context.Context, path string) error
}

// Errors a Session reports for ZooKeeper's NODEEXISTS and NONODE, so that
// Setup and clean-up can tell a harmless leftover from a failure.
var (
	ErrNodeExists = errors.New("node exists")
	ErrNoNode     = errors.New("no node")
)

// Workload is the request mix every session of a run issues.
type Workload int

// The workloads. Keys are chosen uniformly at random from the key space.
const (
	GetData Workload = iota + 1 // getData of a key
	SetData                     // setData of a key with fresh bytes of the same size
	Create                      // create of a new node with a unique path
	Mix9010                     // 90% GetData, 10% SetData
)

// Workloads returns every workload, in the order reports list them.
func Workloads() []Workload { return []Workload{GetData, SetData, Create, Mix9010} }

// String returns the workload's name as ParseWorkload accepts it.
func (w Workload) String() string {
	switch w {
	case GetData:
		return "getData"
	case SetData:
		return "setData"
	case Create:
		return "create"
	case Mix9010:
		return "mix90/10"
	}
	return "Workload(" + strconv.Itoa(int(w)) + ")"
}

// ParseWorkload returns the workload named s (as printed by String).
func ParseWorkload(s string) (Workload, error) {
	for _, w := range Workloads() {
		if w.String() == s {
			return w, nil
		}
	}
	return 0, fmt.Errorf("unknown workload %q (want getData, setData, create or mix90/10)", s)
}

// Config describes a run. The zero value of a field selects its default.
type Config struct {
	Workload Workload // required

	// Duration bounds the measured part of the run. If both Duration and
	// Ops are zero, Duration is 10s.
	Duration time.Duration
	// Ops, if positive, ends the run once this many measured operations
	// have been issued over all sessions (or Duration has passed, if set).
	Ops int64
	// Warmup is run, unmeasured, before the measured part.
	Warmup time.Duration

	Keys      int    // size of the key space; default 1000
	ValueSize int    // bytes of data in each key and created node; default 100
	Root      string // parent of every node the run uses; default "/loadgen"
	Seed      uint64 // seeds the choice of keys; runs with one seed choose alike

	// Parents, if positive, spreads the keys over this many parent nodes
	// under <root>/keys instead of making them its children: key i is
	// <root>/keys/<i%Parents>/<i/Parents>, so 1,000,000 keys over 1000
	// parents make a tree of 1000 parents with 1000 children each, and
	// the first Parents keys are one child of every parent. Setup makes
	// the parents (without data); runs must use the same Parents.
	Parents int

	// OwnKey gives every session a key of its own: session s reads and
	// writes only key s, so no two sessions touch the same node. Run
	// refuses it with fewer keys than sessions.
	OwnKey bool
}

// Defaults of Config's fields.
const (
	DefaultDuration  = 10 * time.Second
	DefaultKeys      = 1000
	DefaultValueSize = 100
	DefaultRoot      = "/loadgen"
)

func (c Config) withDefaults() Config {
	if c.Duration == 0 && c.Ops == 0 {
		c.Duration = DefaultDuration
	}
	if c.Keys == 0 {
		c.Keys = DefaultKeys
	}
	if c.ValueSize == 0 {
		c.ValueSize = DefaultValueSize
	}
	if c.Root == "" {
		c.Root = DefaultRoot
	}
	return c
}

func (c Config) keyPath(i int) string {
	if c.Parents > 0 {
		return c.parentPath(i%c.Parents) + "/" + strconv.Itoa(i/c.Parents)
	}
	return c.Root + "/keys/" + strconv.Itoa(i)
}
func (c Config) parentPath(p int) string   { return c.Root + "/keys/" + strconv.Itoa(p) }
func (c Config) createsParent() string     { return c.Root + "/creates" }
func (c Config) createPrefix(s int) string { return c.createsParent() + "/" + strconv.Itoa(s) + "-" }

// Setup creates the root, its two parents and the key space, spreading the
// creates over the sessions. Nodes that already exist are left as they are,
// so Setup may be repeated.
func Setup(ctx context.Context, sessions []Session, cfg Config) error {
	if len(sessions) == 0 {
		return errors.New("loadgen setup: no sessions")
	}
	cfg = cfg.withDefaults()
	value := make([]byte, cfg.ValueSize)
	for i := range value {
		value[i] = 'v'
	}
	for _, p := range []string{cfg.Root, cfg.Root + "/keys", cfg.createsParent()} {
		if err := createIfMissing(ctx, sessions[0], p, nil); err != nil {
			return fmt.Errorf("loadgen setup: %w", err)
		}
	}
	err := eachSession(sessions, func(s int, sess Session) error {
		for p := s; p < cfg.Parents; p += len(sessions) {
			if err := createIfMissing(ctx, sess, cfg.parentPath(p), nil); err != nil {
				return fmt.Errorf("loadgen setup: session %d: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return eachSession(sessions, func(s int, sess Session) error {
		for i := s; i < cfg.Keys; i += len(sessions) {
			if err := createIfMissing(ctx, sess, cfg.keyPath(i), value); err != nil {
				return fmt.Errorf("loadgen setup: session %d: %w", s, err)
			}
		}
		return nil
	})
}

// Teardown deletes what Setup created. Nodes already gone are skipped.
func Teardown(ctx context.Context, sessions []Session, cfg Config) error {
	if len(sessions) == 0 {
		return errors.New("loadgen teardown: no sessions")
	}
	cfg = cfg.withDefaults()
	err := eachSession(sessions, func(s int, sess Session) error {
		for i := s; i < cfg.Keys; i += len(sessions) {
			if err := deleteIfPresent(ctx, sess, cfg.keyPath(i)); err != nil {
				return fmt.Errorf("loadgen teardown: session %d: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = eachSession(sessions, func(s int, sess Session) error {
		for p := s; p < cfg.Parents; p += len(sessions) {
			if err := deleteIfPresent(ctx, sess, cfg.parentPath(p)); err != nil {
				return fmt.Errorf("loadgen teardown: session %d: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range []string{cfg.createsParent(), cfg.Root + "/keys", cfg.Root} {
		if err := deleteIfPresent(ctx, sessions[0], p); err != nil {
			return fmt.Errorf("loadgen teardown: %w", err)
		}
	}
	return nil
}

func createIfMissing(ctx context.Context, s Session, path string, data []byte) error {
	if err := s.Create(ctx, path, data); err != nil && !errors.Is(err, ErrNodeExists) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

func deleteIfPresent(ctx context.Context, s Session, path string) error {
	if err := s.Delete(ctx, path); err != nil && !errors.Is(err, ErrNoNode) {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	return nil
}

// eachSession runs f for every session in its own goroutine, waits for all,
// and joins their errors.
func eachSession(sessions []Session, f func(s int, sess Session) error) error {
	errs := make([]error, len(sessions))
	var wg sync.WaitGroup
	for i, sess := range sessions {
		wg.Go(func() { errs[i] = f(i, sess) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Result is what a run measured.
type Result struct {
	Workload Workload
	Sessions int
	Ops      int64         // measured operations completed
	Elapsed  time.Duration // wall time of the measured part
	Latency  *Histogram    // of the measured operations
}

// Throughput returns the measured operations per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

// Merge adds o, a run of the same workload made after or before r, to r: the
// operations and wall times add up and the latencies merge, so that a
// measurement split into interleaved rounds reports as one.
func (r *Result) Merge(o *Result) {
	if r.Latency == nil {
		r.Latency = new(Histogram)
	}
	if r.Workload == 0 {
		r.Workload, r.Sessions = o.Workload, o.Sessions
	}
	r.Ops += o.Ops
	r.Elapsed += o.Elapsed
	if o.Latency != nil {
		r.Latency.Merge(o.Latency)
	}
}

// Run runs cfg's workload with one goroutine per session and returns what it
// measured. Setup must have prepared the key space with the same Root, Keys
// and ValueSize. The Create workload deletes the nodes it made before Run
// returns (that clean-up is not measured).
//
// Run stops at the first failed request and returns its error; it also
// stops when ctx ends, returning ctx's error and leaving any created nodes
// in place.
func Run(ctx context.Context, sessions []Session, cfg Config) (*Result, error) {
	if len(sessions) == 0 {
		return nil, errors.New("loadgen run: no sessions")
	}
	cfg = cfg.withDefaults()
	switch cfg.Workload {
	case GetData, SetData, Create, Mix9010:
	default:
		return nil, fmt.Errorf("loadgen run: %v is not a workload", cfg.Workload)
	}
	if cfg.OwnKey && cfg.Keys < len(sessions) {
		return nil, fmt.Errorf("loadgen run: OwnKey with %d keys for %d sessions", cfg.Keys, len(sessions))
	}
	keys := make([]string, cfg.Keys)
	for i := range keys {
		keys[i] = cfg.keyPath(i)
	}

	parent := ctx
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	var measureUntil time.Time // zero: no time bound
	if cfg.Duration > 0 {
		measureUntil = measureFrom.Add(cfg.Duration)
	}
	var issued atomic.Int64 // measured operations begun, against cfg.Ops

	workers := make([]*worker, len(sessions))
	for i, sess := range sessions {
		own := keys
		if cfg.OwnKey {
			own = keys[i : i+1]
		}
		workers[i] = &worker{
			id:     i,
			sess:   sess,
			cfg:    &cfg,
			keys:   own,
			rng:    rand.New(rand.NewPCG(cfg.Seed, uint64(i))),
			value:  make([]byte, cfg.ValueSize),
			prefix: cfg.createPrefix(i),
		}
	}
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			errs[i] = w.loop(ctx, measureFrom, measureUntil, cfg.Ops, &issued)
			if errs[i] != nil {
				cancel() // one failure ends the run for every session
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(measureFrom)

	// The first real failure, not the cancellations it caused in the
	// other sessions; failing that, the end of the caller's context.
	var runErr error
	for _, e := range errs {
		if e != nil && !errors.Is(e, context.Canceled) {
			runErr = e
			break
		}
	}
	if runErr == nil {
		runErr = parent.Err()
	}

	// Clean up even after a failure, unless the caller's context has
	// ended: then the created nodes are left behind.
	if cfg.Workload == Create && parent.Err() == nil {
		if err := eachSession(sessions, func(s int, sess Session) error {
			return workers[s].deleteCreated(parent)
		}); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("loadgen run: clean up created nodes: %w", err))
		}
	}
	if runErr != nil {
		return nil, runErr
	}

	res := &Result{Workload: cfg.Workload, Sessions: len(sessions), Elapsed: elapsed, Latency: new(Histogram)}
	for _, w := range workers {
		res.Latency.Merge(&w.hist)
	}
	res.Ops = int64(res.Latency.Count())
	return res, nil
}

// worker is one session's request loop and what it measured.
type worker struct {
	id     int
	sess   Session
	cfg    *Config
	keys   []string // the keys this worker chooses from
	rng    *rand.Rand
	value  []byte // data for Set and Create, rewritten before each Set
	prefix string // of the paths this worker creates

	created int64 // Create attempts: paths prefix+0 .. prefix+created-1
	hist    Histogram
}

// loop issues requests until measureUntil passes (if set), maxOps measured
// requests have been issued over all workers (if positive), ctx ends or a
// request fails.
func (w *worker) loop(ctx context.Context, measureFrom, measureUntil time.Time, maxOps int64, issued *atomic.Int64) error {
	path := make([]byte, 0, len(w.prefix)+20)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		t0 := time.Now()
		if !measureUntil.IsZero() && !t0.Before(measureUntil) {
			return nil
		}
		measured := !t0.Before(measureFrom)
		if measured && maxOps > 0 && issued.Add(1) > maxOps {
			return nil
		}
		op := w.cfg.Workload
		if op == Mix9010 {
			op = GetData
			if w.rng.IntN(10) == 0 {
				op = SetData
			}
		}
		var err error
		var target string
		switch op {
		case GetData:
			target = w.keys[w.rng.IntN(len(w.keys))]
			_, err = w.sess.Get(ctx, target)
		case SetData:
			target = w.keys[w.rng.IntN(len(w.keys))]
			w.value[0] = byte('a' + w.rng.IntN(26)) // the data changes with every set
			err = w.sess.Set(ctx, target, w.value)
		case Create:
			path = strconv.AppendInt(append(path[:0], w.prefix...), w.created, 10)
			target = string(path)
			w.created++
			err = w.sess.Create(ctx, target, w.value)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("session %d: %v %s: %w", w.id, op, target, err)
		}
		if measured {
			w.hist.Record(time.Since(t0))
		}
	}
}

// deleteCreated deletes every node the worker's Create requests may have
// made.
func (w *worker) deleteCreated(ctx context.Context) error {
	for n := range w.created {
		if err := deleteIfPresent(ctx, w.sess, w.prefix+strconv.FormatInt(n, 10)); err != nil {
			return fmt.Errorf("session %d: %w", w.id, err)
		}
	}
	return nil
}

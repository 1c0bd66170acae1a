package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/testcluster"
)

// Environment variables of BenchmarkAttacks.
const (
	envAttack         = "ZKD_BENCH_ATTACK"          // "1" runs BenchmarkAttacks; it skips otherwise
	envAttackDuration = "ZKD_BENCH_ATTACK_DURATION" // how long each attack runs; default 10s
	envAttackRecovery = "ZKD_BENCH_ATTACK_RECOVERY" // longest wait for the canary to be normal after an attack; default 20s
	envAttackBaseline = "ZKD_BENCH_ATTACK_BASELINE" // canary time before each attack; default 2s
	envAttackList     = "ZKD_BENCH_ATTACKS"         // attacks to run, by name, comma-separated; default all
	envAttackChildren = "ZKD_BENCH_ATTACK_CHILDREN" // children of the node the large reads list; default 100000
	envAttackConns    = "ZKD_BENCH_ATTACK_CONNS"    // connections the connections attack holds; default 5000
)

// The canary's thresholds: an operation slower than canarySlow, or one
// that fails, is bad; the canary is normal again once canaryQuiet has
// passed with only good operations.
const (
	canarySlow  = 50 * time.Millisecond
	canaryQuiet = time.Second
)

// attackSettings are BenchmarkAttacks' knobs, read from the environment.
type attackSettings struct {
	duration, recovery, baseline time.Duration
	attacks                      []attack
	children, conns              int
}

func readAttackSettings(b *testing.B) attackSettings {
	s := attackSettings{duration: 10 * time.Second, recovery: 20 * time.Second, baseline: 2 * time.Second,
		children: 100000, conns: 5000}
	for _, e := range []struct {
		name string
		dst  *time.Duration
	}{{envAttackDuration, &s.duration}, {envAttackRecovery, &s.recovery}, {envAttackBaseline, &s.baseline}} {
		if v := os.Getenv(e.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				b.Fatalf("%s=%q: want a positive duration such as 10s", e.name, v)
			}
			*e.dst = d
		}
	}
	if v := os.Getenv(envAttackChildren); v != "" {
		s.children = envInts(b, envAttackChildren, nil)[0]
	}
	if v := os.Getenv(envAttackConns); v != "" {
		s.conns = envInts(b, envAttackConns, nil)[0]
	}
	all := attacks(s)
	s.attacks = all
	if v := os.Getenv(envAttackList); v != "" {
		s.attacks = nil
		for name := range strings.SplitSeq(v, ",") {
			i := slices.IndexFunc(all, func(a attack) bool { return a.name == strings.TrimSpace(name) })
			if i < 0 {
				var names []string
				for _, a := range all {
					names = append(names, a.name)
				}
				b.Fatalf("%s=%q: unknown attack %q (want some of %s)", envAttackList, v, name, strings.Join(names, ","))
			}
			s.attacks = append(s.attacks, all[i])
		}
	}
	return s
}

// attack is one misbehaving client, run against one server at a time.
type attack struct {
	name  string // for ZKD_BENCH_ATTACKS
	title string // for the tables
	// tree says the attack lists the node with many children, which is
	// built before the server's turn.
	tree bool
	// run attacks the server at addr until ctx ends, then closes every
	// connection it opened and returns a line on what it did. It returns
	// soon after ctx ends whatever the server does.
	run func(ctx context.Context, addr string) string
}

// bigParent is the node with settings.children children.
const bigParent = "/attack-children"

// attacks returns the attacks of the issue, in the order they run.
func attacks(s attackSettings) []attack {
	return []attack{
		{name: "slowreader", title: "slow reader ×4", tree: true, run: slowReaders},
		{name: "inflight", title: "1,000 in-flight large reads", tree: true, run: inFlightReads},
		{name: "writeflood", title: "1 MB write flood", run: writeFlood},
		{name: "connections", title: fmt.Sprintf("%d connections", s.conns), run: func(ctx context.Context, addr string) string {
			return holdSessions(ctx, addr, s.conns)
		}},
		{name: "halfhandshake", title: "1,000 half handshakes", run: halfHandshakes},
	}
}

// getChildrenFrame lists bigParent without a watch.
func getChildrenFrame(xid int32) []byte {
	return frame(xid, jute.OpGetChildren, &jute.PathWatchRequest{Path: bigParent})
}

// slowReaders opens 4 sessions that pipeline getChildren of bigParent as
// fast as the server takes them and never read a byte of the replies.
func slowReaders(ctx context.Context, addr string) string {
	const conns, batch = 4, 64
	var sent atomic.Int64
	var wg sync.WaitGroup
	var firstErr onceError
	// Every session is up before any request goes out: a stalled server
	// would not answer the later handshakes.
	var opened []net.Conn
	for range conns {
		conn, _, err := dialSession(ctx, addr)
		if err != nil {
			firstErr.set(err)
			continue
		}
		opened = append(opened, conn)
	}
	for _, conn := range opened {
		wg.Go(func() {
			defer conn.Close()
			var buf []byte
			for xid := int32(1); ctx.Err() == nil; {
				buf = buf[:0]
				for range batch {
					buf = append(buf, getChildrenFrame(xid)...)
					xid++
				}
				if err := writeAll(ctx, conn, buf); err != nil {
					if ctx.Err() == nil {
						firstErr.set(err)
					}
					return
				}
				sent.Add(batch)
			}
		})
	}
	wg.Wait()
	return fmt.Sprintf("%d requests written%s", sent.Load(), firstErr.suffix())
}

// inFlightReads opens one session that reads its replies but keeps 1,000
// getChildren of bigParent in flight.
func inFlightReads(ctx context.Context, addr string) string {
	conn, r, err := dialSession(ctx, addr)
	if err != nil {
		return "no session: " + err.Error()
	}
	defer conn.Close()
	var replies atomic.Int64
	// The pipeline ends when ctx does, after an hour's worth of requests,
	// or at the first failure.
	err = pipeline(ctx, conn, r, 1<<30, 1000, func(i int) []byte { return getChildrenFrame(int32(i + 1)) },
		func(h jute.ReplyHeader) error {
			if h.Err != jute.OK {
				return fmt.Errorf("getChildren: error %d", h.Err)
			}
			replies.Add(1)
			return nil
		})
	s := fmt.Sprintf("%d replies read", replies.Load())
	if err != nil && ctx.Err() == nil {
		s += "; " + err.Error()
	}
	return s
}

// floodValue is the size of each setData of writeFlood: just under
// jute.maxbuffer once the request's other fields are added.
const floodValue = jute.DefaultMaxBuffer - 1024

// writeFlood opens 4 sessions, each pipelining setData of floodValue bytes
// on a node of its own as fast as the server takes them, and reading the
// replies.
func writeFlood(ctx context.Context, addr string) string {
	const conns = 4
	var acked, failed atomic.Int64
	var wg sync.WaitGroup
	var firstErr onceError
	value := make([]byte, floodValue)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	acl := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	// Every session is up and has its node before any flood goes out: a
	// stalled server would not answer the later handshakes.
	type flooder struct {
		conn net.Conn
		r    *bufio.Reader
		path string
	}
	var flooders []flooder
	for c := range conns {
		conn, r, err := dialSession(ctx, addr)
		if err != nil {
			firstErr.set(err)
			continue
		}
		path := fmt.Sprintf("/attack-flood-%d", c)
		h, err := call(conn, r, frame(1, jute.OpCreate, &jute.CreateRequest{Path: path, ACL: acl}))
		if err != nil || (h.Err != jute.OK && h.Err != jute.ErrNodeExists) {
			firstErr.set(fmt.Errorf("create %s: %v (error %d)", path, err, h.Err))
			conn.Close()
			continue
		}
		flooders = append(flooders, flooder{conn, r, path})
	}
	for _, f := range flooders {
		conn, r, path := f.conn, f.r, f.path
		wg.Go(func() {
			defer conn.Close()
			// pipeline copies each request before asking for the next,
			// so one frame serves them all with its xid rewritten.
			req := frame(0, jute.OpSetData, &jute.SetDataRequest{Path: path, Data: value, Version: -1})
			err := pipeline(ctx, conn, r, 1<<30, 1<<20, func(i int) []byte {
				binary.BigEndian.PutUint32(req[4:], uint32(i+2))
				return req
			}, func(h jute.ReplyHeader) error {
				if h.Err != jute.OK {
					failed.Add(1)
				} else {
					acked.Add(1)
				}
				return nil
			})
			if err != nil && ctx.Err() == nil {
				firstErr.set(err)
			}
		})
	}
	wg.Wait()
	s := fmt.Sprintf("%d MB acknowledged", acked.Load()*floodValue/1e6)
	if n := failed.Load(); n > 0 {
		s += fmt.Sprintf(", %d refused", n)
	}
	return s + firstErr.suffix()
}

// holdSessions opens n sessions, 32 handshakes at a time, and holds them
// until ctx ends.
func holdSessions(ctx context.Context, addr string, n int) string {
	const dialers = 32
	start := time.Now()
	var mu sync.Mutex
	var conns []net.Conn
	var firstErr onceError
	var failures atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	var allUp time.Duration
	for range dialers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				conn, _, err := dialSession(ctx, addr)
				if err != nil {
					if ctx.Err() == nil {
						failures.Add(1)
						firstErr.set(err)
					}
					continue
				}
				mu.Lock()
				conns = append(conns, conn)
				if len(conns) == n {
					allUp = time.Since(start)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	<-ctx.Done()
	for _, c := range conns {
		c.Close()
	}
	s := fmt.Sprintf("%d of %d sessions", len(conns), n)
	if allUp > 0 {
		s += fmt.Sprintf(" open after %.1f s", allUp.Seconds())
	}
	if f := failures.Load(); f > 0 {
		s += fmt.Sprintf(", %d handshakes failed", f)
	}
	return s + firstErr.suffix()
}

// halfHandshakes opens 1,000 connections that each send the length prefix
// and the first 10 bytes of a ConnectRequest, then nothing, until ctx ends.
// It counts the connections the server closes meanwhile.
func halfHandshakes(ctx context.Context, addr string) string {
	const n, dialers = 1000, 32
	part := connectFrame()[:14]
	var opened, closedByServer atomic.Int64
	var firstErr onceError
	var next atomic.Int64
	var wg sync.WaitGroup
	for range dialers {
		wg.Go(func() {
			for next.Add(1) <= n && ctx.Err() == nil {
				var d net.Dialer
				dctx, cancel := context.WithTimeout(ctx, rawHandshakeWait)
				conn, err := d.DialContext(dctx, "tcp", addr)
				cancel()
				if err != nil {
					if ctx.Err() == nil {
						firstErr.set(err)
					}
					continue
				}
				if err := writeAll(ctx, conn, part); err != nil {
					conn.Close()
					continue
				}
				opened.Add(1)
				// A reader per connection notices the server closing
				// it; the connection is closed when ctx ends.
				stop := context.AfterFunc(ctx, func() { conn.Close() })
				wg.Go(func() {
					defer conn.Close()
					defer stop()
					if _, err := conn.Read(make([]byte, 1)); ctx.Err() == nil && err != nil {
						closedByServer.Add(1)
					}
				})
			}
		})
	}
	wg.Wait()
	return fmt.Sprintf("%d opened, %d closed by the server during the attack%s", opened.Load(), closedByServer.Load(), firstErr.suffix())
}

// onceError keeps the first error it is given.
type onceError struct {
	mu  sync.Mutex
	err error
}

func (o *onceError) set(err error) {
	o.mu.Lock()
	if o.err == nil {
		o.err = err
	}
	o.mu.Unlock()
}

// suffix returns "; first error: ..." or "".
func (o *onceError) suffix() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		return ""
	}
	return "; first error: " + o.err.Error()
}

// canaryOp is one getData or setData of the canary.
type canaryOp struct {
	start, end time.Time
	err        string // empty if the operation succeeded
}

func (o canaryOp) failed() bool { return o.err != "" }

func (o canaryOp) bad() bool { return o.failed() || o.end.Sub(o.start) > canarySlow }

// canary is a well-behaved client: one go-zookeeper session doing getData
// then setData of its own node in a closed loop, recording every
// operation.
type canary struct {
	conn *zk.Conn
	path string

	mu       sync.Mutex // guards the fields below
	ops      []canaryOp
	inFlight time.Time // start of the operation under way; zero between operations

	stop chan struct{}
	done chan struct{}
}

// startCanary connects, creates the canary's node and starts the loop.
func startCanary(ctx context.Context, addr, path string) (*canary, error) {
	conns, err := dialSessions(ctx, addr, 1)
	if err != nil {
		return nil, err
	}
	c := &canary{conn: conns[0], path: path, stop: make(chan struct{}), done: make(chan struct{})}
	if _, err := c.conn.Create(path, []byte("canary"), 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		c.conn.Close()
		return nil, fmt.Errorf("create %s on %s: %w", path, addr, err)
	}
	go c.loop()
	return c, nil
}

func (c *canary) loop() {
	defer close(c.done)
	value := []byte("canary-value")
	for {
		for _, set := range []bool{false, true} {
			select {
			case <-c.stop:
				return
			default:
			}
			start := time.Now()
			c.mu.Lock()
			c.inFlight = start
			c.mu.Unlock()
			var err error
			if set {
				_, err = c.conn.Set(c.path, value, -1)
			} else {
				_, _, err = c.conn.Get(c.path)
			}
			end := time.Now()
			c.mu.Lock()
			c.inFlight = time.Time{}
			op := canaryOp{start: start, end: end}
			if err != nil {
				op.err = err.Error()
			}
			c.ops = append(c.ops, op)
			c.mu.Unlock()
			if err != nil {
				// A failing client does not spin: go-zookeeper fails
				// calls at once while it reconnects.
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}

// close stops the loop and the session, waiting at most a few seconds for
// an operation stuck on an unresponsive server.
func (c *canary) close() {
	close(c.stop)
	closed := make(chan struct{})
	go func() { c.conn.Close(); close(closed) }()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
	}
}

// normalSince reports whether the canary has been normal for canaryQuiet
// at now, considering only operations that ended after from: at least one
// good operation ended, and no bad one, in the last canaryQuiet, and the
// operation under way, if any, is not already slow.
func (c *canary) normalSince(from, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.inFlight.IsZero() && now.Sub(c.inFlight) > canarySlow {
		return false
	}
	quietFrom := from
	if now.Sub(quietFrom) < canaryQuiet {
		return false
	}
	good := false
	for _, o := range slices.Backward(c.ops) {
		if o.end.Before(from) {
			break
		}
		if o.bad() {
			quietFrom = o.end
			break
		}
		good = true
	}
	return good && now.Sub(quietFrom) >= canaryQuiet
}

// cell is one attack on one server, measured.
type cell struct {
	server   string
	attacker string // what the attack did

	baseline, during      latencies
	errsDuring, errsAfter int
	errMsgs               map[string]int
	// recovery is the time from the attack's end to the end of the last
	// bad canary operation, or -1 if the canary was not normal within the
	// recovery watch.
	recovery    time.Duration
	rssBefore   int64
	rssPeak     int64 // sampled VmRSS during the attack and the recovery watch
	treeBuild   time.Duration
	serverDied  bool
	deathNote   string // the server's last log lines on why it exited
	openFiles   string // the server's RLIMIT_NOFILE
	loadAverage string // at the attack's end
}

// latencies summarises the canary operations of a window.
type latencies struct {
	ops                 int
	p50, p99, p999, max time.Duration
}

func summarise(ops []canaryOp) latencies {
	if len(ops) == 0 {
		return latencies{}
	}
	d := make([]time.Duration, len(ops))
	for i, o := range ops {
		d[i] = o.end.Sub(o.start)
	}
	slices.Sort(d)
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return latencies{ops: len(d), p50: q(0.5), p99: q(0.99), p999: q(0.999), max: d[len(d)-1]}
}

// BenchmarkAttacks runs each misbehaving client of the hardening issue
// against zkd and against Apache ZooKeeper 3.8 while a canary session does
// getData and setData on the same server, and prints, per attack and
// server, the canary's latency and errors during the attack, the time the
// canary took to be normal again once the attacker had gone, and the
// server's RSS. Every attack and server gets a fresh server process
// (maxClientCnxns=0 on both, ZooKeeper with the 1000 MB heap zkServer.sh
// gives it); the two servers take turns, alternating which goes first.
//
// It runs only with ZKD_BENCH_ATTACK=1 and ignores b.N:
//
//	ZKD_BENCH_ATTACK=1 go test ./test/bench -run '^$' -bench '^BenchmarkAttacks$' -benchtime 1x -timeout 30m
//
// ZKD_BENCH_ATTACK_DURATION, _RECOVERY, _BASELINE, _CHILDREN, _CONNS and
// ZKD_BENCH_ATTACKS size it (see the constants).
func BenchmarkAttacks(b *testing.B) {
	if os.Getenv(envAttack) != "1" {
		b.Skipf("set %s=1 to run the misbehaving-client benchmark (several minutes; see docs/benchmarks.md)", envAttack)
	}
	cfg := readAttackSettings(b)
	raiseOpenFiles(b)
	ctx := b.Context()
	loadBefore := loadAverage()
	start := time.Now()

	results := make([][2]*cell, len(cfg.attacks)) // zkd, ZooKeeper
	for i, a := range cfg.attacks {
		for k := range 2 {
			side := (i + k) % 2 // alternate which server goes first
			c := runCell(ctx, b, cfg, a, side == 0)
			results[i][side] = c
			fmt.Fprintf(os.Stderr, "attack %s on %s: %s; canary p99 %s, errors %d+%d, normal again %s\n",
				a.name, c.server, c.attacker, fmtLatency(c.during.p99), c.errsDuring, c.errsAfter, fmtRecovery(c.recovery, cfg.recovery))
		}
	}
	printAttackReport(os.Stdout, cfg, results, loadBefore, time.Since(start))
	b.ReportMetric(0, "ns/op")
}

// raiseOpenFiles lifts this process's soft RLIMIT_NOFILE to its hard
// limit, for the connections attack (Go does so at start-up too, and
// restores the original soft limit in the servers it starts).
func raiseOpenFiles(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatalf("getrlimit: %v", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatalf("setrlimit NOFILE %d: %v", lim.Max, err)
	}
}

// openFilesLimit returns the soft "Max open files" of a process.
func openFilesLimit(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0]
			}
		}
	}
	return "?"
}

// runCell starts a fresh server, builds what the attack needs, and runs
// the canary through baseline, attack and recovery watch, then stops the
// server.
func runCell(ctx context.Context, b *testing.B, cfg attackSettings, a attack, zkd bool) *cell {
	extra := []string{"maxClientCnxns=0"}
	c := &cell{server: "ZooKeeper", recovery: -1}
	var addr string
	var pid int
	var stop func()
	var logTail func() string
	if zkd {
		c.server = "zkd"
		z := testcluster.StartZkd(b, testcluster.ZkdOptions{ExtraConfig: extra})
		addr, stop, logTail = z.Addr, z.Stop, z.LogTail
		pid = mustPID(b, z.Port)
	} else {
		// zkServer.sh gives the server a 1000 MB heap; testcluster's
		// 256 MB would make this a test of the heap size.
		z := testcluster.StartApacheZK(b, testcluster.ApacheOptions{ExtraConfig: extra, JVMFlags: []string{"-Xmx1000m"}})
		addr, stop, logTail = z.Addr, z.Stop, z.LogTail
		pid = mustPID(b, z.Port)
	}
	defer stop()
	c.openFiles = openFilesLimit(pid)

	if a.tree {
		t0 := time.Now()
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err := buildChildren(bctx, addr, bigParent, cfg.children)
		cancel()
		if err != nil {
			b.Fatalf("%s: %v", c.server, err)
		}
		c.treeBuild = time.Since(t0)
	}

	can, err := startCanary(ctx, addr, "/canary")
	if err != nil {
		b.Fatalf("%s: canary: %v", c.server, err)
	}
	baselineStart := time.Now()
	sleepCtx(ctx, cfg.baseline)

	if m, err := processMemory(pid); err == nil {
		c.rssBefore = m.rss
	}
	sampler := startRSSSampler(pid)

	attackStart := time.Now()
	actx, cancel := context.WithTimeout(ctx, cfg.duration)
	attackDone := make(chan string, 1)
	go func() { attackDone <- a.run(actx, addr) }()
	<-actx.Done()
	cancel()
	select {
	case c.attacker = <-attackDone:
	case <-time.After(30 * time.Second):
		c.attacker = "the attacker did not stop within 30 s of its end"
	}
	attackEnd := time.Now()
	c.loadAverage = loadAverage()

	// The recovery watch.
	watchEnd := attackEnd.Add(cfg.recovery)
	for now := time.Now(); now.Before(watchEnd) && ctx.Err() == nil; now = time.Now() {
		if can.normalSince(attackEnd, now) {
			c.recovery = 0
			break
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
	// Closing the session fails the operation under way; operations that
	// end from here on are not the server's doing.
	watchStop := time.Now()
	can.mu.Lock()
	if stuck := can.inFlight; !stuck.IsZero() && watchStop.Sub(stuck) > canarySlow {
		can.ops = append(can.ops, canaryOp{start: stuck, end: watchStop, err: "no answer by the end of the recovery watch"})
	}
	can.mu.Unlock()
	can.close()
	c.rssPeak, c.serverDied = sampler.stop()
	if c.serverDied {
		c.deathNote = lastLinesLike(logTail(), "outofmemory", "exiting", "fatal", "panic", "killed")
	}

	can.mu.Lock()
	ops := can.ops
	can.mu.Unlock()
	c.errMsgs = map[string]int{}
	var base, during []canaryOp
	for _, o := range ops {
		if o.end.After(watchStop) {
			continue
		}
		if o.failed() {
			c.errMsgs[o.err]++
		}
		switch {
		case o.start.Before(baselineStart):
		case o.start.Before(attackStart):
			base = append(base, o)
		case o.start.Before(attackEnd):
			during = append(during, o)
			if o.failed() {
				c.errsDuring++
			}
		default:
			if o.failed() {
				c.errsAfter++
			}
		}
		if c.recovery >= 0 && o.bad() && o.end.After(attackEnd) {
			c.recovery = max(c.recovery, o.end.Sub(attackEnd))
		}
	}
	c.baseline, c.during = summarise(base), summarise(during)
	return c
}

func mustPID(b *testing.B, port int) int {
	pid, err := listenerPID(port)
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// rssSampler reads a process's VmRSS every 100 ms and keeps the largest.
type rssSampler struct {
	peak atomic.Int64
	dead atomic.Bool
	quit chan struct{}
	done chan struct{}
}

func startRSSSampler(pid int) *rssSampler {
	s := &rssSampler{quit: make(chan struct{}), done: make(chan struct{})}
	sample := func() {
		m, err := processMemory(pid)
		if err != nil {
			s.dead.Store(true)
			return
		}
		if m.rss > s.peak.Load() {
			s.peak.Store(m.rss)
		}
	}
	sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak and whether the process was
// gone at some sample.
func (s *rssSampler) stop() (peak int64, died bool) {
	close(s.quit)
	<-s.done
	return s.peak.Load(), s.dead.Load()
}

func fmtLatency(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func fmtRecovery(d, watch time.Duration) string {
	switch {
	case d < 0:
		return fmt.Sprintf("did not recover within %v", watch)
	case d == 0:
		return "0 (nothing bad after the attack)"
	}
	return fmtLatency(d)
}

// printAttackReport writes the method, a table with every figure, and a
// table of zkd's figures as ratios of ZooKeeper's.
func printAttackReport(w io.Writer, cfg attackSettings, results [][2]*cell, loadBefore string, took time.Duration) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintf(bw, "\nEach attack runs %v against a fresh server while the canary (one go-zookeeper session, getData then setData of its own node in a closed loop) runs; the canary ran %v before it and is watched for up to %v after it. ", cfg.duration, cfg.baseline, cfg.recovery)
	fmt.Fprintf(bw, "Slow: over %v. Normal again: the end of the last canary operation, after the attacker closed its connections, that failed or took over %v, once %v passed with none; 0 if there was none. ", canarySlow, canarySlow, canaryQuiet)
	fmt.Fprintf(bw, "Both servers standalone on loopback with maxClientCnxns=0 and forceSync=yes; ZooKeeper with -Xmx1000m. Large reads list a node of %d children. %d CPUs, %s; load average %s before, the run took %v.\n\n",
		cfg.children, runtime.NumCPU(), runtime.Version(), loadBefore, took.Round(time.Second))
	fmt.Fprintln(bw, "| attack | server | canary ops | p50 | p99 | p99.9 | max | errors (during + after) | normal again after | RSS before → peak | p99 before the attack | attacker | load avg |")
	fmt.Fprintln(bw, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|")
	for i, a := range cfg.attacks {
		for _, c := range results[i] {
			rss := fmt.Sprintf("%s → %s", fmtBytes(c.rssBefore), fmtBytes(c.rssPeak))
			if c.serverDied {
				rss += " (server exited)"
			}
			attacker := c.attacker
			if c.treeBuild > 0 {
				attacker += fmt.Sprintf(" (tree built in %.1f s)", c.treeBuild.Seconds())
			}
			fmt.Fprintf(bw, "| %s | %s | %d | %s | %s | %s | %s | %d + %d | %s | %s | %s | %s | %s |\n",
				a.title, c.server, c.during.ops, fmtLatency(c.during.p50), fmtLatency(c.during.p99), fmtLatency(c.during.p999), fmtLatency(c.during.max),
				c.errsDuring, c.errsAfter, fmtRecovery(c.recovery, cfg.recovery), rss, fmtLatency(c.baseline.p99), attacker, c.loadAverage)
		}
	}

	ratio := func(z, k float64) string {
		switch r := z / k; {
		case k == 0:
			return "n/a"
		case r < 0.1:
			return fmt.Sprintf("**%.2g**", r)
		default:
			return fmt.Sprintf("**%.2f**", r)
		}
	}
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| attack | canary ops zkd ÷ ZK | p99 zkd ÷ ZK | max zkd ÷ ZK | normal again zkd ÷ ZK | peak RSS zkd ÷ ZK |")
	fmt.Fprintln(bw, "|---|--:|--:|--:|--:|--:|")
	for i, a := range cfg.attacks {
		z, k := results[i][0], results[i][1]
		// A ratio says little when either side did not recover or had
		// nothing to recover from; the two times say it all then.
		rec := ratio(float64(z.recovery), float64(k.recovery))
		if z.recovery <= 0 || k.recovery <= 0 {
			short := func(d time.Duration) string {
				switch {
				case d < 0:
					return fmt.Sprintf("> %v", cfg.recovery)
				case d == 0:
					return "0"
				}
				return fmtLatency(d)
			}
			rec = fmt.Sprintf("zkd %s, ZK %s", short(z.recovery), short(k.recovery))
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s |\n", a.title,
			ratio(float64(z.during.ops), float64(k.during.ops)),
			ratio(float64(z.during.p99), float64(k.during.p99)),
			ratio(float64(z.during.max), float64(k.during.max)),
			rec,
			ratio(float64(z.rssPeak), float64(k.rssPeak)))
	}
	fmt.Fprintln(bw)
	for i, a := range cfg.attacks {
		for _, c := range results[i] {
			if len(c.errMsgs) == 0 {
				continue
			}
			var msgs []string
			for m, n := range c.errMsgs {
				msgs = append(msgs, fmt.Sprintf("%q ×%d", m, n))
			}
			slices.Sort(msgs)
			fmt.Fprintf(bw, "- canary errors, %s on %s: %s\n", a.title, c.server, strings.Join(msgs, ", "))
		}
	}
	for i, a := range cfg.attacks {
		for _, c := range results[i] {
			if c.serverDied {
				fmt.Fprintf(bw, "- %s exited during %s; its log ends with: %s\n", c.server, a.title, c.deathNote)
			}
		}
	}
	limits := map[string][]string{}
	for i := range cfg.attacks {
		for _, c := range results[i] {
			if !slices.Contains(limits[c.server], c.openFiles) {
				limits[c.server] = append(limits[c.server], c.openFiles)
			}
		}
	}
	fmt.Fprintf(bw, "- the servers' open-files limit (soft RLIMIT_NOFILE): zkd %s, ZooKeeper %s\n",
		strings.Join(limits["zkd"], ", "), strings.Join(limits["ZooKeeper"], ", "))
}

// lastLinesLike returns the last three lines of log that contain one of
// the words, ignoring case, joined by " / ".
func lastLinesLike(log string, words ...string) string {
	var found []string
	for line := range strings.Lines(log) {
		lower := strings.ToLower(line)
		for _, w := range words {
			if strings.Contains(lower, w) {
				found = append(found, "`"+strings.TrimSpace(line)+"`")
				break
			}
		}
	}
	if len(found) == 0 {
		return "(nothing about it)"
	}
	return strings.Join(found[max(0, len(found)-3):], " / ")
}

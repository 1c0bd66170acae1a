package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/loadgen"
	"github.com/zkd/zkd/internal/testcluster"
)

// Environment variables of the ensemble benchmarks.
const (
	envEnsemble      = "ZKD_BENCH_ENSEMBLE"       // "1" runs the ensemble benchmarks; they skip otherwise
	envFailoverRuns  = "ZKD_BENCH_FAILOVER_RUNS"  // leader kills per ensemble size, tickTime and server; default 20
	envFailoverTicks = "ZKD_BENCH_FAILOVER_TICKS" // tickTimes of BenchmarkEnsembleFailover in ms; default "2000,200"
	envFailoverSizes = "ZKD_BENCH_FAILOVER_SIZES" // ensemble sizes of BenchmarkEnsembleFailover; default "3,5"
	envClients       = "ZKD_BENCH_CLIENTS"        // client counts of BenchmarkEnsembleThroughput; default "1,32,128"
	envFailoverLogs  = "ZKD_BENCH_FAILOVER_LOGS"  // a directory to keep the survivors' log lines of every failover in; unset keeps none
)

// requireEnsembleBench skips the benchmark unless ZKD_BENCH_ENSEMBLE=1: the
// ensemble benchmarks take minutes, too long for "-bench .".
func requireEnsembleBench(b *testing.B) {
	if os.Getenv(envEnsemble) != "1" {
		b.Skipf("set %s=1 to run the ensemble benchmarks (several minutes; see docs/benchmarks.md)", envEnsemble)
	}
}

// envInts reads a comma-separated list of positive integers, or returns
// def when the variable is unset.
func envInts(b *testing.B, name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want positive integers separated by commas", name, v)
		}
		out = append(out, n)
	}
	return out
}

// ensembleKinds are the two sides of every comparison, zkd first.
var ensembleKinds = []testcluster.Kind{testcluster.KindZkd, testcluster.KindApache}

// kindName is how the tables name a side.
func kindName(k testcluster.Kind) string {
	if k == testcluster.KindZkd {
		return "zkd"
	}
	return "ZooKeeper"
}

func startBenchEnsemble(b *testing.B, kind testcluster.Kind, size, tick int, extra []string) *testcluster.Ensemble {
	members := make([]testcluster.Kind, size)
	for i := range members {
		members[i] = kind
	}
	return testcluster.StartEnsemble(b, testcluster.EnsembleOptions{
		Members:      members,
		TickTime:     tick,
		ExtraConfig:  extra,
		StartTimeout: 2 * time.Minute,
	})
}

// loadAverage returns the first three fields of /proc/loadavg, to note how
// busy the shared machine was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

// ---------------------------------------------------------------------
// Failover

// failoverRun is one SIGKILL of a leader, measured from the moment before
// the signal.
type failoverRun struct {
	// write is the time to the first acknowledged setData issued after the
	// kill, by a client that retries connecting without a pause
	// (eagerHosts); -1 if none came within failoverLimit.
	write time.Duration
	// defaultWrite is the same for a second client with go-zookeeper's
	// default host provider, which sleeps a second each time it has tried
	// every server in vain; -1 if none came.
	defaultWrite time.Duration
	// reconnect is when the eager client next had a session.
	reconnect time.Duration
	// From the surviving servers' logs, relative to the kill; -1 when the
	// line was not found: the first survivor to start looking for a
	// leader, the new leader deciding it leads, and the new leader
	// serving (zkd "serving clients", ZooKeeper "leading - broadcast").
	looking, elected, serving time.Duration
	// errs counts the errors the eager client's retries got, by message.
	errs map[string]int
	// lost is non-empty when a write acknowledged before or during the
	// failover was not in the node afterwards.
	lost string
}

// failoverLimit bounds one failover measurement.
const failoverLimit = 60 * time.Second

// eagerHosts is a go-zookeeper HostProvider that never reports having
// tried every server, so the client never takes go-zookeeper's one-second
// pause between rounds of connection attempts. It waits 5 ms after each
// full round instead, so that a round of refusals does not spin.
type eagerHosts struct {
	mu      sync.Mutex
	servers []string
	next    int
}

func (h *eagerHosts) Init(servers []string) error {
	h.servers = append([]string(nil), servers...)
	return nil
}

func (h *eagerHosts) Len() int { return len(h.servers) }

func (h *eagerHosts) Next() (string, bool) {
	h.mu.Lock()
	i := h.next
	h.next = (h.next + 1) % len(h.servers)
	h.mu.Unlock()
	if i == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	return h.servers[i], false
}

func (h *eagerHosts) Connected() {}

// failoverClient is one session that sets its own node in a loop.
type failoverClient struct {
	conn   *zk.Conn
	events <-chan zk.Event
	path   string
}

func dialFailoverClient(ctx context.Context, addrs []string, path string, eager bool) (*failoverClient, error) {
	var (
		c      *zk.Conn
		events <-chan zk.Event
		err    error
	)
	if eager {
		c, events, err = zk.Connect(addrs, 30*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}), zk.WithHostProvider(&eagerHosts{}))
	} else {
		c, events, err = zk.Connect(addrs, 30*time.Second, zk.WithLogInfo(false), zk.WithLogger(quietLogger{}))
	}
	if err != nil {
		return nil, err
	}
	if err := waitForSession(ctx, events); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Create(path, []byte("0"), 0, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		c.Close()
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &failoverClient{conn: c, events: events, path: path}, nil
}

// writeLoop sets the node to 1, 2, 3, … until a set issued after
// *killed (nanoseconds since the Unix epoch, 0 until the leader is gone)
// succeeds, and returns when that set was answered, how many sets were
// acknowledged, the last value acknowledged, and the errors seen after
// the kill.
func (c *failoverClient) writeLoop(ctx context.Context, killed *atomic.Int64) (done time.Time, acked, last int64, errs map[string]int) {
	errs = map[string]int{}
	for seq := int64(1); ctx.Err() == nil; seq++ {
		start := time.Now()
		_, err := c.conn.Set(c.path, []byte(strconv.FormatInt(seq, 10)), -1)
		after := killed.Load() != 0 && start.UnixNano() >= killed.Load()
		if err == nil {
			acked++
			last = seq
			if after {
				return time.Now(), acked, last, errs
			}
			continue
		}
		if killed.Load() != 0 {
			errs[err.Error()]++
		}
		if errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrClosing) {
			return time.Time{}, acked, last, errs
		}
	}
	return time.Time{}, acked, last, errs
}

// check reads the node back: its data must be the last value acknowledged
// (the loop stops right after it) and its version must count at least
// every acknowledged set.
func (c *failoverClient) check(acked, last int64) string {
	data, stat, err := c.conn.Get(c.path)
	if err != nil {
		return fmt.Sprintf("read back %s: %v", c.path, err)
	}
	if string(data) != strconv.FormatInt(last, 10) || int64(stat.Version) < acked {
		return fmt.Sprintf("%s holds %q at version %d after %d acknowledged sets, the last of them %d", c.path, data, stat.Version, acked, last)
	}
	return ""
}

// failoverOnce kills the ensemble's leader with SIGKILL while two clients
// connected to the other members set a node in a loop, measures the time
// until each has a set acknowledged, restarts the old leader, and waits
// until every member serves again.
func failoverOnce(b *testing.B, e *testcluster.Ensemble, kind testcluster.Kind, run int) failoverRun {
	ctx := b.Context()
	leader := e.WaitForLeader(b, 2*time.Minute)
	var survivors []*testcluster.Member
	var addrs []string
	for _, m := range e.Servers() {
		if m != leader {
			survivors = append(survivors, m)
			addrs = append(addrs, m.Addr)
		}
	}
	eager, err := dialFailoverClient(ctx, addrs, "/failover-eager", true)
	if err != nil {
		b.Fatalf("%v: %v", kind, err)
	}
	defer eager.conn.Close()
	plain, err := dialFailoverClient(ctx, addrs, "/failover-default", false)
	if err != nil {
		b.Fatalf("%v: %v", kind, err)
	}
	defer plain.conn.Close()

	var killed atomic.Int64
	var reconnected atomic.Int64
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		for ev := range eager.events {
			if ev.State == zk.StateHasSession && killed.Load() != 0 && reconnected.Load() == 0 {
				reconnected.Store(time.Now().UnixNano())
			}
		}
	}()
	type loopResult struct {
		done        time.Time
		acked, last int64
		errs        map[string]int
	}
	lctx, cancel := context.WithTimeout(ctx, failoverLimit)
	defer cancel()
	results := make([]loopResult, 2)
	var wg sync.WaitGroup
	for i, c := range []*failoverClient{eager, plain} {
		wg.Go(func() {
			var r loopResult
			r.done, r.acked, r.last, r.errs = c.writeLoop(lctx, &killed)
			results[i] = r
		})
	}

	time.Sleep(100 * time.Millisecond) // both loops are writing
	t0 := time.Now()
	leader.Kill()
	killed.Store(time.Now().UnixNano())
	wg.Wait()

	since := func(t time.Time) time.Duration {
		if t.IsZero() {
			return -1
		}
		return t.Sub(t0)
	}
	r := failoverRun{write: since(results[0].done), defaultWrite: since(results[1].done), errs: results[0].errs}
	if ns := reconnected.Load(); ns != 0 {
		r.reconnect = time.Unix(0, ns).Sub(t0)
	} else {
		r.reconnect = -1
	}
	var lost []string
	for i, c := range []*failoverClient{eager, plain} {
		if results[i].done.IsZero() {
			continue
		}
		if msg := c.check(results[i].acked, results[i].last); msg != "" {
			lost = append(lost, msg)
		}
	}
	r.lost = strings.Join(lost, "; ")
	r.looking, r.elected, r.serving = failoverMarks(kind, survivors, t0)
	if dir := os.Getenv(envFailoverLogs); dir != "" {
		keepFailoverLogs(b, dir, kind, run, survivors, t0)
	}
	if r.write < 0 {
		b.Logf("%v run %d: no write acknowledged within %v of the kill; errors %v\n%s", kind, run, failoverLimit, r.errs, leaderLogTails(survivors))
	}

	eager.conn.Close()
	plain.conn.Close()
	<-evDone
	leader.Restart(b)
	e.WaitForLeader(b, 2*time.Minute)
	return r
}

// keepFailoverLogs writes what the survivors logged from t0 on into
// dir/<benchmark>-<kind>-run<run>.log, for reading a failover in detail.
func keepFailoverLogs(b *testing.B, dir string, kind testcluster.Kind, run int, survivors []*testcluster.Member, t0 time.Time) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	var out strings.Builder
	fmt.Fprintf(&out, "SIGKILL at %s\n", t0.Format("2006-01-02T15:04:05.000000Z07:00"))
	from := t0.Truncate(time.Millisecond)
	for _, m := range survivors {
		data, err := os.ReadFile(m.LogPath)
		if err != nil {
			continue
		}
		fmt.Fprintf(&out, "==== zk%d\n", m.ID)
		keep := false
		for line := range strings.Lines(string(data)) {
			if at, ok := logTime(kind, line); ok {
				keep = !at.Before(from)
			}
			if keep {
				out.WriteString(line)
			}
		}
	}
	name := strings.NewReplacer("/", "_", "=", "").Replace(b.Name())
	path := fmt.Sprintf("%s/%s-%s-run%02d.log", dir, name, kindName(kind), run)
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

func leaderLogTails(ms []*testcluster.Member) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.LogTail())
		b.WriteString("\n")
	}
	return b.String()
}

// logMark is a kind of log line failoverMarks looks for.
type logMark struct{ all []string }

func (m logMark) matches(line string) bool {
	for _, s := range m.all {
		if !strings.Contains(line, s) {
			return false
		}
	}
	return true
}

// failoverMarkLines are, per server kind, the log lines of a survivor
// starting to look for a leader, of the new leader deciding that it leads,
// and of the new leader serving.
var failoverMarkLines = map[testcluster.Kind][3]logMark{
	testcluster.KindZkd: {
		{[]string{`msg="looking for a leader"`}},
		{[]string{`msg="election decided"`, "state=LEADING"}},
		{[]string{`msg="serving clients"`, "mode=leader"}},
	},
	testcluster.KindApache: {
		{[]string{"] LOOKING"}},
		{[]string{"Peer state changed: leading\n"}},
		{[]string{"Peer state changed: leading - broadcast"}},
	},
}

// failoverMarks returns, relative to t0, the first time after t0 that a
// survivor logged each of the failover marks of its kind; -1 for a mark
// not found.
func failoverMarks(kind testcluster.Kind, survivors []*testcluster.Member, t0 time.Time) (looking, elected, serving time.Duration) {
	marks := failoverMarkLines[kind]
	found := [3]time.Time{}
	// Log times have millisecond resolution: a line of the same
	// millisecond as t0 counts.
	from := t0.Truncate(time.Millisecond)
	for _, m := range survivors {
		f, err := os.Open(m.LogPath)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text() + "\n"
			at, ok := logTime(kind, line)
			if !ok || at.Before(from) {
				continue
			}
			for i, mk := range marks {
				if found[i].IsZero() || at.Before(found[i]) {
					if mk.matches(line) {
						found[i] = at
					}
				}
			}
		}
		f.Close()
	}
	rel := func(t time.Time) time.Duration {
		if t.IsZero() {
			return -1
		}
		return max(t.Sub(t0), 0)
	}
	return rel(found[0]), rel(found[1]), rel(found[2])
}

// logTime parses the time at the start of a zkd log line
// ("time=2026-12-04T07:27:25.482Z ...") or of an Apache ZooKeeper one
// ("2026-12-04 07:27:33,400 INFO ..." in local time).
func logTime(kind testcluster.Kind, line string) (time.Time, bool) {
	if kind == testcluster.KindZkd {
		rest, ok := strings.CutPrefix(line, "time=")
		if !ok {
			return time.Time{}, false
		}
		ts, _, _ := strings.Cut(rest, " ")
		t, err := time.Parse(time.RFC3339Nano, ts)
		return t, err == nil
	}
	if len(line) < 23 {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05,000", line[:23], time.Local)
	return t, err == nil
}

// BenchmarkEnsembleFailover measures how long an ensemble of zkd servers
// and one of Apache ZooKeeper 3.8 servers, side by side, take to accept
// writes again after their leader is killed with SIGKILL: from the moment
// before the signal to the first acknowledged setData issued after it.
//
// For every tickTime (ZKD_BENCH_FAILOVER_TICKS, ms) and ensemble size
// (ZKD_BENCH_FAILOVER_SIZES), both ensembles run at once and their leaders
// are killed in turn, ZKD_BENCH_FAILOVER_RUNS times each, the side that
// goes first alternating. Two clients, connected to the members other
// than the leader, set a node of their own in a loop through the kill:
// one with a host provider that retries the servers without pausing, the
// other with go-zookeeper's default, which sleeps one second after each
// round of failed connection attempts. The surviving members' logs give
// when the election started, when the new leader decided, and when it
// served. The old leader is then restarted and the next kill waits for
// every member to serve again.
//
// It runs only with ZKD_BENCH_ENSEMBLE=1 and ignores b.N:
//
//	ZKD_BENCH_ENSEMBLE=1 go test ./test/bench -run '^$' -bench '^BenchmarkEnsembleFailover$' -benchtime 1x -timeout 60m
func BenchmarkEnsembleFailover(b *testing.B) {
	requireEnsembleBench(b)
	runs := 20
	if v := envInts(b, envFailoverRuns, nil); len(v) > 0 {
		runs = v[0]
	}
	ticks := envInts(b, envFailoverTicks, []int{2000, 200})
	sizes := envInts(b, envFailoverSizes, []int{3, 5})
	load0 := loadAverage()

	type key struct {
		tick, size int
		kind       testcluster.Kind
	}
	all := map[key][]failoverRun{}
	for _, tick := range ticks {
		for _, size := range sizes {
			b.Run(fmt.Sprintf("tick=%dms/nodes=%d", tick, size), func(b *testing.B) {
				ensembles := map[testcluster.Kind]*testcluster.Ensemble{}
				for _, k := range ensembleKinds {
					ensembles[k] = startBenchEnsemble(b, k, size, tick, nil)
				}
				for i := range runs {
					for j := range ensembleKinds {
						k := ensembleKinds[(i+j)%len(ensembleKinds)]
						r := failoverOnce(b, ensembles[k], k, i)
						if r.lost != "" {
							b.Errorf("%v, tick %d ms, %d nodes, run %d: acknowledged write lost: %s", k, tick, size, i, r.lost)
						}
						all[key{tick, size, k}] = append(all[key{tick, size, k}], r)
					}
				}
			})
		}
	}

	w := os.Stdout
	fmt.Fprintf(w, "\nLeader killed with SIGKILL, %d runs per ensemble size, tickTime and server, interleaved; go-zookeeper clients on loopback; %d CPUs, %s; load average %s before, %s after.\n\n",
		runs, runtime.NumCPU(), runtime.Version(), load0, loadAverage())
	fmt.Fprintln(w, "Time from SIGKILL to the first acknowledged setData issued after it, by a client connected to the surviving members that retries without pausing:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| tickTime | nodes | zkd median | ZK median | zkd ÷ ZK | zkd max | ZK max | zkd ÷ ZK | zkd no write | ZK no write |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, tick := range ticks {
		for _, size := range sizes {
			z, k := all[key{tick, size, testcluster.KindZkd}], all[key{tick, size, testcluster.KindApache}]
			zs, zf := durations(z, func(r failoverRun) time.Duration { return r.write })
			ks, kf := durations(k, func(r failoverRun) time.Duration { return r.write })
			fmt.Fprintf(w, "| %d ms | %d | %s | %s | %s | %s | %s | %s | %d | %d |\n", tick, size,
				fmtMs(medianOf(zs)), fmtMs(medianOf(ks)), ratioOf(medianOf(zs), medianOf(ks)),
				fmtMs(maxOf(zs)), fmtMs(maxOf(ks)), ratioOf(maxOf(zs), maxOf(ks)), zf, kf)
			b.ReportMetric(float64(medianOf(zs))/float64(medianOf(ks)), fmt.Sprintf("failover-t%d-n%d-median-zkd/zk", tick, size))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Where the time goes, medians over the runs, each from the kill: the first survivor looking for a leader, the new leader deciding it leads, the new leader serving, the eager client's session back, its first write acknowledged; then the same first write for a client with go-zookeeper's default host provider (one-second pause per round of failed attempts):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| tickTime | nodes | server | looking | leader elected | leader serving | session back | first write | p90 first write | default client: median | default client: max |")
	fmt.Fprintln(w, "|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, tick := range ticks {
		for _, size := range sizes {
			for _, kind := range ensembleKinds {
				rs := all[key{tick, size, kind}]
				col := func(f func(failoverRun) time.Duration) []time.Duration { d, _ := durations(rs, f); return d }
				writes := col(func(r failoverRun) time.Duration { return r.write })
				defaults := col(func(r failoverRun) time.Duration { return r.defaultWrite })
				fmt.Fprintf(w, "| %d ms | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", tick, size, kindName(kind),
					fmtMs(medianOf(col(func(r failoverRun) time.Duration { return r.looking }))),
					fmtMs(medianOf(col(func(r failoverRun) time.Duration { return r.elected }))),
					fmtMs(medianOf(col(func(r failoverRun) time.Duration { return r.serving }))),
					fmtMs(medianOf(col(func(r failoverRun) time.Duration { return r.reconnect }))),
					fmtMs(medianOf(writes)), fmtMs(quantileOf(writes, 0.9)),
					fmtMs(medianOf(defaults)), fmtMs(maxOf(defaults)))
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Every run (ms from the kill: looking / elected / serving / session back / first write / default client's first write), and the errors the eager client's retries got:")
	fmt.Fprintln(w)
	for _, tick := range ticks {
		for _, size := range sizes {
			for _, kind := range ensembleKinds {
				rs := all[key{tick, size, kind}]
				errs := map[string]int{}
				var cells []string
				for _, r := range rs {
					cells = append(cells, fmt.Sprintf("%s/%s/%s/%s/%s/%s", msOrNA(r.looking), msOrNA(r.elected), msOrNA(r.serving), msOrNA(r.reconnect), msOrNA(r.write), msOrNA(r.defaultWrite)))
					for e, n := range r.errs {
						errs[e] += n
					}
				}
				fmt.Fprintf(w, "- tick %d ms, %d nodes, %s: %s\n", tick, size, kindName(kind), strings.Join(cells, " "))
				if len(errs) > 0 {
					fmt.Fprintf(w, "  - errors: %s\n", fmtErrCounts(errs))
				}
			}
		}
	}
	fmt.Fprintln(w)
	b.ReportMetric(0, "ns/op")
}

// durations returns f of every run that has it (f ≥ 0), sorted, and how
// many runs lacked it.
func durations(rs []failoverRun, f func(failoverRun) time.Duration) ([]time.Duration, int) {
	var ds []time.Duration
	missing := 0
	for _, r := range rs {
		if d := f(r); d >= 0 {
			ds = append(ds, d)
		} else {
			missing++
		}
	}
	slices.Sort(ds)
	return ds, missing
}

// medianOf sorted durations (the mean of the middle two for an even
// count); -1 for none.
func medianOf(ds []time.Duration) time.Duration {
	n := len(ds)
	if n == 0 {
		return -1
	}
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

// quantileOf sorted durations, nearest rank; -1 for none.
func quantileOf(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func maxOf(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	return ds[len(ds)-1]
}

func fmtMs(d time.Duration) string {
	if d < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func msOrNA(d time.Duration) string {
	if d < 0 {
		return "–"
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

func ratioOf(a, b time.Duration) string {
	if a < 0 || b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("**%.2f**", float64(a)/float64(b))
}

func fmtErrCounts(errs map[string]int) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q ×%d", k, errs[k])
	}
	return strings.Join(parts, ", ")
}

// ---------------------------------------------------------------------
// Throughput

// ensembleSide is one 3-member ensemble under load and what was measured.
type ensembleSide struct {
	kind     testcluster.Kind
	e        *testcluster.Ensemble
	leader   *testcluster.Member
	order    []*testcluster.Member // followers first, then the leader
	pids     []int                 // of order
	sessions []loadgen.Session     // session i is connected to order[i%3]

	runs map[ensembleRunKey]*ensembleRun
}

type ensembleRunKey struct {
	workload loadgen.Workload
	clients  int
}

// ensembleRun is what one side did in one workload with one number of
// clients, summed over the rounds.
type ensembleRun struct {
	res       *loadgen.Result
	cpu       time.Duration // of all three members
	leaderCPU time.Duration
	// fsyncs counts the leader's fsync and fdatasync calls with perf; -1
	// when perf could not count them.
	fsyncs int64
	// From the leader's mntr: log flushes and the transactions they
	// carried; -1 when mntr lacks them or reports none.
	flushes, flushedTxns int64
}

// BenchmarkEnsembleThroughput measures setData and getData throughput and
// latency of a 3-member zkd ensemble next to a 3-member Apache ZooKeeper
// 3.8 ensemble, both running at once with tickTime 2000 and forceSync=yes,
// with 1, 32 and 128 concurrent clients (ZKD_BENCH_CLIENTS). The clients
// are spread over the members, followers first: client i is connected to
// the (i mod 3)th member in the order follower, follower, leader, so a
// single client talks to a follower, which forwards its writes to the
// leader. Each client sets (or gets) a random one of 1000 keys of 100
// bytes, synchronously, in a loop. During the setData runs perf counts
// the leader's fsync and fdatasync calls where it can, and each leader's
// mntr gives its own flush counts.
//
// It runs only with ZKD_BENCH_ENSEMBLE=1 and ignores b.N:
//
//	ZKD_BENCH_ENSEMBLE=1 go test ./test/bench -run '^$' -bench '^BenchmarkEnsembleThroughput$' -benchtime 1x -timeout 30m
//
// ZKD_BENCH_DURATION, ZKD_BENCH_ROUNDS and ZKD_BENCH_WARMUP size it as
// they size BenchmarkSideBySide, per workload, client count and side.
func BenchmarkEnsembleThroughput(b *testing.B) {
	requireEnsembleBench(b)
	cfg := readSettings(b)
	counts := envInts(b, envClients, []int{1, 32, 128})
	most := slices.Max(counts)
	ctx := b.Context()
	load0 := loadAverage()

	var sides []*ensembleSide
	for _, kind := range ensembleKinds {
		e := startBenchEnsemble(b, kind, 3, 2000, []string{"maxClientCnxns=0"})
		s := &ensembleSide{kind: kind, e: e, runs: map[ensembleRunKey]*ensembleRun{}}
		s.leader = e.WaitForLeader(b, 2*time.Minute)
		for _, m := range e.Servers() {
			if m != s.leader {
				s.order = append(s.order, m)
			}
		}
		s.order = append(s.order, s.leader)
		for _, m := range s.order {
			port, err := strconv.Atoi(m.Addr[strings.LastIndexByte(m.Addr, ':')+1:])
			if err != nil {
				b.Fatal(err)
			}
			pid, err := listenerPID(port)
			if err != nil {
				b.Fatalf("%v zk%d: %v", kind, m.ID, err)
			}
			s.pids = append(s.pids, pid)
		}
		perServer := make([][]*zk.Conn, len(s.order))
		for i, m := range s.order {
			n := (most + len(s.order) - 1 - i) / len(s.order)
			conns, err := dialSessions(ctx, m.Addr, n)
			if err != nil {
				b.Fatalf("%v: %v", kind, err)
			}
			b.Cleanup(func() {
				for _, c := range conns {
					c.Close()
				}
			})
			perServer[i] = conns
		}
		for i := range most {
			s.sessions = append(s.sessions, zkSession{perServer[i%len(s.order)][i/len(s.order)]})
		}
		if err := loadgen.Setup(ctx, s.sessions, loadgen.Config{}); err != nil {
			b.Fatalf("%v: %v", kind, err)
		}
		sides = append(sides, s)
	}
	perfErr := perfUsable()
	if perfErr != nil {
		b.Logf("not counting fsync calls: %v", perfErr)
	}

	workloads := []loadgen.Workload{loadgen.SetData, loadgen.GetData}
	run := func(s *ensembleSide, wl loadgen.Workload, n int, d time.Duration, measured bool) {
		ctx, cancel := context.WithTimeout(ctx, d+2*time.Minute)
		defer cancel()
		var perf *fsyncCounter
		if measured && perfErr == nil && wl == loadgen.SetData {
			var err error
			if perf, err = startFsyncCount(b, s.pids[len(s.pids)-1]); err != nil {
				b.Fatalf("%v: %v", s.kind, err)
			}
		}
		m0, _ := mntr(s.leader.Addr)
		cpu0 := make([]time.Duration, len(s.pids))
		for i, pid := range s.pids {
			cpu0[i], _ = processCPU(pid)
		}
		res, err := loadgen.Run(ctx, s.sessions[:n], loadgen.Config{Workload: wl, Duration: d})
		if err != nil {
			b.Fatalf("%v, %v, %d clients: %v", s.kind, wl, n, err)
		}
		var cpu, leaderCPU time.Duration
		for i, pid := range s.pids {
			c, _ := processCPU(pid)
			cpu += c - cpu0[i]
			if i == len(s.pids)-1 {
				leaderCPU = c - cpu0[i]
			}
		}
		m1, _ := mntr(s.leader.Addr)
		var fsyncs int64 = -1
		if perf != nil {
			if fsyncs, err = perf.stop(); err != nil {
				b.Fatalf("%v: perf: %v", s.kind, err)
			}
		}
		if !measured {
			return
		}
		k := ensembleRunKey{wl, n}
		r := s.runs[k]
		if r == nil {
			r = &ensembleRun{res: new(loadgen.Result), fsyncs: -1, flushes: -1, flushedTxns: -1}
			s.runs[k] = r
		}
		r.res.Merge(res)
		r.cpu += cpu
		r.leaderCPU += leaderCPU
		if fsyncs >= 0 {
			r.fsyncs = max(r.fsyncs, 0) + fsyncs
		}
		addDelta := func(dst *int64, key string) {
			a, z := mntrInt(m0, key), mntrInt(m1, key)
			if a >= 0 && z > a {
				*dst = max(*dst, 0) + z - a
			}
		}
		addDelta(&r.flushes, "zk_cnt_fsynctime")
		addDelta(&r.flushedTxns, "zk_sum_sync_processor_batch_size")
	}

	if cfg.warmup > 0 {
		for _, wl := range workloads {
			for _, n := range counts {
				for _, s := range sides {
					run(s, wl, n, cfg.warmup, false)
				}
			}
		}
	}
	perRound := cfg.duration / time.Duration(cfg.rounds)
	for r := range cfg.rounds {
		for i, wl := range workloads {
			for j, n := range counts {
				for k := range sides {
					run(sides[(k+r+i+j)%len(sides)], wl, n, perRound, true)
				}
			}
		}
	}

	printEnsembleReport(os.Stdout, cfg, counts, workloads, sides, perfErr, load0)
	zkd, zkk := sides[0], sides[1]
	for _, wl := range workloads {
		for _, n := range counts {
			k := ensembleRunKey{wl, n}
			b.ReportMetric(zkd.runs[k].res.Throughput()/zkk.runs[k].res.Throughput(), fmt.Sprintf("%v-%dc-ops-zkd/zk", wl, n))
		}
	}
	b.ReportMetric(0, "ns/op")
}

func printEnsembleReport(w io.Writer, cfg settings, counts []int, workloads []loadgen.Workload, sides []*ensembleSide, perfErr error, load0 string) {
	fmt.Fprintf(w, "\n3-member ensembles, tickTime 2000, forceSync=yes, go-zookeeper clients spread over the members (followers first), loopback; %v measured per workload, client count and side in %d interleaved rounds after a %v warm-up; %d CPUs, %s; load average %s before, %s after.\n\n",
		cfg.duration, cfg.rounds, cfg.warmup, runtime.NumCPU(), runtime.Version(), load0, loadAverage())
	for _, s := range sides {
		fmt.Fprintf(w, "- %s: leader zk%d (pid %d), followers", kindName(s.kind), s.leader.ID, s.pids[len(s.pids)-1])
		for i, m := range s.order[:len(s.order)-1] {
			fmt.Fprintf(w, " zk%d (pid %d)", m.ID, s.pids[i])
		}
		fmt.Fprintln(w)
	}
	if perfErr != nil {
		fmt.Fprintf(w, "- fsync calls not counted: %v\n", perfErr)
	}
	zkd, zkk := sides[0], sides[1]
	ratio := func(a, b float64) string { return fmt.Sprintf("**%.2f**", a/b) }

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | clients | zkd ops/s | ZK ops/s | zkd ÷ ZK | zkd p50 | ZK p50 | zkd ÷ ZK | zkd p99 | ZK p99 | zkd ÷ ZK | zkd CPU/op (3 servers) | ZK CPU/op (3 servers) | zkd ÷ ZK |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, wl := range workloads {
		for _, n := range counts {
			k := ensembleRunKey{wl, n}
			z, o := zkd.runs[k], zkk.runs[k]
			zp50, op50 := z.res.Latency.Quantile(0.5), o.res.Latency.Quantile(0.5)
			zp99, op99 := z.res.Latency.Quantile(0.99), o.res.Latency.Quantile(0.99)
			zc, oc := perOp(z.cpu, z.res), perOp(o.cpu, o.res)
			fmt.Fprintf(w, "| %v | %d | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", wl, n,
				z.res.Throughput(), o.res.Throughput(), ratio(z.res.Throughput(), o.res.Throughput()),
				fmtDuration(zp50), fmtDuration(op50), ratio(float64(zp50), float64(op50)),
				fmtDuration(zp99), fmtDuration(op99), ratio(float64(zp99), float64(op99)),
				fmtDuration(zc), fmtDuration(oc), ratio(float64(zc), float64(oc)))
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | clients | side | ops/s | p50 | p99 | p99.9 | max | CPU/op, 3 servers | CPU/op, leader | leader fsync calls/s (perf) | txns per leader fsync (perf) | txns per leader flush (mntr) |")
	fmt.Fprintln(w, "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, wl := range workloads {
		for _, n := range counts {
			for _, s := range sides {
				r := s.runs[ensembleRunKey{wl, n}]
				h := r.res.Latency
				perSec, perFsync, perFlush := "–", "–", "–"
				if wl == loadgen.SetData {
					perSec, perFsync, perFlush = "n/a", txnsPer(r.res.Ops, r.fsyncs), txnsPer(r.flushedTxns, r.flushes)
					if r.fsyncs >= 0 && r.res.Elapsed > 0 {
						perSec = fmt.Sprintf("%.0f", float64(r.fsyncs)/r.res.Elapsed.Seconds())
					}
				}
				fmt.Fprintf(w, "| %v | %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", wl, n, kindName(s.kind),
					r.res.Throughput(), fmtDuration(h.Quantile(0.5)), fmtDuration(h.Quantile(0.99)), fmtDuration(h.Quantile(0.999)), fmtDuration(h.Max()),
					fmtDuration(perOp(r.cpu, r.res)), fmtDuration(perOp(r.leaderCPU, r.res)), perSec, perFsync, perFlush)
			}
		}
	}
	fmt.Fprintln(w)
}

func TestMedianAndQuantileOfSortedDurations(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4}
	if got := medianOf(ds); got != 2 {
		t.Errorf("medianOf(1..4) = %v, want 2 (the mean of 2 and 3, truncated)", got)
	}
	if got := medianOf(ds[:3]); got != 2 {
		t.Errorf("medianOf(1..3) = %v, want 2", got)
	}
	if got := medianOf(nil); got != -1 {
		t.Errorf("medianOf(nil) = %v, want -1", got)
	}
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if got := quantileOf(ten, 0.9); got != 9 {
		t.Errorf("p90 of 1..10 = %v, want 9", got)
	}
	if got := maxOf(ten); got != 10 {
		t.Errorf("max of 1..10 = %v, want 10", got)
	}
}

func TestLogTimeReadsBothServersLines(t *testing.T) {
	zt, ok := logTime(testcluster.KindZkd, `time=2026-12-04T07:27:25.482Z level=INFO msg="looking for a leader" myid=1`)
	if !ok || !zt.Equal(time.Date(2026, 12, 4, 7, 27, 25, 482e6, time.UTC)) {
		t.Errorf("zkd line: %v, %v", zt, ok)
	}
	at, ok := logTime(testcluster.KindApache, "2026-12-04 07:27:33,400 WARN  [QuorumPeer[myid=2]] LOOKING")
	if !ok || !at.Equal(time.Date(2026, 12, 4, 7, 27, 33, 400e6, time.Local)) {
		t.Errorf("Apache line: %v, %v", at, ok)
	}
	if _, ok := logTime(testcluster.KindApache, "java.io.EOFException"); ok {
		t.Errorf("a stack trace line parsed as timed")
	}
	if !failoverMarkLines[testcluster.KindApache][1].matches("2026-12-04 07:27:33,633 INFO  [QuorumPeer[myid=2]:QuorumPeer@903] Peer state changed: leading\n") {
		t.Errorf("Apache's decision line did not match")
	}
	if failoverMarkLines[testcluster.KindApache][1].matches("2026-12-04 07:27:33,648 INFO  [QuorumPeer[myid=2]:QuorumPeer@917] Peer state changed: leading - discovery\n") {
		t.Errorf("Apache's discovery line matched the decision")
	}
}

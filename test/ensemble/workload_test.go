package ensemble

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/lincheck"
	"github.com/zkd/zkd/internal/testcluster"
)

const (
	// sessionTimeout outlives an election and a resync, so that sessions
	// survive the faults and per-session guarantees span them.
	sessionTimeout = 10 * time.Second
	// opInterval paces each client, which keeps histories small enough
	// for porcupine to check in seconds.
	opInterval = 15 * time.Millisecond
	// checkTimeout bounds the linearizability check.
	checkTimeout = 60 * time.Second
	// root holds the workload's znodes.
	root = "/lin"
)

// startEnsemble starts three zkd servers with short ticks so that
// elections and failure detection take a second or two: a follower that
// hears nothing from its leader for syncLimit×tickTime = 600 ms gives up
// on it. A learner has initLimit×tickTime to take a SNAP: 1 s, or 4 s for
// race-detector binaries, which on a loaded machine took longer than 1 s
// to install even a small snapshot, and were dropped by their leader.
func startEnsemble(t *testing.T, proxied bool) *testcluster.Ensemble {
	t.Helper()
	initLimit := 10
	if testcluster.RaceEnabled() {
		initLimit = 40
	}
	return testcluster.StartEnsemble(t, testcluster.EnsembleOptions{
		Members:      []testcluster.Kind{testcluster.KindZkd, testcluster.KindZkd, testcluster.KindZkd},
		TickTime:     100,
		InitLimit:    initLimit,
		SyncLimit:    6,
		Proxied:      proxied,
		StartTimeout: 30 * time.Second,
	})
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// connect opens a go-zookeeper connection to servers (in that order, which
// go-zookeeper shuffles); the test's cleanup closes it. It does not wait
// for a session.
func connect(t *testing.T, servers ...string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(servers, sessionTimeout, zk.WithLogInfo(false), zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatalf("connect %v: %v", servers, err)
	}
	t.Cleanup(c.Close)
	return c
}

// addrs returns the client addresses of members.
func addrs(members ...*testcluster.Member) []string {
	var out []string
	for _, m := range members {
		out = append(out, m.Addr)
	}
	return out
}

// workload is a set of clients calling create, setData, delete, getData
// and sync+getData on a few znodes, recording every call for lincheck.
type workload struct {
	t     *testing.T
	e     *testcluster.Ensemble
	seed  uint64
	keys  []string
	start time.Time // the history's clock is time since start (monotonic)

	mu    sync.Mutex // guards the fields below
	ops   []lincheck.Op
	acked int // acknowledged writes so far
	// servers[i] is the server ops[i]'s connection was on when the call
	// returned (for a call that failed, possibly the next one it tried).
	servers    []string
	nextClient int

	stop chan struct{} // closed by stopClients
	wg   sync.WaitGroup
}

// newWorkload creates the workload's parent znode and returns a workload
// with no clients yet. The seed drives every client's choices; it is
// logged so that a failing run can be named.
func newWorkload(t *testing.T, e *testcluster.Ensemble, keys int) *workload {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("workload seed %d", seed)
	w := &workload{t: t, e: e, seed: seed, start: time.Now(), stop: make(chan struct{})}
	for i := range keys {
		w.keys = append(w.keys, fmt.Sprintf("%s/k%d", root, i))
	}
	c := connect(t, addrs(e.Servers()...)...)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := c.Create(root, nil, 0, zk.WorldACL(zk.PermAll))
		if err == nil || errors.Is(err, zk.ErrNodeExists) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("create %s: %v", root, err)
		}
		retryPause()
		waitSession(c, deadline, nil)
	}
	t.Cleanup(w.stopClients)
	return w
}

// retryPause paces a retry loop whose condition has no event to wait on
// (a call failing while the ensemble elects).
func retryPause() { <-time.After(50 * time.Millisecond) }

// now is the history's clock.
func (w *workload) now() int64 { return int64(time.Since(w.start)) }

// newClient reserves a client number.
func (w *workload) newClient() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextClient++
	return w.nextClient - 1
}

// addClient starts a client on a connection to servers that calls random
// operations until stopClients.
func (w *workload) addClient(servers ...string) {
	c := connect(w.t, servers...)
	id := w.newClient()
	rng := rand.New(rand.NewPCG(w.seed, uint64(id)))
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.run(c, id, rng)
	}()
}

// run is one client's loop.
func (w *workload) run(c *zk.Conn, id int, rng *rand.Rand) {
	version := make(map[string]int32) // the last version this client saw, per key
	tick := time.NewTicker(opInterval)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		if !waitSession(c, time.Now().Add(time.Second), w.stop) {
			continue
		}
		key := w.keys[rng.IntN(len(w.keys))]
		v, seen := version[key]
		if !seen || rng.IntN(5) == 0 {
			v = -1
		}
		data := fmt.Sprintf("c%d-%d", id, n)
		var in lincheck.Input
		switch r := rng.IntN(100); {
		case r < 15:
			in = lincheck.Input{Kind: lincheck.Create, Path: key, Data: data}
		case r < 45:
			in = lincheck.Input{Kind: lincheck.Set, Path: key, Data: data, Version: v}
		case r < 50:
			in = lincheck.Input{Kind: lincheck.Delete, Path: key, Version: v}
		case r < 75:
			in = lincheck.Input{Kind: lincheck.Get, Path: key}
		default:
			in = lincheck.Input{Kind: lincheck.SyncGet, Path: key}
		}
		o, _ := w.do(c, id, in)
		switch {
		case o.Result == lincheck.OK && (o.Kind == lincheck.Set || o.Kind == lincheck.Get || o.Kind == lincheck.SyncGet):
			version[key] = o.Output.Version
		case o.Result == lincheck.OK && o.Kind == lincheck.Create:
			version[key] = 0
		case o.Result == lincheck.NoNode || (o.Result == lincheck.OK && o.Kind == lincheck.Delete):
			delete(version, key)
		}
	}
}

// waitSession waits until c has a session, until deadline or stop, and
// reports whether it has one.
func waitSession(c *zk.Conn, deadline time.Time, stop <-chan struct{}) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for c.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-stop:
			return false
		case <-tick.C:
		}
	}
	return true
}

// do calls in on c as client id, records it in the history and returns
// it with the client library's error. A call go-zookeeper never sent
// (ErrNoServer: no server reachable) is not recorded.
func (w *workload) do(c *zk.Conn, id int, in lincheck.Input) (lincheck.Op, error) {
	o := lincheck.Op{Client: id, Input: in, Call: w.now()}
	var (
		err  error
		st   *zk.Stat
		data []byte
	)
	switch in.Kind {
	case lincheck.Create:
		_, err = c.Create(in.Path, []byte(in.Data), 0, zk.WorldACL(zk.PermAll))
	case lincheck.Set:
		st, err = c.Set(in.Path, []byte(in.Data), in.Version)
	case lincheck.Delete:
		err = c.Delete(in.Path, in.Version)
	case lincheck.Get:
		data, st, err = c.Get(in.Path)
	case lincheck.SyncGet:
		if _, err = c.Sync(in.Path); err == nil {
			data, st, err = c.Get(in.Path)
		}
	}
	o.Return = w.now()
	o.Session = c.SessionID()
	srv := c.Server()
	switch {
	case err == nil:
		o.Result = lincheck.OK
		if st != nil {
			o.Output.Version, o.Mzxid = st.Version, st.Mzxid
		}
		o.Output.Data = string(data)
	case errors.Is(err, zk.ErrNoNode):
		o.Result = lincheck.NoNode
	case errors.Is(err, zk.ErrNodeExists):
		o.Result = lincheck.NodeExists
	case errors.Is(err, zk.ErrBadVersion):
		o.Result = lincheck.BadVersion
	case errors.Is(err, zk.ErrNoServer):
		return o, err // never sent
	default:
		o.Result = lincheck.Unknown
	}
	write := in.Kind == lincheck.Create || in.Kind == lincheck.Set || in.Kind == lincheck.Delete
	w.mu.Lock()
	w.ops = append(w.ops, o)
	w.servers = append(w.servers, srv)
	if write && o.Result == lincheck.OK {
		w.acked++
	}
	w.mu.Unlock()
	return o, err
}

// ackedWrites returns how many writes have been acknowledged so far.
func (w *workload) ackedWrites() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked
}

// waitProgress waits until n more writes have been acknowledged: the
// ensemble serves writes. It fails the test after timeout.
func (w *workload) waitProgress(n int, timeout time.Duration, what string) {
	w.t.Helper()
	from := w.ackedWrites()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for w.ackedWrites() < from+n {
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: only %d of %d writes acknowledged within %v\n%s", what, w.ackedWrites()-from, n, timeout, w.logTails())
		}
		<-tick.C
	}
}

// stopClients stops every client and waits for them.
func (w *workload) stopClients() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

// history returns a copy of the history so far.
func (w *workload) history() []lincheck.Op {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]lincheck.Op(nil), w.ops...)
}

func (w *workload) logTails() string {
	var b strings.Builder
	for _, m := range w.e.Servers() {
		b.WriteString(m.LogTail())
		b.WriteString("\n")
	}
	return b.String()
}

// finalState is what sync+getData of every key returned through one
// server.
type finalState map[string]lincheck.Op

// readAll stops the clients and reads every key with sync+getData through
// each of servers, one fresh session each, recording the reads in the
// history (so that the linearizability check covers them). It fails the
// test unless every server answers for every key within timeout and all
// agree, and returns what they read.
func (w *workload) readAll(servers []*testcluster.Member, timeout time.Duration) finalState {
	w.t.Helper()
	w.stopClients()
	var first finalState
	for _, m := range servers {
		c := connect(w.t, m.Addr)
		id := w.newClient()
		deadline := time.Now().Add(timeout)
		got := make(finalState)
		for _, key := range w.keys {
			for {
				if !waitSession(c, deadline, nil) {
					w.t.Fatalf("no session with zk%d within %v\n%s", m.ID, timeout, m.LogTail())
				}
				o, err := w.do(c, id, lincheck.Input{Kind: lincheck.SyncGet, Path: key})
				if o.Result == lincheck.OK || o.Result == lincheck.NoNode {
					got[key] = o
					break
				}
				if time.Now().After(deadline) {
					w.t.Fatalf("sync+getData %s through zk%d: %v (for %v)\n%s", key, m.ID, err, timeout, m.LogTail())
				}
				retryPause()
			}
		}
		c.Close()
		if first == nil {
			first = got
			continue
		}
		for _, key := range w.keys {
			a, b := first[key], got[key]
			if a.Result != b.Result || a.Output != b.Output {
				w.t.Errorf("servers disagree on %s after sync: %v, but %v", key, a, b)
			}
		}
	}
	return first
}

// check judges the whole history: acknowledged writes are all in final
// (read by readAll), writes and synced reads are linearizable, and every
// session's reads keep ZooKeeper's session guarantees.
func (w *workload) check(final finalState) {
	w.t.Helper()
	h := w.history()
	counts := map[lincheck.Result]int{}
	for _, o := range h {
		counts[o.Result]++
	}
	w.t.Logf("history: %d calls (%d ok, %d unknown outcome, %d NoNode, %d NodeExists, %d BadVersion) by %d clients",
		len(h), counts[lincheck.OK], counts[lincheck.Unknown], counts[lincheck.NoNode], counts[lincheck.NodeExists], counts[lincheck.BadVersion], w.nextClient)

	// A lost acknowledged setData shows as a final mzxid below its zxid,
	// or as the znode gone with no delete that may have run after it;
	// porcupine finds the rest (lost creates and deletes), but this names
	// the write.
	for _, o := range h {
		if o.Kind != lincheck.Set || o.Result != lincheck.OK {
			continue
		}
		f, ok := final[o.Path]
		switch {
		case !ok:
		case f.Result == lincheck.OK && f.Mzxid < o.Mzxid:
			w.t.Errorf("acknowledged write lost: %v; the ensemble ends with %v", o, f)
		case f.Result == lincheck.NoNode && !deletedAfter(h, o):
			w.t.Errorf("acknowledged write lost: %v; the ensemble ends with %v and no delete of it may have run after", o, f)
		}
	}

	res, info := porcupine.CheckOperationsVerbose(lincheck.Model, lincheck.Operations(h), checkTimeout)
	switch res {
	case porcupine.Illegal:
		path := filepath.Join(os.TempDir(), fmt.Sprintf("zkd-lincheck-%s-%d.html", strings.ReplaceAll(w.t.Name(), "/", "_"), w.seed))
		if err := porcupine.VisualizePath(lincheck.Model, info, path); err != nil {
			w.t.Logf("visualize: %v", err)
		}
		w.t.Errorf("writes and synced reads are not linearizable (seed %d); porcupine's report: %s", w.seed, path)
	case porcupine.Unknown:
		w.t.Logf("linearizability check inconclusive within %v (seed %d)", checkTimeout, w.seed)
	}
	vs := lincheck.CheckSessions(h)
	if len(vs) > 0 || res == porcupine.Illegal || w.t.Failed() {
		w.keepEvidence()
	}
	for i, v := range vs {
		if i == 10 {
			w.t.Errorf("... and %d more session violations", len(vs)-10)
			break
		}
		w.t.Errorf("session guarantee broken: %v", v)
	}
}

// deletedAfter reports whether a delete of o's path may have taken
// effect after o: it succeeded or has an unknown outcome, and did not
// return before o was invoked.
func deletedAfter(h []lincheck.Op, o lincheck.Op) bool {
	for _, d := range h {
		if d.Kind == lincheck.Delete && d.Path == o.Path &&
			(d.Result == lincheck.Unknown || (d.Result == lincheck.OK && d.Return >= o.Call)) {
			return true
		}
	}
	return false
}

// keepEvidence copies what a failed check needs for a diagnosis into a
// directory that outlives the test: the history with each call's server,
// every server's log and data directory (whose transaction logs "zkd log
// dump" prints). The history's clock starts at the time in its first line.
func (w *workload) keepEvidence() {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("zkd-evidence-%s-%d", strings.ReplaceAll(w.t.Name(), "/", "_"), w.seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Logf("keep evidence: %v", err)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "history clock starts at %s\n", w.start.Format(time.RFC3339Nano))
	w.mu.Lock()
	for i, o := range w.ops {
		fmt.Fprintf(&b, "%v server %s\n", o, w.servers[i])
	}
	w.mu.Unlock()
	err := os.WriteFile(filepath.Join(dir, "history.txt"), []byte(b.String()), 0o644)
	for _, m := range w.e.Servers() {
		if err != nil {
			break
		}
		var data []byte
		if data, err = os.ReadFile(m.LogPath); err == nil {
			err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("zk%d.log", m.ID)), data, 0o644)
		}
		if err == nil {
			err = os.CopyFS(filepath.Join(dir, fmt.Sprintf("zk%d-data", m.ID)), os.DirFS(m.DataDir))
		}
	}
	if err != nil {
		w.t.Logf("keep evidence: %v", err)
	}
	w.t.Logf("history, servers' logs and data directories kept in %s", dir)
}

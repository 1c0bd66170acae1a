package ensemble

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/lincheck"
	"github.com/zkd/zkd/internal/testcluster"
)

// TestPausedFollowerRejoinsAndCatchesUp stops a follower with SIGSTOP for
// several times syncLimit while clients write: the leader drops it and
// goes on with the other follower; after SIGCONT it rejoins, catches up
// (every server answers the same after sync) and the history is
// linearizable.
func TestPausedFollowerRejoinsAndCatchesUp(t *testing.T) {
	e := startEnsemble(t, false)
	leader := e.WaitForLeader(t, 20*time.Second)
	f := followers(e, leader)[0]
	w := newWorkload(t, e, 4)
	w.addClient(addrs(e.Servers()...)...)
	w.addClient(addrs(e.Servers()...)...)
	w.addClient(f.Addr)
	w.addClient(leader.Addr)
	w.waitProgress(50, 20*time.Second, "before the pause")

	off := logSize(t, leader)
	f.Pause()
	t.Logf("paused follower zk%d", f.ID)
	waitLog(t, leader, off, 20*time.Second, "learner disconnected", fmt.Sprintf("sid=%d", f.ID))
	w.waitProgress(100, 20*time.Second, "while the follower is paused")
	if got := e.WaitForLeader(t, 20*time.Second); got != leader {
		t.Errorf("zk%d leads while zk%d is paused; want zk%d to keep leading", got.ID, f.ID, leader.ID)
	}

	resumed := logSize(t, f)
	f.Resume()
	t.Logf("resumed zk%d", f.ID)
	// Until it reads the closed connection, the follower still answers
	// srvr as a follower; wait for it to have synchronized again.
	waitLog(t, f, resumed, 30*time.Second, "msg=serving", "role=FOLLOWING")
	t.Logf("zk%d rejoined, synchronized with %v", f.ID, syncModes(t, f, resumed))
	e.WaitForLeader(t, 30*time.Second)
	if mode, err := f.Mode(t); err != nil || mode != "follower" {
		t.Errorf("zk%d after resuming: mode %q, %v; want follower", f.ID, mode, err)
	}
	w.waitProgress(50, 20*time.Second, "after the follower rejoined")
	w.check(w.readAll(e.Servers(), 30*time.Second))
}

// TestPartitionedLeaderStepsDownAndRejoins cuts the leader off from both
// followers. The majority elects a new leader and serves writes; the old
// leader accepts no write (its clients get connection loss) and stops
// leading; after the partition heals it follows, and what it logged in
// the minority is gone from every server.
func TestPartitionedLeaderStepsDownAndRejoins(t *testing.T) {
	e := startEnsemble(t, true)
	old := e.WaitForLeader(t, 20*time.Second)
	w := newWorkload(t, e, 4)
	w.addClient(addrs(e.Servers()...)...)
	w.addClient(addrs(e.Servers()...)...)
	for _, m := range followers(e, old) {
		w.addClient(m.Addr)
	}
	minority := connect(t, old.Addr)
	minorityID := w.newClient()
	if !waitSession(minority, time.Now().Add(20*time.Second), nil) {
		t.Fatalf("no session with zk%d", old.ID)
	}
	w.waitProgress(50, 20*time.Second, "before the partition")

	e.Isolate(t, old.ID)
	t.Logf("isolated leader zk%d", old.ID)
	// Writes through the old leader: none may succeed, and each must end
	// (connection loss) once the leader notices it lost its quorum.
	var wg sync.WaitGroup
	var minorityOps []lincheck.Op
	wg.Go(func() {
		for i := range 3 {
			in := lincheck.Input{Kind: lincheck.Set, Path: w.keys[i%len(w.keys)], Data: fmt.Sprintf("minority-%d", i), Version: -1}
			if i == 0 {
				in = lincheck.Input{Kind: lincheck.Create, Path: root + "/minority", Data: "minority-create"}
			}
			o, err := w.do(minority, minorityID, in)
			if err != nil && o.Result == lincheck.OK {
				return
			}
			minorityOps = append(minorityOps, o)
		}
	})
	next := e.WaitForLeader(t, 30*time.Second)
	if next == old {
		t.Fatalf("isolated zk%d still counts as leader", old.ID)
	}
	t.Logf("zk%d leads the majority", next.ID)
	w.waitProgress(100, 30*time.Second, "in the majority")
	waitNotLeading(t, old, 20*time.Second)

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		minority.Close()
		<-done
		t.Errorf("a write through the isolated leader zk%d neither failed nor succeeded within 30s", old.ID)
	}
	minority.Close() // nothing queued may reach zk%d once it rejoins
	for _, o := range minorityOps {
		if o.Result == lincheck.OK {
			t.Errorf("the isolated leader acknowledged a write: %v", o)
		}
	}

	e.Heal(t)
	t.Logf("healed")
	e.WaitForLeader(t, 30*time.Second)
	if mode, err := old.Mode(t); err != nil || mode != "follower" {
		t.Errorf("old leader zk%d after the heal: mode %q, %v; want follower", old.ID, mode, err)
	}
	w.waitProgress(50, 20*time.Second, "after the heal")
	final := w.readAll(e.Servers(), 30*time.Second)
	for _, o := range w.history() {
		if (o.Kind == lincheck.Get || o.Kind == lincheck.SyncGet) && o.Result == lincheck.OK && strings.HasPrefix(o.Output.Data, "minority-") {
			t.Errorf("a client read what the isolated leader never committed: %v", o)
		}
	}
	w.check(final)
}

// TestRestartingEveryServerKeepsTheData kills all three servers at once
// after a workload and starts them again: the ensemble elects a leader and
// every server answers every key as before the crash.
func TestRestartingEveryServerKeepsTheData(t *testing.T) {
	e := startEnsemble(t, false)
	e.WaitForLeader(t, 20*time.Second)
	w := newWorkload(t, e, 4)
	w.addClient(addrs(e.Servers()...)...)
	w.addClient(addrs(e.Servers()...)...)
	for _, m := range e.Servers() {
		w.addClient(m.Addr)
	}
	w.waitProgress(200, 20*time.Second, "before the crash")
	before := w.readAll(e.Servers(), 30*time.Second)

	var wg sync.WaitGroup
	for _, m := range e.Servers() {
		wg.Go(m.Kill)
	}
	wg.Wait()
	for _, m := range e.Servers() {
		m.Restart(t)
	}
	e.WaitForLeader(t, 30*time.Second)
	after := w.readAll(e.Servers(), 30*time.Second)
	for _, key := range w.keys {
		if b, a := before[key], after[key]; b.Result != a.Result || b.Output != a.Output {
			t.Errorf("%s before the crash: %v; after: %v", key, b, a)
		}
	}
	w.check(after)
}

// TestFollowerRestartedBehindCatchesUp kills a follower, commits txns
// without it, and starts it again: a follower a few hundred txns behind
// is sent a DIFF, one more than the leader's 500 in-memory proposals
// behind is sent a SNAP, and either way it serves the same data.
func TestFollowerRestartedBehindCatchesUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		txns int
		mode string
	}{
		{"a few txns behind gets a DIFF", 100, "DIFF"},
		{"more than 500 txns behind gets a SNAP", 1500, "SNAP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEnsemble(t, false)
			leader := e.WaitForLeader(t, 20*time.Second)
			f := followers(e, leader)[0]
			w := newWorkload(t, e, 4)
			f.Kill()
			t.Logf("killed follower zk%d", f.ID)
			writeMany(t, w, addrs(followers(e, f)...), tc.txns)

			off := logSize(t, f)
			f.Restart(t)
			e.WaitForLeader(t, 30*time.Second)
			modes := syncModes(t, f, off)
			if len(modes) == 0 || modes[len(modes)-1] != tc.mode {
				t.Errorf("zk%d was synchronized with %v; want %s; its log since the restart:\n%s", f.ID, modes, tc.mode, logAfter(t, f, off))
			}
			w.check(w.readAll(e.Servers(), 30*time.Second))
		})
	}
}

// writeMany creates w's keys and commits n setData txns on them in all,
// through four clients on servers.
func writeMany(t *testing.T, w *workload, servers []string, n int) {
	t.Helper()
	const clients = 4
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := connect(t, servers...)
		id := w.newClient()
		key := w.keys[i%len(w.keys)]
		wg.Go(func() {
			deadline := time.Now().Add(30 * time.Second)
			if !waitSession(c, deadline, nil) {
				errs <- fmt.Errorf("client %d: no session", id)
				return
			}
			w.do(c, id, lincheck.Input{Kind: lincheck.Create, Path: key, Data: fmt.Sprintf("bulk-%d", id)})
			for j := range n / clients {
				o, err := w.do(c, id, lincheck.Input{Kind: lincheck.Set, Path: key, Data: fmt.Sprintf("bulk-%d-%d", id, j), Version: -1})
				if o.Result != lincheck.OK {
					errs <- fmt.Errorf("client %d: setData %s: %v", id, key, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestOldLeaderTruncatesWhatNoQuorumAcked makes the leader log a txn no
// follower sees (the proxies swallow everything it sends them), cuts it
// off, lets the other two elect a leader, and heals before they commit
// anything newer: the old leader's last zxid is above the new leader's
// committed log, so it must be told to TRUNC (spec §5.4: peer > maxC),
// and the txn must be gone everywhere. (Had the new leader committed txns
// of its epoch first, ZooKeeper's walk of the committed log would abort
// on the epoch change and send a SNAP instead.)
func TestOldLeaderTruncatesWhatNoQuorumAcked(t *testing.T) {
	e := startEnsemble(t, true)
	old := e.WaitForLeader(t, 20*time.Second)
	w := newWorkload(t, e, 2)
	writeMany(t, w, addrs(e.Servers()...), 8)
	c := connect(t, old.Addr)
	id := w.newClient()
	if !waitSession(c, time.Now().Add(20*time.Second), nil) {
		t.Fatalf("no session with zk%d", old.ID)
	}

	// Followers dialled the leader, so what it sends them goes ToClient
	// through the quorum proxies by which each follower reaches it.
	const size = 16 << 10
	var links []*testcluster.Proxy
	var before []int64
	for _, f := range followers(e, old) {
		q, _ := e.Links(f.ID, old.ID)
		links = append(links, q)
		before = append(before, q.BytesDroppedGoing(testcluster.ToClient))
		q.Drop(testcluster.ToClient, true)
	}
	doomed := "doomed-" + strings.Repeat("x", size)
	result := make(chan lincheck.Op, 1)
	go func() {
		o, _ := w.do(c, id, lincheck.Input{Kind: lincheck.Set, Path: w.keys[0], Data: doomed, Version: -1})
		result <- o
	}()
	deadline := time.Now().Add(10 * time.Second)
	for i, q := range links {
		for q.BytesDroppedGoing(testcluster.ToClient) < before[i]+size {
			if time.Now().After(deadline) {
				t.Fatalf("zk%d sent no proposal of the write within 10s", old.ID)
			}
			retryPause()
		}
	}
	e.Isolate(t, old.ID)
	for _, q := range links {
		q.Drop(testcluster.ToClient, false)
	}
	t.Logf("zk%d proposed a txn no follower received, and is isolated", old.ID)

	next := e.WaitForLeader(t, 30*time.Second)
	if next == old {
		t.Fatalf("isolated zk%d still counts as leader", old.ID)
	}
	select {
	case o := <-result:
		if o.Result == lincheck.OK {
			t.Errorf("the isolated leader acknowledged a write: %v", o)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the write through the isolated leader zk%d did not end within 30s", old.ID)
	}
	waitNotLeading(t, old, 20*time.Second)

	off := logSize(t, old)
	e.Heal(t)
	e.WaitForLeader(t, 30*time.Second)
	if mode, err := old.Mode(t); err != nil || mode != "follower" {
		t.Errorf("old leader zk%d after the heal: mode %q, %v; want follower", old.ID, mode, err)
	}
	if modes := syncModes(t, old, off); len(modes) == 0 || modes[0] != "TRUNC" {
		t.Errorf("old leader zk%d was synchronized with %v; want TRUNC", old.ID, modes)
	}
	writeMany(t, w, addrs(e.Servers()...), 20)
	final := w.readAll(e.Servers(), 30*time.Second)
	for key, o := range final {
		if strings.HasPrefix(o.Output.Data, "doomed-") {
			t.Errorf("%s holds the txn no quorum acknowledged after the heal", key)
		}
	}
	w.check(final)
}

package ensemble

import (
	"testing"
	"time"
)

// TestKillingTheLeaderLosesNoAcknowledgedWrite kills the leader with
// SIGKILL while clients on every server and on the whole ensemble write
// and read; the other two elect a new leader and serve writes, the old
// leader comes back as a follower, and the history stays linearizable
// with every acknowledged write still there, read through every server.
func TestKillingTheLeaderLosesNoAcknowledgedWrite(t *testing.T) {
	e := startEnsemble(t, false)
	leader := e.WaitForLeader(t, 20*time.Second)
	w := newWorkload(t, e, 4)
	w.addClient(addrs(e.Servers()...)...)
	w.addClient(addrs(e.Servers()...)...)
	for _, m := range e.Servers() {
		w.addClient(m.Addr)
	}
	w.waitProgress(100, 20*time.Second, "before the kill")

	leader.Kill()
	t.Logf("killed leader zk%d", leader.ID)
	next := e.WaitForLeader(t, 30*time.Second)
	if next == leader {
		t.Fatalf("zk%d still leads after being killed", leader.ID)
	}
	t.Logf("zk%d leads", next.ID)
	w.waitProgress(100, 30*time.Second, "after the new leader")

	leader.Restart(t)
	if got := e.WaitForLeader(t, 30*time.Second); got != next {
		t.Logf("zk%d leads after zk%d came back", got.ID, leader.ID)
	}
	w.waitProgress(50, 30*time.Second, "after the old leader came back")
	w.check(w.readAll(e.Servers(), 30*time.Second))
}

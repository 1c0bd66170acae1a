package peer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/zab"
)

// recordingSM is a StateMachine that records what the peer asks of it.
type recordingSM struct {
	mu     sync.Mutex
	events []string
}

func (m *recordingSM) add(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, fmt.Sprintf(format, args...))
}

func (m *recordingSM) Looking()                          { m.add("looking") }
func (m *recordingSM) Lead(epoch int64)                  { m.add("lead %d", epoch) }
func (m *recordingSM) Learn(observer bool, leader int64) { m.add("learn %d", leader) }
func (m *recordingSM) Deliver(batch []zab.Delivery) {
	for _, d := range batch {
		if d.Sync {
			m.add("sync")
		} else {
			m.add("deliver %v", d.Txn.Header.Zxid)
		}
	}
}
func (m *recordingSM) Forwarded([]zab.Request)                     {}
func (m *recordingSM) Touched([]jute.SessionTouch)                 {}
func (m *recordingSM) Revalidate([]zab.RevalidateRequest)          {}
func (m *recordingSM) Revalidated([]jute.RevalidateReply)          {}
func (m *recordingSM) Rolled()                                     {}
func (m *recordingSM) WireSnapshot(func([]byte, jute.Zxid, error)) {}
func (m *recordingSM) ReadSnapshot(*bufio.Reader, jute.Zxid) (any, error) {
	return nil, fmt.Errorf("no snapshots here")
}
func (m *recordingSM) InstallSnapshot(context.Context, any, jute.Zxid) error {
	return fmt.Errorf("no snapshots here")
}
func (m *recordingSM) Reload(context.Context) (jute.Zxid, error) {
	return 0, fmt.Errorf("no reload here")
}
func (m *recordingSM) SaveSnapshot(context.Context) error { return nil }

// since returns the events recorded after the first n.
func (m *recordingSM) since(n int) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.events[n:]...)
}

func (m *recordingSM) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events)
}

// followerPeer returns server 2 of a three-server ensemble, following
// server 1 over an in-memory link, in broadcast phase of epoch 1 with an
// empty history. Nothing listens: the peer's loop does not run, and the
// test hands it events one by one as run would.
func followerPeer(t *testing.T) (*Peer, *recordingSM, *quorumLink) {
	t.Helper()
	dir := t.TempDir()
	var cfgText strings.Builder
	fmt.Fprintf(&cfgText, "tickTime=100\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=2181\n", dir)
	for id := 1; id <= 3; id++ {
		// Never bound: the test opens no socket.
		fmt.Fprintf(&cfgText, "server.%d=127.0.0.1:%d:%d\n", id, 41000+2*id, 41001+2*id)
	}
	cfg, _, err := config.Parse(strings.NewReader(cfgText.String()), filepath.Join(dir, "zoo.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.SetMyID(2); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "version-2")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := storage.LogOptions{FS: storage.OS{}}
	log, err := storage.OpenLog(dataDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	sm := &recordingSM{}
	p, err := New(Config{Cfg: cfg, Log: log, LogOptions: opts, FS: storage.OS{}, SnapDir: dataDir, LogDir: dataDir}, sm)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.ctx, p.cancel, p.started = ctx, cancel, time.Now()
	p.writer.start()
	t.Cleanup(func() {
		cancel()
		p.writer.close()
	})

	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	go io.Copy(io.Discard, b) // the leader's end: whatever the follower sends
	p.gen++
	p.role, p.leaderID = jute.Following, 1
	l := newQuorumLink(a, 1, p.gen)
	p.step(t, &event{kind: evLeaderLink, link: l})
	for _, pkt := range []jute.QuorumPacket{
		{Type: jute.PacketLeaderInfo, Zxid: jute.MakeZxid(1, 0), Data: jute.AckEpochData(jute.ZabProtocolVersion)},
		{Type: jute.PacketDiff, Zxid: 0},
		{Type: jute.PacketNewLeader, Zxid: jute.MakeZxid(1, 0)},
		{Type: jute.PacketUpToDate},
	} {
		p.step(t, &event{kind: evPacket, link: l, packet: pkt})
	}
	if p.learner == nil || !p.learner.Serving() {
		t.Fatalf("the follower is not serving after the sync; state machine saw %v", sm.since(0))
	}
	return p, sm, l
}

// step hands the peer one event and executes the Ready, as run
// does after a batch of one event.
func (p *Peer) step(t *testing.T, ev *event) {
	t.Helper()
	p.handle(ev)
	p.flushZab()
}

// propose has the leader send a PROPOSAL for zxid and waits until the
// follower's log holds it.
func propose(t *testing.T, p *Peer, l *quorumLink, zxid jute.Zxid) {
	t.Helper()
	txn := &jute.Txn{
		Header: jute.TxnHeader{ClientID: 1, Cxid: int32(zxid.Counter()), Zxid: zxid, Time: 1, Type: jute.OpCreate},
		Record: &jute.CreateTxn{Path: fmt.Sprintf("/n%d", zxid.Counter()), Data: []byte("x"),
			ACL: []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, ParentCVersion: 1},
	}
	p.step(t, &event{kind: evPacket, link: l, packet: jute.QuorumPacket{Type: jute.PacketProposal, Zxid: zxid, Data: zab.NewProposal(txn).Data}})
	deadline := time.Now().Add(10 * time.Second)
	for p.lastLogged < zxid {
		if time.Now().After(deadline) {
			t.Fatalf("%v not logged within 10s", zxid)
		}
		<-p.inbox.signal
		for _, ev := range p.inbox.popAll(nil) {
			p.step(t, &ev)
		}
	}
}

// A COMMIT and the loss of the leader can arrive in one batch of the
// peer's inbox (the leader's last packets, then EOF: a partition on a
// loaded machine). The COMMIT's delivery then waits in a Ready that is
// never executed, and the proposal is no longer uncommitted, so the
// fast-forward at the role's end skipped it: the tree lacked a committed
// transaction its log holds, and as the next leader the server served and
// built epoch 2 on that tree (test/ensemble partition test under load,
// docs/robustness.md #9).
func TestARoleEndingInTheBatchOfACommitStillAppliesIt(t *testing.T) {
	p, sm, l := followerPeer(t)
	z1, z2 := jute.MakeZxid(1, 1), jute.MakeZxid(1, 2)
	propose(t, p, l, z1)
	propose(t, p, l, z2)
	n := sm.len()

	// One batch: COMMIT of z1, then the link closes; run executes the
	// Ready only after both.
	p.handle(&event{kind: evPacket, link: l, packet: jute.QuorumPacket{Type: jute.PacketCommit, Zxid: z1}})
	p.handle(&event{kind: evLinkClosed, link: l, err: io.EOF})
	p.flushZab()

	got := strings.Join(sm.since(n), ", ")
	want := fmt.Sprintf("looking, deliver %v, deliver %v", z1, z2)
	if got != want {
		t.Fatalf("after a COMMIT and the leader's loss in one batch, the state machine saw [%s]; want [%s]: the committed %v and the uncommitted, logged %v applied, in order", got, want, z1, z2)
	}
	if p.lastLogged != z2 {
		t.Fatalf("last logged %v, want %v", p.lastLogged, z2)
	}
}

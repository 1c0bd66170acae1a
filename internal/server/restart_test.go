package server

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// startServerAt runs a server on dataDir; stop closes it.
func startServerAt(t *testing.T, dataDir string, props ...string) (s *Server, stop func()) {
	t.Helper()
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.DataDir, cfg.DataLogDir = dataDir, dataDir
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	for i := 0; i+1 < len(props); i += 2 {
		cfg.Props[props[i]] = props[i+1]
	}
	s, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			s.Close()
		}
	}
	t.Cleanup(stop)
	return s, stop
}

func TestAcknowledgedWritesAndSessionsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	s, stop := startServerAt(t, dir)
	c := zkConnect(t, s)
	open := zk.WorldACL(zk.PermAll)
	c.Create("/keep", []byte("v1"), 0, open)
	c.Set("/keep", []byte("v2"), 0)
	c.Create("/keep/seq-", nil, zk.FlagSequence, open)
	raw := rawConnect(t, s)
	raw.call(1, jute.OpCreate, &jute.CreateRequest{Path: "/eph", ACL: openACL, Flags: jute.ModeEphemeral}, nil)
	_, before, _ := c.Get("/keep")
	stop()

	if logs, _ := filepath.Glob(filepath.Join(dir, "version-2", "log.*")); len(logs) == 0 {
		t.Fatal("no transaction log written")
	}
	s2, _ := startServerAt(t, dir)
	c2 := zkConnect(t, s2)
	data, after, err := c2.Get("/keep")
	if err != nil || !bytes.Equal(data, []byte("v2")) || *after != *before {
		t.Fatalf("after restart: %q %+v %v (before %+v)", data, after, err, before)
	}
	// A new sequential child continues the counter.
	p, _ := c2.Create("/keep/seq-", nil, zk.FlagSequence, open)
	if p != "/keep/seq-0000000001" {
		t.Fatalf("sequential after restart: %s", p)
	}
	// The session lives on: the client reattaches with its password, and
	// its ephemeral is still there.
	again := rawDial(t, s2)
	resp := again.handshake(&jute.ConnectRequest{SessionID: raw.session, Passwd: raw.passwd, Timeout: 30000, LastZxidSeen: jute.Zxid(after.Mzxid)})
	if resp == nil || resp.SessionID != raw.session {
		t.Fatalf("reattach after restart: %+v", resp)
	}
	if ok, _, _ := c2.Exists("/eph"); !ok {
		t.Fatal("ephemeral of a live session lost in the restart")
	}
}

func TestAServerRefusesAClientThatSawMoreThanItsDisk(t *testing.T) {
	dir := t.TempDir()
	s, stop := startServerAt(t, dir)
	raw := rawConnect(t, s)
	h := raw.call(1, jute.OpCreate, &jute.CreateRequest{Path: "/x", ACL: openACL}, nil)
	stop()
	os.RemoveAll(filepath.Join(dir, "version-2"))
	s2, _ := startServerAt(t, dir)
	c := rawDial(t, s2)
	if resp := c.handshake(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16), LastZxidSeen: h.Zxid}); resp != nil {
		t.Fatalf("a server that lost its data accepted a client that saw zxid %v", h.Zxid)
	}
}

func TestLogRollsTriggerSnapshotsAndRestoreUsesThem(t *testing.T) {
	dir := t.TempDir()
	s, stop := startServerAt(t, dir, "zookeeper.snapCount", "20", "zookeeper.snapshot.compression.method", "gz")
	c := zkConnect(t, s)
	open := zk.WorldACL(zk.PermAll)
	for i := range 100 {
		if _, err := c.Create(fmt.Sprintf("/n%03d", i), []byte("x"), 0, open); err != nil {
			t.Fatal(err)
		}
	}
	snapDir := filepath.Join(dir, "version-2")
	// A roll whose snapshot would start while the last one is still being
	// written skips it (as ZooKeeper does), so on a slow machine 100
	// writes may leave fewer than three: keep writing (to /n000, which the
	// checks below do not look at) until there are three.
	deadline := time.Now().Add(30 * time.Second)
	for {
		snaps, _ := filepath.Glob(filepath.Join(snapDir, "snapshot.*.gz"))
		logs, _ := filepath.Glob(filepath.Join(snapDir, "log.*"))
		if len(snaps) >= 3 && len(logs) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after writes with snapCount 20: snapshots %v logs %v", snaps, logs)
		}
		if _, err := c.Set("/n000", []byte("y"), -1); err != nil {
			t.Fatal(err)
		}
	}
	_, last, _ := c.Get("/n099")
	stop()
	s2, _ := startServerAt(t, dir)
	c2 := zkConnect(t, s2)
	children, _, err := c2.Children("/")
	if err != nil || len(children) != 101 {
		t.Fatalf("%d children after restart: %v", len(children), err)
	}
	_, again, _ := c2.Get("/n099")
	if *again != *last {
		t.Fatalf("stat after restart %+v, want %+v", again, last)
	}
}

func TestMntrReportsFsyncsAndBatchSizes(t *testing.T) {
	s, _ := startServerAt(t, t.TempDir(), "zookeeper.4lw.commands.whitelist", "mntr")
	c := zkConnect(t, s)
	for i := range 5 {
		c.Create(fmt.Sprintf("/f%d", i), nil, 0, zk.WorldACL(zk.PermAll))
	}
	out := fourLetter(t, s, "mntr")
	if !strings.Contains(out, "zk_cnt_fsynctime\t") || strings.Contains(out, "zk_cnt_fsynctime\t0\n") ||
		strings.Contains(out, "zk_sum_sync_processor_batch_size\t0\n") || !strings.Contains(out, "zk_cnt_dbinittime\t1\n") {
		t.Fatalf("mntr:\n%s", out)
	}
}

func fourLetter(t *testing.T, s *Server, word string) string {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	nc.Write([]byte(word))
	out, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

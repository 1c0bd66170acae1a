package server

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// startServerAt runs a server on dataDir; stop closes it.
func startServerAt(t *testing.T, dataDir string) (s *Server, stop func()) {
	t.Helper()
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.DataDir, cfg.DataLogDir = dataDir, dataDir
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

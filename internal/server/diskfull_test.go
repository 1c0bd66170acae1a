package server

import (
	"errors"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/storage"
)

// fullDisk fails every data write while full is set, like a disk with no
// space (truncating and syncing still work, as they do on a full disk).
type fullDisk struct {
	storage.OS
	full *atomic.Bool
}

type fullDiskFile struct {
	*os.File
	full *atomic.Bool
}

var errNoSpace = errors.New("no space left on device")

func (f fullDiskFile) Write(p []byte) (int, error) {
	if f.full.Load() {
		return 0, errNoSpace
	}
	return f.File.Write(p)
}

func (f fullDiskFile) WriteAt(p []byte, off int64) (int, error) {
	if f.full.Load() {
		return 0, errNoSpace
	}
	return f.File.WriteAt(p, off)
}

func (d fullDisk) Create(name string) (storage.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return fullDiskFile{f, d.full}, nil
}

func TestFullDiskFailsWritesKeepsReadsAndRecovers(t *testing.T) {
	dir := t.TempDir()
	full := &atomic.Bool{}
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	cfg.DataDir, cfg.DataLogDir = dir, dir
	s, err := New(cfg, Options{FS: fullDisk{full: full}, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := zkConnect(t, s)
	open := zk.WorldACL(zk.PermAll)
	if _, err := c.Create("/a", []byte("a"), 0, open); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	if _, err := c.Create("/b", []byte("b"), 0, open); err == nil {
		t.Fatal("a write succeeded on a full disk")
	}
	if _, err := c.Set("/a", []byte("changed"), -1); err == nil {
		t.Fatal("setData succeeded on a full disk")
	}
	data, _, err := c.Get("/a")
	if err != nil || string(data) != "a" {
		t.Fatalf("read while the disk is full: %q %v", data, err)
	}
	if ok, _, _ := c.Exists("/b"); ok {
		t.Fatal("a write that failed is visible")
	}
	full.Store(false)
	if _, err := c.Create("/b", []byte("b"), 0, open); err != nil {
		t.Fatalf("write after space returned: %v", err)
	}
	if _, err := c.Create("/c", []byte("c"), 0, open); err != nil {
		t.Fatal(err)
	}
	_, before, _ := c.Get("/c")
	// The failed batches count as the sync processor's unrecoverable
	// errors, as in ZooKeeper (zkd carried on).
	if n := s.Snapshot(0).Counters["unrecoverable_error_count"]; n < 1 {
		t.Errorf("unrecoverable_error_count = %d after a failed log write", n)
	}
	c.Close()
	s.Close()

	s2, _ := startServerAt(t, dir)
	c2 := zkConnect(t, s2)
	for _, p := range []string{"/a", "/b", "/c"} {
		data, st, err := c2.Get(p)
		if err != nil || string(data) != p[1:] {
			t.Fatalf("%s after restart: %q %v", p, data, err)
		}
		if p == "/c" && *st != *before {
			t.Fatalf("/c stat after restart %+v, want %+v", st, before)
		}
	}
}

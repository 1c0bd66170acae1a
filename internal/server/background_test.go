package server

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/storage"
)

// heldSnapshots holds the first write to a snapshot file, once armed,
// until release is closed, and closes entered when it does.
type heldSnapshots struct {
	storage.OS
	armed            *atomic.Bool
	once             *sync.Once
	entered, release chan struct{}
}

type heldFile struct {
	storage.File
	h heldSnapshots
}

func (f heldFile) Write(p []byte) (int, error) {
	f.h.once.Do(func() {
		close(f.h.entered)
		<-f.h.release
	})
	return f.File.Write(p)
}

func (h heldSnapshots) Create(name string) (storage.File, error) {
	f, err := h.OS.Create(name)
	if err != nil || !h.armed.Load() || !strings.Contains(filepath.Base(name), "snapshot.") {
		return f, err
	}
	return heldFile{f, h}, nil
}

// TestASnapshotBorrowsASecondPWithSpareProc: with Options.SpareProc, a
// process of one P has two while a background snapshot is written.
func TestASnapshotBorrowsASecondPWithSpareProc(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	h := heldSnapshots{armed: &atomic.Bool{}, once: &sync.Once{}, entered: make(chan struct{}), release: make(chan struct{})}
	dir := t.TempDir()
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.DataDir, cfg.DataLogDir = dir, dir
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	cfg.Props["zookeeper.snapCount"] = "20"
	s, err := New(cfg, Options{FS: h, SpareProc: true, Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer close(h.release)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS with no snapshot running = %d, want 1", got)
	}
	h.armed.Store(true)
	c := zkConnect(t, s)
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		select {
		case <-h.entered:
		default:
			if time.Now().After(deadline) {
				t.Fatal("no snapshot began after 30 s of writes with snapCount 20")
			}
			if _, err := c.Create(fmt.Sprintf("/n%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		break
	}
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("GOMAXPROCS while a snapshot is written = %d, want 2", got)
	}
}

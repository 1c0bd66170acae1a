package storage_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/tree"
)

// A server takes a snapshot without stopping its apply loop: the goroutine
// that owns the tree encodes a slice per turn (Step does no I/O), hands the
// bytes to whoever writes the file, and keeps applying transactions in
// between. Restore loads the newest good snapshot and replays the log after
// its zxid.
func Example() {
	dir, _ := os.MkdirTemp("", "snapshots")
	defer os.RemoveAll(dir)
	snapDir := filepath.Join(dir, storage.VersionDir)

	t := tree.New()
	t.Apply(&jute.Txn{
		Header: jute.TxnHeader{Zxid: 1, Type: jute.OpCreate},
		Record: &jute.CreateTxn{Path: "/app", Data: []byte("v1"), ACL: []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, ParentCVersion: -1},
	})

	w := t.NewSnapshot([]tree.SessionTimeout{{ID: 0x100, Timeout: 30000}})
	file, err := storage.CreateSnapshot(storage.OS{}, snapDir, w.Zxid(), storage.Snappy)
	if err != nil {
		panic(err)
	}
	e := jute.NewEncoder(nil)
	for zxid := jute.Zxid(2); ; zxid++ {
		e.Reset()
		done := w.Step(e, 2)  // on the tree's goroutine
		file.Write(e.Bytes()) // on the writer's
		if done {
			break
		}
		// Meanwhile the tree moves on (and the log records it).
		t.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: zxid, Type: jute.OpSetData}, Record: &jute.SetDataTxn{Path: "/app", Data: []byte("later"), Version: int32(zxid - 1)}})
	}
	if err := file.Commit(); err != nil {
		panic(err)
	}

	l, err := storage.LoadNewestSnapshot(storage.OS{}, snapDir, storage.LoadOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(filepath.Base(l.File), "replay from zxid", l.Zxid+1, "sessions", len(l.Sessions))
	// Output: snapshot.1.snappy replay from zxid 0x2 sessions 1
}

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
// that owns the tree freezes a view of it (a copy of its page tables), and
// another goroutine writes the view to the file while the tree moves on.
// Restore loads the newest good snapshot and replays the log after its
// zxid.
func Example() {
	dir, _ := os.MkdirTemp("", "snapshots")
	defer os.RemoveAll(dir)
	snapDir := filepath.Join(dir, storage.VersionDir)

	t := tree.New()
	t.Apply(&jute.Txn{
		Header: jute.TxnHeader{Zxid: 1, Type: jute.OpCreate},
		Record: &jute.CreateTxn{Path: "/app", Data: []byte("v1"), ACL: []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, ParentCVersion: -1},
	})

	v := t.Freeze() // on the tree's goroutine
	file, err := storage.CreateSnapshot(storage.OS{}, snapDir, v.Zxid(), storage.Snappy)
	if err != nil {
		panic(err)
	}
	written := make(chan error)
	go func() { // the writer's goroutine
		if _, err := v.WriteSnapshot(file, []tree.SessionTimeout{{ID: 0x100, Timeout: 30000}}, tree.WriteOptions{}); err != nil {
			written <- err
			return
		}
		written <- file.Commit()
	}()
	// Meanwhile the tree moves on (and the log records it).
	for zxid := jute.Zxid(2); zxid < 10; zxid++ {
		t.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: zxid, Type: jute.OpSetData}, Record: &jute.SetDataTxn{Path: "/app", Data: []byte("later"), Version: int32(zxid - 1)}})
	}
	if err := <-written; err != nil {
		panic(err)
	}
	v.Release() // on the tree's goroutine, once the writer is done

	l, err := storage.LoadNewestSnapshot(storage.OS{}, snapDir, storage.LoadOptions{})
	if err != nil {
		panic(err)
	}
	n, _ := l.Tree.Get("/app")
	fmt.Println(filepath.Base(l.File), "replay from zxid", l.Zxid+1, "sessions", len(l.Sessions), "data", string(n.Data))
	// Output: snapshot.1.snappy replay from zxid 0x2 sessions 1 data v1
}

package storage

import (
	"bytes"
	"fmt"
	"testing"
	"time"
	"os"
	"runtime/pprof"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

func TestZZLoad1M(t *testing.T) {
	tr := tree.New()
	data := bytes.Repeat([]byte("x"), 32)
	acl := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	z := jute.Zxid(0)
	for i := 0; i < 1000; i++ {
		z++
		p := fmt.Sprintf("/p%04d", i)
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: p, Data: data, ACL: acl, ParentCVersion: -1}})
		for j := 0; j < 1000; j++ {
			z++
			tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: fmt.Sprintf("%s/c%04d", p, j), Data: data, ACL: acl, ParentCVersion: -1}})
		}
	}
	for _, c := range []Compression{Uncompressed, Snappy, Gzip} {
		dir := t.TempDir()
		st := time.Now()
		if _, err := WriteSnapshot(OS{}, dir, tr, nil, c); err != nil {
			t.Fatal(err)
		}
		w := time.Since(st)
		f, _ := os.Create("/tmp/load-" + c.String() + ".pprof")
		pprof.StartCPUProfile(f)
		st = time.Now()
		l, err := LoadNewestSnapshot(OS{}, dir, LoadOptions{})
		pprof.StopCPUProfile()
		if err != nil {
			t.Fatal(err)
		}
		files, _ := ListSnapshots(OS{}, dir)
		fi, _ := os.Stat(files[0].Path)
		t.Logf("%v: write %v load %v nodes %d size %d", c, w, time.Since(st), l.Tree.NodeCount(), fi.Size())
	}
}

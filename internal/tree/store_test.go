package tree

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// TestArenaCompactionKeepsEveryNode churns the data of a few hundred nodes
// (sizes from empty to a chunk of their own, some nodes deleted and
// created again) until the arena has been compacted many times, with a
// view written on another goroutine part of the way, and checks the tree
// against a model of what each node holds.
func TestArenaCompactionKeepsEveryNode(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tr := New()
	model := make(map[string][]byte)
	zxid := jute.Zxid(0)
	apply := func(txn *jute.Txn) {
		t.Helper()
		zxid++
		txn.Header.Zxid = zxid
		if res, _ := tr.Apply(txn); res.Err != jute.OK {
			t.Fatalf("%v: %v", txn.Header.Type, res.Err)
		}
	}
	paths := make([]string, 300)
	for i := range paths {
		paths[i] = fmt.Sprintf("/n%03d", i)
		apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: paths[i], Data: []byte{}, ACL: openACL, ParentCVersion: -1}})
		model[paths[i]] = []byte{}
	}
	var view *View
	var viewModel map[string][]byte
	var written chan []byte
	for step := range 20000 {
		if step == 5000 {
			view = tr.Freeze()
			viewModel = make(map[string][]byte, len(model))
			for k, v := range model {
				viewModel[k] = v
			}
			written = make(chan []byte)
			go func() {
				var buf bytes.Buffer
				if _, err := view.WriteSnapshot(&buf, nil, WriteOptions{}); err != nil {
					panic(err)
				}
				written <- buf.Bytes()
			}()
		}
		if step == 8000 {
			snap := <-written
			view.Release()
			got, _, _, err := ReadSnapshot(bytes.NewReader(snap), ReadOptions{Zxid: view.Zxid()})
			if err != nil {
				t.Fatal(err)
			}
			checkAgainst(t, got, viewModel)
		}
		// Most writes go to the first 30 nodes; the others change now and
		// then, so that chunks stay partly live and must be compacted.
		p := paths[r.IntN(30)]
		if r.IntN(4) == 0 {
			p = paths[r.IntN(len(paths))]
		}
		switch {
		case r.IntN(20) == 0:
			if _, ok := model[p]; ok {
				apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpDelete}, Record: &jute.DeleteTxn{Path: p}})
				delete(model, p)
			} else {
				apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: p, Data: []byte("new"), ACL: openACL, ParentCVersion: -1}})
				model[p] = []byte("new")
			}
		default:
			if _, ok := model[p]; !ok {
				continue
			}
			size := r.IntN(3000)
			if r.IntN(50) == 0 {
				size = largeBlob + r.IntN(largeBlob)
			}
			data := bytes.Repeat([]byte{byte(step)}, size)
			n, _ := tr.Get(p)
			apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpSetData}, Record: &jute.SetDataTxn{Path: p, Data: data, Version: n.Stat.Version + 1}})
			model[p] = data
		}
		if step%2500 == 0 {
			checkInvariants(t, tr)
		}
	}
	checkInvariants(t, tr)
	checkAgainst(t, tr, model)
	if tr.blobs.evacuated < 10 { // measured: see -v
		t.Errorf("the arena was compacted %d times; the test means to compact it often", tr.blobs.evacuated)
	}
	if tr.blobs.wasteful() && len(tr.blobs.queue) == 0 {
		t.Errorf("arena holds %d bytes for %d live and nothing is queued", tr.blobs.bytes, tr.blobs.liveB)
	}
}

// checkAgainst compares the top-level nodes' data with a model.
func checkAgainst(t *testing.T, tr *Tree, model map[string][]byte) {
	t.Helper()
	for p, want := range model {
		n, ok := tr.Get(p)
		if !ok || !bytes.Equal(n.Data, want) {
			t.Fatalf("%s: %d bytes (exists %v), want %d", p, len(n.Data), ok, len(want))
		}
	}
	if got := len(tr.Children(mustGet(t, tr, RootPath))) - 1; got != len(model) { // less /zookeeper
		t.Fatalf("%d top-level nodes, want %d", got, len(model))
	}
}

func mustGet(t *testing.T, tr *Tree, p string) Node {
	t.Helper()
	n, ok := tr.Get(p)
	if !ok {
		t.Fatalf("%s missing", p)
	}
	return n
}

package tree

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// TestChildrenStaysCurrentWhileCached lists a large child set, changes it
// in every way a transaction can, and checks each listing against the
// node's actual children; an earlier listing keeps its old content.
func TestChildrenStaysCurrentWhileCached(t *testing.T) {
	tr := New()
	apply := applier(t, tr)
	create := func(path string) {
		apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: path, ACL: openACL}})
	}
	del := func(path string) {
		apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpDelete}, Record: &jute.DeleteTxn{Path: path}})
	}
	create("/p")
	want := []string{}
	for i := range 3 * listedMin {
		name := fmt.Sprintf("c%04d", (i*7919)%(3*listedMin))
		create("/p/" + name)
		want = append(want, name)
	}
	slices.Sort(want)
	check := func(what string) []string {
		t.Helper()
		n, _ := tr.Get("/p")
		got := tr.Children(n)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: children = %d names, want %d (%v…)", what, len(got), len(want), got[:min(3, len(got))])
		}
		var decoded jute.GetChildrenResponse
		if err := jute.Decode(tr.EncodedChildren(n), &decoded); err != nil || !slices.Equal(decoded.Children, want) {
			t.Fatalf("%s: encoded children decode to %d names (%v), want %d", what, len(decoded.Children), err, len(want))
		}
		return got
	}
	first := check("after creates")
	if again := check("listed twice"); &again[0] != &first[0] {
		t.Error("a second listing of an unchanged large child set built the list again")
	}
	before := slices.Clone(first)
	create("/p/zzz")
	want = append(want, "zzz")
	check("after one more create")
	if !slices.Equal(first, before) {
		t.Error("a create changed a listing handed out before it")
	}
	del("/p/c0005")
	want = slices.DeleteFunc(want, func(s string) bool { return s == "c0005" })
	check("after a delete")
	// Deleting the node itself drops its cache entry.
	for _, c := range slices.Clone(want) {
		del("/p/" + c)
	}
	want = want[:0]
	check("after emptying")
	del("/p")
	if len(tr.listed) != 0 {
		t.Errorf("%d listings kept after the node went", len(tr.listed))
	}
	checkInvariants(t, tr)
}

// applier returns a function that applies a transaction to tr with the
// next zxid after tr's last and fails the test unless it succeeds.
func applier(tb testing.TB, tr *Tree) func(*jute.Txn) {
	return func(txn *jute.Txn) {
		tb.Helper()
		txn.Header.Zxid = tr.LastZxid() + 1
		if res, _ := tr.Apply(txn); res.Err != jute.OK {
			tb.Fatalf("apply %v: %v", txn.Header.Type, res.Err)
		}
	}
}

// smallKidChunks makes child lists chunked from a few children on, for
// the rest of the test.
func smallKidChunks(t *testing.T) {
	flat, chunk := flatKidsMax, kidChunkMax
	flatKidsMax, kidChunkMax = 8, 8
	t.Cleanup(func() { flatKidsMax, kidChunkMax = flat, chunk })
}

// checkKidLists checks the shape of every child list: a chunked list has
// no empty or oversized chunk, counts its children right and is longer
// than a flat one may shrink to; a sorted flat list is no longer than a
// flat list may grow to.
func checkKidLists(t *testing.T, tr *Tree) {
	t.Helper()
	for id := rootID; id < tr.nextID; id++ {
		r := tr.rec(id)
		if r.kids == 0 || r.parent == 0 && id != rootID {
			continue
		}
		l := tr.kids.at(r.kids)
		if l.big == nil {
			if !l.unsorted && len(l.ids) > flatKidsMax {
				t.Errorf("%s: flat list of %d children (at most %d)", tr.pathOf(id), len(l.ids), flatKidsMax)
			}
			continue
		}
		sum := 0
		for i, c := range l.big.chunks {
			if len(c.ids) == 0 || len(c.ids) > kidChunkMax {
				t.Errorf("%s: chunk %d of %d has %d children (1 to %d)", tr.pathOf(id), i, len(l.big.chunks), len(c.ids), kidChunkMax)
			}
			sum += len(c.ids)
		}
		if l.ids != nil || l.unsorted || sum != int(l.big.n) || sum <= flatKidsMax/2 {
			t.Errorf("%s: chunked list counts %d, holds %d (flat part %d, unsorted %v)", tr.pathOf(id), l.big.n, sum, len(l.ids), l.unsorted)
		}
	}
}

// TestChunkedChildListsKeepOrderAndViews creates and deletes children of
// a few parents in random order with lists chunked from 8 children on,
// so that chunks split, merge, empty and the lists go flat and chunked
// again. After every change the children must be the model's, in order;
// views frozen along the way must keep the lists they saw while the
// tree changes under them.
func TestChunkedChildListsKeepOrderAndViews(t *testing.T) {
	smallKidChunks(t)
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			tr := New()
			apply := applier(t, tr)
			parents := []string{"/a", "/b", "/c"}
			model := map[string]map[string]bool{}
			for _, p := range parents {
				apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: p, ACL: openACL}})
				model[p] = map[string]bool{}
			}
			type frozenList struct {
				parent string
				want   []string
			}
			type liveView struct {
				v     *View
				lists []frozenList
			}
			var views []liveView
			checkView := func(lv liveView) {
				t.Helper()
				for _, fl := range lv.lists {
					id := tr.find(fl.parent)
					var got []string
					for _, c := range lv.v.f.kidIDs(lv.v.f.rec(id)) {
						got = append(got, lv.v.f.name(lv.v.f.rec(c)))
					}
					if !slices.Equal(got, fl.want) {
						t.Fatalf("view at zxid %v: %s lists %d children, had %d", lv.v.Zxid(), fl.parent, len(got), len(fl.want))
					}
				}
			}
			for step := range 3000 {
				p := parents[rng.IntN(len(parents))]
				// Lists grow to about 60 children and shrink back to none.
				grow := step%1000 < 500
				names := slices.Sorted(maps.Keys(model[p]))
				if len(names) > 0 && (!grow && rng.IntN(4) > 0 || grow && rng.IntN(4) == 0) {
					name := names[rng.IntN(len(names))]
					apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpDelete}, Record: &jute.DeleteTxn{Path: p + "/" + name}})
					delete(model[p], name)
				} else {
					name := fmt.Sprintf("n%03d", rng.IntN(1000))
					if rng.IntN(3) == 0 && len(names) > 0 {
						name = names[len(names)-1] + "z" // after every sibling
					}
					if model[p][name] {
						continue
					}
					apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: p + "/" + name, ACL: openACL}})
					model[p][name] = true
				}
				n, _ := tr.Get(p)
				if got, want := tr.Children(n), slices.Sorted(maps.Keys(model[p])); !slices.Equal(got, want) {
					t.Fatalf("step %d: %s has children %v, want %v", step, p, got, want)
				}
				if step%50 == 0 {
					checkKidLists(t, tr)
					lv := liveView{v: tr.Freeze()}
					for _, q := range parents {
						lv.lists = append(lv.lists, frozenList{q, slices.Sorted(maps.Keys(model[q]))})
					}
					views = append(views, lv)
				}
				if len(views) > 0 && rng.IntN(40) == 0 {
					i := rng.IntN(len(views))
					checkView(views[i])
					views[i].v.Release()
					views = slices.Delete(views, i, i+1)
				}
			}
			for _, lv := range views {
				checkView(lv)
				lv.v.Release()
			}
			checkInvariants(t, tr)
		})
	}
}

// TestLoadedChildListIsChunkedWhenSorted loads a snapshot whose parent
// has more children than a flat list holds: the list comes in the file's
// order and is cut into chunks when first needed in order, and then
// takes creates and deletes like any other.
func TestLoadedChildListIsChunkedWhenSorted(t *testing.T) {
	smallKidChunks(t)
	tr := New()
	apply := applier(t, tr)
	apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: "/big", ACL: openACL}})
	var want []string
	for i := range 50 {
		name := fmt.Sprintf("k%02d", (i*17)%50)
		apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: "/big/" + name, ACL: openACL}})
		want = append(want, name)
	}
	var buf bytes.Buffer
	if err := tr.WriteSnapshotOnce(&buf, nil); err != nil {
		t.Fatal(err)
	}
	loaded, _, _, err := ReadSnapshot(&buf, ReadOptions{Zxid: tr.LastZxid()})
	if err != nil {
		t.Fatal(err)
	}
	if l := loaded.kids.at(loaded.rec(loaded.find("/big")).kids); !l.unsorted || l.big != nil {
		t.Fatalf("loaded list: unsorted %v, %d chunks; want an unsorted flat list", l.unsorted, len(l.big.chunks))
	}
	applyLoaded := applier(t, loaded)
	applyLoaded(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: "/big/k25a", ACL: openACL}})
	applyLoaded(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpDelete}, Record: &jute.DeleteTxn{Path: "/big/k07"}})
	want = append(slices.DeleteFunc(want, func(s string) bool { return s == "k07" }), "k25a")
	slices.Sort(want)
	n, _ := loaded.Get("/big")
	if got := loaded.Children(n); !slices.Equal(got, want) {
		t.Fatalf("children %v, want %v", got, want)
	}
	if l := loaded.kids.at(loaded.rec(loaded.find("/big")).kids); l.big == nil {
		t.Error("a sorted list of 50 children is still flat with lists chunked from 8 on")
	}
	checkInvariants(t, loaded)
}

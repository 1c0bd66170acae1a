package tree

import (
	"fmt"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// TestChildrenStaysCurrentWhileCached lists a large child set, changes it
// in every way a transaction can, and checks each listing against the
// node's actual children; an earlier listing keeps its old content.
func TestChildrenStaysCurrentWhileCached(t *testing.T) {
	tr := New()
	zxid := jute.Zxid(1)
	apply := func(txn *jute.Txn) {
		t.Helper()
		txn.Header.Zxid = zxid
		zxid++
		if res, _ := tr.Apply(txn); res.Err != jute.OK {
			t.Fatalf("apply %v: %v", txn.Header.Type, res.Err)
		}
	}
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

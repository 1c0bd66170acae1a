package tree

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// BenchmarkCreateSequentialChildren creates children whose names grow, as
// sequential znodes do, under one parent of 100,000 children.
func BenchmarkCreateSequentialChildren(b *testing.B) {
	tr := New()
	data := bytes.Repeat([]byte("x"), 32)
	z := jute.Zxid(1)
	tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: "/q", Data: data, ACL: openACL, ParentCVersion: -1}})
	paths := make([]string, 100000+b.N)
	for i := range paths {
		paths[i] = fmt.Sprintf("/q/item-%010d", i)
	}
	for _, p := range paths[:100000] {
		z++
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: p, Data: data, ACL: openACL, ParentCVersion: -1}})
	}
	b.ResetTimer()
	for i := range b.N {
		z++
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: paths[100000+i], Data: data, ACL: openACL, ParentCVersion: -1}})
	}
}

// BenchmarkCreateScatteredChildren creates children under one parent of
// 100,000 at positions spread over the whole list, as 128 sessions that
// each number their own names ("<session>-<n>", the load generator's
// create workload) do.
func BenchmarkCreateScatteredChildren(b *testing.B) {
	const existing, sessions = 100000, 128
	tr := New()
	data := bytes.Repeat([]byte("x"), 32)
	z := jute.Zxid(1)
	tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: "/c", Data: data, ACL: openACL, ParentCVersion: -1}})
	paths := make([]string, existing+b.N)
	for i := range paths {
		paths[i] = fmt.Sprintf("/c/%d-%d", i%sessions, i/sessions)
	}
	for _, p := range paths[:existing] {
		z++
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: p, Data: data, ACL: openACL, ParentCVersion: -1}})
	}
	b.ResetTimer()
	for i := range b.N {
		z++
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: paths[existing+i], Data: data, ACL: openACL, ParentCVersion: -1}})
	}
}

// BenchmarkChildrenAfterChange lists a parent of 100,000 children after
// each change to them (a child created or deleted), the case the listing
// cache cannot serve.
func BenchmarkChildrenAfterChange(b *testing.B) {
	const existing = 100000
	tr := New()
	apply := applier(b, tr)
	apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: "/c", ACL: openACL, ParentCVersion: -1}})
	for i := range existing {
		apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: fmt.Sprintf("/c/%d", i), ACL: openACL, ParentCVersion: -1}})
	}
	b.ResetTimer()
	for i := range b.N {
		p := fmt.Sprintf("/c/%d", i%existing)
		apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpDelete}, Record: &jute.DeleteTxn{Path: p}})
		n, _ := tr.Get("/c")
		if got := len(tr.Children(n)); got != existing-1 {
			b.Fatalf("%d children, want %d", got, existing-1)
		}
		apply(&jute.Txn{Header: jute.TxnHeader{Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: p, ACL: openACL, ParentCVersion: -1}})
	}
}

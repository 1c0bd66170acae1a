package tree

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// benchTree returns a tree of n nodes in two levels, 100 bytes of data
// each.
func benchTree(n int) *Tree {
	tr := New()
	data := bytes.Repeat([]byte("x"), 100)
	z := jute.Zxid(0)
	for i := 0; tr.NodeCount() < n; i++ {
		z++
		parent := "/p" + fmt.Sprint(i%100)
		if i < 100 {
			tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: parent, Data: data, ACL: openACL, ParentCVersion: -1}})
			continue
		}
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: fmt.Sprintf("%s/node-%08d", parent, i), Data: data, ACL: openACL, ParentCVersion: -1}})
	}
	return tr
}

func BenchmarkSnapshotWrite(b *testing.B) {
	tr := benchTree(100000)
	b.ReportAllocs()
	var out countingWriter
	for b.Loop() {
		v := tr.Freeze()
		out = 0
		if _, err := v.WriteSnapshot(&out, nil, WriteOptions{}); err != nil {
			b.Fatal(err)
		}
		v.Release()
	}
	b.SetBytes(int64(out))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/node")
}

// BenchmarkSnapshotWriteMillion writes a view of 1,000,000 znodes of 32
// bytes, 1000 parents of 1000 children created parent by parent in turn
// (so that siblings sit far apart in memory), as the issue-11 benchmarks
// shape their tree; docs/benchmarks.md quotes its ns/node.
func BenchmarkSnapshotWriteMillion(b *testing.B) {
	tr := New()
	data := bytes.Repeat([]byte("x"), 32)
	z := jute.Zxid(0)
	create := func(path string) {
		z++
		tr.Apply(&jute.Txn{Header: jute.TxnHeader{Zxid: z, Type: jute.OpCreate}, Record: &jute.CreateTxn{Path: path, Data: data, ACL: openACL, ParentCVersion: -1}})
	}
	for p := range 1000 {
		create(fmt.Sprintf("/p%04d", p))
	}
	for c := range 1000 {
		for p := range 1000 {
			create(fmt.Sprintf("/p%04d/c%06d", p, c))
		}
	}
	var out countingWriter
	for b.Loop() {
		v := tr.Freeze()
		if _, err := v.WriteSnapshot(&out, nil, WriteOptions{}); err != nil {
			b.Fatal(err)
		}
		v.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(tr.NodeCount()), "ns/node")
}

func BenchmarkSnapshotRead(b *testing.B) {
	tr := benchTree(100000)
	var buf bytes.Buffer
	if err := tr.WriteSnapshotOnce(&buf, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), ReadOptions{Zxid: tr.LastZxid()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/node")
}

func BenchmarkDigest(b *testing.B) {
	tr := benchTree(100000)
	for b.Loop() {
		tr.Digest()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/node")
}

// countingWriter counts the bytes written to it.
type countingWriter int64

func (w *countingWriter) Write(b []byte) (int, error) {
	*w += countingWriter(len(b))
	return len(b), nil
}

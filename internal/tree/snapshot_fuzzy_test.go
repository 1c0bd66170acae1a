package tree

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

// txnGen makes random transactions the way a server's prep stage would:
// against the live tree, with valid versions and parent cversions.
type txnGen struct {
	r    *rand.Rand
	zxid jute.Zxid
	acls [][]jute.ACL
}

func newTxnGen(seed uint64) *txnGen {
	return &txnGen{
		r: rand.New(rand.NewPCG(seed, 7)),
		acls: [][]jute.ACL{
			openACL,
			{{Perms: jute.PermRead, ID: jute.Id{Scheme: "world", ID: "anyone"}}},
		},
	}
}

// acl returns a list: often one seen before, sometimes a brand-new one.
func (g *txnGen) acl() []jute.ACL {
	if g.r.IntN(4) == 0 {
		l := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "digest", ID: fmt.Sprintf("u%d:x", len(g.acls))}}}
		g.acls = append(g.acls, l)
		return l
	}
	return g.acls[g.r.IntN(len(g.acls))]
}

func (g *txnGen) pick(tr *Tree, ok func(string, *Node) bool) (string, *Node) {
	var paths []string
	nodes := tr.allNodes()
	for p, n := range nodes {
		if p != RootPath && p != ZKPath && !(len(p) > len(ZKPath) && p[:len(ZKPath)+1] == ZKPath+"/") && ok(p, n) {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return "", nil
	}
	slices.Sort(paths)
	p := paths[g.r.IntN(len(paths))]
	return p, nodes[p]
}

func (g *txnGen) next(tr *Tree) *jute.Txn {
	for {
		g.zxid++
		h := jute.TxnHeader{ClientID: jute.SessionID(1 + g.r.IntN(3)), Zxid: g.zxid, Time: 1000 + int64(g.zxid)}
		switch g.r.IntN(7) {
		case 0, 1: // create, under the root or a persistent node
			parentPath := RootPath
			if g.r.IntN(3) > 0 {
				if p, _ := g.pick(tr, func(_ string, n *Node) bool { return n.Stat.EphemeralOwner == 0 }); p != "" {
					parentPath = p
				}
			}
			parent, _ := tr.Get(parentPath)
			path := join(parentPath, string(rune('a'+g.r.IntN(6))))
			if tr.find(path) != 0 {
				continue
			}
			data := []byte(fmt.Sprint(g.zxid))
			cv := parent.Stat.Cversion + 1
			switch g.r.IntN(6) {
			case 0:
				h.Type = jute.OpCreate
				return &jute.Txn{Header: h, Record: &jute.CreateTxn{Path: path, Data: data, ACL: g.acl(), Ephemeral: true, ParentCVersion: cv}}
			case 1:
				h.Type = jute.OpCreateContainer
				return &jute.Txn{Header: h, Record: &jute.CreateContainerTxn{Path: path, Data: data, ACL: g.acl(), ParentCVersion: cv}}
			case 2:
				h.Type = jute.OpCreateTTL
				return &jute.Txn{Header: h, Record: &jute.CreateTTLTxn{Path: path, Data: data, ACL: g.acl(), ParentCVersion: cv, TTL: 5000}}
			default:
				h.Type = jute.OpCreate
				if g.r.IntN(5) == 0 {
					data = nil
				}
				return &jute.Txn{Header: h, Record: &jute.CreateTxn{Path: path, Data: data, ACL: g.acl(), ParentCVersion: cv}}
			}
		case 2: // delete a leaf
			p, _ := g.pick(tr, func(_ string, n *Node) bool { return n.NumChildren() == 0 })
			if p == "" {
				continue
			}
			h.Type = jute.OpDelete
			return &jute.Txn{Header: h, Record: &jute.DeleteTxn{Path: p}}
		case 3, 4:
			p, n := g.pick(tr, func(string, *Node) bool { return true })
			if p == "" {
				continue
			}
			h.Type = jute.OpSetData
			data := []byte(fmt.Sprint("v", g.zxid))
			if g.r.IntN(10) == 0 {
				data = bytes.Repeat(data, 1+largeBlob/len(data)) // a chunk of its own
			}
			return &jute.Txn{Header: h, Record: &jute.SetDataTxn{Path: p, Data: data, Version: n.Stat.Version + 1}}
		case 5:
			p, n := g.pick(tr, func(string, *Node) bool { return true })
			if p == "" {
				continue
			}
			h.Type = jute.OpSetACL
			return &jute.Txn{Header: h, Record: &jute.SetACLTxn{Path: p, ACL: g.acl(), Version: n.Stat.Aversion + 1}}
		case 6:
			if g.r.IntN(4) > 0 {
				continue
			}
			h.Type = jute.OpCloseSession
			return &jute.Txn{Header: h, Record: &jute.CloseSessionTxn{Paths: tr.Ephemerals(int64(h.ClientID))}}
		}
	}
}

// TestSnapshotOfAViewWhileWritesContinue freezes a tree, writes the view
// on another goroutine while transactions keep changing the tree, and
// checks that the file is exactly the snapshot of the tree at the view's
// zxid (the bytes a snapshot taken at that moment has), and that loading
// it and replaying every later transaction gives the live tree. It then
// goes on changing the tree, which compacts the arena the view kept, and
// checks the tree's invariants. Run with -race, it also checks that the
// snapshot goroutine and the owner never touch the same memory.
func TestSnapshotOfAViewWhileWritesContinue(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 30
	}
	for seed := range uint64(seeds) {
		g := newTxnGen(seed)
		live := New()
		for range 40 + g.r.IntN(80) {
			live.Apply(g.next(live))
		}
		sessions := []SessionTimeout{{ID: 1, Timeout: 30000}}
		var want bytes.Buffer
		if err := live.WriteSnapshotOnce(&want, sessions); err != nil {
			t.Fatal(err)
		}

		v := live.Freeze()
		var got bytes.Buffer
		done := make(chan error, 1)
		go func() {
			_, err := v.WriteSnapshot(&got, sessions, WriteOptions{})
			done <- err
		}()
		var later []*jute.Txn
		for range 20 + g.r.IntN(60) {
			txn := g.next(live)
			live.Apply(txn)
			later = append(later, txn)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		v.Release()
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("seed %d: the view's snapshot differs from the tree's at the freeze, at byte %d", seed, firstDiff(got.Bytes(), want.Bytes()))
		}

		restored, _, info, err := ReadSnapshot(bytes.NewReader(got.Bytes()), ReadOptions{Zxid: v.Zxid(), ExtendedTypes: true})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if info.DigestMismatch || info.Repaired != 0 {
			t.Errorf("seed %d: digest mismatch %v, repaired %d", seed, info.DigestMismatch, info.Repaired)
		}
		checkInvariants(t, restored)
		for _, txn := range later {
			restored.Apply(txn)
		}
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { compareTrees(t, restored, live) })
		for range 100 {
			live.Apply(g.next(live))
		}
		checkInvariants(t, live)
		if t.Failed() {
			t.Fatalf("seed %d: %d txns during the snapshot", seed, len(later))
		}
	}
}

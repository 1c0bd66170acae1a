package prep

import (
	"testing"

	"github.com/zkd/zkd/internal/acl"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

var (
	open     = []jute.ACL{{Perms: jute.PermAll, ID: acl.Anyone}}
	readOnly = []jute.ACL{{Perms: jute.PermRead, ID: acl.Anyone}}
)

// fixture is a Preparer over a tree with /a (persistent), /a/e (ephemeral
// of session 7), /ro (world READ only) and /full (one child).
func fixture(t *testing.T, ext bool) (*Preparer, *tree.Tree) {
	t.Helper()
	tr := tree.New()
	p := New(tr, Settings{ExtendedTypes: ext})
	zxid := jute.Zxid(1)
	apply := func(op jute.OpCode, body jute.Record) {
		txn := p.Prepare(&Request{Session: 7, Op: op, Body: body}, zxid, 1000)
		if txn.Header.Type == jute.OpError {
			t.Fatalf("fixture %v: %v", op, txn.Record.(*jute.ErrorTxn).Err)
		}
		tr.Apply(txn)
		p.Overlay.Applied(zxid)
		zxid++
	}
	apply(jute.OpCreate, &jute.CreateRequest{Path: "/a", ACL: open})
	apply(jute.OpCreate, &jute.CreateRequest{Path: "/a/e", ACL: open, Flags: jute.ModeEphemeral})
	apply(jute.OpCreate, &jute.CreateRequest{Path: "/ro", ACL: readOnly})
	apply(jute.OpCreate, &jute.CreateRequest{Path: "/full", ACL: open})
	apply(jute.OpCreate, &jute.CreateRequest{Path: "/full/c", ACL: open})
	return p, tr
}

func code(txn *jute.Txn) jute.Code {
	if e, ok := txn.Record.(*jute.ErrorTxn); ok {
		return e.Err
	}
	return jute.OK
}

// The first failing check wins; the order is visible to clients
// (client-protocol.md §4.3, values observed on ZooKeeper 3.8).
func TestCheckOrderMatchesZooKeeper(t *testing.T) {
	cases := []struct {
		name string
		ext  bool
		op   jute.OpCode
		body jute.Record
		want jute.Code
	}{
		{"create flags 7 is a bad argument", false, jute.OpCreate, &jute.CreateRequest{Path: "/x", ACL: open, Flags: 7}, jute.ErrBadArguments},
		{"TTL mode while TTLs are off is unimplemented", false, jute.OpCreate, &jute.CreateRequest{Path: "/x", ACL: open, Flags: 5}, jute.ErrUnimplemented},
		{"TTL mode through plain create is a bad argument", true, jute.OpCreate, &jute.CreateRequest{Path: "/x", ACL: open, Flags: 5}, jute.ErrBadArguments},
		{"createTTL with a plain mode is a bad argument", true, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/x", ACL: open, Flags: 0, TTL: 5}, jute.ErrBadArguments},
		{"TTL 0 is a bad argument", true, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/x", ACL: open, Flags: 5, TTL: 0}, jute.ErrBadArguments},
		{"largest TTL is accepted", true, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/x", ACL: open, Flags: 5, TTL: tree.MaxTTL}, jute.OK},
		{"TTL beyond the largest is a bad argument", true, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/x", ACL: open, Flags: 5, TTL: tree.MaxTTL + 1}, jute.ErrBadArguments},
		{"path without a slash is a bad argument", false, jute.OpCreate, &jute.CreateRequest{Path: "a", ACL: open}, jute.ErrBadArguments},
		{"ACL is checked before the parent exists", false, jute.OpCreate, &jute.CreateRequest{Path: "/nope/x"}, jute.ErrInvalidACL},
		{"double slash gives no node, not bad arguments", false, jute.OpCreate, &jute.CreateRequest{Path: "/a//b", ACL: open}, jute.ErrNoNode},
		{"trailing slash is a bad argument", false, jute.OpCreate, &jute.CreateRequest{Path: "/a/", ACL: open}, jute.ErrBadArguments},
		{"trailing slash is fine for sequential", false, jute.OpCreate, &jute.CreateRequest{Path: "/a/", ACL: open, Flags: 2}, jute.OK},
		{"creating / says it exists", false, jute.OpCreate, &jute.CreateRequest{Path: "/", ACL: open}, jute.ErrNodeExists},
		{"parent CREATE permission is required", false, jute.OpCreate, &jute.CreateRequest{Path: "/ro/x", ACL: open}, jute.ErrNoAuth},
		{"no children under an ephemeral", false, jute.OpCreate, &jute.CreateRequest{Path: "/a/e/x", ACL: open}, jute.ErrNoChildrenForEphemerals},
		{"dot component is a bad argument", false, jute.OpCreate, &jute.CreateRequest{Path: "/a/.", ACL: open}, jute.ErrBadArguments},
		{"world id other than anyone is invalid", false, jute.OpCreate, &jute.CreateRequest{Path: "/x", ACL: []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "bob"}}}}, jute.ErrInvalidACL},
		{"delete / is a bad argument", false, jute.OpDelete, &jute.DeleteRequest{Path: "/", Version: -1}, jute.ErrBadArguments},
		{"delete /zookeeper/config is a bad argument", false, jute.OpDelete, &jute.DeleteRequest{Path: "/zookeeper/config", Version: -1}, jute.ErrBadArguments},
		{"delete under a missing parent is no node", false, jute.OpDelete, &jute.DeleteRequest{Path: "/nope/nope", Version: -1}, jute.ErrNoNode},
		{"bad version wins over not empty", false, jute.OpDelete, &jute.DeleteRequest{Path: "/full", Version: 3}, jute.ErrBadVersion},
		{"not empty", false, jute.OpDelete, &jute.DeleteRequest{Path: "/full", Version: -1}, jute.ErrNotEmpty},
		{"setData validates the path first", false, jute.OpSetData, &jute.SetDataRequest{Path: "bad", Version: -1}, jute.ErrBadArguments},
		{"setData needs WRITE", false, jute.OpSetData, &jute.SetDataRequest{Path: "/ro", Version: -1}, jute.ErrNoAuth},
		{"setData on /zookeeper/config is refused", false, jute.OpSetData, &jute.SetDataRequest{Path: "/zookeeper/config", Version: -1}, jute.ErrNoAuth},
		{"setACL checks the ACL before existence", false, jute.OpSetACL, &jute.SetACLRequest{Path: "/nope", Version: -1}, jute.ErrInvalidACL},
		{"setACL compares the ACL version", false, jute.OpSetACL, &jute.SetACLRequest{Path: "/a", ACL: open, Version: 4}, jute.ErrBadVersion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _ := fixture(t, c.ext)
			got := code(p.Prepare(&Request{Session: 9, Op: c.op, Body: c.body}, 100, 2000))
			if got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestWritesInFlightSeeEachOther(t *testing.T) {
	p, _ := fixture(t, false)
	first := p.Prepare(&Request{Session: 9, Op: jute.OpCreate, Body: &jute.CreateRequest{Path: "/n", ACL: open}}, 100, 2000)
	second := p.Prepare(&Request{Session: 9, Op: jute.OpCreate, Body: &jute.CreateRequest{Path: "/n", ACL: open}}, 101, 2000)
	if code(first) != jute.OK || code(second) != jute.ErrNodeExists {
		t.Fatalf("first %v second %v", code(first), code(second))
	}
	child := p.Prepare(&Request{Session: 9, Op: jute.OpCreate, Body: &jute.CreateRequest{Path: "/n/c", ACL: open, Flags: 2}}, 102, 2000)
	if child.Record.(*jute.CreateTxn).Path != "/n/c0000000000" {
		t.Fatalf("child %+v", child.Record)
	}
	del := p.Prepare(&Request{Session: 9, Op: jute.OpDelete, Body: &jute.DeleteRequest{Path: "/n", Version: -1}}, 103, 2000)
	if code(del) != jute.ErrNotEmpty {
		t.Fatalf("delete of a parent with an in-flight child: %v", code(del))
	}
}

func TestMultiSeesItsOwnEarlierOps(t *testing.T) {
	p, tr := fixture(t, false)
	ok := p.Prepare(&Request{Session: 9, Op: jute.OpMulti, Body: &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: "/m", ACL: open}},
		{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: "/m/s-", ACL: open, Flags: 2}},
		{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: "/m/s-", ACL: open, Flags: 2}},
	}}}, 100, 2000)
	m := ok.Record.(*jute.MultiTxn)
	if len(m.Ops) != 3 || m.Ops[2].Record.(*jute.CreateTxn).Path != "/m/s-0000000001" {
		t.Fatalf("multi %+v", m.Ops)
	}
	bad := p.Prepare(&Request{Session: 9, Op: jute.OpMulti, Body: &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: "/eph", ACL: open, Flags: jute.ModeEphemeral}},
		{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: "/eph/c", ACL: open}},
		{Type: jute.OpDelete, Req: &jute.DeleteRequest{Path: "/a", Version: -1}},
	}}}, 101, 2000)
	bm := bad.Record.(*jute.MultiTxn)
	if bm.Ops[0].Type != jute.OpCreate || code(&jute.Txn{Record: bm.Ops[1].Record}) != jute.ErrNoChildrenForEphemerals ||
		code(&jute.Txn{Record: bm.Ops[2].Record}) != jute.ErrRuntimeInconsistency {
		t.Fatalf("failed multi %+v", bm.Ops)
	}
	// The failed multi left nothing behind in the overlay.
	if _, exists := p.Overlay.Lookup("/eph"); exists {
		t.Fatal("failed multi leaked /eph into the overlay")
	}
	res, _ := tr.Apply(bad)
	if res.Multi[0].Err != jute.OK || res.Multi[1].Err != jute.ErrNoChildrenForEphemerals {
		t.Fatalf("applied failed multi %+v", res.Multi)
	}
	if _, exists := tr.Get("/eph"); exists {
		t.Fatal("failed multi applied its first op")
	}
}

func TestCloseSessionListsInFlightEphemerals(t *testing.T) {
	p, _ := fixture(t, false)
	p.Prepare(&Request{Session: 7, Op: jute.OpCreate, Body: &jute.CreateRequest{Path: "/e2", ACL: open, Flags: jute.ModeEphemeral}}, 100, 2000)
	txn := p.Prepare(&Request{Session: 7, Op: jute.OpCloseSession, Body: &jute.Empty{}}, 101, 2000)
	paths := txn.Record.(*jute.CloseSessionTxn).Paths
	if len(paths) != 2 {
		t.Fatalf("paths %v, want /a/e and /e2", paths)
	}
}

func TestValidPath(t *testing.T) {
	valid := []string{"/", "/a", "/a/b", "/...", "/.a", "/a.", "/a..b", "/ü"}
	invalid := []string{"", "a", "/a/", "//", "/a//b", "/.", "/a/..", "/a\x00", "/a\x01", "/\u0085", "/\ue000", "/\U0001F600", "/\xff"}
	for _, p := range valid {
		if !ValidPath(p) {
			t.Errorf("%q rejected", p)
		}
	}
	for _, p := range invalid {
		if ValidPath(p) {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestAppliedRetiresOnlyChangesUpToItsZxid(t *testing.T) {
	p, tr := fixture(t, false)
	a := p.Prepare(&Request{Session: 9, Op: jute.OpCreate, Body: &jute.CreateRequest{Path: "/x", ACL: open}}, 100, 2000)
	b := p.Prepare(&Request{Session: 9, Op: jute.OpSetData, Body: &jute.SetDataRequest{Path: "/x", Data: []byte("v"), Version: -1}}, 101, 2000)
	tr.Apply(a)
	p.Overlay.Applied(100)
	if info, ok := p.Overlay.Lookup("/x"); !ok || info.Stat.Version != 1 {
		t.Fatalf("the in-flight setData was retired early: %+v %v", info, ok)
	}
	tr.Apply(b)
	p.Overlay.Applied(101)
	if n := p.Overlay.Pending(); n != 0 {
		t.Fatalf("%d changes still pending after everything was applied", n)
	}
}

package prep

import (
	"testing"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

// quotaFixture is a Preparer with quota enforcement set as enforce, over a
// tree with /q (data "x") carrying a quota with the given limits text, and
// /free with no quota. It returns the Preparer, the tree and a function
// that prepares and applies a request, failing the test if it fails.
func quotaFixture(t *testing.T, enforce bool, limits string) (*Preparer, *tree.Tree, func(op jute.OpCode, body jute.Record)) {
	t.Helper()
	tr := tree.New()
	p := New(tr, Settings{EnforceQuota: enforce, ExtendedTypes: true})
	zxid := jute.Zxid(1)
	apply := func(op jute.OpCode, body jute.Record) {
		t.Helper()
		txn := p.Prepare(&Request{Session: 7, Op: op, Body: body}, zxid, 1000)
		if c := code(txn); c != jute.OK {
			t.Fatalf("apply %v %+v: %v", op, body, c)
		}
		tr.Apply(txn)
		p.Overlay.Applied(zxid)
		zxid++
	}
	for _, n := range []struct{ path, data string }{
		{"/q", "x"}, {"/free", ""}, {"/zookeeper/quota/q", ""},
		{"/zookeeper/quota/q/zookeeper_limits", limits},
		{"/zookeeper/quota/q/zookeeper_stats", "count=0,bytes=0"},
	} {
		apply(jute.OpCreate, &jute.CreateRequest{Path: n.path, Data: []byte(n.data), ACL: open})
	}
	return p, tr, apply
}

func create(path, data string) *jute.CreateRequest {
	return &jute.CreateRequest{Path: path, Data: []byte(data), ACL: open}
}

func setData(path, data string, version int32) *jute.SetDataRequest {
	return &jute.SetDataRequest{Path: path, Data: []byte(data), Version: version}
}

const (
	countHard2 = "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2"
	bytesHard5 = "count=-1,bytes=-1=;byteHardLimit=5;countHardLimit=-1"
)

// Results observed on ZooKeeper 3.8.0 with zookeeper.enforceQuota=true
// (test/interop/quota_enforce_test.go runs the same against it).
func TestQuotaChecksMatchZooKeeper(t *testing.T) {
	cases := []struct {
		name    string
		enforce bool
		limits  string
		op      jute.OpCode
		body    jute.Record
		want    jute.Code
	}{
		{"a create within the hard count fits", true, countHard2, jute.OpCreate, create("/q/a", ""), jute.OK},
		{"a create beyond the hard bytes limit is refused", true, bytesHard5, jute.OpCreate, create("/q/a", "12345"), jute.ErrQuotaExceeded},
		{"a create of an empty node passes a full bytes quota", true, "count=-1,bytes=-1=;byteHardLimit=1;countHardLimit=-1", jute.OpCreate, create("/q/a", ""), jute.OK},
		{"a sequential create is checked", true, "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1", jute.OpCreate, &jute.CreateRequest{Path: "/q/s", ACL: open, Flags: jute.ModePersistentSequential}, jute.ErrQuotaExceeded},
		{"a container create is checked", true, "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1", jute.OpCreateContainer, &jute.CreateRequest{Path: "/q/c", ACL: open, Flags: jute.ModeContainer}, jute.ErrQuotaExceeded},
		{"a TTL create is checked", true, "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1", jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/q/t", ACL: open, Flags: jute.ModePersistentWithTTL, TTL: 1000}, jute.ErrQuotaExceeded},
		{"node exists comes before the quota", true, "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1", jute.OpCreate, create("/q", ""), jute.ErrNodeExists},
		{"no node comes before the quota", true, "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1", jute.OpCreate, create("/q/x/y", ""), jute.ErrNoNode},
		{"setData growing beyond the hard bytes is refused", true, bytesHard5, jute.OpSetData, setData("/q", "123456", -1), jute.ErrQuotaExceeded},
		{"setData to exactly the hard bytes fits", true, bytesHard5, jute.OpSetData, setData("/q", "12345", -1), jute.OK},
		{"the quota comes before the version on setData", true, bytesHard5, jute.OpSetData, setData("/q", "123456", 9), jute.ErrQuotaExceeded},
		{"a bad version within the quota is a bad version", true, bytesHard5, jute.OpSetData, setData("/q", "1", 9), jute.ErrBadVersion},
		{"setData checks no count", true, "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=0", jute.OpSetData, setData("/q", "123456", -1), jute.OK},
		{"soft limits are only logged", true, "count=1,bytes=1", jute.OpCreate, create("/q/a", "123"), jute.OK},
		{"a hard limit replaces the soft one", true, "count=1,bytes=-1=;byteHardLimit=-1;countHardLimit=2", jute.OpCreate, create("/q/a", ""), jute.OK},
		{"nothing is enforced with the key off", false, bytesHard5, jute.OpCreate, create("/q/a", "123456"), jute.OK},
		{"nodes outside every quota are not checked", true, "count=-1,bytes=-1=;byteHardLimit=0;countHardLimit=0", jute.OpCreate, create("/free/a", "123"), jute.OK},
		{"limits that do not parse fail the request", true, "rubbish", jute.OpCreate, create("/q/a", ""), jute.ErrMarshallingError},
		{"a key without a value fails the request", true, "count=,bytes=-1", jute.OpCreate, create("/q/a", ""), jute.ErrMarshallingError},
		{"a doubled = reads -1", true, "count==5,bytes=-1;countHardLimit==1", jute.OpCreate, create("/q/a", ""), jute.OK},
		{"a number that does not parse fails the request", true, "count=-1,bytes=-1=;byteHardLimit=x;countHardLimit=-1", jute.OpSetData, setData("/q", "x", -1), jute.ErrMarshallingError},
		{"broken limits do not matter with the key off", false, "rubbish", jute.OpCreate, create("/q/a", ""), jute.OK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _ := quotaFixture(t, tc.enforce, tc.limits)
			if got := code(p.Prepare(&Request{Session: 7, Op: tc.op, Body: tc.body}, 100, 1000)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQuotaCountsWritesStillInFlight(t *testing.T) {
	p, _, _ := quotaFixture(t, true, countHard2)
	// /q is 1 node: one more fits, a second does not, though the first
	// is not applied yet.
	if c := code(p.Prepare(&Request{Op: jute.OpCreate, Body: create("/q/a", "")}, 100, 1000)); c != jute.OK {
		t.Fatalf("first create: %v", c)
	}
	if c := code(p.Prepare(&Request{Op: jute.OpCreate, Body: create("/q/b", "")}, 101, 1000)); c != jute.ErrQuotaExceeded {
		t.Fatalf("second create while the first is in flight: %v, want QUOTAEXCEEDED", c)
	}
	// A delete in flight makes room.
	if c := code(p.Prepare(&Request{Op: jute.OpDelete, Body: &jute.DeleteRequest{Path: "/q/a", Version: -1}}, 102, 1000)); c != jute.OK {
		t.Fatalf("delete: %v", c)
	}
	if c := code(p.Prepare(&Request{Op: jute.OpCreate, Body: create("/q/b", "")}, 103, 1000)); c != jute.OK {
		t.Fatalf("create after the delete in flight: %v", c)
	}
}

func TestQuotaBytesOfSetDataInFlight(t *testing.T) {
	p, _, _ := quotaFixture(t, true, bytesHard5)
	// /q holds 1 byte; growing it to 4 leaves room for 1 more.
	if c := code(p.Prepare(&Request{Op: jute.OpSetData, Body: setData("/q", "1234", -1)}, 100, 1000)); c != jute.OK {
		t.Fatalf("setData: %v", c)
	}
	if c := code(p.Prepare(&Request{Op: jute.OpCreate, Body: create("/q/a", "12")}, 101, 1000)); c != jute.ErrQuotaExceeded {
		t.Fatalf("create of 2 bytes with 4 of 5 in flight: %v, want QUOTAEXCEEDED", c)
	}
	// The old length of a node set in flight is the one in flight.
	if c := code(p.Prepare(&Request{Op: jute.OpSetData, Body: setData("/q", "12345", -1)}, 102, 1000)); c != jute.OK {
		t.Fatalf("setData to 5 bytes: %v", c)
	}
}

func TestQuotaInFlightChangesRetireWhenApplied(t *testing.T) {
	p, tr, _ := quotaFixture(t, true, countHard2)
	txn := p.Prepare(&Request{Op: jute.OpCreate, Body: create("/q/a", "")}, 100, 1000)
	tr.Apply(txn)
	p.Overlay.Applied(100)
	if n := len(p.Overlay.quota); n != 0 {
		t.Fatalf("%d quota changes pending after apply", n)
	}
	if c := code(p.Prepare(&Request{Op: jute.OpCreate, Body: create("/q/b", "")}, 101, 1000)); c != jute.ErrQuotaExceeded {
		t.Fatalf("create beyond the applied usage: %v, want QUOTAEXCEEDED", c)
	}
	p.Overlay.Reset()
	if n := len(p.Overlay.quota); n != 0 {
		t.Fatalf("%d quota changes pending after reset", n)
	}
}

// ZooKeeper checks each op of a multi against the usage before the multi.
func TestQuotaMultiOpsDoNotSeeEachOther(t *testing.T) {
	p, _, _ := quotaFixture(t, true, countHard2)
	multi := &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpCreate, Req: create("/q/a", "")},
		{Type: jute.OpCreate, Req: create("/q/b", "")},
	}}
	txn := p.Prepare(&Request{Op: jute.OpMulti, Body: multi}, 100, 1000)
	if c := code(txn); c != jute.OK {
		t.Fatalf("multi of two creates where one fits: %v, want OK (as ZooKeeper 3.8)", c)
	}
	// The multi counts for the next request.
	if c := code(p.Prepare(&Request{Op: jute.OpCreate, Body: create("/q/c", "")}, 101, 1000)); c != jute.ErrQuotaExceeded {
		t.Fatalf("create after the multi: %v, want QUOTAEXCEEDED", c)
	}
}

func TestQuotaFailureInMultiFailsItLikeZooKeeper(t *testing.T) {
	p, _, _ := quotaFixture(t, true, bytesHard5)
	multi := &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpCreate, Req: create("/free/a", "")},
		{Type: jute.OpSetData, Req: setData("/q", "123456", -1)},
		{Type: jute.OpCreate, Req: create("/free/b", "")},
	}}
	txn := p.Prepare(&Request{Op: jute.OpMulti, Body: multi}, 100, 1000)
	m, ok := txn.Record.(*jute.MultiTxn)
	if !ok {
		t.Fatalf("record %T, want a multi", txn.Record)
	}
	var got []jute.Code
	for _, op := range m.Ops {
		got = append(got, code(&jute.Txn{Record: op.Record}))
	}
	want := []jute.Code{jute.OK, jute.ErrQuotaExceeded, jute.ErrRuntimeInconsistency}
	if len(got) != len(want) || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("sub-results %v, want %v", got, want)
	}
	if p.QuotaExceeded["q"] != 1 {
		t.Errorf("QuotaExceeded = %v, want q: 1", p.QuotaExceeded)
	}
	if _, ok := p.Overlay.Lookup("/free/a"); ok {
		t.Error("the failed multi left /free/a in the overlay")
	}
}

func TestBrokenQuotaFailsAWholeMulti(t *testing.T) {
	p, _, _ := quotaFixture(t, true, "rubbish")
	multi := &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpCreate, Req: create("/free/a", "")},
		{Type: jute.OpCreate, Req: create("/q/a", "")},
	}}
	txn := p.Prepare(&Request{Op: jute.OpMulti, Body: multi}, 100, 1000)
	if txn.Header.Type != jute.OpError || code(txn) != jute.ErrMarshallingError {
		t.Fatalf("got type %v record %+v, want a MARSHALLINGERROR error txn", txn.Header.Type, txn.Record)
	}
	// The flag does not leak into the next request.
	if c := code(p.Prepare(&Request{Op: jute.OpCreate, Body: create("/free/b", "")}, 101, 1000)); c != jute.OK {
		t.Fatalf("next create: %v", c)
	}
}

func TestParseStatsTrackLikeZooKeeper(t *testing.T) {
	cases := []struct {
		text string
		want statsTrack // nil: an error
	}{
		{"", statsTrack{}},
		{"count=1,bytes=3", statsTrack{"count": 1, "bytes": 3}},
		{"count=10,bytes=-1=;byteHardLimit=2000;countHardLimit=-1", statsTrack{"count": 10, "bytes": -1, "byteHardLimit": 2000, "countHardLimit": -1}},
		{"count=1,,;bytes=2;;", statsTrack{"count": 1, "bytes": 2}},
		{"count==7", statsTrack{"count": -1}},
		{"count=+4", statsTrack{"count": 4}},
		{"count", nil},
		{"count=", nil},
		{",count=1", nil},
		{"count=1.5", nil},
		{"count= 1", nil},
	}
	for _, tc := range cases {
		got, err := parseStatsTrack(tc.text)
		if tc.want == nil {
			if err == nil {
				t.Errorf("parse %q = %v, want an error", tc.text, got)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("parse %q = %v, %v; want %v", tc.text, got, err, tc.want)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("parse %q: %s = %d, want %d", tc.text, k, got[k], v)
			}
		}
	}
}

func TestQuotaWarningsAreWordedLikeZooKeeper(t *testing.T) {
	cases := []struct {
		name, limits string
		body         jute.Record
		op           jute.OpCode
		path, want   string
	}{
		{"nothing within the limits", countHard2, create("/q/a", ""), jute.OpCreate, "/q/a", ""},
		{"hard count exceeded", "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1", create("/q/a", ""), jute.OpCreate, "/q/a",
			"Quota exceeded: /q [current count=2, hardCountLimit=1]"},
		{"soft bytes exceeded", "count=-1,bytes=2", setData("/q", "123", -1), jute.OpSetData, "/q",
			"Quota exceeded: /q [current bytes=3, softByteLimit=2]"},
		{"broken limits", "count", create("/q/a", ""), jute.OpCreate, "/q/a",
			`cannot check the quota on /q (/zookeeper/quota/q/zookeeper_limits): bad StatsTrack text: pair "count" has no value`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _ := quotaFixture(t, true, tc.limits)
			var got []string
			p.Settings.Warn = func(msg, path string) { got = append(got, msg+" @"+path) }
			p.Prepare(&Request{Op: tc.op, Body: tc.body}, 100, 1000)
			var want []string
			if tc.want != "" {
				want = append(want, tc.want+" @"+tc.path)
			}
			if len(got) != len(want) || (len(got) == 1 && got[0] != want[0]) {
				t.Errorf("warnings %q, want %q", got, want)
			}
		})
	}
}

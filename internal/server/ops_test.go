package server

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

func TestFreshTreeLooksLikeZooKeeper(t *testing.T) {
	s := startServer(t, nil)
	c := zkConnect(t, s)
	children, stat, err := c.Children("/")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(children, []string{"zookeeper"}) || stat.Cversion != -1 || stat.NumChildren != 1 {
		t.Fatalf("/ children %v stat %+v", children, stat)
	}
	children, stat, _ = c.Children("/zookeeper")
	slices.Sort(children)
	if !slices.Equal(children, []string{"config", "quota"}) || stat.Cversion != -2 {
		t.Fatalf("/zookeeper children %v stat %+v", children, stat)
	}
	acl, stat, err := c.GetACL("/zookeeper/config")
	if err != nil || stat.Aversion != -1 || len(acl) != 1 || acl[0].Perms != zk.PermRead {
		t.Fatalf("config acl %v stat %+v err %v", acl, stat, err)
	}
	if _, err := c.Set("/zookeeper/config", []byte("x"), -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("setData on /zookeeper/config: %v, want NOAUTH", err)
	}
}

func TestCreateGetSetDeleteStatValues(t *testing.T) {
	s := startServer(t, nil)
	c := zkConnect(t, s)
	before := time.Now().UnixMilli()
	if p, err := c.Create("/a", []byte("hello"), 0, zk.WorldACL(zk.PermAll)); err != nil || p != "/a" {
		t.Fatalf("create: %q %v", p, err)
	}
	data, st, err := c.Get("/a")
	if err != nil || string(data) != "hello" {
		t.Fatalf("get: %q %v", data, err)
	}
	if st.Czxid != st.Mzxid || st.Czxid != st.Pzxid || st.Version != 0 || st.Cversion != 0 || st.Aversion != 0 ||
		st.EphemeralOwner != 0 || st.DataLength != 5 || st.NumChildren != 0 || st.Ctime != st.Mtime || st.Ctime < before {
		t.Fatalf("stat after create: %+v", st)
	}
	created := st.Czxid
	st2, err := c.Set("/a", []byte("bye"), 0)
	if err != nil || st2.Version != 1 || st2.Mzxid != created+1 || st2.Czxid != created || st2.DataLength != 3 {
		t.Fatalf("set: %+v %v", st2, err)
	}
	if _, err := c.Set("/a", []byte("x"), 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("stale set: %v", err)
	}
	// A failed write still consumes a zxid (§3.4).
	c.Create("/a/b", nil, 0, zk.WorldACL(zk.PermAll))
	_, parent, _ := c.Get("/a")
	if parent.Pzxid != created+3 || parent.Cversion != 1 || parent.NumChildren != 1 {
		t.Fatalf("parent after child create: %+v (created %x)", parent, created)
	}
	if err := c.Delete("/a", -1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if err := c.Delete("/a/b", 5); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("delete bad version: %v", err)
	}
	if err := c.Delete("/a/b", 0); err != nil {
		t.Fatal(err)
	}
	_, parent, _ = c.Get("/a")
	// Deleting a child bumps reported cversion again (2·C − numChildren).
	if parent.Cversion != 2 || parent.NumChildren != 0 {
		t.Fatalf("parent after child delete: %+v", parent)
	}
	if err := c.Delete("/a", -1); err != nil {
		t.Fatal(err)
	}
	if ok, _, err := c.Exists("/a"); ok || err != nil {
		t.Fatalf("exists after delete: %v %v", ok, err)
	}
}

func TestErrorCodes(t *testing.T) {
	s := startServer(t, nil)
	c := zkConnect(t, s)
	open := zk.WorldACL(zk.PermAll)
	c.Create("/e", nil, 0, open)
	c.Create("/eph", nil, zk.FlagEphemeral, open)
	cases := []struct {
		name string
		op   func() error
		want error
	}{
		{"create over an existing node", func() error { _, err := c.Create("/e", nil, 0, open); return err }, zk.ErrNodeExists},
		{"create under a missing parent", func() error { _, err := c.Create("/nope/x", nil, 0, open); return err }, zk.ErrNoNode},
		{"create under an ephemeral", func() error { _, err := c.Create("/eph/x", nil, 0, open); return err }, zk.ErrNoChildrenForEphemerals},
		{"create with an empty ACL", func() error { _, err := c.Create("/acl", nil, 0, nil); return err }, zk.ErrInvalidACL},
		{"get a missing node", func() error { _, _, err := c.Get("/missing"); return err }, zk.ErrNoNode},
		{"set a missing node", func() error { _, err := c.Set("/missing", nil, -1); return err }, zk.ErrNoNode},
		{"delete a missing node", func() error { return c.Delete("/missing", -1) }, zk.ErrNoNode},
		{"delete /zookeeper", func() error { return c.Delete("/zookeeper", -1) }, zk.ErrBadArguments},
		{"children of a missing node", func() error { _, _, err := c.Children("/missing"); return err }, zk.ErrNoNode},
		{"TTL create while extended types are off", func() error {
			_, err := c.CreateTTL("/ttl", nil, zk.FlagTTL, open, time.Minute)
			if err != nil && err.Error() == "unknown error: -6" {
				return errZkUnimplemented
			}
			return err
		}, errZkUnimplemented},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSequentialNamesFollowTheParentChildCounter(t *testing.T) {
	s := startServer(t, nil)
	c := zkConnect(t, s)
	open := zk.WorldACL(zk.PermAll)
	c.Create("/q", nil, 0, open)
	p0, _ := c.Create("/q/n-", nil, zk.FlagSequence, open)
	c.Create("/q/plain", nil, 0, open)
	c.Delete("/q/plain", -1)
	c.Create("/q/x", nil, 0, open) // fails? no: a fresh name
	p1, _ := c.Create("/q/n-", nil, zk.FlagSequence|zk.FlagEphemeral, open)
	if p0 != "/q/n-0000000000" || p1 != "/q/n-0000000003" {
		t.Fatalf("sequential names %q %q", p0, p1)
	}
}

func TestEphemeralsGoWithTheirSession(t *testing.T) {
	s := startServer(t, nil)
	owner := zkConnect(t, s)
	other := zkConnect(t, s)
	if _, err := owner.Create("/eph", []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	_, st, err := other.Get("/eph")
	if err != nil || st.EphemeralOwner != owner.SessionID() {
		t.Fatalf("owner %x stat %+v err %v", owner.SessionID(), st, err)
	}
	_, _, ch, err := other.ExistsW("/eph")
	if err != nil {
		t.Fatal(err)
	}
	owner.Close()
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDeleted || ev.Path != "/eph" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no NodeDeleted after the owner closed its session")
	}
}

func TestSessionExpiryDeletesEphemeralsAndTellsTheClient(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.TickTime = 100
		c.MinSessionTimeout = 200
		c.MaxSessionTimeout = 2000
	})
	watcher := zkConnect(t, s)
	raw := rawDial(t, s)
	resp := raw.handshake(&jute.ConnectRequest{Timeout: 300, Passwd: make([]byte, 16)})
	if resp.Timeout != 300 {
		t.Fatalf("negotiated %d", resp.Timeout)
	}
	if h := raw.call(1, jute.OpCreate, &jute.CreateRequest{Path: "/tmp", ACL: openACL, Flags: jute.ModeEphemeral}, nil); h.Err != jute.OK {
		t.Fatal(h.Err)
	}
	_, _, ch, err := watcher.ExistsW("/tmp")
	if err != nil {
		t.Fatal(err)
	}
	// Stop pinging: the session expires, the server closes the connection
	// without a word and deletes the ephemeral.
	raw.expectClosed()
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ephemeral survived its session")
	}
	again := rawDial(t, s)
	r := again.handshake(&jute.ConnectRequest{SessionID: raw.session, Passwd: raw.passwd, Timeout: 300})
	if r == nil || r.Timeout != 0 || r.SessionID != 0 {
		t.Fatalf("reattach to an expired session: %+v", r)
	}
	again.expectClosed()
}

func TestWatchEventArrivesBeforeTheWriteReply(t *testing.T) {
	s := startServer(t, nil)
	c := rawConnect(t, s)
	c.call(1, jute.OpCreate, &jute.CreateRequest{Path: "/w", Data: []byte("a"), ACL: openACL}, nil)
	c.call(2, jute.OpGetData, &jute.PathWatchRequest{Path: "/w", Watch: true}, &jute.GetDataResponse{})
	c.send(3, jute.OpSetData, &jute.SetDataRequest{Path: "/w", Data: []byte("b"), Version: -1})
	h, _, events := c.reply()
	if h.Xid != 3 || len(events) != 1 || events[0].Type != jute.EventNodeDataChanged || events[0].Path != "/w" {
		t.Fatalf("reply %+v events %+v", h, events)
	}
}

func TestWatchTriggers(t *testing.T) {
	s := startServer(t, nil)
	c := zkConnect(t, s)
	open := zk.WorldACL(zk.PermAll)
	c.Create("/p", nil, 0, open)
	_, _, childCh, _ := c.ChildrenW("/p")
	_, _, existCh, _ := c.ExistsW("/p/c")
	c.Create("/p/c", nil, 0, open)
	expect := func(ch <-chan zk.Event, typ zk.EventType, path string) {
		t.Helper()
		select {
		case ev := <-ch:
			if ev.Type != typ || ev.Path != path {
				t.Fatalf("event %+v, want %v %s", ev, typ, path)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %v on %s", typ, path)
		}
	}
	expect(existCh, zk.EventNodeCreated, "/p/c")
	expect(childCh, zk.EventNodeChildrenChanged, "/p")
	_, _, dataCh, _ := c.GetW("/p/c")
	c.Delete("/p/c", -1)
	expect(dataCh, zk.EventNodeDeleted, "/p/c")
}

func TestMultiIsAllOrNothing(t *testing.T) {
	s := startServer(t, nil)
	c := zkConnect(t, s)
	open := zk.WorldACL(zk.PermAll)
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/m", Data: []byte("1"), Acl: open},
		&zk.CreateRequest{Path: "/m/a", Acl: open},
		&zk.SetDataRequest{Path: "/m", Data: []byte("2"), Version: 0},
	)
	if err != nil || len(res) != 3 || res[0].String != "/m" || res[2].Stat.Version != 1 {
		t.Fatalf("multi: %+v %v", res, err)
	}
	res, err = c.Multi(
		&zk.CreateRequest{Path: "/m/b", Acl: open},
		&zk.CheckVersionRequest{Path: "/m", Version: 0},
		&zk.DeleteRequest{Path: "/m/a", Version: -1},
	)
	if !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("failed multi: %v", err)
	}
	wantErrs := []error{nil, zk.ErrBadVersion, zk.ErrAPIError}
	for i, r := range res {
		if !errors.Is(r.Error, wantErrs[i]) && !(wantErrs[i] == nil && r.Error == nil) {
			// go-zk maps RUNTIMEINCONSISTENCY to an error it does not name;
			// check the raw code below instead.
			if i != 2 {
				t.Fatalf("result %d: %v", i, r.Error)
			}
		}
	}
	if ok, _, _ := c.Exists("/m/b"); ok {
		t.Fatal("a failed multi applied its first op")
	}
	raw := rawConnect(t, s)
	var mr jute.MultiResponse
	h := raw.call(9, jute.OpMulti, &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: "/m/b", ACL: openACL}},
		{Type: jute.OpCheck, Req: &jute.CheckVersionRequest{Path: "/m", Version: 0}},
		{Type: jute.OpDelete, Req: &jute.DeleteRequest{Path: "/m/a", Version: -1}},
	}}, &mr)
	codes := []jute.Code{mr.Results[0].Err, mr.Results[1].Err, mr.Results[2].Err}
	if h.Err != jute.OK || !slices.Equal(codes, []jute.Code{jute.OK, jute.ErrBadVersion, jute.ErrRuntimeInconsistency}) {
		t.Fatalf("header %+v codes %v", h, codes)
	}
}

func TestDigestACLAndAuth(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.Props["zookeeper.DigestAuthenticationProvider.superDigest"] = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
	})
	alice := zkConnect(t, s)
	if err := alice.AddAuth("digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Create("/secret", []byte("s"), 0, zk.DigestACL(zk.PermAll, "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.Get("/secret"); err != nil {
		t.Fatal(err)
	}
	bob := zkConnect(t, s)
	if _, _, err := bob.Get("/secret"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("bob read: %v", err)
	}
	acl, _, err := bob.GetACL("/secret")
	if !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("bob getACL: %v %v", acl, err)
	}
	root := zkConnect(t, s)
	root.AddAuth("digest", []byte("super:test"))
	if _, _, err := root.Get("/secret"); err != nil {
		t.Fatalf("super read: %v", err)
	}
	// auth:"" expands to the caller's digest identity.
	if _, err := alice.Create("/mine", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: ""}}); err != nil {
		t.Fatal(err)
	}
	acl, _, _ = alice.GetACL("/mine")
	if len(acl) != 1 || acl[0].Scheme != "digest" || !strings.HasPrefix(acl[0].ID, "alice:") {
		t.Fatalf("expanded acl %v", acl)
	}
	raw := rawConnect(t, s)
	raw.send(5, jute.OpAuth, &jute.AuthPacket{Scheme: "nosuch", Auth: []byte("x")})
	h, _, _ := raw.reply()
	if h.Err != jute.ErrAuthFailed || h.Zxid != 0 {
		t.Fatalf("bad scheme: %+v", h)
	}
	raw.expectClosed()
}

// errZkUnimplemented is how go-zookeeper reports UNIMPLEMENTED (-6), which
// it has no sentinel for.
var errZkUnimplemented = errors.New("UNIMPLEMENTED")

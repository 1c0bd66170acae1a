package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/testcluster"
)

func TestCreateGetSetDeleteReportTheNodesStat(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	before := time.Now()

	path, st, err := c.Create(ctx, "/a", []byte("one"), client.ModePersistent, open)
	if err != nil {
		t.Fatal(err)
	}
	if path != "/a" {
		t.Fatalf("path %q", path)
	}
	if st.Czxid <= 0 || st.Mzxid != st.Czxid || st.Pzxid != st.Czxid {
		t.Fatalf("zxids of a new node: %+v", st)
	}
	if st.Version != 0 || st.Cversion != 0 || st.Aversion != 0 || st.EphemeralOwner != 0 || st.DataLength != 3 || st.NumChildren != 0 {
		t.Fatalf("counters of a new node: %+v", st)
	}
	if st.Ctime != st.Mtime || st.Created().Before(before.Add(-time.Second)) || st.Created().After(time.Now().Add(time.Second)) {
		t.Fatalf("times of a new node: %+v (now %v)", st, time.Now())
	}

	data, got, err := c.Get(ctx, "/a")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "one" || got != st {
		t.Fatalf("get: %q %+v, want %q %+v", data, got, "one", st)
	}

	set, err := c.Set(ctx, "/a", []byte("two!"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if set.Version != 1 || set.Mzxid <= st.Mzxid || set.Czxid != st.Czxid || set.DataLength != 4 || set.Ctime != st.Ctime {
		t.Fatalf("stat after set: %+v (before %+v)", set, st)
	}
	if ex, err := c.Exists(ctx, "/a"); err != nil || ex == nil || *ex != set {
		t.Fatalf("exists: %+v, %v; want %+v", ex, err, set)
	}

	mustCreate(t, c, "/a/x", "")
	y := mustCreate(t, c, "/a/y", "")
	names, parent, err := c.Children(ctx, "/a")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"x", "y"}) || parent.NumChildren != 2 || parent.Cversion != 2 || parent.Pzxid != y.Czxid {
		t.Fatalf("children %v, parent %+v", names, parent)
	}
	if n, err := c.GetAllChildrenNumber(ctx, "/a"); err != nil || n != 2 {
		t.Fatalf("getAllChildrenNumber = %d, %v", n, err)
	}

	if err := c.Delete(ctx, "/a/x", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "/a/y", client.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "/a", 1); err != nil {
		t.Fatal(err)
	}
	if ex, err := c.Exists(ctx, "/a"); err != nil || ex != nil {
		t.Fatalf("exists after delete: %+v, %v", ex, err)
	}
}

func TestNullAndEmptyDataStayDistinct(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	if _, _, err := c.Create(ctx, "/null", nil, client.ModePersistent, open); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Create(ctx, "/empty", []byte{}, client.ModePersistent, open); err != nil {
		t.Fatal(err)
	}
	if d, _, err := c.Get(ctx, "/null"); err != nil || d != nil {
		t.Fatalf("null data read back as %#v, %v", d, err)
	}
	if d, _, err := c.Get(ctx, "/empty"); err != nil || d == nil || len(d) != 0 {
		t.Fatalf("empty data read back as %#v, %v", d, err)
	}
}

func TestOperationsFailWithTheServersCode(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	mustCreate(t, c, "/e", "x")
	mustCreate(t, c, "/e/child", "")
	if _, _, err := c.Create(ctx, "/eph", nil, client.ModeEphemeral, open); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		op   string
		path string
		run  func() error
		want error
	}{
		{"creating an existing node fails with NodeExists", "create", "/e", func() error {
			_, _, err := c.Create(ctx, "/e", nil, client.ModePersistent, open)
			return err
		}, client.ErrNodeExists},
		{"creating under a missing parent fails with NoNode", "create", "/missing/x", func() error {
			_, _, err := c.Create(ctx, "/missing/x", nil, client.ModePersistent, open)
			return err
		}, client.ErrNoNode},
		{"creating under an ephemeral fails with NoChildrenForEphemerals", "create", "/eph/x", func() error {
			_, _, err := c.Create(ctx, "/eph/x", nil, client.ModePersistent, open)
			return err
		}, client.ErrNoChildrenForEphemerals},
		{"creating with no ACL fails with InvalidACL", "create", "/noacl", func() error {
			_, _, err := c.Create(ctx, "/noacl", nil, client.ModePersistent, nil)
			return err
		}, client.ErrInvalidACL},
		{"creating a TTL node with TTLs disabled fails with Unimplemented", "create", "/ttl", func() error {
			_, _, err := c.CreateTTL(ctx, "/ttl", nil, client.ModePersistentWithTTL, open, time.Minute)
			return err
		}, client.ErrUnimplemented},
		{"reading a missing node fails with NoNode", "getData", "/nope", func() error {
			_, _, err := c.Get(ctx, "/nope")
			return err
		}, client.ErrNoNode},
		{"setting with a stale version fails with BadVersion", "setData", "/e", func() error {
			_, err := c.Set(ctx, "/e", nil, 7)
			return err
		}, client.ErrBadVersion},
		{"deleting a node with children fails with NotEmpty", "delete", "/e", func() error {
			return c.Delete(ctx, "/e", client.AnyVersion)
		}, client.ErrNotEmpty},
		{"deleting the root fails with BadArguments", "delete", "/", func() error {
			return c.Delete(ctx, "/", client.AnyVersion)
		}, client.ErrBadArguments},
		{"listing a missing node fails with NoNode", "getChildren", "/nope", func() error {
			_, _, err := c.Children(ctx, "/nope")
			return err
		}, client.ErrNoNode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var e *client.Error
			if !errors.As(err, &e) || e.Op != tc.op || e.Path != tc.path {
				t.Fatalf("err = %#v, want an *Error for %s %s", err, tc.op, tc.path)
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("message %q does not name the path", err)
			}
		})
	}
}

func TestSequentialNodesGetIncreasingTenDigitSuffixes(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	mustCreate(t, c, "/q", "")
	var got []string
	for i, mode := range []client.CreateMode{client.ModePersistentSequential, client.ModeEphemeralSequential, client.ModePersistentSequential} {
		p, st, err := c.Create(ctx, "/q/n-", nil, mode, open)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("/q/n-%010d", i); p != want {
			t.Fatalf("sequential create %d made %q, want %q", i, p, want)
		}
		if (mode == client.ModeEphemeralSequential) != (st.EphemeralOwner == c.SessionID()) {
			t.Fatalf("%v node has owner %#x (session %#x)", mode, st.EphemeralOwner, c.SessionID())
		}
		got = append(got, p)
	}
	names, _, err := c.Children(ctx, "/q")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if len(names) != 3 || "/q/"+names[2] != got[2] {
		t.Fatalf("children %v, created %v", names, got)
	}
}

func TestEphemeralNodesLiveAsLongAsTheirSession(t *testing.T) {
	addr := startServer(t, nil)
	owner := connect(t, addr)
	other := connect(t, addr)
	ctx := testCtx(t)

	_, st, err := owner.Create(ctx, "/eph", []byte("e"), client.ModeEphemeral, open)
	if err != nil {
		t.Fatal(err)
	}
	if st.EphemeralOwner != owner.SessionID() || st.EphemeralOwner == 0 {
		t.Fatalf("owner %#x, session %#x", st.EphemeralOwner, owner.SessionID())
	}
	if eph, err := owner.GetEphemerals(ctx, "/"); err != nil || !slices.Equal(eph, []string{"/eph"}) {
		t.Fatalf("getEphemerals = %v, %v", eph, err)
	}
	if eph, err := other.GetEphemerals(ctx, ""); err != nil || len(eph) != 0 {
		t.Fatalf("another session's getEphemerals = %v, %v", eph, err)
	}
	seen, ch, err := other.ExistsW(ctx, "/eph")
	if err != nil || seen == nil || seen.EphemeralOwner != owner.SessionID() {
		t.Fatalf("exists from another session: %+v, %v", seen, err)
	}
	if err := owner.Close(ctx); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, ch, client.EventNodeDeleted, "/eph")
	if ex, err := other.Exists(ctx, "/eph"); err != nil || ex != nil {
		t.Fatalf("ephemeral outlived its session: %+v, %v", ex, err)
	}
}

func TestContainerAndTTLNodes(t *testing.T) {
	c := connect(t, startServer(t, func(cfg *config.Config) {
		cfg.Props["zookeeper.extendedTypesEnabled"] = "true"
	}))
	ctx := testCtx(t)
	p, st, err := c.Create(ctx, "/box", nil, client.ModeContainer, open)
	if err != nil || p != "/box" || st.EphemeralOwner != 0 {
		t.Fatalf("container: %q %+v %v", p, st, err)
	}
	p, st, err = c.CreateTTL(ctx, "/ttl-", nil, client.ModePersistentSequentialWithTTL, open, time.Hour)
	if err != nil || !strings.HasPrefix(p, "/ttl-") || len(p) != len("/ttl-")+10 || st.EphemeralOwner != 0 {
		t.Fatalf("TTL node: %q %+v %v", p, st, err)
	}
	if _, _, err := c.CreateTTL(ctx, "/ttl0", nil, client.ModePersistentWithTTL, open, 0); !errors.Is(err, client.ErrBadArguments) {
		t.Fatalf("TTL 0: %v, want BadArguments", err)
	}
}

func TestMultiAppliesAllOpsOrNone(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	mustCreate(t, c, "/m", "v0")

	res, err := c.Multi(ctx,
		client.CreateOp{Path: "/m/a", Data: []byte("a"), ACL: open},
		client.CreateOp{Path: "/m/s-", Mode: client.ModePersistentSequential, ACL: open},
		client.SetOp{Path: "/m", Data: []byte("v1"), Version: 0},
		client.CheckOp{Path: "/m", Version: 1},
		client.DeleteOp{Path: "/m/a", Version: 0},
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 || res[0].Path != "/m/a" || res[1].Path != "/m/s-0000000001" {
		t.Fatalf("results %+v", res)
	}
	zxid := res[0].Stat.Czxid
	if zxid == 0 || res[1].Stat.Czxid != zxid || res[2].Stat.Mzxid != zxid || res[2].Stat.Version != 1 {
		t.Fatalf("ops of one multi should share one zxid: %+v", res)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("op %d: %v", i, r.Err)
		}
	}

	res, err = c.Multi(ctx,
		client.CreateOp{Path: "/m/b", ACL: open},
		client.CheckOp{Path: "/m", Version: 0},
		client.DeleteOp{Path: "/m", Version: client.AnyVersion},
	)
	var me *client.MultiError
	if !errors.As(err, &me) || me.Index != 1 || !errors.Is(err, client.ErrBadVersion) {
		t.Fatalf("err = %v, want a MultiError for op 1 wrapping BadVersion", err)
	}
	if _, ok := me.Op.(client.CheckOp); !ok {
		t.Fatalf("MultiError.Op = %#v", me.Op)
	}
	if len(res) != 3 || res[0].Err != nil || !errors.Is(res[1].Err, client.ErrBadVersion) || !errors.Is(res[2].Err, client.ErrRuntimeInconsistency) {
		t.Fatalf("results of a failed multi: %+v", res)
	}
	if ex, err := c.Exists(ctx, "/m/b"); err != nil || ex != nil {
		t.Fatalf("a failed multi left /m/b: %+v, %v", ex, err)
	}
	if d, _, err := c.Get(ctx, "/m"); err != nil || string(d) != "v1" {
		t.Fatalf("/m = %q, %v", d, err)
	}
}

func TestMultiReadRunsEachReadOnItsOwn(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	st := mustCreate(t, c, "/r", "data")
	mustCreate(t, c, "/r/k", "")
	res, err := c.MultiRead(ctx, client.GetOp{Path: "/r"}, client.GetOp{Path: "/missing"}, client.ChildrenOp{Path: "/r"})
	if err != nil {
		t.Fatal(err)
	}
	if string(res[0].Data) != "data" || res[0].Stat.Czxid != st.Czxid || res[0].Err != nil {
		t.Fatalf("get result %+v", res[0])
	}
	if !errors.Is(res[1].Err, client.ErrNoNode) {
		t.Fatalf("missing node result %+v", res[1])
	}
	if !slices.Equal(res[2].Children, []string{"k"}) || res[2].Err != nil {
		t.Fatalf("children result %+v", res[2])
	}
}

func TestAuthACLsAndWhoAmI(t *testing.T) {
	addr := startServer(t, nil)
	alice := connect(t, addr)
	anon := connect(t, addr)
	ctx := testCtx(t)
	if err := alice.AddAuth(ctx, "digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	ids, err := alice.WhoAmI(ctx)
	if err != nil || !slices.Contains(ids, client.ClientInfo{Scheme: "digest", User: "alice"}) {
		t.Fatalf("whoAmI = %v, %v", ids, err)
	}
	acl := client.DigestACL(client.PermAll, "alice", "secret")
	if _, _, err := alice.Create(ctx, "/secret", []byte("s"), client.ModePersistent, acl); err != nil {
		t.Fatal(err)
	}
	if _, _, err := anon.Get(ctx, "/secret"); !errors.Is(err, client.ErrNoAuth) {
		t.Fatalf("anonymous read: %v, want NoAuth", err)
	}
	got, _, err := alice.GetACL(ctx, "/secret")
	if err != nil || !slices.Equal(got, acl) {
		t.Fatalf("getACL = %v, %v; want %v", got, err, acl)
	}
	if acl[0].ID != "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=" { // the spec's §10.2 example
		t.Fatalf("digest id %q", acl[0].ID)
	}
	st, err := alice.SetACL(ctx, "/secret", client.WorldACL(client.PermRead), 0)
	if err != nil || st.Aversion != 1 {
		t.Fatalf("setACL: %+v, %v", st, err)
	}
	if d, _, err := anon.Get(ctx, "/secret"); err != nil || string(d) != "s" {
		t.Fatalf("read after opening the ACL: %q, %v", d, err)
	}
	if _, err := anon.Set(ctx, "/secret", nil, client.AnyVersion); !errors.Is(err, client.ErrNoAuth) {
		t.Fatalf("write to a read-only node: %v, want NoAuth", err)
	}
	if err := alice.Sync(ctx, "/secret"); err != nil {
		t.Fatal(err)
	}
}

func TestPipelinedRequestsAreAllAnswered(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	mustCreate(t, c, "/p", "")
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			path := fmt.Sprintf("/p/n%d", i)
			if _, _, err := c.Create(ctx, path, []byte(path), client.ModePersistent, open); err != nil {
				errs <- err
				return
			}
			d, _, err := c.Get(ctx, path)
			if err == nil && string(d) != path {
				err = fmt.Errorf("%s holds %q", path, d)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n2, err := c.GetAllChildrenNumber(ctx, "/p"); err != nil || n2 != n {
		t.Fatalf("%d children, %v", n2, err)
	}
}

func TestACancelledContextStopsACall(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := c.Get(ctx, "/")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The Client is still usable.
	if _, err := c.Exists(testCtx(t), "/"); err != nil {
		t.Fatal(err)
	}
}

func TestCallsAfterCloseFailWithErrClosed(t *testing.T) {
	c := connect(t, startServer(t, nil))
	ctx := testCtx(t)
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := c.Get(ctx, "/"); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if _, err := c.AddWatch(ctx, "/", true); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if c.State() != client.StateClosed {
		t.Fatalf("state %v", c.State())
	}
}

func TestConnectGivesUpWhenItsContextEnds(t *testing.T) {
	dead := deadAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := client.Connect(ctx, []string{dead}, client.WithBackoff(time.Millisecond, 20*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), dead) {
		t.Fatalf("err = %v", err)
	}
	if leaked := waitNoClientGoroutines(5 * time.Second); len(leaked) > 0 {
		t.Fatalf("a failed Connect left goroutines:\n%s", strings.Join(leaked, "\n\n"))
	}
}

func TestConnectTriesTheNextServer(t *testing.T) {
	addr := startServer(t, nil)
	c := connect(t, deadAddr(t)+","+addr, client.WithFixedServerOrder(), client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if ev := <-c.Events(); ev.State != client.StateConnected || ev.Server != addr || ev.SessionID != c.SessionID() {
		t.Fatalf("first event %+v", ev)
	}
}

func TestConnectRejectsBadArguments(t *testing.T) {
	for _, servers := range [][]string{nil, {""}, {"host:2181/chroot"}} {
		if _, err := client.Connect(t.Context(), servers); err == nil {
			t.Fatalf("Connect(%q) succeeded", servers)
		}
	}
	for name, opt := range map[string]client.Option{
		"no session timeout":  client.WithSessionTimeout(0),
		"no minimum backoff":  client.WithBackoff(0, time.Second),
		"inverted backoff":    client.WithBackoff(time.Second, time.Millisecond),
		"no frame size limit": client.WithMaxFrameSize(0),
	} {
		if _, err := client.Connect(t.Context(), []string{"127.0.0.1:1"}, opt); err == nil {
			t.Fatalf("Connect with %s succeeded", name)
		}
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testcluster.FreePort(t)))
}

package interop

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/testcluster"
)

// quotaFlags turn on hard-quota enforcement (zookeeper.enforceQuota, 3.7+)
// and TTL nodes, so that every create mode can be tried against a quota.
var quotaFlags = []string{
	"-Dzookeeper.enforceQuota=true",
	"-Dzookeeper.extendedTypesEnabled=true",
}

// TestQuotaEnforcementMatchesApacheZooKeeper runs the same quota script
// (quotaScript) through go-zookeeper against Apache ZooKeeper 3.8 and zkd,
// both with zookeeper.enforceQuota=true, and requires the same result for
// every step: which creates, setData calls and multi ops fail with
// QUOTAEXCEEDED (-125) and which with other errors, and the usage the
// stats nodes show. Then it requires the QUOTAEXCEEDED counters mntr prints
// to match. A second run with enforcement off (enforceQuota in zoo.cfg set
// to false) requires every step to succeed where the quota was the only
// obstacle, on both servers.
func TestQuotaEnforcementMatchesApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	for _, mode := range []struct {
		name   string
		flags  []string
		config []string
	}{
		{"enforced through a system property", quotaFlags, nil},
		{"not enforced", quotaFlags[1:], []string{"enforceQuota=false"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: mode.flags, ExtraConfig: mode.config})
			want := runQuotaScript(t, apache.Addr)
			t.Logf("Apache ZooKeeper:\n%s", strings.Join(want, "\n"))
			wantMntr := quotaMntr(t, apache.Addr)
			zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: mode.flags, ExtraConfig: mode.config})
			got := runQuotaScript(t, zkd.Addr)
			gotMntr := quotaMntr(t, zkd.Addr)
			if d := diffLines(strings.Join(want, "\n"), strings.Join(got, "\n")); d != "" {
				t.Errorf("zkd's quota results differ from Apache ZooKeeper's:\n%s\nApache ZooKeeper:\n%s", d, strings.Join(want, "\n"))
			}
			if d := diffLines(wantMntr, gotMntr); d != "" {
				t.Errorf("zkd's quota mntr lines differ from Apache ZooKeeper's:\n%s", d)
			}
			enforced := mode.config == nil
			exceeded := slices.ContainsFunc(want, func(l string) bool { return strings.Contains(l, "-125") })
			if exceeded != enforced {
				t.Errorf("Apache ZooKeeper: QUOTAEXCEEDED seen = %v with enforcement %v:\n%s", exceeded, enforced, strings.Join(want, "\n"))
			}
			// Both log the same warnings, hard and soft, when enforcing
			// (ZooKeeper rate-limits repeats; these are all distinct).
			for _, server := range []struct{ name, log string }{{"Apache ZooKeeper", apache.LogPath}, {"zkd", zkd.LogPath}} {
				b, err := os.ReadFile(server.log)
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range []string{
					"Quota exceeded: /c [current count=4, hardCountLimit=3]",
					"Quota exceeded: /b [current bytes=11, hardByteLimit=10]",
					"Quota exceeded: /s [current count=2, softCountLimit=1]",
					"Quota exceeded: /s [current bytes=2, softByteLimit=1]",
				} {
					if logged := strings.Contains(string(b), line); logged != enforced {
						t.Errorf("%s logged %q: %v, want %v", server.name, line, logged, enforced)
					}
				}
			}
		})
	}
}

// TestQuotaEnforcementFromZooCfg checks that "enforceQuota=true" in zoo.cfg
// turns enforcement on, on both servers (ZooKeeper passes the key through
// as the system property zookeeper.enforceQuota).
func TestQuotaEnforcementFromZooCfg(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	cfg := []string{"enforceQuota=true"}
	try := func(addr string) string {
		c := connectTo(t, addr)
		mustCreate(t, c, "/q", "")
		setQuota(t, c, "/q", "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1")
		_, err := c.Create("/q/x", nil, 0, openACL)
		return errText(err)
	}
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{ExtraConfig: cfg})
	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{ExtraConfig: cfg})
	want, got := try(apache.Addr), try(zkd.Addr)
	if want != "unknown error: -125" {
		t.Errorf("Apache ZooKeeper answered %q to a create beyond a hard count quota; want QUOTAEXCEEDED", want)
	}
	if got != want {
		t.Errorf("zkd answered %q, Apache ZooKeeper %q", got, want)
	}
}

// runQuotaScript runs the quota steps against the server at addr and
// returns one line per step.
func runQuotaScript(t *testing.T, addr string) []string {
	t.Helper()
	c := connectTo(t, addr)
	var out []string
	step := func(name string, err error) { out = append(out, name+": "+errText(err)) }
	create := func(path, data string, flags int32) {
		_, err := c.Create(path, []byte(data), flags, openACL)
		step(fmt.Sprintf("create %s %q flags %d", path, data, flags), err)
	}
	set := func(path, data string, version int32) {
		_, err := c.Set(path, []byte(data), version)
		step(fmt.Sprintf("set %s %q version %d", path, data, version), err)
	}
	stats := func(path string) {
		data, _, err := c.Get("/zookeeper/quota" + path + "/zookeeper_stats")
		out = append(out, fmt.Sprintf("stats %s: %q %s", path, data, errText(err)))
	}
	multi := func(name string, ops ...any) {
		res, err := c.Multi(ops...)
		line := "multi " + name + ": " + errText(err) + " ["
		for i, r := range res {
			if i > 0 {
				line += ", "
			}
			line += errText(r.Error)
		}
		out = append(out, line+"]")
	}

	// A hard count limit of 3 on /c: /c and two children fit.
	mustCreate(t, c, "/c", "x")
	setQuota(t, c, "/c", "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3")
	stats("/c")
	create("/c/1", "", 0)
	create("/c/2", "", 0)
	create("/c/3", "", 0)
	create("/c/s", "", zk.FlagSequence)
	create("/c/e", "", zk.FlagEphemeral)
	create("/c/es", "", zk.FlagEphemeralSequential)
	_, err := c.CreateContainer("/c/k", nil, zk.FlagContainer, openACL)
	step("createContainer /c/k", err)
	_, err = c.CreateTTL("/c/t", nil, zk.FlagTTL, openACL, time.Hour)
	step("createTTL /c/t", err)
	// Other checks come first (client-protocol.md §4.3.1).
	create("/c/nope/x", "", 0)
	create("/c/1", "", 0)
	create("/c/3/", "", 0)
	// setData changes no count: only bytes, and /c has no bytes limit.
	set("/c", "xxxxxxxxxx", -1)
	stats("/c")
	// Deleting makes room again.
	if err := c.Delete("/c/2", -1); err != nil {
		t.Fatalf("delete /c/2: %v", err)
	}
	create("/c/3", "", 0)
	stats("/c")

	// A hard bytes limit of 10 on /b, which holds 5.
	mustCreate(t, c, "/b", "12345")
	setQuota(t, c, "/b", "count=-1,bytes=-1=;byteHardLimit=10;countHardLimit=-1")
	set("/b", "1234567890", -1)
	set("/b", "12345678901", -1)
	set("/b", "12345678901", 7) // quota before version (§4.3.5)
	set("/b", "1", 7)
	create("/b/x", "", 0)  // no bytes: nothing to check
	create("/b/y", "1", 0) // one byte too many
	set("/b", "12345", -1)
	create("/b/y", "12345", 0)
	create("/b/z", "1", 0)
	set("/b/y", "1234", -1) // shrinking is always fine
	set("/b/y", "123456", -1)
	stats("/b")

	// Multi: the failing op gets QUOTAEXCEEDED, earlier ones 0, later
	// ones RUNTIMEINCONSISTENCY, and nothing is applied.
	multi("create then over-quota create",
		&zk.CreateRequest{Path: "/m1", Acl: openACL},
		&zk.CreateRequest{Path: "/c/m1", Acl: openACL},
		&zk.SetDataRequest{Path: "/b", Data: []byte("x"), Version: -1})
	multi("over-quota setData first",
		&zk.SetDataRequest{Path: "/b", Data: []byte("123456789"), Version: -1},
		&zk.CreateRequest{Path: "/m2", Acl: openACL})
	if err := c.Delete("/c/3", -1); err != nil {
		t.Fatalf("delete /c/3: %v", err)
	}
	stats("/c")
	// /c has room for one more node: do two creates in one multi fit?
	multi("two creates where one fits",
		&zk.CreateRequest{Path: "/c/m1", Acl: openACL},
		&zk.CreateRequest{Path: "/c/m2", Acl: openACL})
	stats("/c")
	multi("two setData growing /b by 3 bytes each",
		&zk.SetDataRequest{Path: "/b/x", Data: []byte("abc"), Version: -1},
		&zk.SetDataRequest{Path: "/b/x", Data: []byte("abcdef"), Version: -1})
	stats("/b")
	// setData after a create in the same multi grows from the created
	// data (/b holds 9 of 10 bytes).
	multi("create then setData of the new node",
		&zk.CreateRequest{Path: "/b/w", Data: []byte("1"), Acl: openACL},
		&zk.SetDataRequest{Path: "/b/w", Data: []byte("12"), Version: -1})
	stats("/b")

	// Soft limits (count, bytes) are only logged; with both, the hard one
	// decides.
	mustCreate(t, c, "/s", "")
	setQuota(t, c, "/s", "count=1,bytes=1")
	create("/s/1", "12", 0)
	create("/s/2", "", 0)
	set("/s", "123456", -1)
	mustCreate(t, c, "/h", "")
	setQuota(t, c, "/h", "count=1,bytes=-1=;byteHardLimit=-1;countHardLimit=2")
	create("/h/1", "", 0)
	create("/h/2", "", 0)
	stats("/h")

	// Nested quotas (zkCli refuses them, the server does not): the
	// longest quota prefix alone is checked.
	mustCreate(t, c, "/n", "")
	mustCreate(t, c, "/n/m", "")
	setQuota(t, c, "/n", "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2")
	setQuota(t, c, "/n/m", "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=5")
	create("/n/m/1", "", 0)
	create("/n/2", "", 0)
	stats("/n")
	stats("/n/m")

	// A quota whose limits node has only soft keys or is garbage checks
	// nothing hard.
	mustCreate(t, c, "/g", "")
	setQuota(t, c, "/g", "rubbish")
	create("/g/1", "", 0)
	return out
}

// mustCreate creates a persistent node or fails the test.
func mustCreate(t *testing.T, c *zk.Conn, path, data string) {
	t.Helper()
	if _, err := c.Create(path, []byte(data), 0, openACL); err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
}

// setQuota sets a quota on path as zkCli's setquota does: the path's node
// under /zookeeper/quota, then its zookeeper_limits and zookeeper_stats.
func setQuota(t *testing.T, c *zk.Conn, path, limits string) {
	t.Helper()
	q := "/zookeeper/quota"
	for _, comp := range strings.Split(path[1:], "/") {
		q += "/" + comp
		if _, err := c.Create(q, nil, 0, openACL); err != nil && err != zk.ErrNodeExists {
			t.Fatalf("create %s: %v", q, err)
		}
	}
	mustCreate(t, c, q+"/zookeeper_limits", limits)
	mustCreate(t, c, q+"/zookeeper_stats", "count=0,bytes=0")
}

// errText names an error for a transcript: "ok", go-zookeeper's text for
// the codes it knows, "unknown error: <code>" for the others (QUOTAEXCEEDED
// is -125).
func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// quotaMntr returns mntr's quota lines, sorted.
func quotaMntr(t *testing.T, addr string) string {
	t.Helper()
	out, err := testcluster.FourLetter(addr, "mntr")
	if err != nil {
		t.Fatalf("mntr: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "quota") {
			lines = append(lines, l)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

package crash

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
	"github.com/zkd/zkd/internal/testcluster"
)

// openACL is world:anyone with every permission.
var openACL = []jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "anyone"}}}

// createEphemerals creates paths as ephemerals of c's session, in multis
// of batch creates each, with every multi in flight at once (pipelined on
// the one connection), and fails the test unless all succeed.
func createEphemerals(t *testing.T, c *testcluster.RawClient, paths []string, batch int) {
	t.Helper()
	xid := int32(1)
	sent := 0
	for start := 0; start < len(paths); start += batch {
		m := &jute.MultiRequest{}
		for _, p := range paths[start:min(start+batch, len(paths))] {
			m.Ops = append(m.Ops, jute.MultiOp{Type: jute.OpCreate, Req: &jute.CreateRequest{Path: p, ACL: openACL, Flags: 1}})
		}
		c.Send(xid, jute.OpMulti, m)
		xid++
		sent++
	}
	for range sent {
		h, _, _ := c.Reply()
		if h.Err != jute.OK {
			t.Fatalf("multi create of ephemerals (xid %d): error %v", h.Xid, h.Err)
		}
	}
}

// closeSession sends closeSession and returns once the server has
// acknowledged it (by a reply or by closing the connection after it).
func closeSession(t *testing.T, c *testcluster.RawClient) {
	t.Helper()
	c.Send(1<<30, jute.OpCloseSession, nil)
	h, _, _, closed := c.ReplyOrClosed()
	if closed {
		t.Fatal("the server closed the connection without acknowledging closeSession")
	}
	if h.Err != jute.OK {
		t.Fatalf("closeSession: error %v", h.Err)
	}
}

// ephemeralPaths returns n paths under parent whose names are padded to
// nameLen bytes.
func ephemeralPaths(parent string, n, nameLen int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/%0*d", parent, nameLen, i)
	}
	return out
}

// TestAClosedSessionOf100000EphemeralsBootsAfterSIGKILL closes a session
// holding 100,000 ephemerals (a closeSession entry of about 4.7 MB, more
// than twice what Apache ZooKeeper reads back), kills the server as soon as
// the close is acknowledged, and restarts it on the same dataDir: the
// ephemerals are gone and everything else is intact.
func TestAClosedSessionOf100000EphemeralsBootsAfterSIGKILL(t *testing.T) {
	testcluster.RequireInterop(t) // needs the zkd binary and real processes
	z := testcluster.StartZkd(t, testcluster.ZkdOptions{})
	c := testcluster.ConnectRaw(t, z.Addr)
	keep := map[string]string{"/e": "", "/keep": "k", "/keep/a": "alpha", "/keep/b": "beta"}
	for _, p := range []string{"/e", "/keep", "/keep/a", "/keep/b"} {
		if h := c.Call(1, jute.OpCreate, &jute.CreateRequest{Path: p, Data: []byte(keep[p]), ACL: openACL}, nil); h.Err != jute.OK {
			t.Fatalf("create %s: %v", p, h.Err)
		}
	}
	paths := ephemeralPaths("/e", 100_000, 40)
	start := time.Now()
	createEphemerals(t, c, paths, 1000)
	t.Logf("created %d ephemerals in %v", len(paths), time.Since(start))
	start = time.Now()
	closeSession(t, c)
	t.Logf("close acknowledged in %v", time.Since(start))
	z.Kill()

	size := closeEntryLength(t, z.DataDir)
	if size <= storage.ZooKeeperMaxEntry {
		t.Fatalf("the closeSession entry is %d bytes: not above ZooKeeper's %d, the test proves nothing", size, storage.ZooKeeperMaxEntry)
	}
	log, _ := os.ReadFile(z.LogPath)
	warning := ""
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, "larger than Apache ZooKeeper reads back") && strings.Contains(line, "size="+itoa(size)) {
			warning = line
		}
	}
	if warning == "" {
		t.Fatalf("no warning naming the %d-byte entry in the server's log:\n%s", size, z.LogTail())
	}
	t.Log(warning)
	start = time.Now()
	z = testcluster.StartZkd(t, testcluster.ZkdOptions{DataDir: z.DataDir})
	t.Logf("restarted on a log with a %d-byte closeSession in %v", size, time.Since(start))
	checkTreeAfterBigClose(t, z.Addr, keep)
}

// checkTreeAfterBigClose checks that /e has no children left and that
// every node of keep holds its data.
func checkTreeAfterBigClose(t *testing.T, addr string, keep map[string]string) {
	t.Helper()
	c := testcluster.ConnectRaw(t, addr)
	var children jute.GetChildrenResponse
	if h := c.Call(1, jute.OpGetChildren, &jute.PathWatchRequest{Path: "/e"}, &children); h.Err != jute.OK || len(children.Children) != 0 {
		t.Fatalf("/e after restart: error %v, %d children left", h.Err, len(children.Children))
	}
	for p, want := range keep {
		var got jute.GetDataResponse
		if h := c.Call(2, jute.OpGetData, &jute.PathWatchRequest{Path: p}, &got); h.Err != jute.OK || string(got.Data) != want {
			t.Fatalf("%s after restart: error %v, data %q, want %q", p, h.Err, got.Data, want)
		}
	}
}

// TestApacheZooKeeperRefusesItsOwnLogAboveZooKeeperMaxEntry pins the limit
// the README tells operators about: Apache ZooKeeper 3.8 writes and
// acknowledges a closeSession of any size, restarts on a log whose largest
// entry is storage.ZooKeeperMaxEntry bytes long, refuses to start on one a
// byte longer ("Unreasonable length"), and starts on it again once
// -Djute.maxbuffer is raised.
func TestApacheZooKeeperRefusesItsOwnLogAboveZooKeeperMaxEntry(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	for _, size := range []int{storage.ZooKeeperMaxEntry, storage.ZooKeeperMaxEntry + 1} {
		zk := testcluster.StartApacheZK(t, testcluster.ApacheOptions{})
		c := testcluster.ConnectRaw(t, zk.Addr)
		if h := c.Call(1, jute.OpCreate, &jute.CreateRequest{Path: "/e", ACL: openACL}, nil); h.Err != jute.OK {
			t.Fatalf("create /e: %v", h.Err)
		}
		createEphemerals(t, c, pathsForCloseOf(size), 500)
		closeSession(t, c)
		zk.Kill()
		if got := closeEntryLength(t, zk.DataDir); got != size {
			t.Fatalf("Apache wrote a closeSession entry of %d bytes, want %d", got, size)
		}
		if size <= storage.ZooKeeperMaxEntry {
			zk = testcluster.StartApacheZK(t, testcluster.ApacheOptions{DataDir: zk.DataDir})
			checkTreeAfterBigClose(t, zk.Addr, map[string]string{"/e": ""})
			zk.Stop()
			continue
		}
		out, err := runApacheOn(t, zk.DataDir)
		if testcluster.ExitCode(err) != 1 || !strings.Contains(out, "Unreasonable length = "+itoa(size)) {
			t.Fatalf("Apache ZooKeeper on a log with a %d-byte entry: %v, want exit 1 with \"Unreasonable length\"\n%s", size, err, out)
		}
		zk = testcluster.StartApacheZK(t, testcluster.ApacheOptions{DataDir: zk.DataDir, JVMFlags: []string{"-Djute.maxbuffer=" + itoa(size)}})
		checkTreeAfterBigClose(t, zk.Addr, map[string]string{"/e": ""})
	}
}

// pathsForCloseOf returns ephemeral paths under /e whose closeSession
// entry payload is exactly size bytes: a 32-byte TxnHeader, the vector's
// count, each path with its 4-byte length, and a 12-byte digest.
func pathsForCloseOf(size int) []string {
	const fixed = 32 + 4 + 12
	const each = 4 + 100 // paths of 100 bytes
	target := size - fixed
	paths := ephemeralPaths("/e", target/each-1, 100-len("/e/"))
	last := target - len(paths)*each - 4
	return append(paths, "/e/"+strings.Repeat("x", last-len("/e/")))
}

// runApacheOn runs a standalone Apache ZooKeeper on dataDir until it
// exits, for at most a minute, and returns what it logged.
func runApacheOn(t *testing.T, dataDir string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	props := filepath.Join(dir, "log4j.properties")
	if err := os.WriteFile(props, []byte("log4j.rootLogger=INFO, OUT\nlog4j.appender.OUT=org.apache.log4j.ConsoleAppender\n"+
		"log4j.appender.OUT.layout=org.apache.log4j.PatternLayout\nlog4j.appender.OUT.layout.ConversionPattern=%-5p %m%n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cp := testcluster.ZooKeeperJar + ":/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
	cmd := exec.CommandContext(ctx, "java", "-Xmx256m", "-XX:+UseSerialGC", "-Dlog4j.configuration=file:"+props,
		"-cp", cp, "org.apache.zookeeper.server.ZooKeeperServerMain", itoa(testcluster.FreePort(t)), dataDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// closeEntryLength returns the payload length of the last closeSession
// entry in the newest log segment of dataDir.
func closeEntryLength(t *testing.T, dataDir string) int {
	t.Helper()
	size, err := lastCloseEntry(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if size == 0 {
		t.Fatalf("no closeSession entry in the newest log of %s", dataDir)
	}
	return size
}

// lastCloseEntry returns the payload length of the last closeSession
// entry in the newest log segment of dataDir, or 0 if it has none.
func lastCloseEntry(dataDir string) (int, error) {
	logs, _ := filepath.Glob(filepath.Join(dataDir, "version-2", "log.*"))
	if len(logs) == 0 {
		return 0, nil
	}
	seg, err := storage.ReadSegment(storage.OS{}, logs[len(logs)-1], true)
	if err != nil {
		return 0, err
	}
	size := 0
	for _, e := range seg.Entries {
		if e.Txn.Header.Type == jute.OpCloseSession {
			size = e.Size - 13 // checksum, length and end-of-record byte
		}
	}
	return size, nil
}

// TestAnEnsembleReplicatesLogsAndRestartsOnABigCloseSession closes a
// session of 100,000 ephemerals on a three-server zkd ensemble: one
// follower gets the 4.7 MB closeSession as a PROPOSAL, the other, down
// during the close, by DIFF from the leader's history when it comes back.
// Both log it; then every server is killed and the ensemble restarts from
// its own logs with the ephemerals gone and everything else intact.
func TestAnEnsembleReplicatesLogsAndRestartsOnABigCloseSession(t *testing.T) {
	testcluster.RequireInterop(t)
	e := testcluster.StartEnsemble(t, testcluster.EnsembleOptions{
		Members: []testcluster.Kind{testcluster.KindZkd, testcluster.KindZkd, testcluster.KindZkd}})
	leader := e.WaitForLeader(t, 30*time.Second)
	var followers []*testcluster.Member
	for _, m := range e.Servers() {
		if m != leader {
			followers = append(followers, m)
		}
	}
	c := testcluster.ConnectRaw(t, leader.Addr)
	keep := map[string]string{"/e": "", "/keep": "k"}
	for _, p := range []string{"/e", "/keep"} {
		if h := c.Call(1, jute.OpCreate, &jute.CreateRequest{Path: p, Data: []byte(keep[p]), ACL: openACL}, nil); h.Err != jute.OK {
			t.Fatalf("create %s: %v", p, h.Err)
		}
	}
	createEphemerals(t, c, ephemeralPaths("/e", 100_000, 40), 1000)
	late := followers[1]
	late.Kill()
	closeSession(t, c)
	late.Restart(t)
	e.WaitForLeader(t, 30*time.Second)

	// Each server logs the close: the leader and the follower that acked
	// it at once, the late one from the DIFF.
	for _, m := range e.Servers() {
		waitForBigClose(t, m)
		if log, _ := os.ReadFile(m.LogPath); !strings.Contains(string(log), "larger than Apache ZooKeeper reads back") {
			t.Fatalf("zk%d logged the big closeSession without the warning\n%s", m.ID, m.LogTail())
		}
	}
	for _, m := range e.Servers() {
		m.Kill()
	}
	for _, m := range e.Servers() {
		m.Restart(t)
	}
	e.WaitForLeader(t, 60*time.Second)
	for _, m := range e.Servers() {
		checkTreeAfterBigClose(t, m.Addr, keep)
	}
}

// waitForBigClose waits up to 30 seconds for m to log a closeSession
// longer than ZooKeeper reads back by default.
func waitForBigClose(t *testing.T, m *testcluster.Member) {
	t.Helper()
	waitFor(t, 30*time.Second, func() (bool, string) {
		size, err := lastCloseEntry(m.DataDir)
		if err != nil {
			t.Fatalf("zk%d's log: %v", m.ID, err)
		}
		return size > storage.ZooKeeperMaxEntry, fmt.Sprintf("zk%d has not logged the big closeSession (last one %d bytes)\n%s", m.ID, size, m.LogTail())
	})
}

// waitFor polls cond (files have no event to wait on) until it holds, and
// fails the test with its message when timeout passes first.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAnApacheFollowerNeedsJuteMaxBufferForABigCloseSession pins what the
// README tells operators of mixed ensembles: an Apache ZooKeeper follower
// drops a closeSession PROPOSAL above storage.ZooKeeperMaxEntry
// ("Unreasonable length", over and over) and follows it once its JVM has
// -Djute.maxbuffer of at least the entry's size.
func TestAnApacheFollowerNeedsJuteMaxBufferForABigCloseSession(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	const size = 4700036 // 100,000 ephemerals of 40-byte names under /e
	for _, flags := range [][]string{nil, {"-Djute.maxbuffer=" + itoa(size)}} {
		t.Run(fmt.Sprintf("flags %q", flags), func(t *testing.T) {
			e := testcluster.StartEnsemble(t, testcluster.EnsembleOptions{
				// Apache gets the lowest id, so that a zkd member wins
				// the election (equal zxids: the highest id leads).
				Members:  []testcluster.Kind{testcluster.KindApache, testcluster.KindZkd, testcluster.KindZkd},
				JVMFlags: flags})
			leader := e.WaitForLeader(t, 30*time.Second)
			if leader.Kind != testcluster.KindZkd {
				t.Skip("Apache ZooKeeper won the election; the test needs a zkd leader")
			}
			c := testcluster.ConnectRaw(t, leader.Addr)
			if h := c.Call(1, jute.OpCreate, &jute.CreateRequest{Path: "/e", ACL: openACL}, nil); h.Err != jute.OK {
				t.Fatalf("create /e: %v", h.Err)
			}
			createEphemerals(t, c, ephemeralPaths("/e", 100_000, 40), 1000)
			closeSession(t, c)
			apache := e.Server(1)
			if flags != nil {
				waitForBigClose(t, apache)
				checkTreeAfterBigClose(t, apache.Addr, map[string]string{"/e": ""})
				return
			}
			refused := "Unreasonable length = " + itoa(size)
			waitFor(t, 30*time.Second, func() (bool, string) {
				log, _ := os.ReadFile(apache.LogPath)
				return strings.Contains(string(log), refused), fmt.Sprintf("Apache ZooKeeper did not log %q\n%s", refused, apache.LogTail())
			})
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

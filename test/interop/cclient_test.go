package interop

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// cClientSteps are commands of the C client's shell, each run as its own
// process and session, in order. The shell's batch mode exits once the
// command's answer is printed; "exists" answers nothing in batch mode, so
// it is not here.
var cClientSteps = []string{
	"create /c",
	"create /c/child",
	"create +s /c/seq-",
	"create +s /c/seq-",
	"create +e /c/eph",
	"create /c",
	"create /missing/child",
	"create2 /c2",
	"create +c /c/container",
	"create +t=60000 /c/ttl",
	"set /c hello",
	"get /c",
	"get /missing",
	"ls /c/container",
	"ls2 /c2",
	"ls /missing",
	"delete /c",
	"delete /c/child",
	"delete /missing",
	"sync /c",
	"config",
	"reconfig -remove 3",
}

var (
	cClientSession = regexp.MustCompile(`(?m)^Got a new session id: 0x[0-9a-f]+\n`)
	cClientTime    = regexp.MustCompile(`time = \d+ msec`)
	cClientDate    = regexp.MustCompile(`(?m)^(\s*c?m?time ?= ?)\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$`)
	cClientZxid    = regexp.MustCompile(`(?m)^(\s*[cm]zxid=)[0-9a-f]+$`)
	cClientOwner   = regexp.MustCompile(`(?m)^(\s*ephemeralOwner = )[0-9a-f]{2,}$`)
)

// maskCClient hides what differs between runs and servers: session ids,
// times, zxids and ephemeral owners.
func maskCClient(s string) string {
	s = cClientSession.ReplaceAllString(s, "")
	s = cClientTime.ReplaceAllString(s, "time = <ms> msec")
	s = cClientDate.ReplaceAllString(s, "${1}<time>")
	s = cClientZxid.ReplaceAllString(s, "${1}<zxid>")
	s = cClientOwner.ReplaceAllString(s, "${1}<session>")
	return s
}

// cClientConnected is what the C client's watcher thread prints when the
// session is up.
const cClientConnected = "Watcher SESSION_EVENT state = CONNECTED_STATE\n"

// connectedLast moves the session-up line to the end of a step's output:
// the watcher thread prints it while the main thread prints the command's
// first line, in either order, depending only on thread scheduling in the
// client (a fast handshake put it first in one CI run).
func connectedLast(out string) string {
	n := strings.Count(out, cClientConnected)
	return strings.ReplaceAll(out, cClientConnected, "") + strings.Repeat(cClientConnected, n)
}

// cClientTranscript runs cClientSteps against addr.
func cClientTranscript(ctx context.Context, addr string) (string, error) {
	var b strings.Builder
	for _, step := range cClientSteps {
		out, err := testcluster.CClient(ctx, addr, step)
		if err != nil {
			return b.String(), err
		}
		b.WriteString("$ " + step + "\n" + connectedLast(maskCClient(out)))
	}
	return b.String(), nil
}

// TestCClientMatchesApacheZooKeeper runs the C client (libzookeeper_mt,
// through its cli_mt shell) against zkd and Apache ZooKeeper and compares
// everything it prints.
func TestCClientMatchesApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedCClient, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	flags := []string{"-Dzookeeper.extendedTypesEnabled=true"}
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: flags})
	zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: flags})
	want, err := cClientTranscript(ctx, apache.Addr)
	if err != nil {
		t.Fatalf("C client against Apache ZooKeeper: %v\n%s", err, apache.LogTail())
	}
	got, err := cClientTranscript(ctx, zkd.Addr)
	if err != nil {
		t.Fatalf("C client against zkd: %v\n%s", err, zkd.LogTail())
	}
	if !strings.Contains(want, "name = /c/seq-0000000001") || !strings.Contains(want, "value_len = 5\nhello") {
		t.Fatalf("the C client's transcript against Apache ZooKeeper lacks what the steps make; the masks may hide too much:\n%s", want)
	}
	if d := diffLines(want, got); d != "" {
		t.Errorf("the C client prints differently against zkd:\n%s\nApache ZooKeeper:\n%s\nzkd:\n%s", d, want, got)
	}
}

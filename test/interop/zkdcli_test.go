package interop

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// cliScripts are command sequences fed on stdin to one zkCli.sh session and
// to one zkd cli session, whose outputs must match. Each works under its
// own top-level node. Watch notifications are printed by another thread (in
// zkCli.sh) or goroutine (in zkd cli) than the commands' output, so they
// are compared as a set, apart from the rest.
var cliScripts = []struct {
	name   string
	script []string
}{
	{"quotas are kept in /zookeeper/quota", []string{
		"create /sq",
		"create /sq/a 12345",
		"listquota /sq",
		"setquota -n 5 /sq",
		"listquota /sq",
		"setquota -b 100 /sq",
		"listquota /sq",
		"setquota -N 10 /sq",
		"setquota -B 1000 /sq",
		"listquota /sq",
		"get /zookeeper/quota/sq/zookeeper_limits",
		"get /zookeeper/quota/sq/zookeeper_stats",
		"create /sq/b xy",
		"listquota /sq",
		"setquota -n 2 /sq/a",
		"create /sq/a/c",
		"setquota -n 1 /sq/a/c",
		"create /sq2",
		"create /sq2/x",
		"setquota -N 1 /sq2",
		"setquota -n 0 /sq2",
		"setquota -b -1 /sq2",
		"setquota -n x /sq2",
		"setquota -n 5 /nope",
		"setquota /sq2",
		"setquota -n 5 -b 5 /sq2",
		"delquota -n /sq",
		"listquota /sq",
		"delquota /sq",
		"listquota /sq",
		"delquota /sq",
		"delquota -b /sq",
		"ls /zookeeper/quota",
		"delquota /sq2",
		"ls /zookeeper/quota",
		"create /sq3",
		"create /sq3/a 123456",
		"create /sq3/b 123456",
		"setquota -n 1 /sq3",
		"setquota -b 1 /sq3",
		"setquota -N 2 /sq3",
		"setquota -B 3 /sq3",
		"listquota /sq3",
		"setquota -n 1 /zookeeper/quota/sq3",
		"setquota -n 1 /zookeeper/quota/nope",
		"setquota -n 1 /zookeeper",
		"listquota /zookeeper",
		"delquota /zookeeper",
	}},
	{"watches fire once, persistent watches until removed", []string{
		"create /sw x",
		"get -w /sw",
		"set /sw y",
		"ls -w /sw",
		"create /sw/c",
		"stat -w /sw/n",
		"create /sw/n",
		// Before any addWatch -m: zkCli.sh 3.8 keeps the last -m for later
		// addWatch commands without one.
		"create /sw2",
		"create /sw2/c",
		"addWatch /sw2/c",
		"create /sw2/c/deep",
		"create /sw2/c/deep/deeper",
		"set /sw2/c/deep x",
		// Not -d or -c: on a persistent watch ZooKeeper's Java client
		// decides those from its own tables, zkd cli asks the server.
		"removewatches /sw2/c -a",
		"removewatches /sw2/c",
		"addWatch -m PERSISTENT /sw",
		"set /sw z",
		"removewatches /sw",
		"removewatches /sw",
		"addWatch -m BOGUS /sw",
		"removewatches /sw -x",
		"history",
		"redo 0",
		"redo 99",
		"printwatches",
		"printwatches off",
		"printwatches",
		"printwatches on",
	}},
	{"quoting, deprecated forms, node kinds and errors", []string{
		`create /sx "hello world"`,
		"get /sx",
		"create /sx/q 'single quoted'",
		"get /sx/q",
		"ls /sx watch",
		"get /sx watch",
		"stat /sx watch",
		"create -c /sx/cont",
		"create -e -c /sx/bad",
		"create -t 5000 /sx/ttl",
		"create -t abc /sx/ttl",
		"create -t 100 -e /sx/ttl",
		"create -s /sx/",
		"create -e /sx/eph e",
		"create -e -s /sx/eph- es",
		"getEphemerals /sx/eph-",
		"stat /sx/eph",
		"create /sx/eph/child",
		"ls /sx/cont",
		"deleteall /sx/cont -b 1",
		"deleteall /sx/nope",
		"delete /",
		"delete -v 9 /sx",
		"set -s -v 0 /sx again",
		"set /sx",
		"ls",
		"ls -x /",
		"nosuchcommand",
		"get /sx/",
		"get /sx//q",
		"get sx",
		"sync /",
		"whoami",
		"config -c",
		"reconfig",
		"reconfig -remove 3",
		"reconfig -add 2=127.0.0.1:2888:3888;2181 -members 1=x",
		"getAllChildrenNumber /sx",
		"close",
		"ls /",
	}},
	{"ls -R order, clustered flags, and edge cases a review found", []string{
		"create /sr",
		"create /sr/b",
		"create /sr/a",
		"create /sr/a/y",
		"create /sr/a/x",
		"create /sr/c",
		"create /sr/a/y/q",
		"ls -R /sr",
		"ls -sR /sr/c",
		"get -sw /sr/c",
		// Fire the watch now, not in the last commands: zkCli.sh may exit
		// before its event thread prints a late notification.
		"set /sr/c z",
		"set -v 020 /sr x",
		"set -v 0 /sr -- -1",
		"get /sr",
		"create -t 0 /sr/t",
		"create -t -5 /sr/t",
		"setquota -n 5 /",
		"listquota /",
		"delquota /",
		`set /sr "unterminated word`,
		"get /sr",
		"deleteall /sr -b 2",
		"ls /sr",
	}},
	{"ACLs", []string{
		"create /sa",
		"create /sa/b",
		"setAcl -R /sa world:anyone:rwa",
		"getAcl /sa/b",
		"setAcl /sa foo",
		"setAcl -v 7 /sa world:anyone:cdrwa",
		"setAcl -s -v 1 /sa world:anyone:cdrwa",
		"setAcl /sa/b world:anyone:xrz",
		"getAcl /sa/b",
		"create /sa2 d foo",
		"create /sa3 d world:anyone:r,ip:127.0.0.1:cdrwa",
		"getAcl -s /sa3",
		"addauth digest u:p",
		"create /sa4 d auth::cdrwa",
		"getAcl /sa4",
		"whoami",
	}},
}

// scriptOutput is one run of a script: stdout without the watch
// notifications, the notifications sorted, and stderr.
type scriptOutput struct {
	stdout, events, stderr string
}

// splitEvents moves each notification (an empty line and "WatchedEvent
// ...", once testcluster.CleanZkCliStdout has removed the "WATCHER::"
// header) out of stdout.
func splitEvents(stdout string) scriptOutput {
	lines := strings.Split(stdout, "\n")
	var kept, events []string
	for i := 0; i < len(lines); i++ {
		if i+1 < len(lines) && lines[i] == "" && strings.HasPrefix(lines[i+1], "WatchedEvent ") {
			events = append(events, lines[i+1])
			i++
			continue
		}
		kept = append(kept, lines[i])
	}
	slices.Sort(events)
	return scriptOutput{stdout: maskVolatile(strings.Join(kept, "\n")), events: strings.Join(events, "\n")}
}

func TestZkdCliScriptMatchesZkCli(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper, testcluster.NeedZkCli)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := testcluster.ZkdBinary(t)
	flags := []string{"-Dzookeeper.extendedTypesEnabled=true"}
	reference := testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: flags})
	targets := []struct {
		name string
		addr string
	}{
		{"Apache ZooKeeper", testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: flags}).Addr},
		{"zkd", testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: flags}).Addr},
	}
	for _, sc := range cliScripts {
		t.Run(sc.name, func(t *testing.T) {
			script := strings.Join(sc.script, "\n") + "\n"
			stdout, stderr, err := testcluster.RunZkCliScript(ctx, reference.Addr, script)
			wantCode := testcluster.ExitCode(err)
			if wantCode == -1 {
				t.Fatalf("zkCli.sh: %v", err)
			}
			want := splitEvents(stdout)
			want.stderr = maskVolatile(stderr)
			for _, target := range targets {
				stdout, stderr, err := testcluster.ZkdCli(ctx, bin, target.addr, script)
				if code := testcluster.ExitCode(err); code == -1 {
					t.Fatalf("zkd cli against %s: %v", target.name, err)
				} else if code != wantCode {
					t.Errorf("zkd cli against %s: exit status %d, zkCli.sh's %d (the status of the last command)", target.name, code, wantCode)
				}
				got := splitEvents(testcluster.CleanZkCliStdout(stdout))
				got.stderr = maskVolatile(stderr)
				for _, part := range []struct{ name, want, got string }{
					{"stdout", want.stdout, got.stdout},
					{"stderr", want.stderr, got.stderr},
					{"watch notifications", want.events, got.events},
				} {
					if d := diffLines(part.want, part.got); d != "" {
						t.Errorf("zkd cli against %s: %s differs from zkCli.sh's:\n%s\nzkCli.sh:\n%s\nzkd cli:\n%s",
							target.name, part.name, d, part.want, part.got)
					}
				}
			}
		})
	}
}

// TestZkdCliScriptsCoverEveryCommand keeps cliScripts and zkCliCases
// honest: every zkCli.sh command is run by at least one of them.
func TestZkdCliScriptsCoverEveryCommand(t *testing.T) {
	used := map[string]bool{}
	for _, sc := range cliScripts {
		for _, l := range sc.script {
			used[strings.Fields(l)[0]] = true
		}
	}
	for _, c := range zkCliCases {
		for _, step := range c.steps {
			used[step[0]] = true
		}
	}
	// connect and quit change or end the session, which a comparison
	// cannot follow (the address differs); internal/cli tests them.
	for _, name := range []string{"addWatch", "addauth", "close", "config", "create", "delete", "deleteall", "delquota",
		"get", "getAcl", "getAllChildrenNumber", "getEphemerals", "history", "listquota", "ls", "printwatches",
		"reconfig", "redo", "removewatches", "set", "setAcl", "setquota", "stat", "sync", "whoami"} {
		if !used[name] {
			t.Errorf("no script or case runs %q", name)
		}
	}
}

package interop

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// digestID is the id of a digest ACL for user and password: the user, a
// colon, and the base64 SHA-1 of "user:password" (ZooKeeper programmer's
// guide, "Built in ACL Schemes").
func digestID(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestDigestIDMatchesZooKeeperDigest(t *testing.T) {
	// Printed by Apache ZooKeeper 3.8.0's DigestAuthenticationProvider for u:p.
	if got, want := digestID("u", "p"), "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ="; got != want {
		t.Errorf("digestID(u, p) = %q, want %q", got, want)
	}
}

// zkCliCase is a sequence of zkCli one-shot commands, each run as its own
// process and session. Each case works under its own top-level node so that
// cases do not see each other's nodes.
type zkCliCase struct {
	name  string
	steps [][]string
	// zkdCliDiffers, when set, says why zkd cli is not compared on this
	// case.
	zkdCliDiffers string
}

func cmd(args ...string) []string { return args }

// zkCliCases stay small: each step costs a JVM start (about half a second).
//
// Two ZooKeeper facts shape them. First, zkCli exits without closing its
// session, so an ephemeral node outlives the command that made it until the
// session times out (30s); a case looks at its ephemeral node right away and
// no later case lists its parent. Second, "ls -R" prints a node's sorted
// children before descending into them; TestZkdCliScriptMatchesZkCli checks
// that order on a wider tree.
var zkCliCases = []zkCliCase{
	{"create, get, set and stat report data and versions", [][]string{
		cmd("create", "/basic", "hello"),
		cmd("get", "/basic"),
		cmd("get", "-s", "/basic"),
		cmd("set", "/basic", "world"),
		cmd("stat", "/basic"),
		cmd("create", "/basic/empty"),
		cmd("get", "/basic/empty"),
	}, ""},
	{"sequential nodes are numbered by the parent's cversion", [][]string{
		cmd("create", "/seq"),
		cmd("create", "-s", "/seq/n-", "a"),
		cmd("create", "-s", "/seq/n-", "b"),
		cmd("delete", "/seq/n-0000000000"),
		cmd("create", "-s", "/seq/n-", "c"),
		cmd("ls", "/seq"),
	}, ""},
	{"ls lists children, with -s the parent's stat and with -R the subtree", [][]string{
		cmd("create", "/tree"),
		cmd("create", "/tree/a"),
		cmd("create", "/tree/a/b", "leaf"),
		cmd("ls", "/tree"),
		cmd("ls", "-s", "/tree"),
		cmd("ls", "-R", "/tree"),
		cmd("getAllChildrenNumber", "/tree"),
	}, ""},
	{"an ephemeral node belongs to the session that made it", [][]string{
		cmd("create", "/eph"),
		cmd("create", "-e", "/eph/owned", "x"),
		cmd("stat", "/eph/owned"),
		cmd("create", "/eph/owned/child"),
	}, "zkd cli closes its session when a one-shot command ends, so the ephemeral node is gone at once; " +
		"zkCli.sh leaves the session to time out. Ephemeral nodes are compared in TestZkdCliScriptMatchesZkCli."},
	{"delete refuses a parent and deleteall removes the subtree", [][]string{
		cmd("create", "/del"),
		cmd("create", "/del/a"),
		cmd("create", "/del/a/b"),
		cmd("delete", "/del/a"),
		cmd("deleteall", "/del"),
		cmd("stat", "/del"),
	}, ""},
	{"ACLs restrict who may read and write", [][]string{
		cmd("create", "/acl"),
		cmd("create", "/acl/ro", "x"),
		cmd("create", "/acl/ip", "x"),
		cmd("create", "/acl/dg", "x"),
		cmd("getAcl", "/acl/ro"),
		cmd("setAcl", "/acl/ro", "world:anyone:r"),
		cmd("getAcl", "-s", "/acl/ro"),
		cmd("set", "/acl/ro", "y"),
		cmd("setAcl", "/acl/ip", "ip:127.0.0.1:cdrwa"),
		cmd("getAcl", "/acl/ip"),
		cmd("set", "/acl/ip", "y"),
		cmd("setAcl", "/acl/dg", "digest:"+digestID("u", "p")+":cdrwa"),
		cmd("get", "/acl/dg"),
		// Apache ZooKeeper 3.8 requires READ or ADMIN to read an ACL.
		cmd("getAcl", "/acl/dg"),
		// Accepted, but the session ends with the command: one-shot zkCli
		// cannot use what it authenticates.
		cmd("addauth", "digest", "u:p"),
	}, ""},
	{"session and server queries answer", [][]string{
		cmd("whoami"),
		cmd("getEphemerals"),
		cmd("config", "-s"),
		cmd("sync", "/"),
	}, ""},
	{"errors are reported on stderr with exit status 1", [][]string{
		cmd("create", "/err"),
		cmd("create", "/err"),
		cmd("get", "/err/missing"),
		cmd("create", "/err/missing/child"),
		cmd("set", "-v", "5", "/err", "x"),
		cmd("delete", "-v", "3", "/err"),
		cmd("get", "err"),
	}, ""},
}

// cliRunner runs one command of a command-line client against the server
// at addr: zkCli.sh (testcluster.ZkCli) or zkd cli.
type cliRunner func(ctx context.Context, addr string, args ...string) (stdout, stderr string, err error)

// cliTranscript runs a case's steps with run against the server at addr
// and returns what each printed, masked: "$ args" for the command, its
// stdout, its stderr lines prefixed "stderr: ", and "exit N" when N is not
// 0.
func cliTranscript(ctx context.Context, run cliRunner, addr string, c zkCliCase) (string, error) {
	var b strings.Builder
	for _, args := range c.steps {
		stdout, stderr, err := run(ctx, addr, args...)
		code := testcluster.ExitCode(err)
		if code == -1 {
			return b.String(), fmt.Errorf("zkCli %s: %w", strings.Join(args, " "), err)
		}
		fmt.Fprintf(&b, "$ %s\n", strings.Join(args, " "))
		writeLines(&b, "", stdout)
		writeLines(&b, "stderr: ", stderr)
		if code != 0 {
			fmt.Fprintf(&b, "exit %d\n", code)
		}
	}
	return maskVolatile(b.String()), nil
}

// writeLines writes each line of s with prefix, marking a missing final
// newline so that it is compared too.
func writeLines(b *strings.Builder, prefix, s string) {
	if s == "" {
		return
	}
	for _, l := range strings.SplitAfter(s, "\n") {
		if l == "" {
			continue
		}
		b.WriteString(prefix)
		b.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			b.WriteString("\\ no newline\n")
		}
	}
}

// zkCliTranscripts runs every case, in order, against the server at addr.
func zkCliTranscripts(ctx context.Context, addr string) ([]string, error) {
	return cliTranscripts(ctx, testcluster.ZkCli, addr)
}

// cliTranscripts runs every case with run, in order, against the server at
// addr.
func cliTranscripts(ctx context.Context, run cliRunner, addr string) ([]string, error) {
	var out []string
	for _, c := range zkCliCases {
		tr, err := cliTranscript(ctx, run, addr, c)
		if err != nil {
			return out, fmt.Errorf("case %q: %w\ntranscript so far:\n%s", c.name, err, tr)
		}
		out = append(out, tr)
	}
	return out, nil
}

// joinTranscripts lays the cases out as one text, each under a "=== name"
// header, for the golden capture.
func joinTranscripts(trs []string) string {
	var b strings.Builder
	for i, tr := range trs {
		fmt.Fprintf(&b, "=== %s\n%s", zkCliCases[i].name, tr)
	}
	return b.String()
}

func TestZkCliOneShotMatchesApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper, testcluster.NeedZkCli)
	// About 55 JVM starts per server: half a minute on an idle machine, but
	// well over a minute on a busy one.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{})

	// Apache ZooKeeper's run goes on in the background while zkd starts and
	// runs the same steps: each step is mostly JVM start-up.
	start := time.Now()
	ref := goAsync(func() ([]string, error) {
		trs, err := zkCliTranscripts(ctx, apache.Addr)
		t.Logf("zkCli cases against Apache ZooKeeper took %v", time.Since(start))
		return trs, err
	})
	t.Cleanup(func() {
		cancel()
		_, _ = ref.wait()
	})
	reference := func(t *testing.T) []string {
		t.Helper()
		want, err := ref.wait()
		if err != nil {
			t.Fatalf("zkCli against Apache ZooKeeper (the reference) failed: %v\n%s", err, apache.LogTail())
		}
		return want
	}

	t.Run("zkd matches the reference", func(t *testing.T) {
		zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{})
		zkdStart := time.Now()
		got, err := zkCliTranscripts(ctx, zkd.Addr)
		t.Logf("zkCli cases against zkd took %v", time.Since(zkdStart))
		if err != nil {
			t.Fatalf("zkCli against zkd: %v\n%s", err, zkd.LogTail())
		}
		want := reference(t)
		for i, c := range zkCliCases {
			t.Run(c.name, func(t *testing.T) {
				if d := diffLines(want[i], got[i]); d != "" {
					t.Errorf("zkd's transcript differs from Apache ZooKeeper's:\n%s\nApache ZooKeeper:\n%s\nzkd:\n%s",
						d, want[i], got[i])
				}
			})
		}
	})

	// zkd cli must print what zkCli.sh prints, whichever server it talks
	// to: a second Apache ZooKeeper isolates the client from the server.
	zkdCli := func(t *testing.T) cliRunner {
		bin := testcluster.ZkdBinary(t)
		return func(ctx context.Context, addr string, args ...string) (string, string, error) {
			return testcluster.ZkdCli(ctx, bin, addr, "", args...)
		}
	}
	for _, target := range []string{"Apache ZooKeeper", "zkd"} {
		t.Run("zkd cli against "+target+" matches zkCli", func(t *testing.T) {
			var addr string
			if target == "zkd" {
				addr = testcluster.StartZkd(t, testcluster.ZkdOptions{}).Addr
			} else {
				addr = testcluster.StartApacheZK(t, testcluster.ApacheOptions{}).Addr
			}
			got, err := cliTranscripts(ctx, zkdCli(t), addr)
			if err != nil {
				t.Fatalf("zkd cli against %s: %v", target, err)
			}
			want := reference(t)
			for i, c := range zkCliCases {
				t.Run(c.name, func(t *testing.T) {
					if c.zkdCliDiffers != "" {
						t.Skip(c.zkdCliDiffers)
					}
					if d := diffLines(want[i], got[i]); d != "" {
						t.Errorf("zkd cli's transcript differs from zkCli's:\n%s\nzkCli:\n%s\nzkd cli:\n%s", d, want[i], got[i])
					}
				})
			}
		})
	}

	t.Run("Apache ZooKeeper matches the golden capture", func(t *testing.T) {
		checkGolden(t, "zkcli_oneshot.golden", apache.Addr, joinTranscripts(reference(t)))
	})
}

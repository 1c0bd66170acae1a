package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/server"
)

// startServer runs an in-memory zkd on a loopback port for the test.
func startServer(t *testing.T) string {
	t.Helper()
	return startServerOn(t, 0)
}

// startServerOn runs an in-memory zkd on the given loopback port (0: any).
func startServerOn(t *testing.T, port int) string {
	t.Helper()
	cfg := config.Default()
	cfg.ClientPort = port
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	cfg.Props["zookeeper.extendedTypesEnabled"] = "true"
	s, err := server.New(cfg, server.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr().String()
}

// connect opens a client of our own for setting up and checking state.
func connect(t *testing.T, addr string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, []string{addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// syncBuffer is a bytes.Buffer safe for the shell's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until buf shows want, failing the test when ctx ends.
func waitFor(t *testing.T, ctx context.Context, buf, other *syncBuffer, want string) {
	t.Helper()
	for !strings.Contains(buf.String(), want) {
		select {
		case <-ctx.Done():
			t.Fatalf("%q never printed; the stream shows:\n%s\nthe other stream:\n%s", want, buf.String(), other.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// run runs zkd cli with args and stdin, returning stdout, stderr and the
// exit status.
func run(t *testing.T, stdin string, progress bool, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr syncBuffer
	code := Main(args, Config{
		Version:  "test-version",
		Stdin:    strings.NewReader(stdin),
		Stdout:   &stdout,
		Stderr:   &stderr,
		Terminal: func() (bool, bool) { return false, progress },
	})
	return stdout.String(), stderr.String(), code
}

func TestSplitLineHonoursQuotes(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"ls /", []string{"ls", "/"}},
		{"  create   /a  b  ", []string{"create", "/a", "b"}},
		{`create /a "hello world" world:anyone:r`, []string{"create", "/a", "hello world", "world:anyone:r"}},
		{`set /a 'it is' `, []string{"set", "/a", "it is"}},
		{`set /a x"y z"`, []string{"set", "/a", `x"y`, `z"`}},
		{`set /a "unterminated word`, []string{"set", "/a", "unterminated", "word"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := splitLine(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseOptionsLikeCommonsCLI(t *testing.T) {
	spec := optionSpec{flags: []string{"s"}, values: []string{"v"}, group: []string{"s", "v"}}
	p, err := parseOptions([]string{"set", "/a", "-v", "3", "data"}, optionSpec{flags: []string{"s"}, values: []string{"v"}})
	if err != nil || !slices.Equal(p.args, []string{"set", "/a", "data"}) || p.values["v"] != "3" {
		t.Fatalf("options after the path: %+v %v", p, err)
	}
	if p, err := parseOptions([]string{"set", "-v5", "/a"}, optionSpec{values: []string{"v"}}); err != nil || p.values["v"] != "5" {
		t.Fatalf("-v5: %+v %v", p, err)
	}
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{"set", "/a", "-v"}, "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"},
		{[]string{"set", "-q", "/a"}, "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -q"},
		{[]string{"set", "-s", "-v", "1", "/a"}, "org.apache.commons.cli.AlreadySelectedException: The option 'v' was specified but an option from this group has already been selected: 's'"},
	} {
		if _, err := parseOptions(tt.words, spec); err == nil || err.Error() != tt.want {
			t.Errorf("parseOptions(%q) = %v, want %q", tt.words, err, tt.want)
		}
	}
	if p, err := parseOptions([]string{"create", "/a", "-"}, spec); err != nil || !slices.Equal(p.args, []string{"create", "/a", "-"}) {
		t.Errorf("a lone dash is data: %+v %v", p, err)
	}
	ls := optionSpec{flags: []string{"s", "w", "R"}}
	if p, err := parseOptions([]string{"ls", "-sR", "/a"}, ls); err != nil || !p.flags["s"] || !p.flags["R"] || p.flags["w"] {
		t.Errorf("clustered flags: %+v %v", p, err)
	}
	if p, err := parseOptions([]string{"set", "-v", "1", "/a", "--", "-1"}, optionSpec{values: []string{"v"}}); err != nil || !slices.Equal(p.args, []string{"set", "/a", "-1"}) {
		t.Errorf("words after -- are data: %+v %v", p, err)
	}
	for _, words := range [][]string{{"ls", "--s", "/a"}, {"ls", "-sx", "/a"}} {
		if _, err := parseOptions(words, ls); err == nil || !strings.Contains(err.Error(), "Unrecognized option: "+words[1]) {
			t.Errorf("parseOptions(%q) = %v, want an unrecognized option", words, err)
		}
	}
}

func TestValidatePathMessages(t *testing.T) {
	tests := map[string]string{
		"/a":     "",
		"/":      "",
		"a":      "Path must start with / character",
		"/a/":    "Path must not end with / character",
		"/a//b":  `Invalid path string "/a//b" caused by empty node name specified @3`,
		"/a/./b": `Invalid path string "/a/./b" caused by relative paths not allowed @3`,
		"/a/..":  `Invalid path string "/a/.." caused by relative paths not allowed @4`,
		"/a\x01": `Invalid path string "/a` + "\x01" + `" caused by invalid character @2`,
		"":       "Path length must be > 0",
	}
	for path, want := range tests {
		err := validatePath(path, false)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("validatePath(%q) = %q, want %q", path, got, want)
		}
	}
	if err := validatePath("/seq/", true); err != nil {
		t.Errorf("a sequential create may end with /: %v", err)
	}
}

func TestJavaFormats(t *testing.T) {
	if got := permString(client.PermAll); got != "cdrwa" {
		t.Errorf("permString(all) = %q", got)
	}
	if got := permString(client.PermRead | client.PermAdmin); got != "ra" {
		t.Errorf("permString(ra) = %q", got)
	}
	if got := javaString([]byte{'a', 0xff, 'b'}); got != "a\uFFFDb" {
		t.Errorf("javaString = %q", got)
	}
	if got := keeperMessage(client.ErrNoWatcher, "/w"); got != "KeeperErrorCode = No such watcher for /w" {
		t.Errorf("keeperMessage = %q", got)
	}
	if got := clientConnectString("server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181\nserver.2=10.0.0.2:2888:3888:participant;10.0.0.9:2182\nversion=100000000"); got != "100000000 10.0.0.1:2181,10.0.0.9:2182" {
		t.Errorf("clientConnectString = %q", got)
	}
	st := statsTrack{count: 5, bytes: -1, countHardLimit: -1, byteHardLimit: 10, hasHardLimits: true}
	if got := st.String(); got != "count=5,bytes=-1=;byteHardLimit=10;countHardLimit=-1" {
		t.Errorf("statsTrack = %q", got)
	}
	if got := parseStatsTrack(st.String()); got != st {
		t.Errorf("parseStatsTrack(%q) = %+v", st.String(), got)
	}
}

func TestOneShotExitStatusAndStreams(t *testing.T) {
	addr := startServer(t)
	tests := []struct {
		args           []string
		stdout, stderr string
		code           int
	}{
		{[]string{"create", "/one", "x"}, "", "Created /one\n", 0},
		{[]string{"get", "/one"}, "x\n", "", 0},
		{[]string{"create", "/one"}, "", "Node already exists: /one\n", 1},
		{[]string{"get", "/missing"}, "", "Node does not exist: /missing\n", 1},
		{[]string{"set", "-v", "7", "/one", "y"}, "", "version No is not valid : /one\n", 1},
		{[]string{"ls"}, "", "ls [-s] [-w] [-R] path\n", 1},
		{[]string{"version"}, "ZooKeeper CLI version: test-version\n", "", 0},
		{[]string{"getAllChildrenNumber", "/"}, "4\n", "", 0}, // /zookeeper, its config and quota, /one
	}
	for _, tt := range tests {
		stdout, stderr, code := run(t, "", false, append([]string{"-server", addr}, tt.args...)...)
		if stdout != tt.stdout || stderr != tt.stderr || code != tt.code {
			t.Errorf("zkd cli %q:\nstdout %q, want %q\nstderr %q, want %q\nexit %d, want %d",
				tt.args, stdout, tt.stdout, stderr, tt.stderr, code, tt.code)
		}
	}
	_, stderr, code := run(t, "", false, "-server", addr, "nosuch")
	if code != 127 || !strings.HasSuffix(stderr, "Command not found: Command not found nosuch\n") || !strings.Contains(stderr, "\tls [-s] [-w] [-R] path\n") {
		t.Errorf("unknown command: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := run(t, "", false, "-bogus"); code != 2 || !strings.Contains(stderr, "-bogus") {
		t.Errorf("bad flag: exit %d, stderr %q", code, stderr)
	}
	stdout, _, code := run(t, "", false, "-server", addr, "help")
	if code != 0 || !strings.Contains(stdout, "\tdeleteall path [-b batch size]\n") {
		t.Errorf("help: exit %d, stdout %q", code, stdout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st, err := connect(t, addr).Exists(ctx, "/one"); err != nil || st == nil || st.DataLength != 1 {
		t.Errorf("/one after the commands: %+v %v", st, err)
	}
}

func TestOneShotFailsWhenNoServerAnswers(t *testing.T) {
	// Like zkCli.sh, at once: not after the 30s session timeout.
	stdout, stderr, code := run(t, "", false, "-server", "127.0.0.1:1", "ls", "/")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestJSONOutput(t *testing.T) {
	addr := startServer(t)
	jsonRun := func(args ...string) map[string]any {
		t.Helper()
		stdout, stderr, code := run(t, "", false, append([]string{"-server", addr, "-json"}, args...)...)
		if code != 0 {
			t.Fatalf("%q: exit %d, stderr %q", args, code, stderr)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(stdout), &v); err != nil {
			t.Fatalf("%q: stdout is not a JSON object: %v\n%s", args, err, stdout)
		}
		return v
	}
	if v := jsonRun("create", "/j", "data"); v["created"] != "/j" {
		t.Errorf("create: %v", v)
	}
	jsonRun("create", "/j/b")
	jsonRun("create", "/j/a")
	v := jsonRun("ls", "-s", "/j")
	if fmt.Sprint(v["children"]) != "[a b]" || v["stat"].(map[string]any)["numChildren"] != float64(2) {
		t.Errorf("ls -s: %v", v)
	}
	v = jsonRun("get", "-s", "/j")
	if v["data"] != "data" || v["stat"].(map[string]any)["dataLength"] != float64(4) {
		t.Errorf("get -s: %v", v)
	}
	if v := jsonRun("get", "/j/a"); v["data"] != nil {
		t.Errorf("get of a node made without data: %v", v)
	}
	v = jsonRun("getAcl", "/j")
	if fmt.Sprint(v["acl"]) != "[map[id:anyone perms:cdrwa scheme:world]]" {
		t.Errorf("getAcl: %v", v)
	}
	v = jsonRun("ls", "-R", "/j")
	if fmt.Sprint(v["nodes"]) != "[/j /j/a /j/b]" && fmt.Sprint(v["nodes"]) != "[/j /j/b /j/a]" {
		t.Errorf("ls -R: %v", v)
	}
	if v := jsonRun("stat", "/j"); v["dataVersion"] != float64(0) || !strings.HasPrefix(v["cZxid"].(string), "0x") {
		t.Errorf("stat: %v", v)
	}
	_, stderr, code := run(t, "", false, "-server", addr, "-json", "get", "/nope")
	var e map[string]string
	if code != 1 || json.Unmarshal([]byte(stderr), &e) != nil || e["error"] != "Node does not exist: /nope" {
		t.Errorf("error in JSON mode: exit %d, stderr %q", code, stderr)
	}
}

func TestDeleteAllOfALargeSubtreeInBatchesWithProgress(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := client.WorldACL(client.PermAll)
	if _, _, err := c.Create(ctx, "/big", nil, client.ModePersistent, open); err != nil {
		t.Fatal(err)
	}
	const parents, perParent = 25, 100
	for i := range parents {
		p := fmt.Sprintf("/big/p%02d", i)
		ops := []client.Op{client.CreateOp{Path: p, Mode: client.ModePersistent, ACL: open}}
		for j := range perParent {
			ops = append(ops, client.CreateOp{Path: fmt.Sprintf("%s/c%03d", p, j), Mode: client.ModePersistent, ACL: open})
		}
		if _, err := c.Multi(ctx, ops...); err != nil {
			t.Fatal(err)
		}
	}
	total := 1 + parents*(1+perParent)

	stdout, _, code := run(t, "", false, "-server", addr, "ls", "-R", "/big")
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if code != 0 || len(lines) != total || lines[0] != "/big" || !strings.HasPrefix(lines[1], "/big/p") || !strings.HasPrefix(lines[total-1], "/big/p") || strings.Count(lines[total-1], "/") != 3 {
		t.Fatalf("ls -R: exit %d, %d lines (want %d), first %q", code, len(lines), total, lines[:min(3, len(lines))])
	}

	_, stderr, code := run(t, "", true, "-server", addr, "deleteall", "/big", "-b", "700")
	if code != 0 {
		t.Fatalf("deleteall: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stderr, "deleting: ") || !strings.HasSuffix(stderr, "\r\033[K") {
		t.Errorf("deleteall on a terminal shows no progress, or does not clear it: %q", stderr)
	}
	if st, err := c.Exists(ctx, "/big"); err != nil || st != nil {
		t.Errorf("/big after deleteall: %+v %v", st, err)
	}
	if _, stderr, code := run(t, "", false, "-server", addr, "deleteall", "/big", "-b", "x"); code != 1 || stderr != "-b argument must be an int value\n" {
		t.Errorf("deleteall -b x: exit %d, stderr %q", code, stderr)
	}
}

func TestScriptModeHistoryRedoConnectAndQuit(t *testing.T) {
	addr := startServer(t)
	script := strings.Join([]string{
		"create /s x",
		"",
		"history",
		"redo 0",
		"redo 2",
		"redo 4",
		"redo 9",
		"connect " + addr,
		"get /s",
		"close",
		"get /s",
		"quit",
		"get /s",
	}, "\n")
	stdout, stderr, code := run(t, script, false, "-server", addr)
	// redo replaces itself in the history with what it re-ran, so "redo
	// 2" re-runs the create that "redo 0" ran; only a redo of itself is a
	// redo of a redo.
	wantOut := "0 - create /s x\n1 - history\n" +
		"No redoing redos\n" +
		"x\n" +
		"Not connected\n"
	// State notifications are printed in script mode like zkCli.sh's;
	// take them out.
	var kept []string
	lines := strings.Split(stdout, "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" && i+3 < len(lines) && lines[i+1] == "WATCHER::" && strings.HasPrefix(lines[i+3], "WatchedEvent state:") && strings.HasSuffix(lines[i+3], "type:None path:null") {
			i += 3
			continue
		}
		kept = append(kept, lines[i])
	}
	if got := strings.Join(kept, "\n"); got != wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, wantOut)
	}
	if stderr != "Created /s\nNode already exists: /s\nNode already exists: /s\nCommand index out of range\n" {
		t.Errorf("stderr %q", stderr)
	}
	if code != 0 {
		t.Errorf("exit %d after quit", code)
	}
	if !strings.Contains(stdout, "WatchedEvent state:Closed type:None path:null") {
		t.Errorf("close printed no Closed notification:\n%s", stdout)
	}
}

func TestWatchEventsArePrintedAsTheyArrive(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := c.Create(ctx, "/w", []byte("1"), client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW := io.Pipe()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- Main([]string{"-server", addr}, Config{Stdin: stdinR, Stdout: &stdout, Stderr: &stderr})
	}()
	fmt.Fprintln(stdinW, "get -w /w")
	fmt.Fprintln(stdinW, "stat -w /w")
	fmt.Fprintln(stdinW, "addWatch -m PERSISTENT /w")
	fmt.Fprintln(stdinW, "sync /")
	waitFor(t, ctx, &stdout, &stderr, "Sync is OK")
	if _, err := c.Set(ctx, "/w", []byte("2"), -1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, &stdout, &stderr, "type:NodeDataChanged path:/w")
	if _, err := c.Set(ctx, "/w", []byte("3"), -1); err != nil {
		t.Fatal(err)
	}
	// The persistent watch fires again; the one-shot ones do not.
	for strings.Count(stdout.String(), "type:NodeDataChanged path:/w") < 3 {
		select {
		case <-ctx.Done():
			t.Fatalf("want 3 notifications (one for get -w and stat -w together, two for the persistent watch); stdout:\n%s", stdout.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	stdinW.Close()
	if code := <-done; code != 0 {
		t.Errorf("exit %d; stderr %q", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "type:NodeDataChanged path:/w"); n != 3 {
		t.Errorf("%d NodeDataChanged notifications, want 3:\n%s", n, stdout.String())
	}
}

func TestCompletion(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, p := range []string{"/apple", "/apricot", "/apricot/x", "/banana"} {
		if _, _, err := c.Create(ctx, p, nil, client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	s := &shell{c: c}
	tests := []struct {
		line       string
		head, tail string
		want       []string
	}{
		{"getA", "", "", []string{"getAcl ", "getAllChildrenNumber "}},
		{"dele", "", "", []string{"delete ", "deleteall "}},
		{"get /ap", "get ", "", []string{"/apple", "/apricot"}},
		{"ls -s /apricot/", "ls -s ", "", []string{"/apricot/x"}},
		{"ls /", "ls ", "", []string{"/apple", "/apricot", "/banana", "/zookeeper"}},
		{"ls /nope/", "ls ", "", nil},
		{"set data", "set ", "", nil},
	}
	for _, tt := range tests {
		head, got, tail := s.complete(tt.line, len(tt.line))
		if head != tt.head || tail != tt.tail || !slices.Equal(got, tt.want) {
			t.Errorf("complete(%q) = %q %q %q, want %q %q %q", tt.line, head, got, tail, tt.head, tt.want, tt.tail)
		}
	}
	// The cursor in the middle of the line completes the word before it.
	if head, got, tail := s.complete("get /ba -s", 7); head != "get " || !slices.Equal(got, []string{"/banana"}) || tail != " -s" {
		t.Errorf("mid-line completion: %q %q %q", head, got, tail)
	}
}

// TestReviewedEdgeCases pins behaviours a review found wrong, each checked
// against zkCli.sh 3.8 by hand.
func TestReviewedEdgeCases(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	open := client.WorldACL(client.PermAll)
	for _, p := range []string{"/v", "/r", "/r/b", "/r/a", "/r/a/y", "/r/a/x", "/r/c", "/r/a/y/q", "/locked", "/locked/c"} {
		if _, _, err := c.Create(ctx, p, nil, client.ModePersistent, open); err != nil {
			t.Fatal(err)
		}
	}
	for range 16 {
		if _, err := c.Set(ctx, "/v", []byte("x"), client.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	// /locked/c cannot be deleted by anyone: its parent denies DELETE.
	if _, err := c.SetACL(ctx, "/locked", client.WorldACL(client.PermAll&^client.PermDelete), client.AnyVersion); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		args           []string
		stdout, stderr string
		code           int
	}{
		{"a version is decimal: 020 is 20, not octal 16", []string{"set", "-v", "020", "/v", "y"}, "", "version No is not valid : /v\n", 1},
		{"a TTL of 0 is refused", []string{"create", "-t", "0", "/t0"}, "", "ttl must be positive and cannot be larger than: 1099511627775\n", 1},
		{"a negative TTL is refused", []string{"create", "-t", "-5", "/t1"}, "", "ttl must be positive and cannot be larger than: 1099511627775\n", 1},
		{"a TTL over 40 bits is refused", []string{"create", "-t", "1099511627776", "/t2"}, "", "ttl must be positive and cannot be larger than: 1099511627775\n", 1},
		{"no quota on /", []string{"setquota", "-n", "5", "/"}, "", "Path must not end with / character\n", 1},
		{"no quota listing for /", []string{"listquota", "/"}, "", "absolute path is /zookeeper/quota//zookeeper_limits\nInvalid path string \"/zookeeper/quota//zookeeper_limits\" caused by empty node name specified @17\n", 1},
		{"no quota removal for /", []string{"delquota", "/"}, "", "Invalid path string \"/zookeeper/quota//zookeeper_limits\" caused by empty node name specified @17\n", 1},
		{"ls -R lists each node's sorted children, then descends", []string{"ls", "-R", "/r"}, "/r\n/r/a\n/r/b\n/r/c\n/r/a/x\n/r/a/y\n/r/a/y/q\n", "", 0},
		{"clustered flags", []string{"ls", "-sR", "/r/c"}, "/r/c\n", "", 0},
		{"deleteall reports a partial failure like zkCli.sh", []string{"deleteall", "/locked"}, "", "Failed to delete some node(s) in the subtree!\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, "", false, append([]string{"-server", addr}, tt.args...)...)
			if stdout != tt.stdout || stderr != tt.stderr || code != tt.code {
				t.Errorf("zkd cli %q:\nstdout %q, want %q\nstderr %q, want %q\nexit %d, want %d",
					tt.args, stdout, tt.stdout, stderr, tt.stderr, code, tt.code)
			}
		})
	}
	for _, p := range []string{"/t0", "/t1", "/t2", "/zookeeper/quota/zookeeper_limits"} {
		if st, err := c.Exists(ctx, p); err != nil || st != nil {
			t.Errorf("%s exists after a refused command: %v %v", p, st, err)
		}
	}
}

func TestAWatchSetAfterReconnectingIsPrinted(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := c.Create(ctx, "/w", nil, client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW := io.Pipe()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- Main([]string{"-server", addr}, Config{Stdin: stdinR, Stdout: &stdout, Stderr: &stderr})
	}()
	// The first watch dies with its session; the second, on the new
	// session, must still be printed.
	fmt.Fprintf(stdinW, "get -w /w\nclose\nconnect %s\nget -w /w\nsync /\n", addr)
	waitFor(t, ctx, &stdout, &stderr, "Sync is OK")
	if _, err := c.Set(ctx, "/w", []byte("x"), client.AnyVersion); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, &stdout, &stderr, "type:NodeDataChanged path:/w")
	stdinW.Close()
	<-done
}

func TestACommandFailsWhenTheServerIsGone(t *testing.T) {
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.DataDir = t.TempDir()
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	srv, err := server.New(cfg, server.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	stdinR, stdinW := io.Pipe()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- Main([]string{"-server", addr}, Config{Stdin: stdinR, Stdout: &stdout, Stderr: &stderr})
	}()
	fmt.Fprintln(stdinW, "ls /")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waitFor(t, ctx, &stdout, &stderr, "[zookeeper]")
	srv.Close()
	// Like zkCli.sh: the command fails with ConnectionLoss instead of
	// waiting for a server that is not coming back.
	fmt.Fprintln(stdinW, "ls /")
	waitFor(t, ctx, &stderr, &stdout, "KeeperErrorCode = ConnectionLoss for /")
	stdinW.Close()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("zkd cli did not end at the end of its input")
	}
}

func TestJSONModeKeepsEventsOffStdout(t *testing.T) {
	addr := startServer(t)
	c := connect(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, _, err := c.Create(ctx, "/j", []byte("1"), client.ModePersistent, client.WorldACL(client.PermAll)); err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW := io.Pipe()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- Main([]string{"-server", addr, "-json"}, Config{Stdin: stdinR, Stdout: &stdout, Stderr: &stderr})
	}()
	fmt.Fprintln(stdinW, "get -w /j")
	waitFor(t, ctx, &stdout, &stderr, `"data": "1"`)
	if _, err := c.Set(ctx, "/j", []byte("2"), client.AnyVersion); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, &stderr, &stdout, `"type":"NodeDataChanged"`)
	stdinW.Close()
	<-done
	dec := json.NewDecoder(strings.NewReader(stdout.String()))
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("stdout is not only JSON documents: %v\n%s", err, stdout.String())
		}
	}
	var ev map[string]string
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if strings.Contains(line, "NodeDataChanged") {
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("event line %q: %v", line, err)
			}
		}
	}
	if ev["path"] != "/j" || ev["state"] != "SyncConnected" {
		t.Errorf("event %v", ev)
	}
}

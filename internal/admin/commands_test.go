package admin

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// TestOutputMatchesZooKeeperCaptures runs each command on a fake server in
// the state a real ZooKeeper 3.8.0 was in when it was captured, and expects
// the captured bytes. Where ZooKeeper's order is hash order, both sides are
// put in a canonical order first.
func TestOutputMatchesZooKeeperCaptures(t *testing.T) {
	withConns := func(s Snapshot, conns ...ConnInfo) Snapshot {
		s.Connections = conns
		return s
	}
	fresh := freshSnapshot()
	busy := busySnapshot(t)
	busy.DataDirSize, busy.LogDirSize = 67109337, 67109337

	follower := busy
	follower.Mode = "follower"
	follower.Zxid = 0x100000025
	follower.Latency = Latency{Min: 0, Avg: 24.0 / 13, Max: 5, Count: 13}
	follower.PacketsReceived, follower.PacketsSent = 34, 36
	follower.DataDirSize, follower.LogDirSize = 613, 613

	tests := []struct {
		name     string
		scenario string
		word     string
		snap     Snapshot
		cfg      *config.Config
		extra    []byte
		// canonical puts ZooKeeper's hash-ordered output in a fixed order.
		canonical func(string) string
	}{
		{name: "ruok says imok on a fresh server", scenario: "standalone-fresh", word: "ruok", snap: fresh},
		{name: "isro says rw on a serving server", scenario: "standalone-fresh", word: "isro", snap: fresh},
		{name: "srvr summarises a fresh server", scenario: "standalone-fresh", word: "srvr",
			snap: func() Snapshot { s := fresh; s.PacketsReceived, s.PacketsSent = 17, 17; return s }()},
		{name: "stat lists the asking connection on a fresh server", scenario: "standalone-fresh", word: "stat",
			snap: func() Snapshot {
				s := withConns(fresh, fourLetterConn("127.0.0.1:43312"))
				s.PacketsReceived, s.PacketsSent = 18, 18
				return s
			}()},
		{name: "cons lists the asking connection on a fresh server", scenario: "standalone-fresh", word: "cons",
			snap: withConns(fresh, fourLetterConn("127.0.0.1:43316"))},
		{name: "conf prints the standalone configuration", scenario: "standalone-fresh", word: "conf", snap: fresh},
		{name: "wchs counts no watches on a fresh server", scenario: "standalone-fresh", word: "wchs", snap: fresh},
		{name: "wchc is an empty line on a fresh server", scenario: "standalone-fresh", word: "wchc", snap: fresh},
		{name: "wchp is an empty line on a fresh server", scenario: "standalone-fresh", word: "wchp", snap: fresh},
		{name: "dirs prints the directory sizes", scenario: "standalone-fresh", word: "dirs", snap: fresh},
		{name: "gtmk prints the default trace mask", scenario: "standalone-fresh", word: "gtmk", snap: fresh},
		{name: "stmk echoes the mask it sets", scenario: "standalone-fresh", word: "stmk", snap: fresh,
			extra: []byte{0, 0, 0, 0, 0, 0, 0x01, 0x32}},
		{name: "hash is empty without a digest log", scenario: "standalone-fresh", word: "hash", snap: fresh},
		{name: "crst confirms the reset", scenario: "standalone-fresh", word: "crst", snap: fresh},
		{name: "srst confirms the reset", scenario: "standalone-fresh", word: "srst", snap: fresh},

		{name: "srvr rounds the average latency to four places", scenario: "standalone-busy", word: "srvr",
			snap: func() Snapshot { s := busy; s.PacketsReceived, s.PacketsSent = 22, 20; return s }()},
		{name: "stat lists every connection briefly", scenario: "standalone-busy", word: "stat",
			snap: func() Snapshot {
				s := withConns(busy, append([]ConnInfo{fourLetterConn("127.0.0.1:35818")}, busy.Connections...)...)
				s.PacketsReceived, s.PacketsSent = 23, 21
				return s
			}()},
		{name: "cons lists session details of connections with a session", scenario: "standalone-busy", word: "cons",
			snap: withConns(busy, append([]ConnInfo{fourLetterConn("127.0.0.1:35826")}, busy.Connections...)...)},
		{name: "conf prints the directory sizes of the snapshot", scenario: "standalone-busy", word: "conf", snap: busy},
		{name: "wchs counts data watches", scenario: "standalone-busy", word: "wchs", snap: busy},
		{name: "wchc lists paths by session", scenario: "standalone-busy", word: "wchc", snap: busy, canonical: sortBlocks},
		{name: "wchp lists sessions by path", scenario: "standalone-busy", word: "wchp", snap: busy, canonical: sortBlocks},

		{name: "srvr names the follower mode", scenario: "follower", word: "srvr", snap: follower, cfg: ensembleConfig(1, 35113)},
		{name: "conf of a follower adds the quorum settings and membership", scenario: "follower", word: "conf",
			snap: follower, cfg: ensembleConfig(1, 35113)},
		{name: "srvr of a leader adds the proposal sizes", scenario: "leader", word: "srvr",
			snap: func() Snapshot {
				s := follower
				s.Mode, s.Zxid, s.AliveConnections = "leader", 0x10000001b, 4
				s.PacketsReceived, s.PacketsSent = 33, 36
				s.Latency = Latency{Min: 0, Avg: 3.2308, Max: 16, Count: 13}
				s.Quorum = &QuorumStatus{LastProposalSize: 89, MinProposalSize: 36, MaxProposalSize: 89}
				return s
			}(), cfg: ensembleConfig(3, 60449)},
		{name: "conf of a leader shows its own ports", scenario: "leader", word: "conf",
			snap: follower, cfg: ensembleConfig(3, 60449)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg == nil {
				cfg = standaloneConfig()
			}
			src := &fakeSource{snap: tt.snap, cfg: cfg}
			got := testRegistry().RunFourLetter(tt.word, src, everyWord, tt.extra)
			want := capture(t, tt.scenario, tt.word)
			if tt.canonical != nil {
				got, want = tt.canonical(got), tt.canonical(want)
			}
			if got != want {
				t.Errorf("%s:\ngot:\n%q\nwant (%s/%s):\n%q", tt.word, got, tt.scenario, tt.word, want)
			}
		})
	}
}

// sortBlocks puts output made of blocks — an unindented line followed by
// tab-indented lines — in a canonical order: indented lines sorted within
// their block, blocks sorted.
func sortBlocks(s string) string {
	var blocks [][]string
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "\t") && len(blocks) > 0 {
			last := len(blocks) - 1
			blocks[last] = append(blocks[last], line)
			continue
		}
		blocks = append(blocks, []string{line})
	}
	out := make([]string, len(blocks))
	for i, b := range blocks {
		slices.Sort(b[1:])
		out[i] = strings.Join(b, "")
	}
	slices.Sort(out)
	return strings.Join(out, "")
}

// dumpSections splits dump output at its section headers.
func dumpSections(t *testing.T, s string) (sessions, ephemerals, connections string) {
	t.Helper()
	sessions, rest, ok1 := strings.Cut(s, "ephemeral nodes dump:\n")
	ephemerals, connections, ok2 := strings.Cut(rest, "Connections dump:\n")
	if !ok1 || !ok2 {
		t.Fatalf("dump lacks a section header:\n%s", s)
	}
	return sessions, ephemerals, connections
}

// connectionLines returns the sorted connection lines and the connection
// count of dump's connection section.
func connectionLines(t *testing.T, section string) (lines []string, count string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Connections Sets \(\d+\)/\((\d+)\):$`).FindStringSubmatch(section)
	if m == nil {
		t.Fatalf("no Connections Sets line in %q", section)
	}
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "\tip: ") {
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	return lines, m[1]
}

// TestDumpMatchesZooKeeperCaptures compares dump's sessions and ephemerals
// with captures, in canonical order. Connection expiry times are compared
// only as a set of connections: ZooKeeper rounds them on its own clock and
// keeps empty buckets, which zkd neither can nor needs to reproduce.
func TestDumpMatchesZooKeeperCaptures(t *testing.T) {
	busy := busySnapshot(t)
	busy.Connections = append([]ConnInfo{fourLetterConn("127.0.0.1:35870")}, busy.Connections...)

	const (
		fA jute.SessionID = 0x100000888b60003
		fB jute.SessionID = 0x100000888b60004
		fC jute.SessionID = 0x100000888b60005
	)
	follower := busy
	follower.Mode = "follower"
	follower.Sessions = []SessionInfo{
		{ID: fB, Timeout: 10000, Ephemerals: []string{"/x4/g", "/x4/f"}},
		{ID: fA, Timeout: 10000, Ephemerals: []string{"/x4/e"}},
		{ID: fC, Timeout: 20000},
	}
	follower.Connections = []ConnInfo{
		{Remote: "127.0.0.1:50068", HasSession: true, SessionID: fB},
		fourLetterConn("127.0.0.1:50086"),
		{Remote: "127.0.0.1:50056", HasSession: true, SessionID: fA},
		{Remote: "127.0.0.1:50080", HasSession: true, SessionID: fC},
	}

	fresh := freshSnapshot()
	fresh.Connections = []ConnInfo{fourLetterConn("127.0.0.1:57900")}

	tests := []struct {
		name     string
		scenario string
		snap     Snapshot
	}{
		{"a fresh server has no sessions and one connection", "standalone-fresh", fresh},
		{"a standalone server buckets sessions by expiry time", "standalone-busy", busy},
		{"a follower lists sessions with their timeouts", "follower", follower},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{snap: tt.snap, cfg: standaloneConfig()}
			got := testRegistry().RunFourLetter("dump", src, everyWord, nil)
			want := capture(t, tt.scenario, "dump")
			gs, ge, gc := dumpSections(t, got)
			ws, we, wc := dumpSections(t, want)
			if sortBlocks(gs) != sortBlocks(ws) {
				t.Errorf("sessions section:\ngot:\n%s\nwant:\n%s", gs, ws)
			}
			if sortBlocks(ge) != sortBlocks(we) {
				t.Errorf("ephemerals section:\ngot:\n%s\nwant:\n%s", ge, we)
			}
			gl, gn := connectionLines(t, gc)
			wl, wn := connectionLines(t, wc)
			if !slices.Equal(gl, wl) || gn != wn {
				t.Errorf("connections section:\ngot:\n%s\nwant:\n%s", gc, wc)
			}
		})
	}
}

// TestOutputFormats checks exact outputs written from the spec's formats,
// in zkd's own (sorted) order.
func TestOutputFormats(t *testing.T) {
	est := utc(t, "2026-11-23 05:40:00.123")
	twoConns := freshSnapshot()
	twoConns.AliveConnections = 2
	twoConns.Zxid = 0x62
	twoConns.NodeCount = 25
	twoConns.PacketsReceived, twoConns.PacketsSent = 151, 176
	twoConns.Latency = Latency{Min: 0, Avg: 0.77935, Max: 12, Count: 100}
	twoConns.Connections = []ConnInfo{
		{Remote: "127.0.0.1:37184", InterestOps: 1, Received: 7, Sent: 7, HasSession: true, SessionID: 0x1000069886e0011,
			LastOp: "ADDW", Established: time.UnixMilli(1795412570506), Timeout: 10000, LastCxid: 6, LastZxid: 0x62,
			LastResponse: 7053869, MaxLatency: 2},
		{Remote: "127.0.0.1:37198", Received: 1, LastCxid: -1, LastZxid: -1},
	}

	sessions := freshSnapshot()
	sessions.Sessions = []SessionInfo{
		{ID: 0x1000069886e0011, Timeout: 10000, Deadline: utc(t, "2026-11-23 05:43:00"), Ephemerals: []string{"/x4/e", "/a"}},
		{ID: 0x1000069886e0009, Timeout: 4000, Deadline: utc(t, "2026-11-23 05:42:56")},
		{ID: 0x1000069886e000d, Timeout: 10000, Deadline: utc(t, "2026-11-23 05:43:00")},
	}
	sessions.Connections = []ConnInfo{
		{Remote: "127.0.0.1:37184", HasSession: true, SessionID: 0x1000069886e0011, Established: est},
		{Remote: "127.0.0.1:37240", Established: utc(t, "2026-11-23 05:42:56")},
	}

	readOnly := freshSnapshot()
	readOnly.ReadOnly = true
	readOnly.Mode = "read-only"

	tests := []struct {
		name string
		word string
		snap Snapshot
		want string
	}{
		{"stat lists two connections briefly and then the counters", "stat", twoConns,
			"Zookeeper version: " + zkVersion + "\n" +
				"Clients:\n" +
				" /127.0.0.1:37184[1](queued=0,recved=7,sent=7)\n" +
				" /127.0.0.1:37198[0](queued=0,recved=1,sent=0)\n" +
				"\n" +
				"Latency min/avg/max: 0/0.7794/12\n" +
				"Received: 151\nSent: 176\nConnections: 2\nOutstanding: 0\nZxid: 0x62\nMode: standalone\nNode count: 25\n"},
		{"cons adds session fields only to connections with a session", "cons", twoConns,
			" /127.0.0.1:37184[1](queued=0,recved=7,sent=7,sid=0x1000069886e0011,lop=ADDW,est=1795412570506,to=10000," +
				"lcxid=0x6,lzxid=0x62,lresp=7053869,llat=0,minlat=0,avglat=0,maxlat=2)\n" +
				" /127.0.0.1:37198[0](queued=0,recved=1,sent=0)\n" +
				"\n"},
		{"cons leaves out a negative lcxid and prints NA before the first operation", "cons",
			func() Snapshot {
				s := freshSnapshot()
				s.Connections = []ConnInfo{{Remote: "127.0.0.1:1", InterestOps: 1, HasSession: true, SessionID: 5,
					Established: time.UnixMilli(1000), Timeout: 4000, LastCxid: -1, LastZxid: -1}}
				return s
			}(),
			" /127.0.0.1:1[1](queued=0,recved=0,sent=0,sid=0x5,lop=NA,est=1000,to=4000," +
				"lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,maxlat=0)\n\n"},
		{"dump buckets sessions and connections by expiry and lists ephemerals", "dump", sessions,
			"SessionTracker dump:\n" +
				"Session Sets (2)/(3):\n" +
				"1 expire at Mon Nov 23 05:42:56 UTC 2026:\n" +
				"\t0x1000069886e0009\n" +
				"2 expire at Mon Nov 23 05:43:00 UTC 2026:\n" +
				"\t0x1000069886e000d\n" +
				"\t0x1000069886e0011\n" +
				"ephemeral nodes dump:\n" +
				"Sessions with Ephemerals (1):\n" +
				"0x1000069886e0011:\n" +
				"\t/a\n" +
				"\t/x4/e\n" +
				"Connections dump:\n" +
				"Connections Sets (2)/(2):\n" +
				"1 expire at Mon Nov 23 05:43:00 UTC 2026:\n" +
				"\tip: /127.0.0.1:37184 sessionId: 0x1000069886e0011\n" +
				"1 expire at Mon Nov 23 05:43:06 UTC 2026:\n" +
				"\tip: /127.0.0.1:37240 sessionId: 0x0\n"},
		{"srvr announces read-only mode after the version", "srvr", readOnly,
			"Zookeeper version: " + zkVersion + "\n" +
				"READ-ONLY mode; serving only read-only clients\n" +
				"Latency min/avg/max: 0/0.0/0\nReceived: 0\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x0\n" +
				"Mode: read-only\nNode count: 5\n"},
		{"isro says ro in read-only mode", "isro", readOnly, "ro"},
		{"wchc sorts sessions and paths", "wchc", busySnapshot(t),
			"0x1000007c4ea0000\n\t/x4\n\t/x4/none\n" +
				"0x1000007c4ea0001\n\t/x4\n\t/x4/f\n" +
				"0x1000007c4ea0002\n\t/zookeeper\n\n"},
		{"wchp sorts paths and sessions", "wchp", busySnapshot(t),
			"/x4\n\t0x1000007c4ea0000\n\t0x1000007c4ea0001\n" +
				"/x4/f\n\t0x1000007c4ea0001\n" +
				"/x4/none\n\t0x1000007c4ea0000\n" +
				"/zookeeper\n\t0x1000007c4ea0002\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{snap: tt.snap, cfg: standaloneConfig()}
			got := testRegistry().RunFourLetter(tt.word, src, everyWord, nil)
			if got != tt.want {
				t.Errorf("%s:\ngot:\n%s\nwant:\n%s", tt.word, got, tt.want)
			}
		})
	}
}

func TestConfFollowsTheConfiguration(t *testing.T) {
	separateLog := standaloneConfig()
	separateLog.DataLogDir = "/var/log/zk"
	separateLog.SecureClientPort = 2281
	separateLog.ClientPort = 0

	myidStandalone := standaloneConfig()
	myidStandalone.MyID = 7

	observer := ensembleConfig(3, 60449)
	observer.PeerType = config.RoleObserver
	observer.Servers[2].Role = config.RoleObserver
	observer.ConfigVersion = 0x100000000

	hierarchical := ensembleConfig(1, 35113)
	hierarchical.Groups = map[int64][]int64{2: {3}, 1: {1, 2}}
	hierarchical.Weights = map[int64]int64{1: 1, 2: 1, 3: 0}

	tests := []struct {
		name string
		cfg  *config.Config
		want []string // lines that must appear
		tail string   // how the output must end
	}{
		{"the log dir and the secure port are the configured ones", separateLog,
			[]string{"clientPort=-1\n", "secureClientPort=2281\n", "dataDir=/tmp/zkref/data/version-2\n", "dataLogDir=/var/log/zk/version-2\n"},
			"serverId=0\n"},
		{"a standalone server reports server id 0 whatever myid says", myidStandalone, nil, "serverId=0\n"},
		{"an observer has peer type 1 and the membership has a hex version", observer,
			[]string{"serverId=3\n", "peerType=1\n", "server.3=127.0.0.1:34661:46145:observer;127.0.0.1:60449\n"},
			"version=100000000"},
		{"a hierarchical quorum lists its groups and weights", hierarchical,
			[]string{"server.1=127.0.0.1:36485:41365:participant\n"},
			"group.1=1:2\ngroup.2=3\nweight.1=1\nweight.2=1\nweight.3=0\nversion=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{snap: freshSnapshot(), cfg: tt.cfg}
			got := testRegistry().RunFourLetter("conf", src, everyWord, nil)
			for _, line := range tt.want {
				if !strings.Contains(got, line) {
					t.Errorf("conf lacks %q:\n%s", line, got)
				}
			}
			if !strings.HasSuffix(got, tt.tail) {
				t.Errorf("conf does not end with %q:\n%s", tt.tail, got)
			}
		})
	}
}

func TestEnviPrintsZooKeepersKeysInOrderThenTheEffectiveProperties(t *testing.T) {
	wantKeys := keysOf(t, capture(t, "standalone-fresh", "envi"), "=")
	cfg := standaloneConfig()
	cfg.Props = map[string]string{"zookeeper.skipACL": "yes", "jute.maxbuffer": "4194304"}
	src := &fakeSource{snap: freshSnapshot(), cfg: cfg}
	got := NewRegistry().RunFourLetter("envi", src, everyWord, nil)
	wantKeys = append(wantKeys, "jute.maxbuffer", "zookeeper.skipACL")
	if !strings.HasPrefix(got, "Environment:\nzookeeper.version="+zkVersion+"\n") {
		t.Errorf("envi does not start with the header and the version:\n%s", got)
	}
	if gotKeys := keysOf(t, got, "="); !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("envi keys\ngot  %q\nwant %q", gotKeys, wantKeys)
	}
	values := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n")[1:] {
		k, v, _ := strings.Cut(line, "=")
		values[k] = v
		if v == "" {
			t.Errorf("envi %s is empty", k)
		}
	}
	for _, k := range []string{"os.memory.free", "os.memory.max", "os.memory.total"} {
		if !regexp.MustCompile(`^\d+MB$`).MatchString(values[k]) {
			t.Errorf("envi %s=%q, want <n>MB", k, values[k])
		}
	}
	if values["java.vendor"] != "zkd" || !strings.HasPrefix(values["java.version"], "go") {
		t.Errorf("envi java.vendor=%q java.version=%q, want zkd and the Go version", values["java.vendor"], values["java.version"])
	}
}

// keysOf returns the keys of the "key<sep>value" lines of s, skipping a
// first line without sep (envi's header).
func keysOf(t *testing.T, s, sep string) []string {
	t.Helper()
	var keys []string
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if k, _, ok := strings.Cut(line, sep); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

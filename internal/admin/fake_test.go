package admin

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// fakeSource is a Source with a fixed snapshot. Like a real server it
// leaves out of a snapshot the costly parts that were not asked for, so a
// command that forgets a Detail prints an empty list.
type fakeSource struct {
	snap Snapshot
	cfg  *config.Config

	snapshots    int // calls of Snapshot
	serverResets int
	connResets   int
}

func (f *fakeSource) Snapshot(d Detail) Snapshot {
	f.snapshots++
	s := f.snap
	if d&WithConnections == 0 {
		s.Connections = nil
	}
	if d&WithSessions == 0 {
		s.Sessions = nil
	}
	if d&WithWatchesByConn == 0 {
		s.WatchesByConnection = nil
	}
	if d&WithWatchesByPath == 0 {
		s.WatchesByPath = nil
	}
	return s
}

func (f *fakeSource) ResetServerStats()      { f.serverResets++ }
func (f *fakeSource) ResetConnectionStats()  { f.connResets++ }
func (f *fakeSource) Config() *config.Config { return f.cfg }

// zkVersion is the version line of the captured Debian build.
const zkVersion = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC"

// everyWord enables every four-letter word.
var everyWord = map[string]bool{"*": true}

// captureDir holds the captures of a real ZooKeeper (see its README).
const captureDir = "testdata/zookeeper-3.8.0"

// capture returns what ZooKeeper 3.8.0 answered to word in scenario.
func capture(t *testing.T, scenario, word string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(captureDir, scenario, word+".txt"))
	if err != nil {
		t.Fatalf("read capture: %v", err)
	}
	return string(b)
}

// testRegistry returns a registry that prints dates in UTC, as the
// captures do.
func testRegistry() *Registry {
	r := NewRegistry()
	r.loc = time.UTC
	return r
}

// utc parses "2026-11-23 18:33:35.123" in UTC.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04:05.999", s, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// standaloneConfig is the configuration of the captured standalone server.
func standaloneConfig() *config.Config {
	c := config.Default()
	c.TickTime = 2000
	c.DataDir = "/tmp/zkref/data"
	c.DataLogDir = "/tmp/zkref/data"
	c.ClientPort = 49231
	c.ClientPortAddress = "127.0.0.1"
	c.MinSessionTimeout = 4000
	c.MaxSessionTimeout = 40000
	return c
}

// ensembleConfig is the configuration of captured ensemble member myID.
func ensembleConfig(myID int64, clientPort int) *config.Config {
	c := standaloneConfig()
	c.DataDir = "/tmp/zkens/d" + string(rune('0'+myID))
	c.DataLogDir = c.DataDir
	c.ClientPort = clientPort
	c.InitLimit = 10
	c.SyncLimit = 5
	c.MyID = myID
	c.Servers = []config.Server{
		{ID: 1, QuorumAddr: "127.0.0.1:36485", ElectionAddr: "127.0.0.1:41365", Role: config.RoleParticipant},
		{ID: 2, QuorumAddr: "127.0.0.1:48501", ElectionAddr: "127.0.0.1:38379", Role: config.RoleParticipant},
		{ID: 3, QuorumAddr: "127.0.0.1:34661", ElectionAddr: "127.0.0.1:46145", Role: config.RoleParticipant, ClientAddr: "127.0.0.1:60449"},
	}
	return c
}

// freshSnapshot is the state of the captured standalone server before any
// session.
func freshSnapshot() Snapshot {
	return Snapshot{
		Version:          zkVersion,
		Mode:             "standalone",
		Serving:          true,
		NodeCount:        5,
		ApproxDataSize:   44,
		AliveConnections: 1,
		LastResponseSize: -1,
		MinResponseSize:  -1,
		MaxResponseSize:  -1,
		DataDirSize:      457,
		LogDirSize:       457,
	}
}

// Sessions of the captured busy standalone server.
const (
	busyA jute.SessionID = 0x1000007c4ea0000
	busyB jute.SessionID = 0x1000007c4ea0001
	busyC jute.SessionID = 0x1000007c4ea0002
)

// busySnapshot is the state of the captured standalone server with three
// sessions; Connections holds the three session connections, callers add
// the four-letter-word connection where the capture shows it.
func busySnapshot(t *testing.T) Snapshot {
	s := freshSnapshot()
	s.Zxid = 7
	s.NodeCount = 9
	s.EphemeralsCount = 3
	s.AliveConnections = 4
	s.GlobalSessions = 3
	s.Latency = Latency{Min: 0, Avg: 25.0 / 13, Max: 7, Count: 13}
	s.DataWatchConnections, s.DataWatchPaths, s.DataWatches = 3, 4, 5
	s.TotalWatches = 5
	s.Connections = []ConnInfo{
		{Remote: "127.0.0.1:35784", InterestOps: 1, Received: 6, Sent: 7, HasSession: true, SessionID: busyA,
			LastOp: "GETC", Established: time.UnixMilli(1795458803419), Timeout: 10000, LastCxid: 5, LastZxid: 5,
			LastResponse: 532202, LastLatency: 1, MinLatency: 0, AvgLatency: 2, MaxLatency: 7},
		{Remote: "127.0.0.1:35798", InterestOps: 1, Received: 5, Sent: 5, HasSession: true, SessionID: busyB,
			LastOp: "GETD", Established: time.UnixMilli(1795458803433), Timeout: 10000, LastCxid: 4, LastZxid: 7,
			LastResponse: 532208, LastLatency: 1, MinLatency: 0, AvgLatency: 1, MaxLatency: 2},
		{Remote: "127.0.0.1:35804", InterestOps: 1, Received: 2, Sent: 2, HasSession: true, SessionID: busyC,
			LastOp: "EXIS", Established: time.UnixMilli(1795458803435), Timeout: 20000, LastCxid: 1, LastZxid: 7,
			LastResponse: 532210, LastLatency: 2, MinLatency: 0, AvgLatency: 1, MaxLatency: 2},
	}
	s.Sessions = []SessionInfo{
		{ID: busyB, Timeout: 10000, Deadline: utc(t, "2026-11-23 18:33:35"), Ephemerals: []string{"/x4/g", "/x4/f"}},
		{ID: busyA, Timeout: 10000, Deadline: utc(t, "2026-11-23 18:33:35"), Ephemerals: []string{"/x4/e"}},
		{ID: busyC, Timeout: 20000, Deadline: utc(t, "2026-11-23 18:33:45")},
	}
	s.WatchesByConnection = map[jute.SessionID][]string{
		busyA: {"/x4/none", "/x4"},
		busyB: {"/x4", "/x4/f"},
		busyC: {"/zookeeper"},
	}
	s.WatchesByPath = map[string][]jute.SessionID{
		"/x4/none":   {busyA},
		"/zookeeper": {busyC},
		"/x4":        {busyB, busyA},
		"/x4/f":      {busyB},
	}
	return s
}

// fourLetterConn is the connection a four-letter word arrives on: no
// session, one packet received.
func fourLetterConn(remote string) ConnInfo {
	return ConnInfo{Remote: remote, Received: 1, LastCxid: -1, LastZxid: -1}
}

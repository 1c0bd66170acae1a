package server

import (
	"math"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/zkd/zkd/internal/admin"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// latencySummary keeps min/avg/max of request latencies in ms.
type latencySummary struct {
	min, max, sum, count int64
}

func (l *latencySummary) add(ms int64) {
	if l.count == 0 || ms < l.min {
		l.min = ms
	}
	l.max = max(l.max, ms)
	l.sum += ms
	l.count++
}

func (l *latencySummary) avg() float64 {
	if l.count == 0 {
		return 0
	}
	return math.Round(float64(l.sum)/float64(l.count)*10000) / 10000
}

// serverStats are counters owned by the core goroutine.
type serverStats struct {
	received, sent int64
	latency        latencySummary
	authFailed     int64
}

func (st *serverStats) reset() { *st = serverStats{} }

// connStats are per-connection counters owned by the core goroutine.
type connStats struct {
	lastOp       jute.OpCode
	lastCxid     int32
	lastZxid     jute.Zxid
	lastResponse int64
	lastLatency  int64
	latency      latencySummary
	timeout      int32
}

func (st *connStats) reset() {
	*st = connStats{lastOp: math.MinInt32, lastCxid: -1, lastZxid: -1, timeout: st.timeout}
}

// opAbbrev is the four-letter abbreviation cons prints for the last op.
var opAbbrev = map[jute.OpCode]string{
	jute.OpCreateSession: "SESS", jute.OpCreate: "CREA", jute.OpCreate2: "CREA", jute.OpCreateContainer: "CREA",
	jute.OpCreateTTL: "CREA", jute.OpDelete: "DELE", jute.OpSetData: "SETD", jute.OpGetData: "GETD",
	jute.OpExists: "EXIS", jute.OpGetChildren: "GETC", jute.OpGetChildren2: "GETC", jute.OpGetACL: "GETA",
	jute.OpSetACL: "SETA", jute.OpSync: "SYNC", jute.OpPing: "PING", jute.OpMulti: "MULT", jute.OpMultiRead: "MLTR",
	jute.OpCheck: "CHEC", jute.OpReconfig: "RECO", jute.OpSetWatches: "SETW", jute.OpSetWatches2: "STW2",
	jute.OpAddWatch: "ADDW", jute.OpCheckWatches: "CHKW", jute.OpRemoveWatches: "REMW", jute.OpWhoAmI: "HOMI",
	jute.OpGetEphemerals: "GETE", jute.OpGetAllChildrenNumber: "GETACN", jute.OpCloseSession: "CLOS",
}

// Config implements admin.Source.
func (s *Server) Config() *config.Config { return s.cfg }

// Snapshot implements admin.Source: it collects the server's state on the
// core goroutine.
func (s *Server) Snapshot(d admin.Detail) admin.Snapshot {
	var snap admin.Snapshot
	ok := s.query(func() { snap = s.snapshot(d) })
	if !ok {
		return admin.Snapshot{Version: Version, Mode: "standalone"}
	}
	snapDir, logDir := s.dataDirs()
	snap.DataDirSize = dirSize(snapDir)
	snap.LogDirSize = dirSize(logDir)
	snap.OpenFDs, snap.MaxFDs = fileDescriptors()
	return snap
}

func (s *Server) snapshot(d admin.Detail) admin.Snapshot {
	ws := s.watches.Stats()
	snap := admin.Snapshot{
		Version:              Version,
		Mode:                 s.role.String(),
		Serving:              s.role != roleLooking,
		Zxid:                 s.tree.LastZxid(),
		NodeCount:            s.tree.NodeCount() + 1,
		ApproxDataSize:       s.tree.ApproximateDataSize(),
		EphemeralsCount:      s.tree.EphemeralCount(),
		DataWatchConnections: ws.DataWatchers,
		DataWatchPaths:       ws.DataPaths,
		DataWatches:          ws.DataWatches,
		TotalWatches:         ws.TotalWatches,
		PacketsReceived:      s.listener.PacketsReceived(),
		PacketsSent:          s.listener.PacketsSent(),
		Outstanding:          int64(len(s.inflight)),
		Latency:              admin.Latency{Min: s.stats.latency.min, Max: s.stats.latency.max, Avg: s.stats.latency.avg(), Count: s.stats.latency.count},
		AliveConnections:     len(s.listener.Connections()),
		GlobalSessions:       s.sessions.Len(),
		AuthFailed:           s.stats.authFailed + s.listener.HandshakeFailures(),
		LastResponseSize:     -1, MinResponseSize: -1, MaxResponseSize: -1,
		Uptime:    time.Since(s.started),
		Counters:  make(map[string]int64),
		Summaries: make(map[string]admin.Summary),
	}
	now := time.Now()
	if s.peer != nil {
		snap.Quorum = s.quorumStatus(now)
		s.logStats.fill(&snap, now)
	}
	s.zkMetrics.fill(&snap, now)
	s.fillQuotaMetrics(&snap)
	snap.Counters["bytes_received_count"] += s.fourLetterBytes.Load()
	snap.Counters["large_requests_rejected"] = s.listener.LargeRequestsRejected()
	s.fillTLSStats(&snap)
	snap.ConnectionDropProbability = s.connThrottle.drop
	snap.Summaries["snapshottime"] = s.snapshotMS.get(now)
	if lc, ok := s.committer.(*LogCommitter); ok {
		lc.metrics(&snap, now)
	}
	if d&admin.WithConnections != 0 {
		for _, c := range s.listener.Connections() {
			ci := admin.ConnInfo{
				Remote: c.Remote().String(), InterestOps: 1, Secure: c.OnSecurePort(),
				Received: c.Received.Load(), Sent: c.Sent.Load(), Established: c.Established(), LastOp: "NA",
			}
			if cs := s.conns[c]; cs != nil && cs.session != 0 {
				ci.HasSession = true
				ci.SessionID = cs.session
				ci.Queued = int64(len(cs.queue))
				if name, ok := opAbbrev[cs.stats.lastOp]; ok {
					ci.LastOp = name
				}
				ci.Timeout = cs.stats.timeout
				ci.LastCxid = cs.stats.lastCxid
				ci.LastZxid = cs.stats.lastZxid
				ci.LastResponse = cs.stats.lastResponse
				ci.LastLatency = cs.stats.lastLatency
				ci.MinLatency = cs.stats.latency.min
				ci.MaxLatency = cs.stats.latency.max
				ci.AvgLatency = int64(cs.stats.latency.avg())
			}
			snap.Connections = append(snap.Connections, ci)
		}
	}
	if d&admin.WithSessions != 0 {
		for _, sess := range s.sessions.All() {
			snap.Sessions = append(snap.Sessions, admin.SessionInfo{
				ID: sess.ID, Timeout: sess.Timeout,
				Deadline:   s.started.Add(time.Duration(sess.Deadline()) * time.Millisecond),
				Ephemerals: s.tree.Ephemerals(int64(sess.ID)),
			})
		}
	}
	if d&admin.WithWatchesByConn != 0 {
		snap.WatchesByConnection = make(map[jute.SessionID][]string)
		for w, cs := range s.byWatcher {
			if paths := s.watches.DataPathsOf(w); len(paths) > 0 {
				snap.WatchesByConnection[cs.session] = paths
			}
		}
	}
	if d&admin.WithWatchesByPath != 0 {
		snap.WatchesByPath = make(map[string][]jute.SessionID)
		for path, ws := range s.watches.DataWatchersByPath() {
			for _, w := range ws {
				if cs := s.byWatcher[w]; cs != nil {
					snap.WatchesByPath[path] = append(snap.WatchesByPath[path], cs.session)
				}
			}
		}
	}
	return snap
}

// ResetServerStats implements admin.Source (srst).
func (s *Server) ResetServerStats() {
	s.query(func() {
		s.stats.reset()
		s.listener.ResetPacketCounts()
		// ZooKeeper 3.8's srst resets every metric too.
		s.zkMetrics.reset()
		s.fourLetterBytes.Store(0)
		s.snapshotMS.reset()
		if lc, ok := s.committer.(*LogCommitter); ok {
			lc.resetMetrics()
		}
		s.logStats.reset()
	})
}

// ResetConnectionStats implements admin.Source (crst).
func (s *Server) ResetConnectionStats() {
	s.query(func() {
		for _, cs := range s.conns {
			cs.stats.reset()
		}
	})
}

func dirSize(dir string) int64 {
	var total int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !info.IsDir() {
			total += info.Size()
		}
	}
	return total
}

func fileDescriptors() (open, limit int64) {
	if entries, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = int64(len(entries))
	}
	var rl syscall.Rlimit
	if runtime.GOOS != "windows" && syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		limit = int64(rl.Cur)
	}
	return open, limit
}

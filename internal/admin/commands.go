package admin

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
)

// commandTable returns the commands that have a four-letter word, in word
// order, with their AdminServer names (client spec §11.3, §12). The
// AdminServer-only commands (icfg, lsnp, lead, ...) are in http.go.
func commandTable() []*Command {
	cmds := []*Command{
		{Word: "conf", Name: "configuration", Aliases: []string{"conf", "config"}, ServerRequired: true, text: (*call).conf},
		{Word: "cons", Name: "connections", Aliases: []string{"cons"}, ServerRequired: true, Detail: WithConnections, text: (*call).cons},
		{Word: "crst", Name: "connection_stat_reset", Aliases: []string{"crst"}, ServerRequired: true, text: (*call).crst},
		{Word: "dirs", Name: "dirs", ServerRequired: true, text: (*call).dirs},
		{Word: "dump", Name: "dump", ServerRequired: true, Detail: WithSessions | WithConnections, text: (*call).dump},
		{Word: "envi", Name: "environment", Aliases: []string{"env", "envi"}, text: (*call).envi},
		{Word: "gtmk", Name: "get_trace_mask", Aliases: []string{"gtmk"}, text: (*call).gtmk},
		{Word: "hash", Name: "hash", ServerRequired: true, text: (*call).hash,
			// ZooKeeper quirk: hash prints the not-serving message without a
			// newline [live].
			notServing: notServingMessage},
		{Word: "isro", Name: "is_read_only", Aliases: []string{"isro"}, ServerRequired: true, text: (*call).isro,
			notServing: "null"},
		{Word: "mntr", Name: "monitor", Aliases: []string{"mntr"}, ServerRequired: true, text: (*call).mntr},
		{Word: "ruok", Name: "ruok", text: (*call).ruok},
		{Word: "srst", Name: "stat_reset", Aliases: []string{"srst"}, ServerRequired: true, text: (*call).srst},
		{Word: "srvr", Name: "server_stats", Aliases: []string{"srvr"}, ServerRequired: true, text: (*call).srvr},
		{Word: "stat", Name: "stats", Aliases: []string{"stat"}, ServerRequired: true, Detail: WithConnections, text: (*call).stat},
		{Word: "stmk", Name: "set_trace_mask", Aliases: []string{"stmk"}, text: (*call).stmk},
		{Word: "wchc", Name: "watches", Aliases: []string{"wchc"}, ServerRequired: true, Detail: WithWatchesByConn, text: (*call).wchc},
		{Word: "wchp", Name: "watches_by_path", Aliases: []string{"wchp"}, ServerRequired: true, Detail: WithWatchesByPath, text: (*call).wchp},
		{Word: "wchs", Name: "watch_summary", Aliases: []string{"wchs"}, ServerRequired: true, text: (*call).wchs},
	}
	for _, cmd := range cmds {
		if cmd.ServerRequired && cmd.notServing == "" {
			cmd.notServing = notServingMessage + "\n"
		}
	}
	return cmds
}

// ruok says the process is up, not that it serves (no newline).
func (c *call) ruok() string { return "imok" }

// isro prints "ro" in read-only mode and "rw" otherwise (no newline).
func (c *call) isro() string {
	if c.snapshot().ReadOnly {
		return "ro"
	}
	return "rw"
}

// srvr prints the server summary.
func (c *call) srvr() string { return c.serverStats(false) }

// stat prints the server summary with the client list after the version.
func (c *call) stat() string { return c.serverStats(true) }

// serverStats renders srvr, or stat when withClients.
func (c *call) serverStats(withClients bool) string {
	s := c.snapshot()
	var b strings.Builder
	b.WriteString("Zookeeper version: " + s.Version + "\n")
	if s.ReadOnly {
		b.WriteString("READ-ONLY mode; serving only read-only clients\n")
	}
	if withClients {
		b.WriteString("Clients:\n")
		for i := range s.Connections {
			writeConnection(&b, &s.Connections[i], true)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "Latency min/avg/max: %d/%s/%d\n", s.Latency.Min, javaDouble(round4(s.Latency.Avg)), s.Latency.Max)
	fmt.Fprintf(&b, "Received: %d\n", s.PacketsReceived)
	fmt.Fprintf(&b, "Sent: %d\n", s.PacketsSent)
	fmt.Fprintf(&b, "Connections: %d\n", s.AliveConnections)
	fmt.Fprintf(&b, "Outstanding: %d\n", s.Outstanding)
	fmt.Fprintf(&b, "Zxid: 0x%s\n", javaHex(int64(s.Zxid)))
	fmt.Fprintf(&b, "Mode: %s\n", s.Mode)
	fmt.Fprintf(&b, "Node count: %d\n", s.NodeCount)
	if q := s.Quorum; q != nil && s.Mode == "leader" {
		fmt.Fprintf(&b, "Proposal sizes last/min/max: %d/%d/%d\n", q.LastProposalSize, q.MinProposalSize, q.MaxProposalSize)
	}
	return b.String()
}

// cons prints every connection in the long form, then an empty line.
func (c *call) cons() string {
	s := c.snapshot()
	var b strings.Builder
	for i := range s.Connections {
		writeConnection(&b, &s.Connections[i], false)
	}
	b.WriteString("\n")
	return b.String()
}

// writeConnection writes one client line of stat (brief) or cons:
// " /ip:port[ops](queued=…,recved=…,sent=…)" and, in the long form of a
// connection with a session, the session fields before the ")".
func writeConnection(b *strings.Builder, ci *ConnInfo, brief bool) {
	ops := "0"
	if ci.InterestOps != 0 {
		ops = strconv.FormatInt(int64(ci.InterestOps), 16)
	}
	fmt.Fprintf(b, " /%s[%s](queued=%d,recved=%d,sent=%d", ci.Remote, ops, ci.Queued, ci.Received, ci.Sent)
	if !brief && ci.HasSession {
		lop := ci.LastOp
		if lop == "" {
			lop = "NA"
		}
		fmt.Fprintf(b, ",sid=0x%s,lop=%s,est=%d,to=%d", javaHex(int64(ci.SessionID)), lop, ci.Established.UnixMilli(), ci.Timeout)
		// ZooKeeper leaves lcxid out while it is negative.
		if ci.LastCxid >= 0 {
			fmt.Fprintf(b, ",lcxid=0x%s", javaHex(int64(ci.LastCxid)))
		}
		fmt.Fprintf(b, ",lzxid=0x%s,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
			javaHex(int64(ci.LastZxid)), ci.LastResponse, ci.LastLatency, ci.MinLatency, ci.AvgLatency, ci.MaxLatency)
	}
	b.WriteString(")\n")
}

// conf prints the effective configuration: the standalone keys, then, in
// an ensemble, the quorum keys and the membership.
func (c *call) conf() string {
	s := c.snapshot()
	cfg := c.config()
	var b strings.Builder
	fmt.Fprintf(&b, "clientPort=%d\n", portOrNone(cfg.ClientPort))
	fmt.Fprintf(&b, "secureClientPort=%d\n", portOrNone(cfg.SecureClientPort))
	fmt.Fprintf(&b, "dataDir=%s\n", snapDir(cfg.DataDir))
	fmt.Fprintf(&b, "dataDirSize=%d\n", s.DataDirSize)
	fmt.Fprintf(&b, "dataLogDir=%s\n", snapDir(cmp.Or(cfg.DataLogDir, cfg.DataDir)))
	fmt.Fprintf(&b, "dataLogSize=%d\n", s.LogDirSize)
	fmt.Fprintf(&b, "tickTime=%d\n", cfg.TickTime)
	fmt.Fprintf(&b, "maxClientCnxns=%d\n", cfg.MaxClientCnxns)
	fmt.Fprintf(&b, "minSessionTimeout=%d\n", cfg.MinSessionTimeout)
	fmt.Fprintf(&b, "maxSessionTimeout=%d\n", cfg.MaxSessionTimeout)
	fmt.Fprintf(&b, "clientPortListenBacklog=%d\n", cfg.ClientPortListenBacklog)
	if cfg.Standalone() {
		// A standalone ZooKeeper reports server id 0 whatever myid says.
		b.WriteString("serverId=0\n")
		return b.String()
	}
	fmt.Fprintf(&b, "serverId=%d\n", cfg.MyID)
	self, _ := cfg.Server(cfg.MyID)
	peerType := 0
	if cfg.PeerType == config.RoleObserver {
		peerType = 1
	}
	fmt.Fprintf(&b, "initLimit=%d\n", cfg.InitLimit)
	fmt.Fprintf(&b, "syncLimit=%d\n", cfg.SyncLimit)
	b.WriteString("electionAlg=3\n") // fast leader election, the only one left
	fmt.Fprintf(&b, "electionPort=%s\n", addrPort(self.ElectionAddr))
	fmt.Fprintf(&b, "quorumPort=%s\n", addrPort(self.QuorumAddr))
	fmt.Fprintf(&b, "peerType=%d\n", peerType)
	b.WriteString("membership: \n")
	writeMembership(&b, cfg)
	return b.String()
}

// writeMembership writes the membership as conf shows it: one server.N
// line per member, group.G and weight.N lines of a hierarchical quorum,
// and "version=<hex>" without a final newline (a ZooKeeper quirk [live]).
func writeMembership(b *strings.Builder, cfg *config.Config) {
	for _, sv := range cfg.Servers {
		addrs := []config.PeerAddr{{QuorumAddr: sv.QuorumAddr, ElectionAddr: sv.ElectionAddr}}
		addrs = append(addrs, sv.MoreAddrs...)
		parts := make([]string, len(addrs))
		for i, a := range addrs {
			host, qport, err := net.SplitHostPort(a.QuorumAddr)
			if err != nil {
				host, qport = a.QuorumAddr, ""
			}
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			parts[i] = host + ":" + qport + ":" + addrPort(a.ElectionAddr)
		}
		fmt.Fprintf(b, "server.%d=%s:%s", sv.ID, strings.Join(parts, "|"), sv.Role)
		if sv.ClientAddr != "" {
			b.WriteString(";" + sv.ClientAddr)
		}
		b.WriteString("\n")
	}
	for _, g := range slices.Sorted(maps.Keys(cfg.Groups)) {
		ids := make([]string, len(cfg.Groups[g]))
		for i, id := range cfg.Groups[g] {
			ids[i] = strconv.FormatInt(id, 10)
		}
		fmt.Fprintf(b, "group.%d=%s\n", g, strings.Join(ids, ":"))
	}
	for _, id := range slices.Sorted(maps.Keys(cfg.Weights)) {
		fmt.Fprintf(b, "weight.%d=%d\n", id, cfg.Weights[id])
	}
	fmt.Fprintf(b, "version=%s", javaHex(cfg.ConfigVersion))
}

// config returns the server's configuration, or zkd's defaults if the
// source has none.
func (c *call) config() *config.Config {
	if cfg := c.src.Config(); cfg != nil {
		return cfg
	}
	return config.Default()
}

// portOrNone maps "no listener" (0) to the -1 ZooKeeper prints.
func portOrNone(p int) int {
	if p == 0 {
		return -1
	}
	return p
}

// snapDir is the directory ZooKeeper reports for a data or log dir: its
// version-2 subdirectory, where the files are.
func snapDir(dir string) string { return filepath.Join(dir, "version-2") }

// addrPort returns the port of a host:port address, or "-1" without one.
func addrPort(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "-1"
	}
	return port
}

// envi prints the runtime environment in ZooKeeper's key order; a Go
// server fills the java.* keys with its own runtime's values.
func (c *call) envi() string {
	var b strings.Builder
	b.WriteString("Environment:\n")
	b.WriteString("zookeeper.version=" + c.snapshot().Version + "\n")
	for _, p := range c.reg.environment() {
		b.WriteString(p.key + "=" + p.value + "\n")
	}
	// Then the effective ZooKeeper system properties (zoo.cfg pass-through
	// keys, JVMFLAGS and -D arguments), where a JVM would list them among
	// its own properties; secrets redacted.
	props := shownProperties(c.config().Props)
	for _, k := range slices.Sorted(maps.Keys(props)) {
		b.WriteString(k + "=" + props[k] + "\n")
	}
	return b.String()
}

// wchs prints the watch summary of the data-watch table.
func (c *call) wchs() string {
	s := c.snapshot()
	return fmt.Sprintf("%d connections watching %d paths\nTotal watches:%d\n",
		s.DataWatchConnections, s.DataWatchPaths, s.DataWatches)
}

// wchc prints each session's watched paths, sessions and paths sorted
// (ZooKeeper's order is hash order), then an empty line.
func (c *call) wchc() string {
	s := c.snapshot()
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(s.WatchesByConnection)) {
		b.WriteString("0x" + javaHex(int64(id)) + "\n")
		for _, p := range slices.Sorted(slices.Values(s.WatchesByConnection[id])) {
			b.WriteString("\t" + p + "\n")
		}
	}
	b.WriteString("\n")
	return b.String()
}

// wchp prints each watched path's sessions, paths and sessions sorted,
// then an empty line.
func (c *call) wchp() string {
	s := c.snapshot()
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(s.WatchesByPath)) {
		b.WriteString(p + "\n")
		for _, id := range slices.Sorted(slices.Values(s.WatchesByPath[p])) {
			b.WriteString("\t0x" + javaHex(int64(id)) + "\n")
		}
	}
	b.WriteString("\n")
	return b.String()
}

// dump prints the sessions, the ephemeral nodes by session and the
// connections with their expiry times.
func (c *call) dump() string {
	s := c.snapshot()
	var b strings.Builder
	b.WriteString("SessionTracker dump:\n")
	switch s.Mode {
	case "follower", "observer", "read-only":
		// A learner's session tracker lists the sessions it knows with
		// their timeouts; it keeps no expiry buckets [live].
		sessions := slices.SortedFunc(slices.Values(s.Sessions), func(a, b SessionInfo) int {
			return cmp.Compare(a.ID, b.ID)
		})
		fmt.Fprintf(&b, "Global Sessions(%d):\n", len(sessions))
		for _, si := range sessions {
			fmt.Fprintf(&b, "0x%s\t%dms\n", javaHex(int64(si.ID)), si.Timeout)
		}
	default:
		// Buckets are keyed by the millisecond, the precision of Java's Date.
		byDeadline := make(map[int64][]jute.SessionID)
		for _, si := range s.Sessions {
			ms := si.Deadline.UnixMilli()
			byDeadline[ms] = append(byDeadline[ms], si.ID)
		}
		fmt.Fprintf(&b, "Session Sets (%d)/(%d):\n", len(byDeadline), len(s.Sessions))
		for _, ms := range slices.Sorted(maps.Keys(byDeadline)) {
			ids := byDeadline[ms]
			slices.Sort(ids)
			fmt.Fprintf(&b, "%d expire at %s:\n", len(ids), javaDate(time.UnixMilli(ms), c.reg.loc))
			for _, id := range ids {
				b.WriteString("\t0x" + javaHex(int64(id)) + "\n")
			}
		}
	}

	b.WriteString("ephemeral nodes dump:\n")
	var owners []SessionInfo
	for _, si := range s.Sessions {
		if len(si.Ephemerals) > 0 {
			owners = append(owners, si)
		}
	}
	slices.SortFunc(owners, func(a, b SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
	fmt.Fprintf(&b, "Sessions with Ephemerals (%d):\n", len(owners))
	for _, si := range owners {
		b.WriteString("0x" + javaHex(int64(si.ID)) + ":\n")
		for _, p := range slices.Sorted(slices.Values(si.Ephemerals)) {
			b.WriteString("\t" + p + "\n")
		}
	}

	b.WriteString("Connections dump:\n")
	expiry := c.connectionExpiry(s)
	byExpiry := make(map[int64][]*ConnInfo)
	for i := range s.Connections {
		ms := expiry(&s.Connections[i]).UnixMilli()
		byExpiry[ms] = append(byExpiry[ms], &s.Connections[i])
	}
	fmt.Fprintf(&b, "Connections Sets (%d)/(%d):\n", len(byExpiry), len(s.Connections))
	for _, ms := range slices.Sorted(maps.Keys(byExpiry)) {
		conns := byExpiry[ms]
		fmt.Fprintf(&b, "%d expire at %s:\n", len(conns), javaDate(time.UnixMilli(ms), c.reg.loc))
		for _, ci := range conns {
			var id int64
			if ci.HasSession {
				id = int64(ci.SessionID)
			}
			fmt.Fprintf(&b, "\tip: /%s sessionId: 0x%s\n", ci.Remote, javaHex(id))
		}
	}
	return b.String()
}

// defaultSessionlessTimeout is how long a connection may go without a
// session (zookeeper.nio.sessionlessCnxnTimeout, default 10 s).
const defaultSessionlessTimeout = 10 * time.Second

// connectionExpiry returns when dump says a connection expires: with its
// session, when the session does; without one, when the sessionless
// timeout after its establishment runs out.
func (c *call) connectionExpiry(s *Snapshot) func(*ConnInfo) time.Time {
	deadlines := make(map[jute.SessionID]time.Time, len(s.Sessions))
	for _, si := range s.Sessions {
		deadlines[si.ID] = si.Deadline
	}
	sessionless := defaultSessionlessTimeout
	if v, ok := c.config().Props["zookeeper.nio.sessionlessCnxnTimeout"]; ok {
		if ms, err := strconv.Atoi(v); err == nil && ms > 0 {
			sessionless = time.Duration(ms) * time.Millisecond
		}
	}
	return func(ci *ConnInfo) time.Time {
		if d, ok := deadlines[ci.SessionID]; ok && ci.HasSession {
			return d
		}
		return ci.Established.Add(sessionless)
	}
}

// dirs prints the sizes of the data and log directories in bytes.
func (c *call) dirs() string {
	s := c.snapshot()
	return fmt.Sprintf("datadir_size: %d\nlogdir_size: %d\n", s.DataDirSize, s.LogDirSize)
}

// gtmk prints the trace mask in decimal (no newline).
func (c *call) gtmk() string { return strconv.FormatInt(c.reg.TraceMask(), 10) }

// stmk sets the trace mask to the 8-byte big-endian long after the word
// and echoes it (no newline). Without 8 bytes it prints nothing and changes
// nothing, as ZooKeeper does [live].
func (c *call) stmk() string {
	if len(c.extra) < 8 {
		return ""
	}
	mask := int64(binary.BigEndian.Uint64(c.extra))
	c.reg.SetTraceMask(mask)
	return strconv.FormatInt(mask, 10)
}

// crst resets the per-connection statistics.
func (c *call) crst() string {
	c.src.ResetConnectionStats()
	return "Connection stats reset.\n"
}

// srst resets the server statistics.
func (c *call) srst() string {
	c.src.ResetServerStats()
	return "Server stats reset.\n"
}

// hash prints one "<zxid hex>: <digest>" line per entry of the digest log.
// zkd keeps no digest log yet, so it prints nothing, as ZooKeeper does
// while its log is empty.
func (c *call) hash() string { return "" }

package admin

import (
	"cmp"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/storage"
)

// The AdminServer's commands. Each returns its JSON fields in ZooKeeper
// 3.8.0's order [live], or an error message. Where ZooKeeper lists a hash
// map or set, zkd sorts (map keys as ZooKeeper writes them: session ids
// and times in decimal).

// ruok has no fields: answering at all says the server serves.
func (a *adminCall) ruok() (jsonObject, string) { return jsonObject{}, "" }

// configuration describes the client port, directories, timeouts and
// server id.
func (a *adminCall) configuration() (jsonObject, string) {
	cfg := a.config()
	var serverID int64 // a standalone ZooKeeper reports 0 whatever myid says
	if !cfg.Standalone() {
		serverID = cfg.MyID
	}
	return jsonObject{
		{"client_port", portOrNone(cfg.ClientPort)},
		{"data_dir", snapDir(cfg.DataDir)},
		{"data_log_dir", snapDir(cmp.Or(cfg.DataLogDir, cfg.DataDir))},
		{"tick_time", cfg.TickTime},
		{"max_client_cnxns", cfg.MaxClientCnxns},
		{"min_session_timeout", cfg.MinSessionTimeout},
		{"max_session_timeout", cfg.MaxSessionTimeout},
		{"server_id", serverID},
		{"client_port_listen_backlog", cfg.ClientPortListenBacklog},
	}, ""
}

// connections lists every client connection in full: those of the
// secure client port under secure_connections, the others under
// connections.
func (a *adminCall) connections() (jsonObject, string) {
	s := a.snapshot()
	return jsonObject{
		{"connections", a.connectionList(s, false, false)},
		{"secure_connections", a.connectionList(s, false, true)},
	}, ""
}

// connectionList returns the connections of s, briefly (stats) or in full
// (connections).
func (a *adminCall) connectionList(s *Snapshot, brief, secure bool) []any {
	sessionless := sessionlessTimeout(a.config())
	out := make([]any, 0, len(s.Connections))
	for i := range s.Connections {
		ci := &s.Connections[i]
		if ci.Secure != secure {
			continue
		}
		o := jsonObject{
			{"remote_socket_address", ci.Remote},
			{"interest_ops", ci.InterestOps},
			{"outstanding_requests", ci.Queued},
			{"packets_received", ci.Received},
			{"packets_sent", ci.Sent},
		}
		if !brief {
			if ci.HasSession {
				o = append(o,
					jsonField{"session_id", int64(ci.SessionID)},
					jsonField{"last_operation", cmp.Or(ci.LastOp, "NA")},
					jsonField{"established", ci.Established.UnixMilli()},
					jsonField{"session_timeout", ci.Timeout},
					jsonField{"last_cxid", ci.LastCxid},
					jsonField{"last_zxid", int64(ci.LastZxid)},
					jsonField{"last_response_time", ci.LastResponse},
				)
			} else {
				// A connection without a session yet: no operation, the
				// sessionless timeout, zero ids and times [live].
				o = append(o,
					jsonField{"session_id", int64(0)},
					jsonField{"last_operation", nil},
					jsonField{"established", ci.Established.UnixMilli()},
					jsonField{"session_timeout", sessionless.Milliseconds()},
					jsonField{"last_cxid", int64(0)},
					jsonField{"last_zxid", int64(0)},
					jsonField{"last_response_time", int64(0)},
				)
			}
			o = append(o,
				jsonField{"last_latency", ci.LastLatency},
				jsonField{"min_latency", ci.MinLatency},
				jsonField{"avg_latency", ci.AvgLatency},
				jsonField{"max_latency", ci.MaxLatency},
			)
		}
		out = append(out, o)
	}
	return out
}

// sessionlessTimeout is how long a connection may go without a session
// (zookeeper.nio.sessionlessCnxnTimeout in ms, default 10 s).
func sessionlessTimeout(cfg *config.Config) time.Duration {
	if ms, err := strconv.Atoi(cfg.Props["zookeeper.nio.sessionlessCnxnTimeout"]); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return defaultSessionlessTimeout
}

// connectionStatReset resets the per-connection statistics.
func (a *adminCall) connectionStatReset() (jsonObject, string) {
	a.src.ResetConnectionStats()
	return jsonObject{}, ""
}

// statReset resets the server statistics.
func (a *adminCall) statReset() (jsonObject, string) {
	a.src.ResetServerStats()
	return jsonObject{}, ""
}

// observerConnectionStatReset would reset the statistics of observer
// connections; zkd has no observers, so there is nothing to reset.
func (a *adminCall) observerConnectionStatReset() (jsonObject, string) { return jsonObject{}, "" }

// observers lists the observers synced with this server: none in zkd.
func (a *adminCall) observers() (jsonObject, string) {
	return jsonObject{{"synced_observers", 0}, {"observers", []any{}}}, ""
}

// dirs gives the sizes of the data and log directories in bytes.
func (a *adminCall) dirs() (jsonObject, string) {
	s := a.snapshot()
	return jsonObject{{"datadir_size", s.DataDirSize}, {"logdir_size", s.LogDirSize}}, ""
}

// dump lists the sessions by expiry time (ms since the epoch) and the
// ephemeral nodes by session. A learner keeps no expiry buckets, so its
// first map is empty [live].
//
// ZooKeeper keys the buckets by its own monotonic clock, which means
// nothing outside the process; zkd uses wall-clock time, as the
// four-letter dump prints it.
func (a *adminCall) dump() (jsonObject, string) {
	s := a.snapshot()
	expiry := jsonObject{}
	if !isLearner(s.Mode) {
		byDeadline := make(map[int64][]int64)
		for _, si := range s.Sessions {
			ms := si.Deadline.UnixMilli()
			byDeadline[ms] = append(byDeadline[ms], int64(si.ID))
		}
		for _, ms := range slices.Sorted(maps.Keys(byDeadline)) {
			ids := byDeadline[ms]
			slices.Sort(ids)
			expiry.add(strconv.FormatInt(ms, 10), ids)
		}
	}
	sessions := slices.SortedFunc(slices.Values(s.Sessions), func(a, b SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
	ephemerals := jsonObject{}
	for _, si := range sessions {
		if len(si.Ephemerals) > 0 {
			ephemerals.add(sessionKey(si.ID), slices.Sorted(slices.Values(si.Ephemerals)))
		}
	}
	return jsonObject{
		{"expiry_time_to_session_ids", expiry},
		{"session_id_to_ephemeral_paths", ephemerals},
	}, ""
}

// isLearner reports whether mode is that of a server following a leader.
func isLearner(mode string) bool {
	return mode == "follower" || mode == "observer" || mode == "read-only"
}

// sessionKey is a session id as a JSON object key: signed decimal.
func sessionKey(id jute.SessionID) string { return strconv.FormatInt(int64(id), 10) }

// environment gives envi's values.
func (a *adminCall) environment() (jsonObject, string) {
	o := jsonObject{{"zookeeper.version", a.snapshot().Version}}
	for _, p := range a.reg.environment() {
		o.add(p.key, p.value)
	}
	return o, ""
}

// javaSystemProperties are the environment keys a JVM also lists among its
// system properties.
var javaSystemProperties = map[string]bool{
	"java.version": true, "java.vendor": true, "java.home": true, "java.class.path": true,
	"java.library.path": true, "java.io.tmpdir": true, "os.name": true, "os.arch": true,
	"os.version": true, "user.name": true, "user.home": true, "user.dir": true,
}

// systemProperties lists the system properties sorted by name: the
// runtime's (as environment describes it) and ZooKeeper's (zoo.cfg
// pass-through keys, JVMFLAGS and -D arguments), which win, with secrets
// redacted.
func (a *adminCall) systemProperties() (jsonObject, string) {
	props := make(map[string]string)
	for _, p := range a.reg.environment() {
		if javaSystemProperties[p.key] {
			props[p.key] = p.value
		}
	}
	maps.Copy(props, shownProperties(a.config().Props))
	o := make(jsonObject, 0, len(props))
	for _, k := range slices.Sorted(maps.Keys(props)) {
		o.add(k, props[k])
	}
	return o, ""
}

// getTraceMask gives the trace mask.
func (a *adminCall) getTraceMask() (jsonObject, string) {
	return jsonObject{{"tracemask", a.reg.TraceMask()}}, ""
}

// setTraceMask sets the trace mask to the decimal query parameter
// traceMask and echoes it.
func (a *adminCall) setTraceMask() (jsonObject, string) {
	const msg = "setTraceMask requires long traceMask argument"
	if !a.query.Has("traceMask") {
		return nil, msg
	}
	v := a.query.Get("traceMask")
	mask, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, msg + ", got " + v
	}
	a.reg.SetTraceMask(mask)
	return jsonObject{{"tracemask", mask}}, ""
}

// hash lists the digest log; zkd keeps none (see the hash four-letter
// word).
func (a *adminCall) hash() (jsonObject, string) { return jsonObject{{"digests", []any{}}}, "" }

// initialConfiguration gives the text of the configuration file the
// server started from, or null.
func (a *adminCall) initialConfiguration() (jsonObject, string) {
	var text any
	if a.h.initialConfig != nil {
		text = *a.h.initialConfig
	}
	return jsonObject{{"initial_configuration", text}}, ""
}

// isReadOnly says whether the server is in read-only mode.
func (a *adminCall) isReadOnly() (jsonObject, string) {
	return jsonObject{{"read_only", a.snapshot().ReadOnly}}, ""
}

// lastSnapshot gives the zxid (hex, no 0x) and modification time (seconds
// since the epoch) of the newest snapshot file in the data directory that
// passes the cheap validity check, as ZooKeeper describes the snapshot it
// last wrote or loaded; "ffffffffffffffff" and -1 without one.
func (a *adminCall) lastSnapshot() (jsonObject, string) {
	zxid, stamp := int64(-1), int64(-1)
	dir := snapDir(a.config().DataDir)
	files, _ := storage.ListSnapshots(storage.OS{}, dir) // an unreadable dir has no snapshot to show
	for _, f := range files {
		if storage.CheckSnapshotFile(storage.OS{}, f.Path) != nil {
			continue
		}
		if fi, err := os.Stat(f.Path); err == nil {
			zxid, stamp = int64(f.Zxid), fi.ModTime().Unix()
			break
		}
	}
	return jsonObject{{"zxid", javaHex(zxid)}, {"timestamp", stamp}}, ""
}

// leader says whether this server leads, and which server does. A
// standalone server has no leader. zkd's Snapshot does not say which
// server a follower follows, so a follower answers like a server that has
// not found its leader yet.
func (a *adminCall) leader() (jsonObject, string) {
	const notInitialized = "server is not initialized"
	cfg := a.config()
	if cfg.Standalone() || a.snapshot().Mode != "leader" {
		return nil, notInitialized
	}
	self, _ := cfg.Server(cfg.MyID)
	return jsonObject{
		{"is_leader", true},
		{"leader_id", cfg.MyID},
		{"leader_ip", hostOf(self.QuorumAddr)},
	}, ""
}

// hostOf returns the host of a host:port address, without brackets.
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// monitor gives every mntr value, typed, without the zk_ prefix.
func (a *adminCall) monitor() (jsonObject, string) {
	metrics := monitorMetrics(a.snapshot())
	o := make(jsonObject, len(metrics))
	for i, m := range metrics {
		o[i] = jsonField(m)
	}
	return o, ""
}

// serverStats gives srvr's numbers.
func (a *adminCall) serverStats() (jsonObject, string) {
	return serverStatsFields(a.snapshot()), ""
}

// stats gives srvr's numbers and each connection briefly.
func (a *adminCall) stats() (jsonObject, string) {
	s := a.snapshot()
	o := serverStatsFields(s)
	o.add("connections", a.connectionList(s, true, false))
	o.add("secure_connections", a.connectionList(s, true, true))
	return o, ""
}

// serverStatsFields returns server_stats's fields. ZooKeeper orders the
// nested server_stats differently on a standalone server and in an
// ensemble, and a leader adds proposal_stats [live].
func serverStatsFields(s *Snapshot) jsonObject {
	bufferSizes := func(last, lo, hi int64) jsonObject {
		return jsonObject{{"last_buffer_size", last}, {"min_buffer_size", lo}, {"max_buffer_size", hi}}
	}
	clientResponse := func() jsonObject {
		return bufferSizes(s.LastResponseSize, s.MinResponseSize, s.MaxResponseSize)
	}
	st := jsonObject{
		{"packets_sent", s.PacketsSent},
		{"packets_received", s.PacketsReceived},
		{"fsync_threshold_exceed_count", int64(0)}, // zkd does not count slow fsyncs yet
		{"client_response_stats", clientResponse()},
	}
	if s.Mode == "standalone" {
		st = append(st,
			jsonField{"data_dir_size", s.DataDirSize},
			jsonField{"log_dir_size", s.LogDirSize},
			jsonField{"provider_null", false},
			jsonField{"server_state", s.Mode},
			jsonField{"last_processed_zxid", int64(s.Zxid)},
			jsonField{"outstanding_requests", s.Outstanding},
			jsonField{"avg_latency", round4(s.Latency.Avg)},
			jsonField{"max_latency", s.Latency.Max},
			jsonField{"min_latency", s.Latency.Min},
		)
	} else {
		st = append(st,
			jsonField{"provider_null", false},
			jsonField{"server_state", s.Mode},
			jsonField{"data_dir_size", s.DataDirSize},
			jsonField{"log_dir_size", s.LogDirSize},
			jsonField{"outstanding_requests", s.Outstanding},
			jsonField{"min_latency", s.Latency.Min},
			jsonField{"avg_latency", round4(s.Latency.Avg)},
			jsonField{"max_latency", s.Latency.Max},
			jsonField{"last_processed_zxid", int64(s.Zxid)},
		)
	}
	st = append(st,
		jsonField{"num_alive_client_connections", s.AliveConnections},
		jsonField{"auth_failed_count", s.AuthFailed},
		jsonField{"non_mtlsremote_conn_count", s.TLS.NonMTLSRemote},
		jsonField{"non_mtlslocal_conn_count", s.TLS.NonMTLSLocal},
		jsonField{"uptime", s.Uptime.Milliseconds()},
	)
	o := jsonObject{
		{"version", s.Version},
		{"read_only", s.ReadOnly},
		{"server_stats", st},
		{"client_response", clientResponse()},
	}
	if s.Mode == "leader" {
		// Proposal sizes are not in the Snapshot yet: none seen.
		o.add("proposal_stats", bufferSizes(-1, -1, -1))
	}
	o.add("node_count", s.NodeCount)
	return o
}

// watchSummary counts the data watches.
func (a *adminCall) watchSummary() (jsonObject, string) {
	s := a.snapshot()
	return jsonObject{
		{"num_connections", s.DataWatchConnections},
		{"num_paths", s.DataWatchPaths},
		{"num_total_watches", s.DataWatches},
	}, ""
}

// watches lists the watched paths by session.
func (a *adminCall) watches() (jsonObject, string) {
	s := a.snapshot()
	o := jsonObject{}
	for _, id := range slices.Sorted(maps.Keys(s.WatchesByConnection)) {
		o.add(sessionKey(id), slices.Sorted(slices.Values(s.WatchesByConnection[id])))
	}
	return jsonObject{{"session_id_to_watched_paths", o}}, ""
}

// watchesByPath lists the watching sessions by path.
func (a *adminCall) watchesByPath() (jsonObject, string) {
	s := a.snapshot()
	o := jsonObject{}
	for _, p := range slices.Sorted(maps.Keys(s.WatchesByPath)) {
		ids := make([]int64, len(s.WatchesByPath[p]))
		for i, id := range s.WatchesByPath[p] {
			ids[i] = int64(id)
		}
		slices.Sort(ids)
		o.add(p, ids)
	}
	return jsonObject{{"path_to_session_ids", o}}, ""
}

// votingView lists the voting members of the ensemble by id; empty on a
// standalone server.
func (a *adminCall) votingView() (jsonObject, string) {
	cfg := a.config()
	view := jsonObject{}
	if !cfg.Standalone() {
		for _, sv := range cfg.Voters() {
			quorum, election := serverAddrs(sv)
			view.add(strconv.FormatInt(sv.ID, 10), jsonObject{
				{"server_addresses", quorum},
				{"election_addresses", election},
				{"client_address", sv.ClientAddr}, // "" without one
				{"learner_type", sv.Role},
			})
		}
	}
	return jsonObject{{"current_config", view}}, ""
}

// serverAddrs returns a member's quorum and election addresses, first
// the server.N line's first pair, then those of a multiAddress entry.
func serverAddrs(sv config.Server) (quorum, election []string) {
	quorum, election = []string{sv.QuorumAddr}, []string{sv.ElectionAddr}
	for _, pa := range sv.MoreAddrs {
		quorum = append(quorum, pa.QuorumAddr)
		election = append(election, pa.ElectionAddr)
	}
	return quorum, election
}

// zabState gives the phase of the atomic broadcast protocol. A standalone
// server, or an ensemble member that is not serving (ZooKeeper has no
// server object then), answers voting false and an empty state [live].
// A serving member is in the broadcast phase.
func (a *adminCall) zabState() (jsonObject, string) {
	cfg := a.config()
	s := a.snapshot()
	if cfg.Standalone() || !s.Serving {
		return jsonObject{{"voting", false}, {"zabstate", ""}}, ""
	}
	self, _ := cfg.Server(cfg.MyID)
	quorum, election := serverAddrs(self)
	var client any
	switch {
	case self.ClientAddr != "":
		client = self.ClientAddr
	case cfg.ClientPort != 0:
		client = net.JoinHostPort(cmp.Or(cfg.ClientPortAddress, "0.0.0.0"), strconv.Itoa(cfg.ClientPort))
	}
	zxid := int64(s.Zxid)
	return jsonObject{
		{"myid", cfg.MyID},
		{"is_leader", s.Mode == "leader"},
		{"quorum_address", multipleAddresses(quorum)},
		{"election_address", multipleAddresses(election)},
		{"client_address", client},
		{"voting", self.Role == config.RoleParticipant},
		{"last_zxid", "0x" + javaHex(zxid)},
		{"zab_epoch", zxid >> 32},
		{"zab_counter", zxid & 0xffffffff},
		{"zabstate", "broadcast"},
	}, ""
}

// multipleAddresses describes a member's addresses the way ZooKeeper's
// JSON library renders its address-list object: every address, the first
// one, the wildcard ones to listen on, ports and hosts. zkd treats every
// address as reachable.
func multipleAddresses(addrs []string) jsonObject {
	var wildcard, hosts []string
	var ports []int64
	for _, addr := range addrs {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			host, port = addr, "-1"
		}
		p, _ := strconv.ParseInt(port, 10, 64)
		wildcard = append(wildcard, net.JoinHostPort("0.0.0.0", port))
		hosts = append(hosts, host)
		ports = append(ports, p)
	}
	var first any
	if len(addrs) > 0 {
		first = addrs[0]
	}
	return jsonObject{
		{"empty", len(addrs) == 0},
		{"all_addresses", addrs},
		{"all_reachable_addresses", addrs},
		{"one", first},
		{"reachable_address", first},
		{"wildcard_addresses", wildcard},
		{"all_ports", ports},
		{"all_host_strings", hosts},
		{"all_reachable_addresses_or_all", addrs},
		{"reachable_or_one", first},
	}
}

package config

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Properties holds ZooKeeper system properties by their full Java name, for
// example "zookeeper.snapCount", "jute.maxbuffer", "readonlymode.enabled",
// "znode.container.checkIntervalMs", "zookeeper.4lw.commands.whitelist",
// "zookeeper.DigestAuthenticationProvider.superDigest", "zookeeper.skipACL"
// or "zookeeper.extendedTypesEnabled".
//
// A zoo.cfg key k that ZooKeeper does not handle itself is stored as
// "zookeeper."+k (spec §8.1). The JVM-only families jute.maxbuffer*,
// readonlymode.enabled, fsync.warningthresholdms and znode.container.* are
// stored under both their own name and the "zookeeper."-prefixed one, and
// [Config.Apply] keeps the two in step, so either spelling works everywhere.
type Properties map[string]string

// zkPrefix is what ZooKeeper puts in front of a zoo.cfg key it passes
// through as a system property.
const zkPrefix = "zookeeper."

// propKind says how a known property's value is checked.
type propKind int

const (
	propString propKind = iota // any text
	propInt                    // 32-bit integer, decimal or 0x/# hex
	propLong                   // 64-bit integer, decimal or 0x/# hex
	propBool                   // true or false, any case
	propYesNo                  // exactly "yes" or "no"
	propFloat                  // decimal number
	propPort                   // 0-65535
)

// propSpec describes a system property zkd knows by name.
type propSpec struct {
	kind   propKind
	min    int64    // smallest valid value of an integer property
	values []string // allowed values of a string property, any case; nil = any
}

// anyInt is the min of integer properties that take any value.
const anyInt = math.MinInt64

// knownProps lists the system properties of the spec tables (storage spec
// §8.2, client spec §1.4, §5.8, §10, §11.2), by the name they have in
// zoo.cfg, that is without "zookeeper.". A zoo.cfg key that is neither
// explicit nor listed here (nor under knownPropPrefixes) draws a warning.
var knownProps = map[string]propSpec{
	// JVM-only names (no "zookeeper." in Java); see jvmAlias.
	"jute.maxbuffer":                         {kind: propInt, min: 1},
	"jute.maxbuffer.extrasize":               {kind: propInt, min: 0},
	"readonlymode.enabled":                   {kind: propBool},
	"fsync.warningthresholdms":               {kind: propLong, min: anyInt},
	"znode.container.checkIntervalMs":        {kind: propInt, min: 1},
	"znode.container.maxPerMinute":           {kind: propInt, min: 1},
	"znode.container.maxNeverUsedIntervalMs": {kind: propLong, min: 0},

	// Storage (storage spec §1, §2, §3).
	"snapCount":                   {kind: propInt, min: anyInt},
	"snapSizeLimitInKb":           {kind: propLong, min: anyInt},
	"txnLogSizeLimitInKb":         {kind: propLong, min: anyInt},
	"preAllocSize":                {kind: propLong, min: 0},
	"forceSync":                   {kind: propYesNo},
	"snapshotSizeFactor":          {kind: propFloat},
	"snapshot.compression.method": {kind: propString, values: []string{"", "gz", "snappy"}},
	"snapshot.trust.empty":        {kind: propBool},
	"datadir.autocreate":          {kind: propBool},
	"db.autocreate":               {kind: propBool},
	"digest.enabled":              {kind: propBool},
	"flushDelay":                  {kind: propLong, min: anyInt},
	"maxWriteQueuePollTime":       {kind: propLong, min: anyInt},
	"maxBatchSize":                {kind: propInt, min: anyInt},

	// Requests, sessions and connections.
	"globalOutstandingLimit":     {kind: propInt, min: anyInt},
	"maxCnxns":                   {kind: propInt, min: 0},
	"closeSessionTxn.enabled":    {kind: propBool},
	"extendedTypesEnabled":       {kind: propBool},
	"emulate353TTLNodes":         {kind: propBool},
	"enforceQuota":               {kind: propBool},
	"largeRequestMaxBytes":       {kind: propInt, min: anyInt},
	"largeRequestThreshold":      {kind: propInt, min: anyInt},
	"nio.sessionlessCnxnTimeout": {kind: propInt, min: anyInt},
	"4lw.commands.whitelist":     {kind: propString},

	// Throttling (client spec Appendix A metrics; zkd: throttle.go).
	"request_throttle_max_requests":             {kind: propInt, min: anyInt},
	"request_throttle_stall_time":               {kind: propInt, min: anyInt},
	"request_throttle_drop_stale":               {kind: propBool},
	"throttled_op_wait_time":                    {kind: propInt, min: anyInt},
	"connection_throttle_tokens":                {kind: propInt, min: anyInt},
	"connection_throttle_fill_time":             {kind: propInt, min: anyInt},
	"connection_throttle_fill_count":            {kind: propInt, min: anyInt},
	"connection_throttle_freeze_time":           {kind: propInt, min: anyInt},
	"connection_throttle_drop_increase":         {kind: propFloat},
	"connection_throttle_drop_decrease":         {kind: propFloat},
	"connection_throttle_decrease_ratio":        {kind: propFloat},
	"connection_throttle_weight_enabled":        {kind: propBool},
	"connection_throttle_global_session_weight": {kind: propInt, min: anyInt},
	"connection_throttle_local_session_weight":  {kind: propInt, min: anyInt},
	"connection_throttle_renew_session_weight":  {kind: propInt, min: anyInt},

	// Access control (client spec §10).
	"skipACL": {kind: propYesNo},
	"DigestAuthenticationProvider.superDigest": {kind: propString},
	"DigestAuthenticationProvider.digestAlg":   {kind: propString},
	"DigestAuthenticationProvider.enabled":     {kind: propBool},
	"X509AuthenticationProvider.superUser":     {kind: propString},
	"superUser":                                {kind: propString},
	"sessionRequireClientSASLAuth":             {kind: propBool},
	"enforce.auth.enabled":                     {kind: propBool},
	"enforce.auth.schemes":                     {kind: propString},
	"allowSaslFailedClients":                   {kind: propBool},
	"letAnySaslUserDoX":                        {kind: propString},
	"sasl.serverconfig":                        {kind: propString},
	"SASLAuthenticationProvider.superPassword": {kind: propString},
	"serverCnxnFactory":                        {kind: propString},

	// TLS on the client port (tls.go); the ssl.* keys are tlsconf's.
	"client.portUnification":                  {kind: propBool},
	"netty.server.outstandingHandshake.limit": {kind: propInt, min: anyInt},

	// zkd only: the secret shared by an ensemble's servers that keys
	// session passwords (Config.SessionSecretFile).
	"zkd.sessionSecretFile": {kind: propString},
	// zkd only: AdminServer commands that list sessions or connections
	// need authentication (AdminServer.CommandAuth).
	"zkd.admin.commandAuth": {kind: propBool},

	// Admin server.
	"admin.enableServer":    {kind: propBool},
	"admin.serverAddress":   {kind: propString},
	"admin.serverPort":      {kind: propPort},
	"admin.idleTimeout":     {kind: propInt, min: anyInt},
	"admin.commandURL":      {kind: propString},
	"admin.httpVersion":     {kind: propInt, min: anyInt},
	"admin.portUnification": {kind: propBool},
	"admin.forceHttps":      {kind: propBool},

	// Quorum (storage spec §4, §5).
	"commitLogCount":                     {kind: propInt, min: anyInt},
	"leaderServes":                       {kind: propYesNo},
	"cnxTimeout":                         {kind: propInt, min: anyInt},
	"quorumCnxnTimeoutMs":                {kind: propLong, min: anyInt},
	"electionPortBindRetry":              {kind: propInt, min: 0},
	"tcpKeepAlive":                       {kind: propBool},
	"fastleader.minNotificationInterval": {kind: propInt, min: anyInt},
	"fastleader.maxNotificationInterval": {kind: propInt, min: anyInt},
	"leader.maxTimeToWaitForEpoch":       {kind: propLong, min: anyInt},
	"leader.maxConcurrentSnapSyncs":      {kind: propInt, min: anyInt},
	"leader.maxConcurrentDiffSyncs":      {kind: propInt, min: anyInt},
	"forceSnapshotSync":                  {kind: propBool},
	"observer.reconnectDelayMs":          {kind: propLong, min: anyInt},
	"observer.election.DelayMs":          {kind: propLong, min: anyInt},
	"learner.asyncSending":               {kind: propBool},
	"learner.closeSocketAsync":           {kind: propBool},
	"leader.closeSocketAsync":            {kind: propBool},
}

// knownPropPrefixes are families of pass-through keys that draw no
// unknown-key warning (TLS settings and extra authentication providers).
var knownPropPrefixes = []string{"ssl.", "authProvider.", "superUser."}

// jvmAlias reports whether name is a property that Java reads without the
// "zookeeper." prefix, so that the short and the prefixed spelling are kept
// as the same setting.
func jvmAlias(name string) bool {
	switch name {
	case "jute.maxbuffer", "jute.maxbuffer.extrasize", "readonlymode.enabled", "fsync.warningthresholdms":
		return true
	}
	return strings.HasPrefix(name, "znode.container.")
}

// storeNames returns the property names a zoo.cfg key k is stored under.
func storeNames(k string) []string {
	if jvmAlias(k) {
		return []string{k, zkPrefix + k}
	}
	return []string{zkPrefix + k}
}

// shortName returns the zoo.cfg spelling of the full property name and
// whether the name is one ZooKeeper could read (prefixed, or a JVM alias).
func shortName(full string) (string, bool) {
	if s, ok := strings.CutPrefix(full, zkPrefix); ok {
		return s, true
	}
	return full, jvmAlias(full)
}

// knownProp reports whether a zoo.cfg key is a pass-through property zkd
// knows by name.
func knownProp(k string) bool {
	if _, ok := knownProps[k]; ok {
		return true
	}
	for _, p := range knownPropPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// checkProp validates the value of the property with zoo.cfg name k and
// returns a reason when it is invalid. Unknown properties are always valid.
func checkProp(k, v string) string {
	spec, ok := knownProps[k]
	if !ok {
		return ""
	}
	switch spec.kind {
	case propInt, propLong:
		bits := 32
		if spec.kind == propLong {
			bits = 64
		}
		n, reason := parseJavaInt(v, bits)
		if reason != "" {
			return reason
		}
		if n < spec.min {
			return "must be at least " + strconv.FormatInt(spec.min, 10) + ": " + strconv.Quote(v)
		}
	case propPort:
		if _, reason := parsePort(v, 0); reason != "" {
			return reason
		}
	case propBool:
		if _, reason := parseBool(v); reason != "" {
			return reason
		}
	case propYesNo:
		if v != "yes" && v != "no" {
			return "not yes or no: " + strconv.Quote(v)
		}
	case propFloat:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "not a number: " + strconv.Quote(v)
		}
	case propString:
		if spec.values != nil && !slices.Contains(spec.values, strings.ToLower(v)) {
			return "not one of " + strings.Join(quoteAll(spec.values), ", ") + ": " + strconv.Quote(v)
		}
	}
	return ""
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// parseJavaInt parses a decimal integer with an optional sign, or a
// hexadecimal one written 0x…, 0X… or #…, as Java's Integer.decode does
// (except that a leading 0 does not mean octal). It fits the result in bits.
func parseJavaInt(s string, bits int) (int64, string) {
	t, neg := s, false
	if len(t) > 0 && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	base := 10
	if h, ok := strings.CutPrefix(strings.ToLower(t), "0x"); ok {
		t, base = h, 16
	} else if h, ok := strings.CutPrefix(t, "#"); ok {
		t, base = h, 16
	}
	if t == "" || t[0] == '+' || t[0] == '-' {
		return 0, "not a number: " + strconv.Quote(s)
	}
	u, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, "out of range: " + strconv.Quote(s)
		}
		return 0, "not a number: " + strconv.Quote(s)
	}
	limit := uint64(1) << (bits - 1) // magnitude of the smallest value
	if (!neg && u >= limit) || (neg && u > limit) {
		return 0, "out of range: " + strconv.Quote(s)
	}
	if neg {
		return -int64(u-1) - 1, ""
	}
	return int64(u), ""
}

// prop returns the value of the property with zoo.cfg name k, looking at
// the JVM spelling first for JVM-only names.
func (c *Config) prop(k string) (string, bool) {
	if jvmAlias(k) {
		if v, ok := c.Props[k]; ok {
			return v, true
		}
	}
	v, ok := c.Props[zkPrefix+k]
	return v, ok
}

// intProp returns an integer property, or def when it is unset or invalid.
func (c *Config) intProp(k string, def int64) int64 {
	v, ok := c.prop(k)
	if !ok || checkProp(k, v) != "" {
		return def
	}
	bits := 64
	if knownProps[k].kind == propInt {
		bits = 32
	}
	n, _ := parseJavaInt(v, bits)
	return n
}

// boolProp returns a true/false property, or def when unset or invalid.
func (c *Config) boolProp(k string, def bool) bool {
	v, ok := c.prop(k)
	if !ok {
		return def
	}
	b, reason := parseBool(v)
	if reason != "" {
		return def
	}
	return b
}

// JuteMaxBuffer returns the largest frame payload in bytes that the server
// accepts (jute.maxbuffer, client spec §1.4). The default is 0xfffff.
func (c *Config) JuteMaxBuffer() int {
	return int(c.intProp("jute.maxbuffer", 0xfffff))
}

// JuteMaxBufferExtraSize returns the extra room in bytes allowed on top of
// [Config.JuteMaxBuffer] when decoding records read from disk or peers
// (storage spec §0.1). The default is JuteMaxBuffer.
func (c *Config) JuteMaxBufferExtraSize() int {
	return int(c.intProp("jute.maxbuffer.extrasize", int64(c.JuteMaxBuffer())))
}

// ExtendedTypesEnabled reports whether TTL nodes are allowed
// (zookeeper.extendedTypesEnabled, default false).
func (c *Config) ExtendedTypesEnabled() bool {
	return c.boolProp("extendedTypesEnabled", false)
}

// EnforceQuota reports whether hard quotas are enforced
// (zookeeper.enforceQuota, 3.7+, default false).
func (c *Config) EnforceQuota() bool {
	return c.boolProp("enforceQuota", false)
}

// SkipACL reports whether all ACL checks are skipped. Like ZooKeeper, only
// the exact value "yes" of zookeeper.skipACL turns them off.
func (c *Config) SkipACL() bool {
	v, _ := c.prop("skipACL")
	return v == "yes"
}

// SuperDigest returns the "user:base64-sha1" identity that is granted super
// user rights (zookeeper.DigestAuthenticationProvider.superDigest), or "".
func (c *Config) SuperDigest() string {
	v, _ := c.prop("DigestAuthenticationProvider.superDigest")
	return v
}

// SessionSecretFileKey is the zkd-only zoo.cfg key naming a shared session
// secret file.
const SessionSecretFileKey = "zkd.sessionSecretFile"

// SessionSecretFile returns the file holding the secret that keys session
// passwords on every server of the ensemble (zoo.cfg zkd.sessionSecretFile;
// ZooKeeper ignores the key), or "" when unset: a standalone server then
// keeps its own secret in its dataDir, and an ensemble uses ZooKeeper's
// derivable passwords so that Java servers can check them.
func (c *Config) SessionSecretFile() string {
	v, _ := c.prop(SessionSecretFileKey)
	return v
}

// fourLetterWords are the four-letter commands a server knows (client spec
// §11.1), in the order the spec lists them.
var fourLetterWords = []string{
	"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro",
	"mntr", "ruok", "srst", "srvr", "stat", "stmk", "wchc", "wchp", "wchs",
}

// defaultFourLetterWords are enabled when zookeeper.4lw.commands.whitelist
// is unset. This is zkd's choice, wider than ZooKeeper's "srvr" alone, so
// that common health checks (ruok, mntr) work out of the box; none of them
// shows a client's address or session id (stat lists every client, so it
// must be whitelisted explicitly).
var defaultFourLetterWords = []string{"srvr", "mntr", "ruok", "isro"}

// FourLetterWhitelist returns the set of four-letter commands that may run
// (client spec §11.2). When zookeeper.4lw.commands.whitelist is unset it is
// zkd's default: srvr, mntr, ruok and isro. Otherwise it is the
// comma-separated list, with blanks trimmed and unknown words dropped, where
// "*" stands for every known word. srvr is always included, and isro is
// added when readonlymode.enabled is true.
func (c *Config) FourLetterWhitelist() map[string]bool {
	set := make(map[string]bool)
	list, ok := c.prop("4lw.commands.whitelist")
	if !ok {
		for _, w := range defaultFourLetterWords {
			set[w] = true
		}
	}
	for _, w := range strings.Split(list, ",") {
		w = strings.TrimSpace(w)
		if w == "*" {
			set["*"] = true // also enables the telnet close sequence, as in ZooKeeper
			for _, k := range fourLetterWords {
				set[k] = true
			}
		} else if slices.Contains(fourLetterWords, w) {
			set[w] = true
		}
	}
	set["srvr"] = true
	if c.ReadOnlyModeEnabled() {
		set["isro"] = true
	}
	return set
}

// ContainerCheckInterval returns how often container and TTL nodes are
// checked for deletion (znode.container.checkIntervalMs, default 60 s;
// client spec §5.8).
func (c *Config) ContainerCheckInterval() time.Duration {
	return time.Duration(c.intProp("znode.container.checkIntervalMs", 60000)) * time.Millisecond
}

// ContainerMaxPerMinute returns the most container nodes the checker deletes
// per minute (znode.container.maxPerMinute, default 10000).
func (c *Config) ContainerMaxPerMinute() int {
	return int(c.intProp("znode.container.maxPerMinute", 10000))
}

// ReadOnlyModeEnabled reports whether a server cut off from its quorum keeps
// serving reads (readonlymode.enabled, default false).
func (c *Config) ReadOnlyModeEnabled() bool {
	return c.boolProp("readonlymode.enabled", false)
}

// SnapCount returns the number of transactions between snapshots
// (zookeeper.snapCount, default 100000; values below 2 count as 2, as in
// ZooKeeper; storage spec §2.10).
func (c *Config) SnapCount() int {
	return int(max(c.intProp("snapCount", 100000), 2))
}

// LogBatching is when the transaction log's group commit syncs a batch:
// ZooKeeper's flushDelay, maxWriteQueuePollTime and maxBatchSize (storage
// spec §2.9), all read once at startup as ZooKeeper does.
type LogBatching struct {
	// FlushDelay, if positive, lets a batch gather writes until this long
	// after the previous sync (zookeeper.flushDelay, ms, default 0: sync
	// as soon as no write is waiting). A write arriving after a longer
	// quiet spell is synced at once.
	FlushDelay time.Duration
	// PollTime is how long, with FlushDelay set, the committer waits for
	// the next write before it syncs what it has
	// (zookeeper.maxWriteQueuePollTime, ms, default FlushDelay/3).
	PollTime time.Duration
	// MaxBatch, if positive, syncs a batch as soon as it holds this many
	// writes (zookeeper.maxBatchSize, default 1000).
	MaxBatch int
}

// LogBatching returns the group commit settings. Negative times count as
// 0, as they do in ZooKeeper.
func (c *Config) LogBatching() LogBatching {
	ms := func(n int64) time.Duration {
		return time.Duration(min(max(n, 0), math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
	}
	flushDelay := c.intProp("flushDelay", 0)
	return LogBatching{
		FlushDelay: ms(flushDelay),
		PollTime:   ms(c.intProp("maxWriteQueuePollTime", flushDelay/3)),
		MaxBatch:   int(c.intProp("maxBatchSize", 1000)),
	}
}

// PreAllocSize returns the size in bytes by which transaction log files grow
// (zookeeper.preAllocSize is in KiB, default 65536 KiB = 64 MiB; storage
// spec §2.8).
func (c *Config) PreAllocSize() int64 {
	kib := c.intProp("preAllocSize", 65536)
	if kib > math.MaxInt64/1024 {
		return math.MaxInt64
	}
	return kib * 1024
}

// ForceSync reports whether transaction logs are fsynced before a write is
// acknowledged. Only zookeeper.forceSync=no turns it off.
func (c *Config) ForceSync() bool {
	v, _ := c.prop("forceSync")
	return v != "no"
}

// FsyncWarningThreshold returns how long an fsync may take before the server
// warns about it (fsync.warningthresholdms, default 1 s).
func (c *Config) FsyncWarningThreshold() time.Duration {
	ms := c.intProp("fsync.warningthresholdms", 1000)
	if ms > math.MaxInt64/int64(time.Millisecond) || ms < math.MinInt64/int64(time.Millisecond) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ms) * time.Millisecond
}

// SnapshotCompression returns the compression used for new snapshots:
// "" (none, the default), "gz" or "snappy"
// (zookeeper.snapshot.compression.method; storage spec §3.1).
func (c *Config) SnapshotCompression() string {
	v, _ := c.prop("snapshot.compression.method")
	if checkProp("snapshot.compression.method", v) != "" {
		return ""
	}
	return strings.ToLower(v)
}

// Apply layers properties given on the command line or in JVMFLAGS over the
// configuration: they win over zoo.cfg. Setting either spelling of a
// JVM-only property (jute.maxbuffer or zookeeper.jute.maxbuffer, say) sets
// both; when props holds both, the JVM spelling wins. The new values of
// known properties are validated; on error nothing is changed and the
// returned error joins one [*Error] per bad property.
func (c *Config) Apply(props Properties) error {
	next := maps.Clone(c.Props)
	if next == nil {
		next = make(Properties)
	}
	keys := slices.Sorted(maps.Keys(props))
	// Prefixed spellings of JVM-only names go first so that the JVM spelling
	// given in the same call overrides them.
	slices.SortStableFunc(keys, func(a, b string) int {
		return boolRank(!isPrefixedAlias(a)) - boolRank(!isPrefixedAlias(b))
	})
	var errs []error
	for _, full := range keys {
		v := props[full]
		short, readable := shortName(full)
		if readable {
			if reason := checkProp(short, v); reason != "" {
				errs = append(errs, &Error{Key: full, Reason: reason})
				continue
			}
		}
		if readable && jvmAlias(short) {
			for _, n := range storeNames(short) {
				next[n] = v
			}
			continue
		}
		next[full] = v
	}
	if len(errs) > 0 {
		return joinErrors(errs)
	}
	old := c.Props
	c.Props = next
	if err := c.checkMyIDLimit(); err != nil {
		c.Props = old
		return err
	}
	return nil
}

// isPrefixedAlias reports whether full is the "zookeeper." spelling of a
// JVM-only property.
func isPrefixedAlias(full string) bool {
	s, ok := strings.CutPrefix(full, zkPrefix)
	return ok && jvmAlias(s)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AdminServer describes ZooKeeper's HTTP AdminServer settings
// (admin.enableServer, admin.serverAddress, admin.serverPort,
// admin.idleTimeout, admin.commandURL; client spec §12).
type AdminServer struct {
	Enabled     bool
	Address     string // host:port to listen on
	IdleTimeout time.Duration
	CommandURL  string
	// CommandAuth makes the commands that list sessions or client
	// connections require authentication (zkd-only zkd.admin.commandAuth,
	// default true; false answers them to anyone, as ZooKeeper 3.8 does).
	CommandAuth bool
	// ForceHTTPS serves HTTPS only (admin.forceHttps); PortUnification
	// serves HTTP and HTTPS on the one port (admin.portUnification). Both
	// take their certificate from the ssl.quorum.* key and trust stores,
	// as ZooKeeper 3.8's AdminServer does.
	ForceHTTPS, PortUnification bool
}

// AdminServer returns the AdminServer settings with ZooKeeper's defaults:
// enabled unless admin.enableServer is false, on 0.0.0.0:8080, /commands.
func (c *Config) AdminServer() AdminServer {
	host := "0.0.0.0"
	if v, ok := c.prop("admin.serverAddress"); ok && v != "" {
		host = v
	}
	url := "/commands"
	if v, ok := c.prop("admin.commandURL"); ok && v != "" {
		url = v
	}
	return AdminServer{
		Enabled:         c.boolProp("admin.enableServer", true),
		Address:         hostPort(host, c.intProp("admin.serverPort", 8080)),
		IdleTimeout:     time.Duration(c.intProp("admin.idleTimeout", 30000)) * time.Millisecond,
		CommandURL:      url,
		CommandAuth:     c.boolProp("zkd.admin.commandAuth", true),
		ForceHTTPS:      c.boolProp("admin.forceHttps", false),
		PortUnification: c.boolProp("admin.portUnification", false),
	}
}

func hostPort(host string, port int64) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.FormatInt(port, 10)
}

// PrometheusClassName is the metricsProvider.className that turns on the
// Prometheus metrics endpoint, as in ZooKeeper.
const PrometheusClassName = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"

// Prometheus returns whether the Prometheus endpoint is enabled
// (metricsProvider.className names the Prometheus provider) and the
// address it listens on (metricsProvider.httpHost, default 0.0.0.0;
// metricsProvider.httpPort, default 7000).
func (c *Config) Prometheus() (enabled bool, addr string) {
	class := c.MetricsProvider["className"]
	enabled = class == PrometheusClassName || strings.HasSuffix(class, ".PrometheusMetricsProvider")
	host := c.MetricsProvider["httpHost"]
	if host == "" {
		host = "0.0.0.0"
	}
	port := int64(7000)
	if v, err := strconv.ParseInt(c.MetricsProvider["httpPort"], 10, 32); err == nil {
		port = v
	}
	return enabled, hostPort(host, port)
}

// CnxTimeout returns how long a server waits to connect to another on the
// election port (zookeeper.cnxTimeout, default 5000 ms; storage spec §4.1).
func (c *Config) CnxTimeout() time.Duration {
	ms := c.intProp("cnxTimeout", 5000)
	if ms <= 0 {
		ms = 5000
	}
	return time.Duration(min(ms, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
}

// ElectionPortBindRetry returns how many times binding the election and
// quorum ports is tried (zookeeper.electionPortBindRetry, default 3; 0
// means retry forever in ZooKeeper, which zkd treats as 3).
func (c *Config) ElectionPortBindRetry() int {
	n := c.intProp("electionPortBindRetry", 3)
	if n <= 0 {
		return 3
	}
	return int(min(n, 1000))
}

package config

// Config is the effective server configuration: zoo.cfg (and, through
// [Load], its dynamic config file), with command-line properties layered on
// by [Config.Apply] and the server id added by [Config.LoadMyID].
//
// Fields hold effective values: defaults are filled in, so a zero value
// means what the field's comment says it means.
type Config struct {
	File string // path the configuration was read from, "" for Default

	TickTime                    int // ms per tick; 3000 when a file omits it (Default uses 2000)
	InitLimit                   int // ticks for a learner to connect and sync; required in quorum mode
	SyncLimit                   int // ticks a learner may lag; required in quorum mode
	ConnectToLearnerMasterLimit int // ticks to connect to the leader; 0 = use InitLimit

	DataDir    string // snapshots, epoch files and myid; required in a file
	DataLogDir string // transaction logs; defaults to DataDir

	ClientPort              int    // plaintext client port; 0 = no plaintext listener
	ClientPortAddress       string // host or IP to listen on, without brackets; "" = all interfaces
	SecureClientPort        int    // TLS client port; 0 = none
	SecureClientPortAddress string // as ClientPortAddress, for SecureClientPort
	ClientPortListenBacklog int    // listen backlog; -1 = the OS default
	ObserverMasterPort      int    // port on which followers serve observers; 0 = none
	MaxClientCnxns          int    // connections per client IP; 0 = unlimited; default 60
	MinSessionTimeout       int    // ms; default 2*TickTime
	MaxSessionTimeout       int    // ms; default 20*TickTime

	PeerType          string // "participant" or "observer"; after LoadMyID, the role in Servers
	StandaloneEnabled bool   // default true; false runs even one voter in quorum mode
	ReconfigEnabled   bool   // dynamic reconfiguration (storage spec §7)
	DynamicConfigFile string // file holding the membership, "" when zoo.cfg holds it
	ConfigVersion     int64  // version of the membership: the hex suffix of DynamicConfigFile, else 0

	AutopurgeSnapRetainCount int // snapshots kept by autopurge; at least 3
	AutopurgePurgeInterval   int // hours between purges; 0 = off

	SyncEnabled                            bool // observers log and snapshot locally; default true
	LocalSessionsEnabled                   bool // sessions tracked only by the server they connect to (storage spec §6.3)
	LocalSessionsUpgradingEnabled          bool // local sessions become global when they create an ephemeral node
	QuorumListenOnAllIPs                   bool // bind quorum and election ports on all interfaces
	MultiAddressEnabled                    bool // allow a|b addresses in server.N
	MultiAddressReachabilityCheckEnabled   bool // default true
	MultiAddressReachabilityCheckTimeoutMs int  // default 1000
	// SSLQuorum runs election and quorum connections over TLS with the
	// ssl.quorum.* settings; PortUnification also accepts plaintext ones
	// on those ports; SSLQuorumReloadCertFiles is accepted (zkd always
	// picks up renewed certificate files).
	SSLQuorum                bool
	PortUnification          bool
	SSLQuorumReloadCertFiles bool
	// QuorumSASL holds the quorum.auth.* keys: SASL between servers.
	QuorumSASL QuorumSASL

	Servers []Server          // the server.N lines, sorted by ID
	Groups  map[int64][]int64 // group.G = member ids, for hierarchical quorums; nil if none
	Weights map[int64]int64   // weight.N, for hierarchical quorums; nil if none

	// MetricsProvider holds the metricsProvider.* keys without that prefix,
	// for example "className" or "httpPort"; nil if none.
	MetricsProvider map[string]string
	// Ignored holds explicit ZooKeeper keys that zkd checks and then does
	// not act on: the JVM pause monitor, quorum SASL, the quorum
	// oracle and the election thread pool size; nil if none.
	Ignored map[string]string

	// MyID is this server's id, set only by LoadMyID or SetMyID; 0 until
	// then (and in standalone mode without a usable myid file).
	MyID int64

	// Props holds all system properties: the pass-through keys of zoo.cfg
	// and whatever Apply layered on top. Never nil in a Config returned by
	// this package.
	Props Properties
}

// QuorumSASL is how servers authenticate each other with SASL (the
// quorum.auth.* keys): a learner (or an election peer that dials) proves
// itself with the JAAS section LearnerLoginContext, the server it reaches
// checks it with ServerLoginContext.
type QuorumSASL struct {
	Enable         bool // quorum.auth.enableSasl
	ServerRequire  bool // quorum.auth.serverRequireSasl: refuse peers that do not authenticate
	LearnerRequire bool // quorum.auth.learnerRequireSasl: authenticate to the servers this one reaches
	// JAAS sections; defaults QuorumLearner and QuorumServer.
	LearnerLoginContext, ServerLoginContext string
	// KerberosServicePrincipal is the principal learners ask tickets for,
	// "_HOST" standing for the server's host name; default
	// zkquorum/localhost.
	KerberosServicePrincipal string
}

// Server is one member of the ensemble, from a server.N line (spec §8.3).
type Server struct {
	ID           int64
	QuorumAddr   string     // host:port on which the leader accepts followers
	ElectionAddr string     // host:port for leader election
	Role         string     // "participant" or "observer"
	ClientAddr   string     // host:port from the ";client" part, or ""
	MoreAddrs    []PeerAddr // further addresses of a multiAddress entry, in file order; nil if none
}

// PeerAddr is one quorum/election address pair of a multiAddress server.
type PeerAddr struct {
	QuorumAddr, ElectionAddr string // host:port
}

// Roles of a server in the ensemble.
const (
	RoleParticipant = "participant"
	RoleObserver    = "observer"
)

// Default returns the configuration zkd runs with when it is given no
// zoo.cfg: a standalone server listening on 127.0.0.1:2181 with its data in
// ./zkd-data and a tick of 2000 ms, and ZooKeeper's defaults for everything
// else.
func Default() *Config {
	c := fileDefaults()
	c.TickTime = 2000
	c.DataDir = "zkd-data"
	c.DataLogDir = c.DataDir
	c.ClientPort = 2181
	c.ClientPortAddress = "127.0.0.1"
	c.MinSessionTimeout = 2 * c.TickTime
	c.MaxSessionTimeout = 20 * c.TickTime
	// The built-in config is a local development server: its AdminServer
	// listens on loopback only.
	c.Props[zkPrefix+"admin.serverAddress"] = "127.0.0.1"
	return c
}

// fileDefaults returns the values ZooKeeper assumes for keys a zoo.cfg
// leaves out; DataDir and the values derived from it or from TickTime are
// filled in after parsing.
func fileDefaults() *Config {
	return &Config{
		TickTime:                               3000,
		ClientPortListenBacklog:                -1,
		MaxClientCnxns:                         60,
		MinSessionTimeout:                      -1, // 2*TickTime, filled in after parsing
		MaxSessionTimeout:                      -1, // 20*TickTime, likewise
		PeerType:                               RoleParticipant,
		StandaloneEnabled:                      true,
		AutopurgeSnapRetainCount:               3,
		SyncEnabled:                            true,
		MultiAddressReachabilityCheckEnabled:   true,
		MultiAddressReachabilityCheckTimeoutMs: 1000,
		QuorumSASL: QuorumSASL{
			LearnerLoginContext:      "QuorumLearner",
			ServerLoginContext:       "QuorumServer",
			KerberosServicePrincipal: "zkquorum/localhost",
		},
		Props: make(Properties),
	}
}

// Voters returns the servers that vote (the participants).
func (c *Config) Voters() []Server {
	var out []Server
	for _, s := range c.Servers {
		if s.Role == RoleParticipant {
			out = append(out, s)
		}
	}
	return out
}

// Standalone reports whether the server runs on its own rather than in an
// ensemble (spec §8.1): an ensemble needs at least two voters, or one when
// StandaloneEnabled is false. A standalone server ignores Servers.
func (c *Config) Standalone() bool {
	n := len(c.Voters())
	return n < 2 && (c.StandaloneEnabled || n == 0)
}

// Server returns the member with the given id.
func (c *Config) Server(id int64) (Server, bool) {
	for _, s := range c.Servers {
		if s.ID == id {
			return s, true
		}
	}
	return Server{}, false
}

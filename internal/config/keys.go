package config

import (
	"net/netip"
	"strconv"
	"strings"
)

// explicitKey is a zoo.cfg key that ZooKeeper's QuorumPeerConfig handles
// itself (spec §8.2, "explicit").
type explicitKey struct {
	name string
	// set parses e.value into c, reporting problems to p.
	set func(p *parser, c *Config, e entry)
	// get returns the value to write back, and false when the key is left
	// out because Parse would arrive at the same value without it.
	get func(c *Config) (string, bool)
}

// fileDefault holds what Parse assumes for keys a zoo.cfg leaves out.
var fileDefault = fileDefaults()

// explicitKeyList is every explicit key, in the order String writes them.
var explicitKeyList = []explicitKey{
	{
		name: "tickTime",
		set: func(p *parser, c *Config, e entry) {
			if n, ok := p.int(e, 1); ok {
				c.TickTime = n
			}
		},
		get: func(c *Config) (string, bool) { return strconv.Itoa(c.TickTime), true },
	},
	intKey("initLimit", func(c *Config) *int { return &c.InitLimit }, 0),
	intKey("syncLimit", func(c *Config) *int { return &c.SyncLimit }, 0),
	intKey("connectToLearnerMasterLimit", func(c *Config) *int { return &c.ConnectToLearnerMasterLimit }, 0),
	{
		name: "dataDir",
		set: func(p *parser, c *Config, e entry) {
			if p.nonEmpty(e) {
				c.DataDir = e.value
			}
		},
		get: func(c *Config) (string, bool) { return c.DataDir, c.DataDir != "" },
	},
	{
		name: "dataLogDir",
		set: func(p *parser, c *Config, e entry) {
			if p.nonEmpty(e) {
				c.DataLogDir = e.value
			}
		},
		get: func(c *Config) (string, bool) { return c.DataLogDir, c.DataLogDir != c.DataDir },
	},
	portKey("clientPort", func(c *Config) *int { return &c.ClientPort }),
	addrKey("clientPortAddress", func(c *Config) *string { return &c.ClientPortAddress }),
	portKey("secureClientPort", func(c *Config) *int { return &c.SecureClientPort }),
	addrKey("secureClientPortAddress", func(c *Config) *string { return &c.SecureClientPortAddress }),
	intKey("clientPortListenBacklog", func(c *Config) *int { return &c.ClientPortListenBacklog }, -1),
	portKey("observerMasterPort", func(c *Config) *int { return &c.ObserverMasterPort }),
	intKey("maxClientCnxns", func(c *Config) *int { return &c.MaxClientCnxns }, 0),
	{
		name: "minSessionTimeout",
		set:  setSessionTimeout(func(c *Config) *int { return &c.MinSessionTimeout }),
		get: func(c *Config) (string, bool) {
			return strconv.Itoa(c.MinSessionTimeout), c.MinSessionTimeout != 2*c.TickTime
		},
	},
	{
		name: "maxSessionTimeout",
		set:  setSessionTimeout(func(c *Config) *int { return &c.MaxSessionTimeout }),
		get: func(c *Config) (string, bool) {
			return strconv.Itoa(c.MaxSessionTimeout), c.MaxSessionTimeout != 20*c.TickTime
		},
	},
	{
		name: "electionAlg",
		set: func(p *parser, c *Config, e entry) {
			if n, ok := p.int(e, anyIntKey); ok && n != 3 {
				p.fail(e, "only 3 (fast leader election) is supported: "+strconv.Quote(e.value))
			}
		},
		get: func(*Config) (string, bool) { return "3", false },
	},
	{
		name: "peerType",
		set: func(p *parser, c *Config, e entry) {
			switch v := strings.ToLower(e.value); v {
			case RoleParticipant, RoleObserver:
				c.PeerType = v
			default:
				p.fail(e, "not participant or observer: "+strconv.Quote(e.value))
			}
		},
		get: func(c *Config) (string, bool) { return c.PeerType, c.PeerType != RoleParticipant },
	},
	boolKey("standaloneEnabled", func(c *Config) *bool { return &c.StandaloneEnabled }),
	boolKey("reconfigEnabled", func(c *Config) *bool { return &c.ReconfigEnabled }),
	{
		name: "dynamicConfigFile",
		set: func(p *parser, c *Config, e entry) {
			if p.nonEmpty(e) {
				c.DynamicConfigFile = e.value
			}
		},
		get: func(c *Config) (string, bool) { return c.DynamicConfigFile, c.DynamicConfigFile != "" },
	},
	{
		name: "autopurge.snapRetainCount",
		set: func(p *parser, c *Config, e entry) {
			n, ok := p.int(e, anyIntKey)
			if !ok {
				return
			}
			if n < 3 {
				p.warn(e, "below the minimum of 3; using 3")
				n = 3
			}
			c.AutopurgeSnapRetainCount = n
		},
		get: func(c *Config) (string, bool) {
			return strconv.Itoa(c.AutopurgeSnapRetainCount), c.AutopurgeSnapRetainCount != 3
		},
	},
	intKey("autopurge.purgeInterval", func(c *Config) *int { return &c.AutopurgePurgeInterval }, anyIntKey),
	boolKey("syncEnabled", func(c *Config) *bool { return &c.SyncEnabled }),
	boolKey("localSessionsEnabled", func(c *Config) *bool { return &c.LocalSessionsEnabled }),
	boolKey("localSessionsUpgradingEnabled", func(c *Config) *bool { return &c.LocalSessionsUpgradingEnabled }),
	boolKey("quorumListenOnAllIPs", func(c *Config) *bool { return &c.QuorumListenOnAllIPs }),
	boolKey("multiAddress.enabled", func(c *Config) *bool { return &c.MultiAddressEnabled }),
	boolKey("multiAddress.reachabilityCheckEnabled", func(c *Config) *bool { return &c.MultiAddressReachabilityCheckEnabled }),
	intKey("multiAddress.reachabilityCheckTimeoutMs", func(c *Config) *int { return &c.MultiAddressReachabilityCheckTimeoutMs }, 0),
	boolKey("quorum.auth.enableSasl", func(c *Config) *bool { return &c.QuorumSASL.Enable }),
	boolKey("quorum.auth.serverRequireSasl", func(c *Config) *bool { return &c.QuorumSASL.ServerRequire }),
	boolKey("quorum.auth.learnerRequireSasl", func(c *Config) *bool { return &c.QuorumSASL.LearnerRequire }),
	stringKey("quorum.auth.learner.saslLoginContext", func(c *Config) *string { return &c.QuorumSASL.LearnerLoginContext }),
	stringKey("quorum.auth.server.saslLoginContext", func(c *Config) *string { return &c.QuorumSASL.ServerLoginContext }),
	stringKey("quorum.auth.kerberos.servicePrincipal", func(c *Config) *string { return &c.QuorumSASL.KerberosServicePrincipal }),
	boolKey("sslQuorum", func(c *Config) *bool { return &c.SSLQuorum }),
	boolKey("portUnification", func(c *Config) *bool { return &c.PortUnification }),
	boolKey("sslQuorumReloadCertFiles", func(c *Config) *bool { return &c.SSLQuorumReloadCertFiles }),

	// Accepted, checked and ignored (Config.Ignored).
	ignoredKey("quorum.cnxn.threads.size", propInt),
	ignoredKey("oraclePath", propString),
	ignoredKey("jvm.pause.monitor", propBool),
	ignoredKey("jvm.pause.sleep.time.ms", propLong),
	ignoredKey("jvm.pause.warn-threshold.ms", propLong),
	ignoredKey("jvm.pause.info-threshold.ms", propLong),
}

// explicitKeys indexes explicitKeyList by name.
var explicitKeys = func() map[string]explicitKey {
	m := make(map[string]explicitKey, len(explicitKeyList))
	for _, k := range explicitKeyList {
		m[k.name] = k
	}
	return m
}()

// anyIntKey is the min of explicit integer keys that take any value.
const anyIntKey = -1 << 31

func intKey(name string, field func(*Config) *int, min int) explicitKey {
	return explicitKey{
		name: name,
		set: func(p *parser, c *Config, e entry) {
			if n, ok := p.int(e, min); ok {
				*field(c) = n
			}
		},
		get: func(c *Config) (string, bool) {
			v := *field(c)
			return strconv.Itoa(v), v != *field(fileDefault)
		},
	}
}

func portKey(name string, field func(*Config) *int) explicitKey {
	return explicitKey{
		name: name,
		set: func(p *parser, c *Config, e entry) {
			n, reason := parsePort(e.value, 0)
			if reason != "" {
				p.fail(e, reason)
				return
			}
			*field(c) = n
		},
		get: func(c *Config) (string, bool) { return strconv.Itoa(*field(c)), *field(c) != 0 },
	}
}

// addrKey is a key holding a host name or IP address to listen on. An IPv6
// address may be written in brackets; it is stored without them.
func addrKey(name string, field func(*Config) *string) explicitKey {
	return explicitKey{
		name: name,
		set: func(p *parser, c *Config, e entry) {
			v := e.value
			if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
				if ip, err := netip.ParseAddr(v[1 : len(v)-1]); err == nil && ip.Is6() {
					v = v[1 : len(v)-1]
				}
			}
			if !validHost(v) {
				p.fail(e, "not a host name or IP address: "+strconv.Quote(e.value))
				return
			}
			*field(c) = v
		},
		get: func(c *Config) (string, bool) { return *field(c), *field(c) != "" },
	}
}

// stringKey is a key holding any non-empty string.
func stringKey(name string, field func(*Config) *string) explicitKey {
	return explicitKey{
		name: name,
		set: func(p *parser, c *Config, e entry) {
			if strings.TrimSpace(e.value) == "" {
				p.fail(e, "must not be empty")
				return
			}
			*field(c) = strings.TrimSpace(e.value)
		},
		get: func(c *Config) (string, bool) { return *field(c), *field(c) != *field(fileDefault) },
	}
}

func boolKey(name string, field func(*Config) *bool) explicitKey {
	return explicitKey{
		name: name,
		set: func(p *parser, c *Config, e entry) {
			b, reason := parseBool(e.value)
			if reason != "" {
				p.fail(e, reason)
				return
			}
			*field(c) = b
		},
		get: func(c *Config) (string, bool) {
			return strconv.FormatBool(*field(c)), *field(c) != *field(fileDefault)
		},
	}
}

// setSessionTimeout parses min/maxSessionTimeout, where -1 asks for the
// default, as in ZooKeeper.
func setSessionTimeout(field func(*Config) *int) func(*parser, *Config, entry) {
	return func(p *parser, c *Config, e entry) {
		if n, ok := p.int(e, -1); ok {
			*field(c) = n
		}
	}
}

// ignoredKey is an explicit ZooKeeper key that zkd validates and keeps in
// Config.Ignored without acting on it.
func ignoredKey(name string, kind propKind) explicitKey {
	return explicitKey{
		name: name,
		set: func(p *parser, c *Config, e entry) {
			var reason string
			switch kind {
			case propBool:
				_, reason = parseBool(e.value)
			case propInt:
				_, reason = parseInt(e.value)
			case propLong:
				if _, err := strconv.ParseInt(e.value, 10, 64); err != nil {
					reason = "not a number: " + strconv.Quote(e.value)
				}
			}
			if reason != "" {
				p.fail(e, reason)
				return
			}
			if c.Ignored == nil {
				c.Ignored = make(map[string]string)
			}
			c.Ignored[name] = e.value
		},
		get: func(c *Config) (string, bool) {
			v, ok := c.Ignored[name]
			return v, ok
		},
	}
}

// int parses an explicit integer key that must be at least min.
func (p *parser) int(e entry, min int) (int, bool) {
	n, reason := parseInt(e.value)
	if reason != "" {
		p.fail(e, reason)
		return 0, false
	}
	if n < min {
		if min == 1 {
			p.fail(e, "must be greater than 0: "+strconv.Quote(e.value))
		} else {
			p.fail(e, "must be at least "+strconv.Itoa(min)+": "+strconv.Quote(e.value))
		}
		return 0, false
	}
	return n, true
}

// nonEmpty reports an empty value as an error.
func (p *parser) nonEmpty(e entry) bool {
	if e.value == "" {
		p.fail(e, "empty value")
		return false
	}
	return true
}

package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// parseText parses zoo.cfg text named "zoo.cfg" and fails the test on error.
func mustParse(t *testing.T, text string) (*Config, []Warning) {
	t.Helper()
	c, warns, err := Parse(strings.NewReader(text), "zoo.cfg")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c, warns
}

// warningStrings formats warnings for comparison.
func warningStrings(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}

// sampleConfig is what the Debian sample zoo.cfg means.
func sampleConfig(file string) *Config {
	c := fileDefaults()
	c.File = file
	c.TickTime, c.InitLimit, c.SyncLimit = 2000, 10, 5
	c.DataDir, c.DataLogDir = "/tmp/zookeeper", "/tmp/zookeeper"
	c.ClientPort = 2181
	c.MinSessionTimeout, c.MaxSessionTimeout = 4000, 40000
	return c
}

func TestLoadSampleConfig(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"the sample zoo.cfg written for these tests loads without warnings", "testdata/zoo_sample.cfg"},
		{"the zoo.cfg installed by Debian's zookeeper package loads without warnings", "/etc/zookeeper/conf/zoo.cfg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.path); errors.Is(err, os.ErrNotExist) {
				t.Skipf("%s is not installed", tt.path)
			}
			c, warns, err := Load(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != 0 {
				t.Errorf("warnings: %q", warningStrings(warns))
			}
			if want := sampleConfig(tt.path); !reflect.DeepEqual(c, want) {
				t.Errorf("got\n%#v\nwant\n%#v", c, want)
			}
			if !c.Standalone() {
				t.Error("Standalone() = false, want true")
			}
		})
	}
}

func TestParseEnsemble(t *testing.T) {
	c, warns, err := Load("testdata/ensemble.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warningStrings(warns))
	}
	want := []Server{
		{ID: 1, QuorumAddr: "127.0.0.1:2888", ElectionAddr: "127.0.0.1:3888", Role: RoleParticipant, ClientAddr: "0.0.0.0:2181"},
		{ID: 2, QuorumAddr: "127.0.0.1:2889", ElectionAddr: "127.0.0.1:3889", Role: RoleParticipant, ClientAddr: "0.0.0.0:2182"},
		{ID: 3, QuorumAddr: "127.0.0.1:2890", ElectionAddr: "127.0.0.1:3890", Role: RoleParticipant, ClientAddr: "0.0.0.0:2183"},
	}
	if !reflect.DeepEqual(c.Servers, want) {
		t.Errorf("Servers = %+v, want %+v", c.Servers, want)
	}
	if c.Standalone() {
		t.Error("Standalone() = true for three voters")
	}
	if c.ClientPort != 0 {
		t.Errorf("ClientPort = %d before the id is known, want 0", c.ClientPort)
	}
	if got, want := c.Props["zookeeper.4lw.commands.whitelist"], "srvr, mntr, ruok"; got != want {
		t.Errorf("whitelist property = %q, want %q", got, want)
	}
}

func TestParseObservers(t *testing.T) {
	c, warns, err := Load("testdata/observers.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warningStrings(warns))
	}
	var roles []string
	for _, s := range c.Servers {
		roles = append(roles, s.Role)
	}
	if want := []string{"participant", "participant", "participant", "observer", "observer"}; !reflect.DeepEqual(roles, want) {
		t.Errorf("roles = %v, want %v", roles, want)
	}
	if got := len(c.Voters()); got != 3 {
		t.Errorf("len(Voters()) = %d, want 3", got)
	}
	if got, want := c.Servers[4], (Server{ID: 5, QuorumAddr: "[2001:db8::5]:2888", ElectionAddr: "[2001:db8::5]:3888", Role: RoleObserver, ClientAddr: "[2001:db8::5]:2181"}); !reflect.DeepEqual(got, want) {
		t.Errorf("server.5 = %+v, want %+v", got, want)
	}
	if c.PeerType != RoleObserver {
		t.Errorf("PeerType = %q, want observer", c.PeerType)
	}
}

func TestStandalone(t *testing.T) {
	const base = "dataDir=/d\ninitLimit=5\nsyncLimit=2\n"
	tests := []struct {
		name string
		text string
		want bool
	}{
		{"no server lines run standalone", base, true},
		{"one voter runs standalone", base + "server.1=h1:1:2\n", true},
		{"one voter with standaloneEnabled=false runs an ensemble", base + "standaloneEnabled=false\nserver.1=h1:1:2\n", false},
		{"two voters run an ensemble", base + "server.1=h1:1:2\nserver.2=h2:1:2\n", false},
		{"one voter and an observer run standalone", base + "server.1=h1:1:2\nserver.2=h2:1:2:observer\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustParse(t, tt.text)
			if got := c.Standalone(); got != tt.want {
				t.Errorf("Standalone() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	c, warns := mustParse(t, "dataDir=/d\n")
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warningStrings(warns))
	}
	want := &Config{
		File: "zoo.cfg", TickTime: 3000, DataDir: "/d", DataLogDir: "/d",
		ClientPortListenBacklog: -1, MaxClientCnxns: 60, MinSessionTimeout: 6000, MaxSessionTimeout: 60000,
		PeerType: "participant", StandaloneEnabled: true, AutopurgeSnapRetainCount: 3, SyncEnabled: true,
		MultiAddressReachabilityCheckEnabled: true, MultiAddressReachabilityCheckTimeoutMs: 1000,
		QuorumSASL: QuorumSASL{LearnerLoginContext: "QuorumLearner", ServerLoginContext: "QuorumServer", KerberosServicePrincipal: "zkquorum/localhost"},
		Props:      Properties{},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%#v\nwant\n%#v", c, want)
	}
}

func TestParseExplicitKeys(t *testing.T) {
	text := `dataDir=/d
dataLogDir=/l
tickTime=100
connectToLearnerMasterLimit=7
clientPort=2181
clientPortAddress=[::1]
secureClientPort=2281
secureClientPortAddress=10.0.0.1
clientPortListenBacklog=50
observerMasterPort=2191
maxClientCnxns=0
minSessionTimeout=-1
maxSessionTimeout=9000
electionAlg=3
peerType=Observer
standaloneEnabled=FALSE
reconfigEnabled=True
autopurge.snapRetainCount=5
autopurge.purgeInterval=24
syncEnabled=false
localSessionsEnabled=true
localSessionsUpgradingEnabled=true
quorumListenOnAllIPs=true
multiAddress.enabled=true
multiAddress.reachabilityCheckEnabled=false
multiAddress.reachabilityCheckTimeoutMs=500
sslQuorum=true
portUnification=true
sslQuorumReloadCertFiles=true
quorum.auth.enableSasl=true
quorum.auth.serverRequireSasl=true
quorum.auth.learnerRequireSasl=true
quorum.auth.learner.saslLoginContext=L
quorum.auth.server.saslLoginContext=S
quorum.auth.kerberos.servicePrincipal=zkquorum/_HOST
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7000
jvm.pause.monitor=true
quorum.cnxn.threads.size=30
`
	c, warns := mustParse(t, text)
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warningStrings(warns))
	}
	want := &Config{
		File: "zoo.cfg", TickTime: 100, ConnectToLearnerMasterLimit: 7, DataDir: "/d", DataLogDir: "/l",
		ClientPort: 2181, ClientPortAddress: "::1", SecureClientPort: 2281, SecureClientPortAddress: "10.0.0.1",
		ClientPortListenBacklog: 50, ObserverMasterPort: 2191, MaxClientCnxns: 0,
		MinSessionTimeout: 200, MaxSessionTimeout: 9000, PeerType: "observer",
		StandaloneEnabled: false, ReconfigEnabled: true, AutopurgeSnapRetainCount: 5, AutopurgePurgeInterval: 24,
		SyncEnabled: false, LocalSessionsEnabled: true, LocalSessionsUpgradingEnabled: true, QuorumListenOnAllIPs: true,
		MultiAddressEnabled: true, MultiAddressReachabilityCheckEnabled: false, MultiAddressReachabilityCheckTimeoutMs: 500,
		SSLQuorum: true, PortUnification: true, SSLQuorumReloadCertFiles: true,
		QuorumSASL: QuorumSASL{Enable: true, ServerRequire: true, LearnerRequire: true,
			LearnerLoginContext: "L", ServerLoginContext: "S", KerberosServicePrincipal: "zkquorum/_HOST"},
		MetricsProvider: map[string]string{"className": "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider", "httpPort": "7000"},
		Ignored:         map[string]string{"jvm.pause.monitor": "true", "quorum.cnxn.threads.size": "30"},
		Props:           Properties{},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%#v\nwant\n%#v", c, want)
	}
}

func TestParsePassThroughProperties(t *testing.T) {
	text := `dataDir=/d
snapCount=5000
skipACL=yes
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
4lw.commands.whitelist=*
jute.maxbuffer=0x3fffff
readonlymode.enabled=true
znode.container.checkIntervalMs=1000
admin.enableServer=false
ssl.keyStore.location=/k.jks
authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
`
	c, _ := mustParse(t, text)
	want := Properties{
		"zookeeper.snapCount": "5000",
		"zookeeper.skipACL":   "yes",
		"zookeeper.DigestAuthenticationProvider.superDigest": "super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
		"zookeeper.4lw.commands.whitelist":                   "*",
		"jute.maxbuffer":                                     "0x3fffff",
		"zookeeper.jute.maxbuffer":                           "0x3fffff",
		"readonlymode.enabled":                               "true",
		"zookeeper.readonlymode.enabled":                     "true",
		"znode.container.checkIntervalMs":                    "1000",
		"zookeeper.znode.container.checkIntervalMs":          "1000",
		"zookeeper.admin.enableServer":                       "false",
		"zookeeper.ssl.keyStore.location":                    "/k.jks",
		"zookeeper.authProvider.1":                           "org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
	}
	if !reflect.DeepEqual(c.Props, want) {
		t.Errorf("Props = %v\nwant %v", c.Props, want)
	}
}

func TestParseErrors(t *testing.T) {
	const ok = "dataDir=/d\n"
	const quorum = "dataDir=/d\ninitLimit=5\nsyncLimit=2\n"
	tests := []struct {
		name string
		text string
		want string // the joined error text
	}{
		{"a tickTime that is not a number names file, line and key", ok + "tickTime=abc\n",
			`zoo.cfg:2: tickTime: not a number: "abc"`},
		{"a tickTime of 0 is an error", ok + "tickTime=0\n",
			`zoo.cfg:2: tickTime: must be greater than 0: "0"`},
		{"an integer beyond 32 bits is out of range", ok + "maxClientCnxns=2147483648\n",
			`zoo.cfg:2: maxClientCnxns: out of range: "2147483648"`},
		{"a negative maxClientCnxns is an error", ok + "maxClientCnxns=-1\n",
			`zoo.cfg:2: maxClientCnxns: must be at least 0: "-1"`},
		{"a missing dataDir is an error without a line", "tickTime=2000\n",
			`zoo.cfg: dataDir: not set`},
		{"an empty dataDir is an error", "dataDir=\n",
			"zoo.cfg:1: dataDir: empty value\nzoo.cfg: dataDir: not set"},
		{"a boolean must be true or false", ok + "standaloneEnabled=yes\n",
			`zoo.cfg:2: standaloneEnabled: not true or false: "yes"`},
		{"minSessionTimeout above maxSessionTimeout is an error", ok + "minSessionTimeout=5000\nmaxSessionTimeout=4000\n",
			`zoo.cfg:2: minSessionTimeout: minSessionTimeout 5000 is larger than maxSessionTimeout 4000`},
		{"a maxSessionTimeout below the default minimum is an error", ok + "tickTime=2000\nmaxSessionTimeout=3000\n",
			`zoo.cfg:3: maxSessionTimeout: minSessionTimeout 4000 is larger than maxSessionTimeout 3000`},
		{"clientPortAddress without clientPort is an error", ok + "clientPortAddress=127.0.0.1\n",
			`zoo.cfg:2: clientPortAddress: set without clientPort`},
		{"secureClientPortAddress without secureClientPort is an error", ok + "secureClientPortAddress=127.0.0.1\n",
			`zoo.cfg:2: secureClientPortAddress: set without secureClientPort`},
		{"clientPortAddress must be a host or an address", ok + "clientPort=1\nclientPortAddress=a b\n",
			`zoo.cfg:3: clientPortAddress: not a host name or IP address: "a b"`},
		{"a client port above 65535 is an error", ok + "clientPort=65536\n",
			`zoo.cfg:2: clientPort: out of range 0-65535: "65536"`},
		{"electionAlg other than 3 is an error", ok + "electionAlg=1\n",
			`zoo.cfg:2: electionAlg: only 3 (fast leader election) is supported: "1"`},
		{"an unknown peerType is an error", ok + "peerType=leader\n",
			`zoo.cfg:2: peerType: not participant or observer: "leader"`},
		{"a malformed unicode escape names the line", ok + `x=\u12` + "\n",
			`zoo.cfg:2: malformed \uXXXX escape`},
		{"every error is reported, not just the first", "tickTime=x\ninitLimit=y\n",
			"zoo.cfg:1: tickTime: not a number: \"x\"\nzoo.cfg:2: initLimit: not a number: \"y\"\nzoo.cfg: dataDir: not set"},
		{"a bad known property value names the key", ok + "jute.maxbuffer=abc\n",
			`zoo.cfg:2: jute.maxbuffer: not a number: "abc"`},
		{"skipACL takes yes or no like ZooKeeper", ok + "skipACL=true\n",
			`zoo.cfg:2: skipACL: not yes or no: "true"`},
		{"a zero jute.maxbuffer is an error", ok + "jute.maxbuffer=0\n",
			`zoo.cfg:2: jute.maxbuffer: must be at least 1: "0"`},
		{"an unknown snapshot compression is an error", ok + "snapshot.compression.method=lz4\n",
			`zoo.cfg:2: snapshot.compression.method: not one of "", "gz", "snappy": "lz4"`},
		{"a sasl requirement without sasl is an error", ok + "quorum.auth.serverRequireSasl=true\n",
			`zoo.cfg:2: quorum.auth.serverRequireSasl: requires quorum.auth.enableSasl=true`},

		// server.N grammar (§8.3).
		{"a server id must be a number", quorum + "server.one=h:1:2\n",
			`zoo.cfg:4: server.one: id is not a number: "one"`},
		{"a server id is the text after the first dot", quorum + "server.1.2=h:1:2\n",
			`zoo.cfg:4: server.1.2: id is not a number: "1.2"`},
		{"a server needs an election port", quorum + "server.1=h:2888\n",
			`zoo.cfg:4: server.1: want host:quorumPort:electionPort[:role]: "h:2888"`},
		{"a server port must be a number", quorum + "server.1=h:x:3888\n",
			`zoo.cfg:4: server.1: quorum port not a number: "x"`},
		{"a server port must be in range", quorum + "server.1=h:2888:70000\n",
			`zoo.cfg:4: server.1: election port out of range 1-65535: "70000"`},
		{"quorum and election ports must differ", quorum + "server.1=h:2888:2888\n",
			`zoo.cfg:4: server.1: quorum and election ports are the same: "h:2888:2888"`},
		{"an unknown role is an error", quorum + "server.1=h:2888:3888:leader\n",
			`zoo.cfg:4: server.1: role is not participant or observer: "leader"`},
		{"several addresses need multiAddress.enabled", quorum + "server.1=a:1:2|b:1:2\n",
			`zoo.cfg:4: server.1: more than one address needs multiAddress.enabled=true: "a:1:2|b:1:2"`},
		{"several addresses must share a role", quorum + "multiAddress.enabled=true\nserver.1=a:1:2|b:1:2:observer\n",
			`zoo.cfg:5: server.1: addresses have different roles: "a:1:2|b:1:2:observer"`},
		{"a client part may not have two ports", quorum + "server.1=h:1:2;h:3:4\n",
			`zoo.cfg:4: server.1: want client port or host:port: "h:3:4"`},
		{"only one client part is allowed", quorum + "server.1=h:1:2;3;4\n",
			`zoo.cfg:4: server.1: more than one ';' in "h:1:2;3;4"`},
		{"an IPv6 host needs brackets", quorum + "server.1=::1:2888:3888\n",
			`zoo.cfg:4: server.1: invalid host: ""`},
		{"a bracketed host must be IPv6", quorum + "server.1=[h]:2888:3888\n",
			`zoo.cfg:4: server.1: not an IPv6 address in brackets: "[h]:2888:3888"`},
		{"the same id twice is an error", quorum + "server.1=a:1:2\nserver.01=b:1:2\n",
			`zoo.cfg:5: server.01: server id 1 is already defined by server.1 on line 4`},
		{"two servers may not share an address", quorum + "server.1=a:1:2\nserver.2=a:1:3\n",
			`zoo.cfg:5: server.2: address a:1 is also used by server.1`},
		{"observers alone are an error", quorum + "server.1=a:1:2:observer\nserver.2=b:1:2:observer\n",
			`zoo.cfg:4: server.1: observers need at least one participant`},
		{"an ensemble needs initLimit and syncLimit", ok + "server.1=a:1:2\nserver.2=b:1:2\n",
			"zoo.cfg: initLimit: not set (required with an ensemble)\nzoo.cfg: syncLimit: not set (required with an ensemble)"},
		{"server lines are forbidden beside dynamicConfigFile", ok + "dynamicConfigFile=/d/zoo.cfg.dynamic\nserver.1=a:1:2\n",
			`zoo.cfg:3: server.1: not allowed in zoo.cfg when dynamicConfigFile is set; move it to "/d/zoo.cfg.dynamic"`},
		{"a group member must be a server", quorum + "server.1=a:1:2\nserver.2=b:1:2\ngroup.1=1:3\n",
			`zoo.cfg:6: group.1: member 3 has no server.3 line`},
		{"a server may be in one group only", quorum + "server.1=a:1:2\nserver.2=b:1:2\ngroup.1=1:2\ngroup.2=2\n",
			`zoo.cfg:7: group.2: server 2 is in more than one group`},
		{"a weight must be a number", quorum + "server.1=a:1:2\nserver.2=b:1:2\nweight.1=heavy\n",
			`zoo.cfg:6: weight.1: not a number: "heavy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse(strings.NewReader(tt.text), "zoo.cfg")
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if c != nil {
				t.Error("Parse returned a Config with an error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T holds no *Error", err)
			}
		})
	}
}

func TestParseWarnings(t *testing.T) {
	const ok = "dataDir=/d\n"
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"a misspelt key is a warning with a suggestion", ok + "tickTme=2000\n",
			[]string{`zoo.cfg:2: tickTme: unknown key, passed through as property "zookeeper.tickTme"; did you mean "tickTime"?`}},
		{"a key missing its family prefix is pointed to the full key", ok + "maxTimeToWaitForEpoch=5\n",
			[]string{`zoo.cfg:2: maxTimeToWaitForEpoch: unknown key, passed through as property "zookeeper.maxTimeToWaitForEpoch"; did you mean "leader.maxTimeToWaitForEpoch"?`}},
		{"an unknown key far from any known one gets no suggestion", ok + "frobnicate=1\n",
			[]string{`zoo.cfg:2: frobnicate: unknown key, passed through as property "zookeeper.frobnicate"`}},
		{"a zookeeper. prefix in zoo.cfg is pointed out", ok + "zookeeper.snapCount=1\n",
			[]string{`zoo.cfg:2: zookeeper.snapCount: zoo.cfg keys take no "zookeeper." prefix; this sets property "zookeeper.zookeeper.snapCount"`}},
		{"a repeated key warns and the last one wins", ok + "clientPort=1\nclientPort=2\n",
			[]string{`zoo.cfg:2: clientPort: set again on line 3, which wins`}},
		{"JVM-only properties in zoo.cfg are pointed out", ok + "jute.maxbuffer=4194304\n",
			[]string{`zoo.cfg:2: jute.maxbuffer: Java ZooKeeper reads this only as a JVM property (-Djute.maxbuffer), not from zoo.cfg; zkd honours it`}},
		{"an unknown four-letter word is pointed out", ok + "4lw.commands.whitelist=ruok, nope\n",
			[]string{`zoo.cfg:2: 4lw.commands.whitelist: unknown four-letter word "nope" is ignored`}},
		{"a snapRetainCount below 3 is raised", ok + "autopurge.snapRetainCount=1\n",
			[]string{`zoo.cfg:2: autopurge.snapRetainCount: below the minimum of 3; using 3`}},
		{"a single voter runs standalone with a warning", ok + "server.1=a:1:2\n",
			[]string{`zoo.cfg:2: server.1: only one participant, so the server runs standalone and ignores server.N lines (set standaloneEnabled=false for a one-member ensemble)`}},
		{"server ids above 255 are pointed out", ok + "initLimit=1\nsyncLimit=1\nserver.256=a:1:2\nserver.2=b:1:2\n",
			[]string{`zoo.cfg:4: server.256: server ids above 255 do not fit the top byte of session ids`}},
		{"quorum TLS is accepted silently", ok + "sslQuorum=true\nportUnification=true\nsslQuorumReloadCertFiles=true\n", nil},
		{"JVM and metrics keys are accepted silently", ok + "jvm.pause.warn-threshold.ms=100\nmetricsProvider.httpHost=0.0.0.0\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warns := mustParse(t, tt.text)
			if got := warningStrings(warns); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("warnings:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestParseServer(t *testing.T) {
	tests := []struct {
		name  string
		value string
		multi bool
		want  Server
	}{
		{"a bare line is a participant without a client address", "h:2888:3888",
			false, Server{ID: 1, QuorumAddr: "h:2888", ElectionAddr: "h:3888", Role: "participant"}},
		{"a port-only client part means 0.0.0.0", "127.0.0.1:2888:3888;2181",
			false, Server{ID: 1, QuorumAddr: "127.0.0.1:2888", ElectionAddr: "127.0.0.1:3888", Role: "participant", ClientAddr: "0.0.0.0:2181"}},
		{"a client part may name a host", "h:2888:3888:participant;c.example:2181",
			false, Server{ID: 1, QuorumAddr: "h:2888", ElectionAddr: "h:3888", Role: "participant", ClientAddr: "c.example:2181"}},
		{"the role is case-insensitive", "h:2888:3888:Observer",
			false, Server{ID: 1, QuorumAddr: "h:2888", ElectionAddr: "h:3888", Role: "observer"}},
		{"IPv6 hosts are bracketed", "[::1]:2888:3888;[::1]:2181",
			false, Server{ID: 1, QuorumAddr: "[::1]:2888", ElectionAddr: "[::1]:3888", Role: "participant", ClientAddr: "[::1]:2181"}},
		{"multiple addresses are kept in order", "a:1:2|b:3:4;2181",
			true, Server{ID: 1, QuorumAddr: "a:1", ElectionAddr: "a:2", Role: "participant", ClientAddr: "0.0.0.0:2181",
				MoreAddrs: []PeerAddr{{QuorumAddr: "b:3", ElectionAddr: "b:4"}}}},
		{"blanks around parts are ignored", " h : 2888 : 3888 ; 2181 ",
			false, Server{ID: 1, QuorumAddr: "h:2888", ElectionAddr: "h:3888", Role: "participant", ClientAddr: "0.0.0.0:2181"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := parseServer(1, tt.value, tt.multi)
			if reason != "" {
				t.Fatal(reason)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if again, _ := parseServer(1, formatServer(got), tt.multi); !reflect.DeepEqual(again, got) {
				t.Errorf("formatServer(%+v) = %q reads back as %+v", got, formatServer(got), again)
			}
		})
	}
}

func TestLoadDynamicConfigFile(t *testing.T) {
	c, warns, err := Load("testdata/dynamic/zoo.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warningStrings(warns))
	}
	if len(c.Servers) != 3 || c.Standalone() {
		t.Errorf("Servers = %+v, want three voters", c.Servers)
	}
	if c.ConfigVersion != 0x100000003 {
		t.Errorf("ConfigVersion = %#x, want 0x100000003", c.ConfigVersion)
	}
	if s := c.String(); strings.Contains(s, "server.") || !strings.Contains(s, "dynamicConfigFile=testdata/dynamic/zoo.cfg.dynamic.100000003\n") {
		t.Errorf("String() keeps the membership out of zoo.cfg, got:\n%s", s)
	}
}

func TestLoadDynamicConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	dyn := dir + "/zoo.cfg.dynamic.1"
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(dyn, "server.1=a:1:2\nversion=1\ntickTime=5\n")
	write(dir+"/zoo.cfg", "dataDir=/d\ndynamicConfigFile="+dyn+"\n")
	_, _, err := Load(dir + "/zoo.cfg")
	want := dyn + ":2: version: not allowed in a dynamic config file (the version is the file name's suffix)\n" +
		dyn + ":3: tickTime: not allowed in a dynamic config file (only server.N, group.N and weight.N)"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}

	write(dir+"/zoo.cfg", "dataDir=/d\ndynamicConfigFile="+dir+"/missing\n")
	_, _, err = Load(dir + "/zoo.cfg")
	if !errors.Is(err, os.ErrNotExist) && (err == nil || !strings.Contains(err.Error(), "dynamicConfigFile: open "+dir+"/missing")) {
		t.Errorf("a missing dynamic file gives %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(t.TempDir() + "/nope.cfg")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

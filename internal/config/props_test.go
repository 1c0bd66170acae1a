package config

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAccessorDefaults(t *testing.T) {
	for _, c := range []*Config{Default(), {Props: nil}} {
		if got := c.JuteMaxBuffer(); got != 1048575 {
			t.Errorf("JuteMaxBuffer() = %d, want 1048575", got)
		}
		if got := c.JuteMaxBufferExtraSize(); got != 1048575 {
			t.Errorf("JuteMaxBufferExtraSize() = %d, want 1048575", got)
		}
		if c.ExtendedTypesEnabled() || c.SkipACL() || c.ReadOnlyModeEnabled() {
			t.Error("extended types, skipACL or read-only mode on by default")
		}
		if got := c.SuperDigest(); got != "" {
			t.Errorf("SuperDigest() = %q, want empty", got)
		}
		if got := c.ContainerCheckInterval(); got != time.Minute {
			t.Errorf("ContainerCheckInterval() = %v, want 1m", got)
		}
		if got := c.ContainerMaxPerMinute(); got != 10000 {
			t.Errorf("ContainerMaxPerMinute() = %d, want 10000", got)
		}
		if got := c.SnapCount(); got != 100000 {
			t.Errorf("SnapCount() = %d, want 100000", got)
		}
		if got := c.PreAllocSize(); got != 64<<20 {
			t.Errorf("PreAllocSize() = %d, want 64 MiB", got)
		}
		if !c.ForceSync() {
			t.Error("ForceSync() = false by default")
		}
		if got := c.FsyncWarningThreshold(); got != time.Second {
			t.Errorf("FsyncWarningThreshold() = %v, want 1s", got)
		}
		if got := c.SnapshotCompression(); got != "" {
			t.Errorf("SnapshotCompression() = %q, want none", got)
		}
		if got := c.CnxTimeout(); got != 5*time.Second {
			t.Errorf("CnxTimeout() = %v, want 5s", got)
		}
		if got := c.ElectionPortBindRetry(); got != 3 {
			t.Errorf("ElectionPortBindRetry() = %d, want 3", got)
		}
		if got, want := c.LogBatching(), (LogBatching{MaxBatch: 1000}); got != want {
			t.Errorf("LogBatching() = %+v, want %+v", got, want)
		}
	}
}

func TestAccessorsReadZooCfgAndProperties(t *testing.T) {
	text := `dataDir=/d
jute.maxbuffer=0x3fffff
extendedTypesEnabled=TRUE
skipACL=yes
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
znode.container.checkIntervalMs=500
znode.container.maxPerMinute=7
readonlymode.enabled=true
snapCount=1
preAllocSize=16
forceSync=no
fsync.warningthresholdms=250
snapshot.compression.method=Snappy
cnxTimeout=1500
electionPortBindRetry=7
flushDelay=300
maxBatchSize=0
`
	c, _ := mustParse(t, text)
	checks := []struct {
		name      string
		got, want any
	}{
		{"JuteMaxBuffer reads hex", c.JuteMaxBuffer(), 0x3fffff},
		{"JuteMaxBufferExtraSize follows JuteMaxBuffer", c.JuteMaxBufferExtraSize(), 0x3fffff},
		{"ExtendedTypesEnabled ignores case", c.ExtendedTypesEnabled(), true},
		{"SkipACL is on for yes", c.SkipACL(), true},
		{"SuperDigest comes from the unprefixed zoo.cfg key", c.SuperDigest(), "super:D/InIHSb7yEEbrWz8b9l71RjZJU="},
		{"ContainerCheckInterval is in ms", c.ContainerCheckInterval(), 500 * time.Millisecond},
		{"ContainerMaxPerMinute", c.ContainerMaxPerMinute(), 7},
		{"ReadOnlyModeEnabled", c.ReadOnlyModeEnabled(), true},
		{"SnapCount is at least 2", c.SnapCount(), 2},
		{"PreAllocSize converts KiB to bytes", c.PreAllocSize(), int64(16 << 10)},
		{"ForceSync is off only for no", c.ForceSync(), false},
		{"FsyncWarningThreshold is in ms", c.FsyncWarningThreshold(), 250 * time.Millisecond},
		{"SnapshotCompression is lower-cased", c.SnapshotCompression(), "snappy"},
		{"CnxTimeout is in ms", c.CnxTimeout(), 1500 * time.Millisecond},
		{"ElectionPortBindRetry", c.ElectionPortBindRetry(), 7},
		{"LogBatching's poll time defaults to a third of flushDelay", c.LogBatching(), LogBatching{FlushDelay: 300 * time.Millisecond, PollTime: 100 * time.Millisecond}},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestFourLetterWhitelist(t *testing.T) {
	all := slices.Clone(fourLetterWords)
	tests := []struct {
		name  string
		props Properties
		want  []string
	}{
		{"unset gives zkd's default set, which shows no client addresses", nil, []string{"isro", "mntr", "ruok", "srvr"}},
		{"a list is taken with blanks trimmed and srvr added", Properties{"zookeeper.4lw.commands.whitelist": " ruok , conf"}, []string{"conf", "ruok", "srvr"}},
		{"unknown words are dropped", Properties{"zookeeper.4lw.commands.whitelist": "ruok,nope"}, []string{"ruok", "srvr"}},
		{"an empty list leaves srvr alone", Properties{"zookeeper.4lw.commands.whitelist": ""}, []string{"srvr"}},
		{"a star enables every known word and keeps the star for telnet close", Properties{"zookeeper.4lw.commands.whitelist": "*"}, append([]string{"*"}, all...)},
		{"read-only mode adds isro", Properties{"zookeeper.4lw.commands.whitelist": "ruok", "readonlymode.enabled": "true"}, []string{"isro", "ruok", "srvr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			if err := c.Apply(tt.props); err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(maps.Keys(c.FourLetterWhitelist()))
			want := slices.Sorted(slices.Values(tt.want))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestApplyLayersPropertiesOverZooCfg(t *testing.T) {
	tests := []struct {
		name  string
		cfg   string
		props Properties
		check func(*Config) any
		want  any
	}{
		{"a -D property wins over the same zoo.cfg key",
			"snapCount=10", Properties{"zookeeper.snapCount": "20"},
			func(c *Config) any { return c.SnapCount() }, 20},
		{"zoo.cfg applies when no -D property is given",
			"snapCount=10", Properties{"zookeeper.skipACL": "yes"},
			func(c *Config) any { return c.SnapCount() }, 10},
		{"-Djute.maxbuffer wins over jute.maxbuffer in zoo.cfg",
			"jute.maxbuffer=1000", Properties{"jute.maxbuffer": "4194304"},
			func(c *Config) any { return c.JuteMaxBuffer() }, 4194304},
		{"-Dzookeeper.jute.maxbuffer also wins over zoo.cfg",
			"jute.maxbuffer=1000", Properties{"zookeeper.jute.maxbuffer": "2000"},
			func(c *Config) any { return c.JuteMaxBuffer() }, 2000},
		{"the JVM spelling wins when both spellings are given",
			"", Properties{"jute.maxbuffer": "3000", "zookeeper.jute.maxbuffer": "2000"},
			func(c *Config) any { return c.Props["zookeeper.jute.maxbuffer"] + "/" + c.Props["jute.maxbuffer"] }, "3000/3000"},
		{"-Dreadonlymode.enabled turns read-only mode on",
			"", Properties{"readonlymode.enabled": "true"},
			func(c *Config) any { return c.ReadOnlyModeEnabled() }, true},
		{"the superDigest property is found under its full name",
			"", Properties{"zookeeper.DigestAuthenticationProvider.superDigest": "super:x"},
			func(c *Config) any { return c.SuperDigest() }, "super:x"},
		{"JVM properties ZooKeeper does not read are kept as they are",
			"", Properties{"java.net.preferIPv4Stack": "true"},
			func(c *Config) any { return c.Props["java.net.preferIPv4Stack"] }, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustParse(t, "dataDir=/d\n"+tt.cfg+"\n")
			if err := c.Apply(tt.props); err != nil {
				t.Fatal(err)
			}
			if got := tt.check(c); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestApplyRejectsBadValues(t *testing.T) {
	tests := []struct {
		name  string
		props Properties
		want  string
	}{
		{"a non-numeric jute.maxbuffer names the key", Properties{"jute.maxbuffer": "abc"},
			`jute.maxbuffer: not a number: "abc"`},
		{"a bad prefixed spelling names the key as given", Properties{"zookeeper.jute.maxbuffer": "-1"},
			`zookeeper.jute.maxbuffer: must be at least 1: "-1"`},
		{"all bad properties are reported in name order", Properties{"zookeeper.skipACL": "true", "readonlymode.enabled": "yes"},
			"readonlymode.enabled: not true or false: \"yes\"\nzookeeper.skipACL: not yes or no: \"true\""},
		{"a bad container interval is rejected", Properties{"znode.container.checkIntervalMs": "0"},
			`znode.container.checkIntervalMs: must be at least 1: "0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			before := maps.Clone(c.Props)
			err := c.Apply(tt.props)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tt.want)
			}
			if !maps.Equal(c.Props, before) {
				t.Errorf("a failed Apply changed Props to %v", c.Props)
			}
		})
	}
}

func TestApplyChecksTheServerIDAgainstExtendedTypes(t *testing.T) {
	c := Default()
	c.MyID = 255
	err := c.Apply(Properties{"zookeeper.extendedTypesEnabled": "true"})
	want := "myid: server id 255 is above 254, the largest allowed with zookeeper.extendedTypesEnabled=true"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if c.ExtendedTypesEnabled() {
		t.Error("the rejected property was kept")
	}
}

func TestParseJavaInt(t *testing.T) {
	tests := []struct {
		in     string
		bits   int
		want   int64
		reason string
	}{
		{"1048575", 32, 1048575, ""},
		{"0xfffff", 32, 0xfffff, ""},
		{"0XFF", 32, 255, ""},
		{"#10", 32, 16, ""},
		{"-0x10", 32, -16, ""},
		{"+7", 32, 7, ""},
		{"010", 32, 10, ""},
		{"2147483647", 32, 2147483647, ""},
		{"-2147483648", 32, -2147483648, ""},
		{"2147483648", 32, 0, `out of range: "2147483648"`},
		{"-9223372036854775808", 64, -9223372036854775808, ""},
		{"", 32, 0, `not a number: ""`},
		{"0x", 32, 0, `not a number: "0x"`},
		{"--1", 32, 0, `not a number: "--1"`},
		{"1_000", 32, 0, `not a number: "1_000"`},
		{" 1", 32, 0, `not a number: " 1"`},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.in, " ", "_")+" parses as Java's Integer.decode would", func(t *testing.T) {
			got, reason := parseJavaInt(tt.in, tt.bits)
			if got != tt.want || reason != tt.reason {
				t.Errorf("parseJavaInt(%q) = %d, %q; want %d, %q", tt.in, got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestZkdOnlySecurityKeys(t *testing.T) {
	c := Default()
	if !c.AdminServer().CommandAuth || c.SessionSecretFile() != "" {
		t.Fatalf("defaults: commandAuth %v, sessionSecretFile %q", c.AdminServer().CommandAuth, c.SessionSecretFile())
	}
	c, warnings, err := Parse(strings.NewReader("dataDir=/d\nclientPort=2181\nzkd.admin.commandAuth=false\nzkd.sessionSecretFile=/etc/zkd/secret\n"), "zoo.cfg")
	if err != nil || len(warnings) != 0 {
		t.Fatalf("%v %v", err, warnings)
	}
	if c.AdminServer().CommandAuth || c.SessionSecretFile() != "/etc/zkd/secret" {
		t.Fatalf("from zoo.cfg: commandAuth %v, sessionSecretFile %q", c.AdminServer().CommandAuth, c.SessionSecretFile())
	}
}

func TestLogBatchingTakesEachKeyAndCountsNegativeTimesAsZero(t *testing.T) {
	tests := []struct {
		name  string
		props Properties
		want  LogBatching
	}{
		{"an explicit poll time overrides the third", Properties{"zookeeper.flushDelay": "300", "zookeeper.maxWriteQueuePollTime": "40"},
			LogBatching{FlushDelay: 300 * time.Millisecond, PollTime: 40 * time.Millisecond, MaxBatch: 1000}},
		{"a poll time without flushDelay is kept (and has no effect)", Properties{"zookeeper.maxWriteQueuePollTime": "60"},
			LogBatching{PollTime: 60 * time.Millisecond, MaxBatch: 1000}},
		{"negative times are 0", Properties{"zookeeper.flushDelay": "-5", "zookeeper.maxWriteQueuePollTime": "-1"},
			LogBatching{MaxBatch: 1000}},
		{"maxBatchSize is taken as given", Properties{"zookeeper.maxBatchSize": "7"},
			LogBatching{MaxBatch: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			if err := c.Apply(tt.props); err != nil {
				t.Fatal(err)
			}
			if got := c.LogBatching(); got != tt.want {
				t.Errorf("LogBatching() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// roundTrip checks that c.String() parses back to c.
func roundTrip(t *testing.T, c *Config) {
	t.Helper()
	text := c.String()
	back, _, err := Parse(strings.NewReader(text), c.File)
	if err != nil {
		t.Fatalf("String() output does not parse: %v\n%s", err, text)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("String() output parses to a different Config\ntext:\n%s\ngot:  %#v\nwant: %#v", text, back, c)
	}
}

func TestStringRoundTrip(t *testing.T) {
	texts := []struct{ name, text string }{
		{"a minimal file", "dataDir=/d\n"},
		{"derived defaults that were written out", "dataDir=/d\ndataLogDir=/d\ntickTime=2000\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n"},
		{"a session timeout of -1", "dataDir=/d\nminSessionTimeout=-1\n"},
		{"explicit zero session timeouts", "dataDir=/d\nminSessionTimeout=0\nmaxSessionTimeout=0\n"},
		{"escapes in paths and properties", "dataDir=C:\\\\zk\\\\data\ndataLogDir=/with space/and\\ttab\nsuperUser=a\\nb\n\\#odd\\ key=v\n"},
		{"groups, weights and multiple addresses", "dataDir=/d\ninitLimit=1\nsyncLimit=1\nmultiAddress.enabled=true\n" +
			"server.1=a:1:2|a2:1:2;2181\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=d:1:2:observer\n" +
			"group.1=1:2\ngroup.2=3\nweight.1=2\nweight.2=0\nweight.3=1\n"},
		{"IPv6 addresses", "dataDir=/d\nclientPort=1\nclientPortAddress=[fe80::1%eth0]\ninitLimit=1\nsyncLimit=1\n" +
			"server.1=[::1]:1:2;[::1]:3\nserver.2=[::2]:1:2\n"},
		{"ignored and metrics keys", "dataDir=/d\nsslQuorum=TRUE\njvm.pause.monitor=false\nmetricsProvider.httpPort=7000\nmetricsProvider.=odd\n"},
		{"a dynamic config file", "dataDir=/d\ndynamicConfigFile=/d/zoo.cfg.dynamic.1\nreconfigEnabled=true\n"},
	}
	for _, tt := range texts {
		t.Run("String reads back "+tt.name, func(t *testing.T) {
			c, _ := mustParse(t, tt.text)
			roundTrip(t, c)
		})
	}
	for _, path := range []string{"testdata/zoo_sample.cfg", "testdata/ensemble.cfg", "testdata/observers.cfg"} {
		t.Run("String reads back "+path, func(t *testing.T) {
			c, _, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, c)
		})
	}
	t.Run("String reads back the built-in default", func(t *testing.T) {
		roundTrip(t, Default())
	})
	t.Run("String reads back properties applied from JVMFLAGS", func(t *testing.T) {
		c := Default()
		props, _ := ParseJVMFlags("-Djute.maxbuffer=4194304 -Dzookeeper.skipACL=yes -Dzookeeper.znode.container.maxPerMinute=5")
		if err := c.Apply(props); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c)
	})
}

func TestStringLeavesOutJVMOnlyProperties(t *testing.T) {
	c := Default()
	if err := c.Apply(Properties{"java.net.preferIPv4Stack": "true", "zookeeper.tickTime": "5"}); err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if strings.Contains(s, "preferIPv4Stack") || strings.Count(s, "tickTime") != 1 {
		t.Errorf("String() = %q; want neither JVM-only properties nor a second tickTime", s)
	}
}

func TestStringOfSample(t *testing.T) {
	c, _, err := Load("testdata/zoo_sample.cfg")
	if err != nil {
		t.Fatal(err)
	}
	want := "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/tmp/zookeeper\nclientPort=2181\n"
	if got := c.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}

// FuzzParse checks that Parse never panics, that every error it returns
// is an *Error, and that what it accepts survives String and Parse again.
// Its seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse(bytes.NewReader(data), "zoo.cfg")
		if err != nil {
			for _, e := range flatten(err) {
				var ce *Error
				if !errors.As(e, &ce) {
					t.Fatalf("error %T %q is not an *Error", e, e)
				}
			}
			return
		}
		// The accessors must cope with whatever Parse accepted.
		_, _, _, _ = c.JuteMaxBuffer(), c.JuteMaxBufferExtraSize(), c.FourLetterWhitelist(), c.ContainerCheckInterval()
		_, _, _, _ = c.SnapCount(), c.PreAllocSize(), c.FsyncWarningThreshold(), c.SnapshotCompression()
		_ = c.Standalone()
		roundTrip(t, c)
	})
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// FuzzParseJVMFlags checks that flag parsing never panics and never
// returns a property with an empty name.
func FuzzParseJVMFlags(f *testing.F) {
	f.Add(`-Xmx512m -Djute.maxbuffer=4194304 -Dzookeeper.skipACL=yes "-Dfoo=a b"`)
	f.Add(`-D'a b'="c d" '' -D`)
	f.Fuzz(func(t *testing.T, s string) {
		props, _ := ParseJVMFlags(s)
		for k := range props {
			if k == "" {
				t.Fatalf("empty property name from %q", s)
			}
		}
	})
}

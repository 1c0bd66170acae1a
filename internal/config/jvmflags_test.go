package config

import (
	"reflect"
	"testing"
)

func TestParseJVMFlags(t *testing.T) {
	tests := []struct {
		name        string
		flags       string
		wantProps   Properties
		wantIgnored []string
	}{
		{"defines are taken and other JVM options returned as ignored",
			`-Xmx512m -Djute.maxbuffer=4194304 -Dzookeeper.skipACL=yes "-Dfoo=a b"`,
			Properties{"jute.maxbuffer": "4194304", "zookeeper.skipACL": "yes", "foo": "a b"},
			[]string{"-Xmx512m"}},
		{"quotes may open in the middle of a word",
			`-Dzookeeper.superDigest='super:x y' -XX:+UseG1GC`,
			Properties{"zookeeper.superDigest": "super:x y"},
			[]string{"-XX:+UseG1GC"}},
		{"a define without a value is empty, as in the JVM",
			"-Dreadonlymode.enabled",
			Properties{"readonlymode.enabled": ""}, nil},
		{"the value keeps later equals signs",
			"-Dk=a=b",
			Properties{"k": "a=b"}, nil},
		{"a bare -D or a define without a key is ignored",
			"-D -D=x",
			Properties{}, []string{"-D", "-D=x"}},
		{"the last define of a key wins",
			"-Dk=1\t-Dk=2\n",
			Properties{"k": "2"}, nil},
		{"an unclosed quote runs to the end",
			`-Dk="a b`,
			Properties{"k": "a b"}, nil},
		{"an empty string has nothing", "   ", Properties{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props, ignored := ParseJVMFlags(tt.flags)
			if !reflect.DeepEqual(props, tt.wantProps) {
				t.Errorf("props = %q, want %q", props, tt.wantProps)
			}
			if !reflect.DeepEqual(ignored, tt.wantIgnored) {
				t.Errorf("ignored = %q, want %q", ignored, tt.wantIgnored)
			}
		})
	}
}

func TestParseDefineArgs(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantProps Properties
		wantRest  []string
		wantErr   string
	}{
		{"defines are taken out and other arguments keep their order",
			[]string{"-config", "/etc/zoo.cfg", "-Dzookeeper.snapCount=10", "start", "-Djute.maxbuffer=1"},
			Properties{"zookeeper.snapCount": "10", "jute.maxbuffer": "1"},
			[]string{"-config", "/etc/zoo.cfg", "start"}, ""},
		{"an empty value is allowed",
			[]string{"-Dk="}, Properties{"k": ""}, nil, ""},
		{"a double dash ends the defines",
			[]string{"-Da=1", "--", "-Db=2"}, Properties{"a": "1"}, []string{"--", "-Db=2"}, ""},
		{"a define without '=' is an error naming it",
			[]string{"-Dzookeeper.skipACL"}, nil, nil, `-Dzookeeper.skipACL: malformed, want -Dkey=value`},
		{"every malformed define is reported",
			[]string{"-D", "-D=1", "-Dok=1"}, nil, nil, "-D: malformed, want -Dkey=value\n-D=1: malformed, want -Dkey=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props, rest, err := ParseDefineArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(props, tt.wantProps) || !reflect.DeepEqual(rest, tt.wantRest) {
				t.Errorf("got %q, %q; want %q, %q", props, rest, tt.wantProps, tt.wantRest)
			}
		})
	}
}

func TestJVMFlagsLayerOverZooCfg(t *testing.T) {
	c, _ := mustParse(t, "dataDir=/d\njute.maxbuffer=1000\nskipACL=no\n")
	props, _ := ParseJVMFlags("-Xmx512m -Djute.maxbuffer=4194304 -Dzookeeper.skipACL=yes")
	if err := c.Apply(props); err != nil {
		t.Fatal(err)
	}
	if c.JuteMaxBuffer() != 4194304 || !c.SkipACL() {
		t.Errorf("JuteMaxBuffer() = %d, SkipACL() = %v; want the JVMFLAGS values", c.JuteMaxBuffer(), c.SkipACL())
	}
	cmd, _, err := ParseDefineArgs([]string{"-Djute.maxbuffer=2000000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(cmd); err != nil {
		t.Fatal(err)
	}
	if c.JuteMaxBuffer() != 2000000 {
		t.Errorf("JuteMaxBuffer() = %d; a later Apply (the command line) should win", c.JuteMaxBuffer())
	}
}

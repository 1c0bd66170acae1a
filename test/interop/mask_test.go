package interop

import (
	"regexp"
	"strings"
	"testing"
)

// statLine matches one field of the Stat that zkCli prints ("cZxid = 0x4").
var statLine = regexp.MustCompile(`^(cZxid|mZxid|pZxid|ctime|mtime|ephemeralOwner) = (.*)$`)

// loopbackAddr matches a loopback address with its port, which differs
// between the two servers.
var loopbackAddr = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// epochTime is how zkCli (run with TZ=UTC) prints a time of zero.
const epochTime = "Thu Jan 01 00:00:00 UTC 1970"

// maskVolatile replaces the values in zkCli output that legitimately differ
// between two servers given the same commands: non-zero zxids (cZxid, mZxid,
// pZxid) become <zxid>, times other than zero (ctime, mtime) become <time>,
// non-zero session ids (ephemeralOwner) become <session>, and loopback ports
// become <port>. Zero values are kept: a zero zxid or time marks a node the
// server made itself, and ephemeralOwner 0x0 marks a persistent node, and a
// server must agree on those.
func maskVolatile(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if m := statLine.FindStringSubmatch(l); m != nil {
			field, value := m[1], m[2]
			switch field {
			case "cZxid", "mZxid", "pZxid":
				if value != "0x0" {
					value = "<zxid>"
				}
			case "ctime", "mtime":
				if value != epochTime {
					value = "<time>"
				}
			case "ephemeralOwner":
				if value != "0x0" {
					value = "<session>"
				}
			}
			l = field + " = " + value
		}
		lines[i] = loopbackAddr.ReplaceAllString(l, "127.0.0.1:<port>")
	}
	return strings.Join(lines, "\n")
}

func TestMaskVolatileHidesWhatDiffersBetweenServers(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"zxids become <zxid>",
			"cZxid = 0x4\nmZxid = 0x1c9\npZxid = 0x100000002",
			"cZxid = <zxid>\nmZxid = <zxid>\npZxid = <zxid>"},
		{"times become <time>",
			"ctime = Mon Nov 23 18:26:58 UTC 2026\nmtime = Tue Jan 02 00:00:00 UTC 2024",
			"ctime = <time>\nmtime = <time>"},
		{"a session id becomes <session>",
			"ephemeralOwner = 0x10000021e930020", "ephemeralOwner = <session>"},
		{"zero zxids, the epoch and ephemeralOwner 0x0 are kept",
			"cZxid = 0x0\nctime = Thu Jan 01 00:00:00 UTC 1970\nephemeralOwner = 0x0",
			"cZxid = 0x0\nctime = Thu Jan 01 00:00:00 UTC 1970\nephemeralOwner = 0x0"},
		{"versions and counts are kept",
			"cversion = 2\ndataVersion = 1\naclVersion = 0\ndataLength = 5\nnumChildren = 2",
			"cversion = 2\ndataVersion = 1\naclVersion = 0\ndataLength = 5\nnumChildren = 2"},
		{"a stat-like field inside other text is kept",
			"hello cZxid = 0x4\ncZxid=0x4", "hello cZxid = 0x4\ncZxid=0x4"},
		{"loopback ports become <port>",
			"Connecting to 127.0.0.1:37121 failed", "Connecting to 127.0.0.1:<port> failed"},
		{"data that looks like a zxid is kept", "0x1c9\n[0x4]", "0x1c9\n[0x4]"},
		{"empty text stays empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maskVolatile(tt.in); got != tt.want {
				t.Errorf("maskVolatile(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

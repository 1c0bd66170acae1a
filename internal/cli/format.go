package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zkd/zkd/client"
)

// javaDateLayout is java.util.Date.toString's format, which zkCli.sh uses
// for ctime and mtime: "Mon Nov 23 20:54:18 UTC 2026", in the local zone.
const javaDateLayout = "Mon Jan 02 15:04:05 MST 2006"

// javaDate formats milliseconds since the epoch like java.util.Date.
func javaDate(ms int64) string { return time.UnixMilli(ms).Format(javaDateLayout) }

// printStat writes a Stat in zkCli.sh's layout.
func printStat(w io.Writer, st client.Stat) {
	fmt.Fprintf(w, "cZxid = 0x%x\nctime = %s\nmZxid = 0x%x\nmtime = %s\npZxid = 0x%x\ncversion = %d\ndataVersion = %d\naclVersion = %d\nephemeralOwner = 0x%x\ndataLength = %d\nnumChildren = %d\n",
		uint64(st.Czxid), javaDate(st.Ctime), uint64(st.Mzxid), javaDate(st.Mtime), uint64(st.Pzxid),
		st.Cversion, st.Version, st.Aversion, uint64(st.EphemeralOwner), st.DataLength, st.NumChildren)
}

// statJSON is a Stat for -json output, under zkCli.sh's field names, with
// times also given as RFC 3339 text.
type statJSON struct {
	Czxid          string `json:"cZxid"`
	Ctime          int64  `json:"ctime"`
	CtimeText      string `json:"ctimeText"`
	Mzxid          string `json:"mZxid"`
	Mtime          int64  `json:"mtime"`
	MtimeText      string `json:"mtimeText"`
	Pzxid          string `json:"pZxid"`
	Cversion       int32  `json:"cversion"`
	DataVersion    int32  `json:"dataVersion"`
	AclVersion     int32  `json:"aclVersion"`
	EphemeralOwner string `json:"ephemeralOwner"`
	DataLength     int32  `json:"dataLength"`
	NumChildren    int32  `json:"numChildren"`
}

func toStatJSON(st client.Stat) *statJSON {
	return &statJSON{
		Czxid: hexString(st.Czxid), Ctime: st.Ctime, CtimeText: time.UnixMilli(st.Ctime).UTC().Format(time.RFC3339Nano),
		Mzxid: hexString(st.Mzxid), Mtime: st.Mtime, MtimeText: time.UnixMilli(st.Mtime).UTC().Format(time.RFC3339Nano),
		Pzxid: hexString(st.Pzxid), Cversion: st.Cversion, DataVersion: st.Version, AclVersion: st.Aversion,
		EphemeralOwner: hexString(st.EphemeralOwner), DataLength: st.DataLength, NumChildren: st.NumChildren,
	}
}

func hexString(v int64) string { return "0x" + strconv.FormatUint(uint64(v), 16) }

// javaString decodes bytes as Java's new String(bytes, UTF_8) does: each
// byte that is not part of a valid UTF-8 sequence becomes U+FFFD.
func javaString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			sb.WriteRune(utf8.RuneError)
			b = b[1:]
			continue
		}
		sb.Write(b[:n])
		b = b[n:]
	}
	return sb.String()
}

// permString writes perms in zkCli.sh's order: c d r w a.
func permString(p client.Perm) string {
	var b strings.Builder
	for _, x := range []struct {
		bit client.Perm
		c   byte
	}{{client.PermCreate, 'c'}, {client.PermDelete, 'd'}, {client.PermRead, 'r'}, {client.PermWrite, 'w'}, {client.PermAdmin, 'a'}} {
		if p&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// parseACL reads zkCli.sh's ACL syntax, "scheme:id:perms[,...]". Entries
// without two colons and unknown permission letters are reported on warn
// and skipped, as zkCli.sh does.
func parseACL(s string, warn io.Writer) []client.ACL {
	var acl []client.ACL
	for _, a := range strings.Split(s, ",") {
		first, last := strings.IndexByte(a, ':'), strings.LastIndexByte(a, ':')
		if first < 0 || first == last {
			fmt.Fprintf(warn, "%s does not have the form scheme:id:perm\n", a)
			continue
		}
		var perms client.Perm
		for _, c := range a[last+1:] {
			switch c {
			case 'r':
				perms |= client.PermRead
			case 'w':
				perms |= client.PermWrite
			case 'c':
				perms |= client.PermCreate
			case 'd':
				perms |= client.PermDelete
			case 'a':
				perms |= client.PermAdmin
			default:
				fmt.Fprintf(warn, "Unknown perm type: %c\n", c)
			}
		}
		acl = append(acl, client.ACL{Scheme: a[:first], ID: a[first+1 : last], Perms: perms})
	}
	return acl
}

// validatePath checks a path as ZooKeeper's client does before sending it
// (PathUtils.validatePath), with zkCli.sh's messages.
func validatePath(path string, sequential bool) error {
	if path == "" {
		return errorf("Path length must be > 0")
	}
	if path[0] != '/' {
		return errorf("Path must start with / character")
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' && !sequential {
		return errorf("Path must not end with / character")
	}
	bad := func(i int, why string) error {
		return errorf("Invalid path string \"%s\" caused by %s @%d", path, why, i)
	}
	runes := []rune(path)
	for i := 1; i < len(runes); i++ {
		c, last := runes[i], runes[i-1]
		switch {
		case c == 0:
			return bad(i, "null character not allowed")
		case c == '/' && last == '/':
			return bad(i, "empty node name specified")
		case c == '.' && last == '.' && runes[i-2] == '/' && (i+1 == len(runes) || runes[i+1] == '/'):
			return bad(i, "relative paths not allowed")
		case c == '.' && last == '/' && (i+1 == len(runes) || runes[i+1] == '/'):
			return bad(i, "relative paths not allowed")
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0 && c <= 0xffff:
			return bad(i, "invalid character")
		}
	}
	return nil
}

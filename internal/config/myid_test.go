package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadMyID(t *testing.T) {
	tests := []struct {
		name    string
		content *string // nil: no file
		want    int64
		wantErr string // after the "<dir>/myid" prefix
	}{
		{"a plain number is the id", ptr("3"), 3, ""},
		{"the trailing newline is dropped", ptr("3\n"), 3, ""},
		{"a CRLF line ending is dropped", ptr("7\r\n"), 7, ""},
		{"only the first line counts", ptr("4\nignored\n"), 4, ""},
		{"a missing file is an error", nil, 0, ": myid: myid file is missing"},
		{"an empty file is an error", ptr(""), 0, `:1: myid: not a number: ""`},
		{"a leading blank is an error, as in ZooKeeper", ptr(" 3\n"), 0, `:1: myid: not a number: " 3"`},
		{"a trailing blank is an error, as in ZooKeeper", ptr("3 \n"), 0, `:1: myid: not a number: "3 "`},
		{"Debian's placeholder text is an error", ptr("replace this text with the cluster-unique zookeeper's instance id (1-255)\n"), 0,
			`:1: myid: not a number: "replace this text with the cluster-unique zookeeper's instance id (1-255)"`},
		{"a negative id is an error", ptr("-1"), 0, `:1: myid: negative server id: "-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != nil {
				writeFile(t, filepath.Join(dir, "myid"), *tt.content)
			}
			got, err := ReadMyID(dir)
			if tt.wantErr != "" {
				if want := filepath.Join(dir, "myid") + tt.wantErr; err == nil || err.Error() != want {
					t.Fatalf("error %v, want %s", err, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ReadMyID = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestReadMyIDMissingFileIsNotExist(t *testing.T) {
	_, err := ReadMyID(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not satisfy errors.Is(err, fs.ErrNotExist)", err)
	}
}

func TestLoadMyID(t *testing.T) {
	const ensemble = "initLimit=5\nsyncLimit=2\n" +
		"server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\nserver.3=127.0.0.1:2890:3890;2183\n"
	tests := []struct {
		name     string
		cfg      string
		myid     *string
		wantErr  string // with "<dir>" for the data directory
		wantID   int64
		wantPort int
		wantAddr string
		wantType string
	}{
		{"standalone without a myid file is fine", "clientPort=2181\n", nil, "", 0, 2181, "", "participant"},
		{"standalone ignores a myid that is not a number", "clientPort=2181\n", ptr("replace me\n"), "", 0, 2181, "", "participant"},
		{"standalone takes a valid myid", "clientPort=2181\n", ptr("9\n"), "", 9, 2181, "", "participant"},
		{"an ensemble needs the myid file", ensemble, nil, "<dir>/myid: myid: myid file is missing", 0, 0, "", ""},
		{"an ensemble rejects a malformed myid", ensemble, ptr("x"), `<dir>/myid:1: myid: not a number: "x"`, 0, 0, "", ""},
		{"the id must be in the peer list", ensemble, ptr("4"), "zoo.cfg: myid: my id 4 (from <dir>/myid) is not in the peer list", 0, 0, "", ""},
		{"the server line's client part sets the client port", ensemble, ptr("2"), "", 2, 2182, "", "participant"},
		{"a matching clientPort is accepted", "clientPort=2182\n" + ensemble, ptr("2"), "", 2, 2182, "", "participant"},
		{"a wildcard clientPortAddress only needs the same port", "clientPort=2182\nclientPortAddress=0.0.0.0\n" + ensemble, ptr("2"), "", 2, 2182, "", "participant"},
		{"a clientPort that differs from the server line is an error", "clientPort=2181\n" + ensemble, ptr("2"),
			"zoo.cfg: server.2: client address 0.0.0.0:2182 differs from clientPort 2181", 0, 0, "", ""},
		{"a specific clientPortAddress must match the server line exactly", "clientPort=2182\nclientPortAddress=10.0.0.1\n" + ensemble, ptr("2"),
			"zoo.cfg: server.2: client address 0.0.0.0:2182 differs from clientPortAddress and clientPort 10.0.0.1:2182", 0, 0, "", ""},
		{"the static client port is kept when the server line has none",
			"clientPort=2181\nclientPortAddress=127.0.0.1\ninitLimit=5\nsyncLimit=2\nserver.1=h1:1:2\nserver.2=h2:1:2\n", ptr("1"), "", 1, 2181, "127.0.0.1", "participant"},
		{"the server line's host becomes the client address",
			"initLimit=5\nsyncLimit=2\nserver.1=h1:1:2;10.0.0.1:2181\nserver.2=h2:1:2\n", ptr("1"), "", 1, 2181, "10.0.0.1", "participant"},
		{"the role in the server list wins over peerType",
			"peerType=participant\ninitLimit=5\nsyncLimit=2\nserver.1=h1:1:2\nserver.2=h2:1:2\nserver.3=h3:1:2:observer\n", ptr("3"), "", 3, 0, "", "observer"},
		{"ids above 254 are refused with extended types",
			"extendedTypesEnabled=true\n" + ensemble + "server.255=127.0.0.1:2891:3891\n", ptr("255"),
			"zoo.cfg: myid: server id 255 is above 254, the largest allowed with zookeeper.extendedTypesEnabled=true", 0, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c, _ := mustParse(t, "dataDir="+escapeValue(dir)+"\n"+tt.cfg)
			if tt.myid != nil {
				writeFile(t, filepath.Join(dir, "myid"), *tt.myid)
			}
			before := *c
			err := c.LoadMyID()
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "<dir>", dir)
				if err == nil || err.Error() != want {
					t.Fatalf("error:\n%v\nwant:\n%s", err, want)
				}
				if !reflect.DeepEqual(*c, before) {
					t.Error("a failed LoadMyID changed the Config")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.MyID != tt.wantID || c.ClientPort != tt.wantPort || c.ClientPortAddress != tt.wantAddr || c.PeerType != tt.wantType {
				t.Errorf("MyID, ClientPort, ClientPortAddress, PeerType = %d, %d, %q, %q; want %d, %d, %q, %q",
					c.MyID, c.ClientPort, c.ClientPortAddress, c.PeerType, tt.wantID, tt.wantPort, tt.wantAddr, tt.wantType)
			}
		})
	}
}

func TestSetMyIDWarnings(t *testing.T) {
	c, _ := mustParse(t, "dataDir=/d\ninitLimit=5\nsyncLimit=2\nserver.1=h1:1:2\nserver.2=h2:1:2:observer\nserver.3=h3:1:2\nserver.300=h4:1:2\n")
	tests := []struct {
		name string
		id   int64
		want []string
	}{
		{"a participant whose peerType agrees draws no warning", 1, nil},
		{"an observer listed as participant by peerType draws a warning", 2,
			[]string{"zoo.cfg: peerType: peerType participant differs from the role observer in server.2; using observer"}},
		{"an id above 255 draws a warning", 300,
			[]string{"/d/myid: myid: server id 300 does not fit the top byte of session ids; keep it at most 255"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := *c
			warns, err := cc.SetMyID(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if got := warningStrings(warns); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("warnings %q, want %q", got, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

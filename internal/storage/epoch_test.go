package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

const epochDir = "/data/version-2"

// putEpochFiles writes raw epoch file contents (name → text) into m.
func putEpochFiles(t *testing.T, m *MemFS, files map[string]string) {
	t.Helper()
	if err := m.MkdirAll(epochDir); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		f, err := m.Create(filepath.Join(epochDir, name))
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(text))
		f.Sync()
		f.Close()
	}
	m.SyncDir(epochDir)
}

func TestEpochFileHoldsTheDecimalValueAndNothingElse(t *testing.T) {
	// ZooKeeper 3.8 was observed writing the single byte 0x31 for epoch 1.
	dir := t.TempDir()
	if err := WriteEpoch(OS{}, dir, CurrentEpochFile, 1); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, CurrentEpochFile))
	if err != nil || string(b) != "1" {
		t.Fatalf("file holds %q (%v), want \"1\"", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, CurrentEpochFile+".tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	for _, tc := range []struct {
		text string
		want int64
	}{{"1", 1}, {"31", 31}, {"4294967295", 4294967295}, {"1\n", 1}, {"7\r\n", 7}, {"-1", -1}} {
		os.WriteFile(filepath.Join(dir, AcceptedEpochFile), []byte(tc.text), 0o644)
		got, ok, err := ReadEpoch(OS{}, dir, AcceptedEpochFile)
		if err != nil || !ok || got != tc.want {
			t.Errorf("ReadEpoch of %q = %d, %v, %v; want %d", tc.text, got, ok, err, tc.want)
		}
	}
}

func TestReadEpochOfAMissingFileIsNotAnError(t *testing.T) {
	_, ok, err := ReadEpoch(NewMemFS(), "/nowhere", CurrentEpochFile)
	if ok || err != nil {
		t.Fatalf("ok=%v err=%v, want false, nil", ok, err)
	}
}

func TestReadEpochRejectsGarbageNamingTheFile(t *testing.T) {
	for _, text := range []string{"", "abc", "0x1", "1 2", "1\n\n", " 1", "99999999999999999999"} {
		m := NewMemFS()
		putEpochFiles(t, m, map[string]string{CurrentEpochFile: text})
		_, _, err := ReadEpoch(m, epochDir, CurrentEpochFile)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(epochDir, CurrentEpochFile)) {
			t.Errorf("ReadEpoch of %q: error %v, want one naming the file", text, err)
		}
	}
}

func TestWrittenEpochSurvivesACrash(t *testing.T) {
	m := NewMemFS()
	if err := WriteEpoch(m, epochDir, AcceptedEpochFile, 5); err != nil {
		t.Fatal(err)
	}
	got, ok, err := ReadEpoch(m.CrashClone(nil), epochDir, AcceptedEpochFile)
	if got != 5 || !ok || err != nil {
		t.Fatalf("after a crash: %d, %v, %v", got, ok, err)
	}
}

func TestLoadEpochs(t *testing.T) {
	cur, acc, curTmp := CurrentEpochFile, AcceptedEpochFile, CurrentEpochFile+".tmp"
	for _, tc := range []struct {
		name     string
		files    map[string]string
		lastZxid jute.Zxid
		// wantAcc and wantCur are the results; after, the files then.
		wantAcc, wantCur int64
		after            map[string]string
		wantErr          []string // substrings of the error
	}{
		{name: "a standalone dataDir gets both files from the last zxid's epoch",
			lastZxid: jute.MakeZxid(2, 7), wantAcc: 2, wantCur: 2,
			after: map[string]string{acc: "2", cur: "2"}},
		{name: "an empty database gets epoch 0",
			lastZxid: 0, wantAcc: 0, wantCur: 0,
			after: map[string]string{acc: "0", cur: "0"}},
		{name: "existing files are read and left alone",
			files:    map[string]string{acc: "4", cur: "3"},
			lastZxid: jute.MakeZxid(3, 1), wantAcc: 4, wantCur: 3,
			after: map[string]string{acc: "4", cur: "3"}},
		{name: "a missing accepted epoch created below the current epoch is fatal",
			files:    map[string]string{cur: "3"},
			lastZxid: jute.MakeZxid(2, 9), wantErr: []string{"accepted epoch 2", "older than the current epoch 3"}},
		{name: "a missing current epoch alone is created",
			files:    map[string]string{acc: "6"},
			lastZxid: jute.MakeZxid(5, 1), wantAcc: 6, wantCur: 5,
			after: map[string]string{acc: "6", cur: "5"}},
		{name: "a current epoch older than the log is repaired from currentEpoch.tmp",
			files:    map[string]string{acc: "2", cur: "1", curTmp: "2"},
			lastZxid: jute.MakeZxid(2, 3), wantAcc: 2, wantCur: 2,
			after: map[string]string{acc: "2", cur: "2"}},
		{name: "a current epoch older than the log without currentEpoch.tmp is fatal",
			files:    map[string]string{acc: "2", cur: "1"},
			lastZxid: jute.MakeZxid(2, 3),
			wantErr:  []string{"current epoch 1", filepath.Join(epochDir, cur), "0x200000003", "currentEpoch.tmp"}},
		{name: "an accepted epoch older than the current one is fatal",
			files:    map[string]string{acc: "1", cur: "2"},
			lastZxid: jute.MakeZxid(2, 3),
			wantErr:  []string{"accepted epoch 1", filepath.Join(epochDir, acc), "current epoch 2"}},
		{name: "a garbage current epoch is fatal",
			files:    map[string]string{acc: "1", cur: "one"},
			lastZxid: jute.MakeZxid(1, 3),
			wantErr:  []string{filepath.Join(epochDir, cur), `"one"`}},
		{name: "a garbage currentEpoch.tmp is fatal",
			files:    map[string]string{acc: "2", cur: "1", curTmp: ""},
			lastZxid: jute.MakeZxid(2, 3),
			wantErr:  []string{filepath.Join(epochDir, curTmp)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemFS()
			putEpochFiles(t, m, tc.files)
			gotAcc, gotCur, err := LoadEpochs(m, epochDir, tc.lastZxid)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("got %d, %d; want an error", gotAcc, gotCur)
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if gotAcc != tc.wantAcc || gotCur != tc.wantCur {
				t.Fatalf("accepted, current = %d, %d; want %d, %d", gotAcc, gotCur, tc.wantAcc, tc.wantCur)
			}
			// What was written is durable, and no temporary file is left.
			if got := contents(t, m.CrashClone(nil), epochDir); len(got) != len(tc.after) || !mapsEqual(got, tc.after) {
				t.Fatalf("files after a crash: %q, want %q", got, tc.after)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return len(a) == len(b)
}

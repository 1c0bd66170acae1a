package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

func TestSessionSecretIsMadeOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadSessionSecret(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || len(first.Secret) != SessionSecretLen || len(first.Legacy) != 0 {
		t.Fatalf("first start: %+v", first)
	}
	fi, err := os.Stat(filepath.Join(dir, SessionSecretFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	again, err := LoadSessionSecret(dir, nil, []jute.SessionID{5})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || !bytes.Equal(again.Secret, first.Secret) || len(again.Legacy) != 0 {
		t.Fatalf("restart: %+v, want the same secret and no legacy session", again)
	}
	if other, _ := LoadSessionSecret(t.TempDir(), nil, nil); bytes.Equal(other.Secret, first.Secret) {
		t.Fatal("two dataDirs got the same secret")
	}
}

func TestSessionsLiveBeforeTheFirstSecretKeepZooKeepersPasswords(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadSessionSecret(dir, nil, []jute.SessionID{9, 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Legacy, []jute.SessionID{3, 9}) {
		t.Fatalf("legacy = %v", s.Legacy)
	}
	// 3 expired meanwhile, 12 is new: only 9 stays legacy.
	s, err = LoadSessionSecret(dir, nil, []jute.SessionID{9, 12})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Legacy, []jute.SessionID{9}) {
		t.Fatalf("legacy after restart = %v", s.Legacy)
	}
	b, _ := os.ReadFile(filepath.Join(dir, SessionLegacyFile))
	if strings.Contains(string(b), "0x3\n") || !strings.Contains(string(b), "0x9\n") {
		t.Fatalf("legacy file not pruned:\n%s", b)
	}
}

func TestANewSecretDoesNotMakeSessionsOfTheOldOneLegacy(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadSessionSecret(dir, nil, []jute.SessionID{1}); err != nil {
		t.Fatal(err)
	}
	shared := bytes.Repeat([]byte{4}, SessionSecretLen)
	s, err := LoadSessionSecret(dir, shared, []jute.SessionID{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Legacy, []jute.SessionID{1}) || !bytes.Equal(s.Secret, bytes.Repeat([]byte{4}, SessionSecretLen)) || s.Created {
		t.Fatalf("%+v: want the shared secret, and only session 1 legacy", s)
	}
}

func TestASharedSecretUsedFirstRecordsTheLiveSessions(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadSessionSecret(dir, bytes.Repeat([]byte{4}, SessionSecretLen), []jute.SessionID{7})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Legacy, []jute.SessionID{7}) {
		t.Fatalf("legacy = %v", s.Legacy)
	}
	if _, err := os.Stat(filepath.Join(dir, SessionSecretFile)); err == nil {
		t.Fatal("a dataDir secret was made although a shared one is configured")
	}
}

func TestBadSessionSecretFilesAreRefusedWithTheirName(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc"), 0o600)
	for _, tt := range []struct{ name, path, want string }{
		{"a missing secret file", filepath.Join(dir, "nope"), "nope"},
		{"a secret file of the wrong size", short, "holds 3 bytes, want exactly 32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadSessionSecret(tt.path); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	for _, tt := range []struct{ name, legacy, want string }{
		{"a legacy list with garbage", "secret 00\nbanana\n", SessionLegacyFile + ":2"},
		{"a legacy list without its secret line", "0x1\n", "no \"secret\" line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			os.WriteFile(filepath.Join(data, SessionLegacyFile), []byte(tt.legacy), 0o644)
			_, err := LoadSessionSecret(data, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if _, serr := os.Stat(filepath.Join(data, SessionSecretFile)); serr == nil {
				t.Fatal("a secret was written although loading failed")
			}
		})
	}
}

func FuzzDecodeLegacy(f *testing.F) {
	f.Add(encodeLegacy("0011223344556677", []jute.SessionID{1, 0x100006ddd710004}))
	f.Add([]byte("secret 00\nbanana\n"))
	f.Add([]byte("0x1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fp, ids, err := decodeLegacy("zkd-session-legacy", b)
		if err != nil {
			return
		}
		// What decodes encodes back to the same list.
		fp2, ids2, err := decodeLegacy("again", encodeLegacy(fp, ids))
		if err != nil || fp2 != fp || !slices.Equal(ids, ids2) {
			t.Fatalf("round trip of %q: %q %v %v", b, fp2, ids2, err)
		}
	})
}

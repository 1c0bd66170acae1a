package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/server"
)

var fixtureLogs = filepath.Join("..", "..", "..", "shared", "testdata", "zk38-basic", "version-2")

func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestVersionPrintsTheZooKeeperReleaseItSpeaks(t *testing.T) {
	out, _, err := runCmd(t, "version")
	if err != nil || !strings.HasPrefix(out, "zkd 3.8.0-") {
		t.Fatalf("%q %v", out, err)
	}
}

func TestBadConfigNamesFileLineAndKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "zoo.cfg")
	os.WriteFile(cfg, []byte("dataDir=/tmp/x\nclientPort=2181\ntickTime=abc\n"), 0o644)
	_, _, err := runCmd(t, "server", cfg)
	if err == nil || !strings.Contains(err.Error(), "zoo.cfg:3") || !strings.Contains(err.Error(), "tickTime") {
		t.Fatalf("err %v", err)
	}
}

func TestLogDumpPrintsOneLinePerTransaction(t *testing.T) {
	out, _, err := runCmd(t, "log", "dump", filepath.Join(fixtureLogs, "log.6b"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 || !strings.Contains(lines[0], "zxid 0x6b delete /app/many/n51") ||
		!strings.Contains(lines[4], "createSession timeout=10000ms") || lines[6] != "EOF reached after 6 txns." {
		t.Fatalf("dump:\n%s", out)
	}
	js, _, err := runCmd(t, "log", "dump", "--json", filepath.Join(fixtureLogs, "log.6b"))
	if err != nil || strings.Count(js, "\n") != 6 || !strings.Contains(js, `"zxid":"0x6b"`) {
		t.Fatalf("json dump %v:\n%s", err, js)
	}
}

func TestLogCheckReportsTheFirstBadOffset(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(fixtureLogs, "log.26"))
	if err != nil {
		t.Fatal(err)
	}
	b[200] ^= 0xff
	bad := filepath.Join(t.TempDir(), "log.26")
	os.WriteFile(bad, b, 0o644)
	out, _, err := runCmd(t, "log", "check", filepath.Join(fixtureLogs, "log.1"), bad)
	if err == nil || !strings.Contains(out, "log.1: ok, 37 transactions") || !strings.Contains(out, bad+": BAD:") || !strings.Contains(out, "corrupt at offset") {
		t.Fatalf("check %v:\n%s", err, out)
	}
}

func TestSnapshotDumpSummarisesAZooKeeperSnapshot(t *testing.T) {
	out, _, err := runCmd(t, "snapshot", "dump", filepath.Join(fixtureLogs, "snapshot.69"))
	if err != nil || !strings.Contains(out, "zxid: 0x69\nznodes: 66\nephemerals: 2\n") || !strings.Contains(out, "digest: matches") {
		t.Fatalf("%v:\n%s", err, out)
	}
	js, _, err := runCmd(t, "snapshot", "dump", "--json", "--detail", filepath.Join(fixtureLogs, "snapshot.24"))
	if err != nil || !strings.Contains(js, `"path": "/app/big"`) || !strings.Contains(js, `"nodes": 31`) {
		t.Fatalf("%v:\n%.400s", err, js)
	}
}

func TestSnapshotCheckNamesTheBadOffset(t *testing.T) {
	b, _ := os.ReadFile(filepath.Join(fixtureLogs, "snapshot.24"))
	b[5000] ^= 0x55
	bad := filepath.Join(t.TempDir(), "snapshot.24")
	os.WriteFile(bad, b, 0o644)
	out, _, err := runCmd(t, "snapshot", "check", bad)
	if err == nil || !strings.Contains(out, "BAD") || !strings.Contains(out, "offset") {
		t.Fatalf("%v:\n%s", err, out)
	}
}

func TestPurgeKeepsAtLeastThreeSnapshots(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "version-2"), 0o755)
	for _, f := range []string{"snapshot.0", "snapshot.24", "snapshot.4b", "snapshot.69", "log.1", "log.26", "log.4d", "log.6b"} {
		b, _ := os.ReadFile(filepath.Join(fixtureLogs, f))
		os.WriteFile(filepath.Join(dir, "version-2", f), b, 0o644)
	}
	out, _, err := runCmd(t, "purge", "-n", "1", dir)
	if err != nil {
		t.Fatal(err)
	}
	// Keeping 3 (the minimum): 0x24, 0x4b, 0x69; log.1 holds 0x25.. and stays.
	if strings.TrimSpace(out) != "deleted "+filepath.Join(dir, "version-2", "snapshot.0") {
		t.Fatalf("purge said:\n%s", out)
	}
}

func TestStatusAndFourLetterTalkToARunningServer(t *testing.T) {
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	s, err := server.New(cfg, server.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := s.Addr().String()
	out, _, err := runCmd(t, "status", addr)
	if err != nil || !strings.Contains(out, "Mode: standalone\nZxid: 0x0\n") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	out, _, err = runCmd(t, "4lw", addr, "ruok")
	if err != nil || out != "imok\n" {
		t.Fatalf("4lw ruok: %q %v", out, err)
	}
	out, _, err = runCmd(t, "4lw", addr, "mntr")
	if err != nil || !strings.HasPrefix(out, "zk_version\t") {
		t.Fatalf("4lw mntr: %.200q %v", out, err)
	}
	s.Close()
	if _, _, err := runCmd(t, "status", addr); err == nil {
		t.Fatal("status of a stopped server succeeded")
	}
}

//go:build linux

package peer

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/testcluster"
)

// Interop with a real Apache ZooKeeper 3.8 quorum server (skipped without
// Java unless ZKD_REQUIRE_INTEROP=1): a three-server ensemble in which the
// Java server is one member, a CnxManager plays another and the third is
// never started. The Java server is LOOKING for ever (one vote of three), so
// it keeps sending election notifications, which must reach the CnxManager
// over one link set up by ZooKeeper's tie-break rule.

// javaNotificationLen is the length of a version-2 notification from a
// server whose config has three "server.N=127.0.0.1:PPPPP:PPPPP:participant"
// lines with five-digit ports and version 0 (storage spec §4.3, observed).
const javaNotificationLen = 182

func TestCnxManagerInteropWithApacheZooKeeper(t *testing.T) {
	tests := []struct{ javaSid, goSid int64 }{
		{javaSid: 1, goSid: 2}, // Java dials, closes after its header; we dial back
		{javaSid: 2, goSid: 1}, // Java dials and keeps the connection
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("Java is sid %d, zkd is sid %d", tt.javaSid, tt.goSid), func(t *testing.T) {
			testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
			noCnxLeaks(t)
			m := startCnxManager(t, tt.goSid, "", nil)

			// Ports: each must have five digits for the 182-byte length.
			port := func() int {
				for {
					if p := testcluster.FreePort(t); p >= 10000 {
						return p
					}
				}
			}
			javaElection := fmt.Sprintf("127.0.0.1:%d", port())
			deadElection := fmt.Sprintf("127.0.0.1:%d", port())
			servers := map[int64]string{
				tt.javaSid: fmt.Sprintf("127.0.0.1:%d:%s", port(), strings.TrimPrefix(javaElection, "127.0.0.1:")),
				tt.goSid:   fmt.Sprintf("127.0.0.1:%d:%s", port(), strings.TrimPrefix(m.Addr(), "127.0.0.1:")),
				3:          fmt.Sprintf("127.0.0.1:%d:%s", port(), strings.TrimPrefix(deadElection, "127.0.0.1:")),
			}
			m.SetPeers(map[int64]string{tt.javaSid: javaElection, 3: deadElection})
			startJavaQuorumPeer(t, tt.javaSid, port(), servers)

			// Java's notifications arrive as 182-byte frames, state LOOKING.
			var round uint64
			deadline := time.After(60 * time.Second)
			for round == 0 {
				select {
				case msg := <-m.Recv():
					if msg.From != tt.javaSid {
						t.Fatalf("message from sid %d, want only the Java server's (%d)", msg.From, tt.javaSid)
					}
					if len(msg.Data) != javaNotificationLen {
						t.Fatalf("Java notification of %d bytes, want %d: %x", len(msg.Data), javaNotificationLen, msg.Data)
					}
					if state := binary.BigEndian.Uint32(msg.Data); state != 0 {
						t.Fatalf("Java notification state %d, want 0 (LOOKING)", state)
					}
					round = binary.BigEndian.Uint64(msg.Data[20:])
				case <-deadline:
					t.Fatal("no election notification from the Java server within 60 s")
				}
			}

			// One link, dialled by the larger sid.
			_, _, dialled, ok := m.linkInfo(tt.javaSid)
			if !ok {
				t.Fatal("no live link to the Java server after receiving from it")
			}
			if want := tt.goSid > tt.javaSid; dialled != want {
				t.Fatalf("link to the Java server dialled by us: %v, want %v (the larger sid dials)", dialled, want)
			}
			cnxWaitFor(t, "the link to the Java server to be the only socket", func() bool { return m.openConns() == 1 })

			// The other direction: a vote for us that beats the Java
			// server's own (higher zxid), in its round, 40 bytes long with
			// format version 0 (no config). Java adopts it and proposes us.
			// (A 36-byte message, without the version field, is logged by
			// Java as "partial / malformed" and skipped.)
			vote := make([]byte, 0, 40)
			vote = binary.BigEndian.AppendUint32(vote, 0)                // state LOOKING
			vote = binary.BigEndian.AppendUint64(vote, uint64(tt.goSid)) // proposed leader
			vote = binary.BigEndian.AppendUint64(vote, 1)                // proposed zxid
			vote = binary.BigEndian.AppendUint64(vote, round)            // election round
			vote = binary.BigEndian.AppendUint64(vote, 0)                // peer epoch
			vote = binary.BigEndian.AppendUint32(vote, 0)                // format version
			m.Send(tt.javaSid, vote)
			for {
				select {
				case msg := <-m.Recv():
					if msg.From == tt.javaSid && len(msg.Data) >= 12 && int64(binary.BigEndian.Uint64(msg.Data[4:])) == tt.goSid {
						return // Java now proposes us: it read our message
					}
				case <-deadline:
					t.Fatal("the Java server never proposed us after our vote; it did not get our message")
				}
			}
		})
	}
}

// startJavaQuorumPeer runs Apache ZooKeeper's QuorumPeerMain as server sid
// of the ensemble servers (sid → "host:quorumPort:electionPort"), with its
// files in a temporary directory, and kills its process group when the test
// ends. It does not wait for the server: a lone member of three never
// serves clients.
func startJavaQuorumPeer(t *testing.T, sid int64, clientPort int, servers map[int64]string) {
	t.Helper()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "myid"), []byte(fmt.Sprintf("%d\n", sid)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := []string{
		"tickTime=2000",
		"initLimit=5",
		"syncLimit=2",
		"dataDir=" + dataDir,
		fmt.Sprintf("clientPort=%d", clientPort),
		"clientPortAddress=127.0.0.1",
		"admin.enableServer=false",
		"4lw.commands.whitelist=*",
	}
	for id := int64(1); id <= 3; id++ {
		cfg = append(cfg, fmt.Sprintf("server.%d=%s", id, servers[id]))
	}
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(strings.Join(cfg, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log4j := filepath.Join(dir, "log4j.properties")
	const log4jConfig = "log4j.rootLogger=INFO, OUT\n" +
		"log4j.appender.OUT=org.apache.log4j.ConsoleAppender\n" +
		"log4j.appender.OUT.layout=org.apache.log4j.PatternLayout\n" +
		"log4j.appender.OUT.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] %m%n\n"
	if err := os.WriteFile(log4j, []byte(log4jConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	classpath := testcluster.ZooKeeperJar
	for _, jar := range []string{"/usr/share/java/slf4j-log4j12.jar", "/usr/share/java/log4j-1.2.jar"} {
		if _, err := os.Stat(jar); err == nil {
			classpath += ":" + jar
		}
	}
	logPath := filepath.Join(dir, "zookeeper.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Djava.awt.headless=true",
		"-Dlog4j.configuration=file:"+log4j, "-cp", classpath,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", cfgPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, killed as a whole; and killed by the kernel
	// if the test binary dies without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := testcluster.StartChild(cmd); err != nil {
		logFile.Close()
		t.Fatalf("start Apache ZooKeeper quorum peer: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			if len(lines) > 60 {
				lines = lines[len(lines)-60:]
			}
			t.Logf("--- last lines of %s ---\n%s", logPath, strings.Join(lines, "\n"))
		}
	})
}

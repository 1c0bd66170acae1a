package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/testcluster"
)

// quorumJAAS is a JAAS file for quorum SASL with DIGEST-MD5, as ZooKeeper's
// guides write it: the users a server accepts (QuorumServer) and the
// credentials it logs in with (QuorumLearner).
func quorumJAAS(learnerPassword string) string {
	return `QuorumServer {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_quorum="quorum-secret";
};
QuorumLearner {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="quorum"
       password="` + learnerPassword + `";
};
`
}

// quorumSASLKeys are the zoo.cfg lines that make every server authenticate
// to the others and refuse servers that do not.
var quorumSASLKeys = []string{
	"quorum.auth.enableSasl=true",
	"quorum.auth.learnerRequireSasl=true",
	"quorum.auth.serverRequireSasl=true",
}

func TestQuorumSASLWithApacheServers(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	jaas := filepath.Join(t.TempDir(), "jaas.conf")
	if err := os.WriteFile(jaas, []byte(quorumJAAS("quorum-secret")), 0o600); err != nil {
		t.Fatal(err)
	}
	flag := "-Djava.security.auth.login.config=" + jaas
	// As in the TLS test: zk2 (zkd) leads first with the Java server
	// following, then zk3 (Java) leads with zkd following.
	e := startMixedWith(t, testcluster.EnsembleOptions{
		Members:     []testcluster.Kind{zkd, zkd, apache},
		ExtraConfig: quorumSASLKeys,
		JVMFlags:    []string{flag},
		ZkdFlags:    []string{flag},
	})
	want := replicateAcrossAFailover(t, e, "/sasl", "servers authenticate each other with SASL", func(*testcluster.Member) {})
	logMark{e.Server(3), 0}.requireLogged(t, "a zkd server authenticated to the Java one",
		"Successfully completed the authentication using SASL")

	// zk1 (zkd) restarts with a wrong password: the others refuse it.
	z1 := e.Server(1)
	z1.Kill()
	if err := os.WriteFile(jaas, []byte(quorumJAAS("guess")), 0o600); err != nil {
		t.Fatal(err)
	}
	marks := map[int]logMark{}
	for _, m := range e.Servers() {
		marks[m.ID] = markLog(m)
	}
	z1.Restart(t)
	waitFor(t, "a server to refuse the wrong password", func() bool {
		for id, mk := range marks {
			if id == z1.ID {
				continue
			}
			s := mk.since()
			if strings.Contains(s, "failed SASL") || strings.Contains(s, "Failed to authenticate using SASL") {
				return true
			}
		}
		return false
	})
	if mode, err := z1.Mode(t); err == nil {
		t.Fatalf("zk%d with a wrong quorum password serves as %s", z1.ID, mode)
	}
	writeThrough(t, e.Server(3), "/without-the-impostor", "x")
	want["/without-the-impostor"] = "x"

	// The right password again: it joins.
	if err := os.WriteFile(jaas, []byte(quorumJAAS("quorum-secret")), 0o600); err != nil {
		t.Fatal(err)
	}
	rejoin(t, e, z1)
	waitFor(t, "zk1 to serve again", func() bool { _, err := z1.Mode(t); return err == nil })
	checkEverywhere(t, e, want)
	requireNoApacheComplaints(t, e)
}

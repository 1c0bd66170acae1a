package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/testcluster"
)

// quorumKerberosJAAS is a JAAS file for Kerberos between servers, as
// ZooKeeper's guide writes it: every server accepts tickets for
// zkquorum/localhost (QuorumServer) and logs in to the others as learner
// (QuorumLearner), both with Krb5LoginModule from keytabs.
func quorumKerberosJAAS(keytab func(principal string) string, learner string) string {
	section := func(name, principal string) string {
		return fmt.Sprintf(`%s {
       com.sun.security.auth.module.Krb5LoginModule required
       useKeyTab=true
       keyTab="%s"
       storeKey=true
       useTicketCache=false
       debug=false
       principal="%s@%s";
};
`, name, keytab(principal), principal, kerberosRealm)
	}
	return section("QuorumServer", "zkquorum/localhost") + section("QuorumLearner", learner)
}

// A mixed ensemble whose servers authenticate each other with Kerberos:
// the server.N lines name "localhost", the host of the servers' principal
// zkquorum/localhost, which learners ask for as zkquorum/_HOST. A
// zkd and a Java server lead in turn; then, twice (under a zkd and a Java
// leader), a follower of the other kind than the leader comes back logged
// in as a principal whose host is no member's (zkquorum/otherhost, then
// zkquorum without a host), and is kept out until its JAAS file is right
// again.
func TestQuorumKerberosWithApacheServers(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper, testcluster.NeedKerberos)
	kdc := testcluster.StartKDC(t, kerberosRealm)
	dir := t.TempDir()
	keytab := func(p string) string { return filepath.Join(dir, strings.ReplaceAll(p, "/", "_")+".keytab") }
	for _, p := range []string{"zkquorum/localhost", "zkquorum/otherhost", "zkquorum"} {
		kdc.AddPrincipalKeytab(t, p, keytab(p))
	}
	jaas := filepath.Join(dir, "jaas.conf")
	writeJAAS := func(learner string) {
		t.Helper()
		if err := os.WriteFile(jaas, []byte(quorumKerberosJAAS(keytab, learner)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeJAAS("zkquorum/localhost")
	flags := append([]string{"-Djava.security.auth.login.config=" + jaas}, kdc.JVMFlags()...)
	e := startMixedWith(t, testcluster.EnsembleOptions{
		Members: []testcluster.Kind{zkd, zkd, apache},
		// _HOST: each server asks for the principal of the host its
		// server.N line names.
		ExtraConfig: append(slices.Clone(quorumSASLKeys), "quorum.auth.kerberos.servicePrincipal=zkquorum/_HOST"),
		JVMFlags:    flags,
		ZkdFlags:    flags,
		PeerHost:    "localhost",
	})
	want := replicateAcrossAFailover(t, e, "/krb", "servers authenticate each other with SASL", func(*testcluster.Member) {})
	for _, m := range e.Servers() {
		if m.Kind == zkd {
			logMark{m, 0}.requireLogged(t, "Kerberos on both sides", "servers authenticate each other with SASL", "mechanism=GSSAPI", "learner_mechanism=GSSAPI")
		}
	}
	java := logMark{e.Server(3), 0}
	java.requireLogged(t, "the Java server letting a zkd server in with its principal",
		"Successfully authenticated learner: authenticationID=zkquorum/localhost@"+kerberosRealm, "authorizationID=zkquorum/localhost@"+kerberosRealm)
	java.requireLogged(t, "the Java server authenticating to a zkd server", "Successfully completed the authentication using SASL. server addr")

	// A follower of the other kind than the leader restarts logged in as
	// zkquorum/otherhost (a host that is no member's): the leader refuses
	// it. Then the leader fails over and it is done again with zkquorum (no
	// host at all), so that a zkd and a Java leader each keep out a server
	// of the other kind.
	var leaders []testcluster.Kind
	for round, principal := range []string{"zkquorum/otherhost", "zkquorum"} {
		impostor := principal + "@" + kerberosRealm
		refused := func(s string) bool {
			for _, line := range strings.Split(s, "\n") {
				if strings.Contains(line, impostor) &&
					(strings.Contains(line, "is not authorized to connect") || strings.Contains(line, "is not authorized to act as")) {
					return true
				}
			}
			return false
		}
		leader := e.WaitForLeader(t, electionTimeout)
		leaders = append(leaders, leader.Kind)
		var bad *testcluster.Member
		for _, m := range e.Servers() {
			if m.Kind != leader.Kind {
				bad = m
				break
			}
		}
		t.Logf("zk%d (%v) leads; zk%d (%v) comes back as %s", leader.ID, leader.Kind, bad.ID, bad.Kind, impostor)
		bad.Kill()
		writeJAAS(principal)
		mark := markLog(leader)
		bad.Restart(t)
		waitFor(t, fmt.Sprintf("zk%d (%v) to refuse %s", leader.ID, leader.Kind, impostor), func() bool { return refused(mark.since()) })
		if mode, err := bad.Mode(t); err == nil {
			t.Fatalf("zk%d logged in as %s serves as %s", bad.ID, impostor, mode)
		}
		path := fmt.Sprintf("/without-the-impostor-%d", round)
		writeThrough(t, leader, path, "x")
		want[path] = "x"

		writeJAAS("zkquorum/localhost")
		rejoin(t, e, bad)
		waitFor(t, fmt.Sprintf("zk%d to serve again", bad.ID), func() bool { _, err := bad.Mode(t); return err == nil })
		// The next round needs a leader of the other kind: fail over until
		// one leads (the highest sid usually wins, but a server that
		// logged more does first).
		for tries := 0; round == 0 && tries < 3; tries++ {
			old := e.WaitForLeader(t, electionTimeout)
			if old.Kind != leaders[0] {
				break
			}
			old.Kill()
			e.WaitForLeader(t, electionTimeout)
			rejoin(t, e, old)
		}
	}
	if leaders[0] == leaders[1] {
		t.Fatalf("both refusals were by a %v leader", leaders[0])
	}
	checkEverywhere(t, e, want)
	requireNoApacheComplaints(t, e)
}

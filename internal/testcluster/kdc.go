package testcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Where Debian's MIT Kerberos packages put the KDC and its tools
// (krb5-kdc, krb5-admin-server, krb5-user).
const (
	// Krb5KDC is MIT's KDC daemon.
	Krb5KDC = "/usr/sbin/krb5kdc"
	// Kdb5Util creates the KDC's database.
	Kdb5Util = "/usr/sbin/kdb5_util"
	// KadminLocal edits the KDC's database directly (no kadmind needed).
	KadminLocal = "/usr/sbin/kadmin.local"
	// Kinit gets tickets into a credential cache.
	Kinit = "/usr/bin/kinit"
)

// KDC is an MIT Kerberos KDC serving one throwaway realm, running as a
// child process of the test, with its database, configuration and log in
// the test's temporary directory. It listens on TCP only, on a loopback
// port; the krb5.conf it writes tells clients so (udp_preference_limit=1).
// It is stopped when the test ends.
type KDC struct {
	Realm    string // the realm, e.g. "EXAMPLE.TEST"
	Addr     string // "127.0.0.1:port" the KDC listens on (TCP)
	Port     int    // the KDC's TCP port
	Dir      string // the KDC's files
	ConfPath string // a krb5.conf naming the realm and this KDC, for clients and services
	LogPath  string // the KDC's log

	t       testing.TB
	profile string // kdc.conf, for krb5kdc and kadmin.local
	srv     *server
}

// StartKDC creates a Kerberos realm (kdb5_util create -s with a random
// master password) and starts krb5kdc for it on a free loopback port, and
// returns once the KDC has bound its port and said so in its log. It skips
// the test (or fails it, see RequireInterop) when MIT Kerberos is not
// installed, and fails it when the KDC does not come up within 30 seconds.
//
// The realm's krb5.conf (ConfPath) sets default_realm, turns off DNS
// look-ups and reverse resolution (rdns=false), maps "localhost" to the
// realm and names this KDC; Env returns the variable pointing a child
// process at it.
func StartKDC(t testing.TB, realm string) *KDC {
	t.Helper()
	RequireInterop(t, NeedKerberos)
	dir := t.TempDir()
	k := &KDC{
		Realm:    realm,
		Dir:      dir,
		ConfPath: filepath.Join(dir, "krb5.conf"),
		t:        t,
		profile:  filepath.Join(dir, "kdc.conf"),
	}
	master := make([]byte, 16)
	if _, err := rand.Read(master); err != nil {
		t.Fatalf("StartKDC: master password: %v", err)
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		k.Port = FreePort(t)
		k.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(k.Port))
		k.LogPath = filepath.Join(dir, fmt.Sprintf("kdc-%d.log", attempt))
		if err := k.writeConfig(); err != nil {
			t.Fatalf("StartKDC: %v", err)
		}
		if attempt == 1 {
			k.run(t, Kdb5Util, "create", "-s", "-r", realm, "-P", hex.EncodeToString(master))
		}
		cmd := exec.Command(Krb5KDC, "-n", "-r", realm)
		cmd.Env = k.adminEnv()
		srv, err := startServer(t, "krb5kdc", cmd, k.LogPath)
		if err != nil {
			t.Fatalf("StartKDC: %v", err)
		}
		err = srv.waitReady(k.listening)
		if err == nil {
			k.srv = srv
			t.Cleanup(srv.cleanup)
			return k
		}
		srv.kill()
		if attempt < attempts && portInUse(k.LogPath) {
			t.Logf("StartKDC: port %d was taken; retrying with another", k.Port)
			continue
		}
		t.Fatalf("StartKDC on %s: %v\n%s", k.Addr, err, srv.logTail())
	}
}

// writeConfig writes the realm's krb5.conf (for everyone) and kdc.conf
// (for krb5kdc and kadmin.local) for the current port.
func (k *KDC) writeConfig() error {
	krb5 := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
[realms]
	%[1]s = {
		kdc = %[2]s
	}
[domain_realm]
	localhost = %[1]s
`, k.Realm, k.Addr)
	if err := os.WriteFile(k.ConfPath, []byte(krb5), 0o644); err != nil {
		return fmt.Errorf("write krb5.conf: %w", err)
	}
	// kdc_listen is empty: no UDP socket, so only the TCP port must be
	// free. Logging goes to stderr, which startServer sends to LogPath.
	kdc := fmt.Sprintf(`[kdcdefaults]
	kdc_listen = ""
	kdc_tcp_listen = %[2]s
[realms]
	%[1]s = {
		database_name = %[3]s
		key_stash_file = %[4]s
		acl_file = %[5]s
		max_life = 1h
		max_renewable_life = 1h
	}
[logging]
	kdc = STDERR
`, k.Realm, k.Addr, filepath.Join(k.Dir, "principal"), filepath.Join(k.Dir, "stash"), filepath.Join(k.Dir, "kadm5.acl"))
	if err := os.WriteFile(k.profile, []byte(kdc), 0o644); err != nil {
		return fmt.Errorf("write kdc.conf: %w", err)
	}
	return nil
}

// listening reports whether the KDC has bound its port: it logs
// "commencing operation" only after setting up its sockets (it exits,
// logging "Address already in use", if it cannot), and then accepts TCP
// connections.
func (k *KDC) listening() error {
	b, _ := os.ReadFile(k.LogPath)
	if !strings.Contains(string(b), "commencing operation") {
		return fmt.Errorf("krb5kdc has not said \"commencing operation\" in %s", k.LogPath)
	}
	c, err := net.DialTimeout("tcp", k.Addr, probeTimeout)
	if err != nil {
		return err
	}
	return c.Close()
}

// Env returns the environment entries that point a child process (kinit,
// java, zkd) at the realm's krb5.conf: KRB5_CONFIG for MIT's library and
// gokrb5. Java reads -Djava.security.krb5.conf instead; see JVMFlags.
func (k *KDC) Env() []string {
	return []string{"KRB5_CONFIG=" + k.ConfPath}
}

// JVMFlags returns the Java system property pointing a JVM at the realm's
// krb5.conf.
func (k *KDC) JVMFlags() []string {
	return []string{"-Djava.security.krb5.conf=" + k.ConfPath}
}

// adminEnv is the environment of krb5kdc, kdb5_util and kadmin.local.
func (k *KDC) adminEnv() []string {
	return append(os.Environ(), "KRB5_CONFIG="+k.ConfPath, "KRB5_KDC_PROFILE="+k.profile)
}

// run runs one of the realm's admin tools and returns its combined output,
// failing the test if it fails.
func (k *KDC) run(t testing.TB, tool string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Env = k.adminEnv()
	stdout, stderr, err := runOneShot(ctx, cmd)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", tool, strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout + stderr
}

// Admin runs one kadmin.local query (e.g. `modprinc -maxlife "10 seconds"
// alice`) against the realm's database and returns its output. kadmin.local
// exits 0 even when the query fails, so the test fails if the output does
// not contain want.
func (k *KDC) Admin(t testing.TB, query, want string) string {
	t.Helper()
	out := k.run(t, KadminLocal, "-r", k.Realm, "-q", query)
	if !strings.Contains(out, want) {
		t.Fatalf("kadmin.local -q %q: output lacks %q:\n%s", query, want, out)
	}
	return out
}

// AddPrincipalKeytab creates principal (e.g. "zookeeper/localhost", in
// the realm unless it names another) with a random key and adds its keys to
// the keytab file at path (created if missing, appended to otherwise).
func (k *KDC) AddPrincipalKeytab(t testing.TB, principal, path string) {
	t.Helper()
	k.Admin(t, "addprinc -randkey "+principal, "created.")
	k.Admin(t, "ktadd -k "+path+" "+principal, "added to keytab")
}

// AddPrincipalPassword creates principal with the given password, which
// must not contain a double quote (kadmin.local's query syntax).
func (k *KDC) AddPrincipalPassword(t testing.TB, principal, password string) {
	t.Helper()
	if strings.Contains(password, `"`) {
		t.Fatalf("AddPrincipalPassword %s: the password contains a double quote", principal)
	}
	k.Admin(t, `addprinc -pw "`+password+`" `+principal, "created.")
}

// DeletePrincipal removes principal from the realm; keytabs holding its
// keys then name a principal the KDC does not know.
func (k *KDC) DeletePrincipal(t testing.TB, principal string) {
	t.Helper()
	k.Admin(t, "delprinc -force "+principal, "deleted.")
}

// Kinit gets a ticket-granting ticket for principal from the keytab at
// keytab into the credential cache file ccache (KRB5CCNAME=FILE:ccache),
// passing extra kinit flags such as "-l", "5s" first.
func (k *KDC) Kinit(t testing.TB, principal, keytab, ccache string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string(nil), extra...), "-k", "-t", keytab, "-c", "FILE:"+ccache, principal)
	cmd := exec.CommandContext(ctx, Kinit, args...)
	cmd.Env = append(os.Environ(), k.Env()...)
	stdout, stderr, err := runOneShot(ctx, cmd)
	if err != nil {
		t.Fatalf("kinit %s: %v\n%s%s\n%s", strings.Join(args, " "), err, stdout, stderr, k.srv.logTail())
	}
}

// LogTail returns the last lines of the KDC's log, labelled with its path.
func (k *KDC) LogTail() string { return k.srv.logTail() }

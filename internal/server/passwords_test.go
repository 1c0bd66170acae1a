package server

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/session"
	"github.com/zkd/zkd/internal/storage"
)

// expired reports whether a handshake answer is ZooKeeper's "session
// expired" (a zero timeout, session id and password).
func expired(resp *jute.ConnectResponse) bool {
	return resp != nil && resp.Timeout == 0 && resp.SessionID == 0 && bytes.Equal(resp.Passwd, make([]byte, session.PasswordLen))
}

func TestZooKeepersPasswordOfAZkdSessionIsRefused(t *testing.T) {
	s, _ := startServerAt(t, t.TempDir())
	victim, events, err := zk.Connect([]string{s.Addr().String()}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(testLogger{t}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(victim.Close)
	waitState := func(want zk.State) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.State == want {
					return
				}
			case <-deadline:
				t.Fatalf("victim not in state %v within 15s", want)
			}
		}
	}
	waitState(zk.StateHasSession)
	if _, err := victim.Create("/mine", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	id := jute.SessionID(victim.SessionID())
	// The attacker read the id (cons, dump) and computes ZooKeeper's
	// password from it.
	attacker := rawDial(t, s)
	resp := attacker.handshake(&jute.ConnectRequest{SessionID: id, Passwd: session.ZooKeeperPassword(id), Timeout: 30000})
	if !expired(resp) {
		t.Fatalf("forged password: %+v, want session expired", resp)
	}
	attacker.expectClosed()
	// The attempt knocks the victim's connection off, as in ZooKeeper, but
	// the victim reattaches with its real password and keeps its
	// ephemeral.
	waitState(zk.StateDisconnected)
	waitState(zk.StateHasSession)
	if _, err := victim.Set("/mine", []byte("still mine"), -1); err != nil {
		t.Fatalf("victim after the forged attempt: %v", err)
	}
	_, st, err := victim.Get("/mine")
	if err != nil || st.EphemeralOwner != int64(id) || victim.SessionID() != int64(id) {
		t.Fatalf("victim's ephemeral: %+v %v (session %x)", st, err, victim.SessionID())
	}
}

func TestSessionPasswordsSurviveARestartAndDifferPerDataDir(t *testing.T) {
	dir := t.TempDir()
	s, stop := startServerAt(t, dir)
	c := rawConnect(t, s)
	stop()
	secret := filepath.Join(dir, storage.SessionSecretFile)
	if fi, err := os.Stat(secret); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file %s: %v %v", secret, fi, err)
	}
	s2, _ := startServerAt(t, dir)
	again := rawDial(t, s2)
	if resp := again.handshake(&jute.ConnectRequest{SessionID: c.session, Passwd: c.passwd, Timeout: 30000}); resp == nil || resp.SessionID != c.session || !bytes.Equal(resp.Passwd, c.passwd) {
		t.Fatalf("reattach after restart: %+v", resp)
	}
	other, _ := startServerAt(t, t.TempDir())
	if bytes.Equal(other.passwords.For(c.session), c.passwd) {
		t.Fatal("another dataDir gives the same session the same password")
	}
}

func TestSessionsOfADataDirWithoutASecretKeepZooKeepersPasswords(t *testing.T) {
	dir := t.TempDir()
	s, stop := startServerAt(t, dir)
	old := rawConnect(t, s)
	stop()
	// As if another server had written the data: no zkd files. The live
	// session's client holds ZooKeeper's password.
	os.Remove(filepath.Join(dir, storage.SessionSecretFile))
	os.Remove(filepath.Join(dir, storage.SessionLegacyFile))
	s2, _ := startServerAt(t, dir)
	legacy := session.ZooKeeperPassword(old.session)
	if resp := rawDial(t, s2).handshake(&jute.ConnectRequest{SessionID: old.session, Passwd: old.passwd, Timeout: 30000}); !expired(resp) {
		t.Fatalf("a password the new secret never made: %+v", resp)
	}
	resp := rawDial(t, s2).handshake(&jute.ConnectRequest{SessionID: old.session, Passwd: legacy, Timeout: 30000})
	if resp == nil || resp.SessionID != old.session || !bytes.Equal(resp.Passwd, legacy) {
		t.Fatalf("a session from before the secret with ZooKeeper's password: %+v", resp)
	}
	fresh := rawConnect(t, s2)
	if bytes.Equal(fresh.passwd, session.ZooKeeperPassword(fresh.session)) {
		t.Fatal("a new session got ZooKeeper's derivable password")
	}
}

func TestInMemoryPasswordsAreNotDerivable(t *testing.T) {
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	s, err := New(cfg, Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.passwords.Derivable() {
		t.Fatal("-in-memory sessions get derivable passwords")
	}
}

func TestABadSharedSessionSecretStopsTheStartNamingTheKey(t *testing.T) {
	short := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(short, []byte("too short"), 0o600)
	for _, path := range []string{short, filepath.Join(t.TempDir(), "missing")} {
		cfg := config.Default()
		cfg.ClientPort = 0
		cfg.DataDir = t.TempDir()
		cfg.DataLogDir = cfg.DataDir
		cfg.Props["zookeeper."+config.SessionSecretFileKey] = path
		_, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), config.SessionSecretFileKey) || !strings.Contains(err.Error(), path) {
			t.Fatalf("start with %s: %v, want an error naming the key and the file", path, err)
		}
	}
}

func TestASharedSessionSecretGivesEveryServerTheSamePasswords(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(shared, bytes.Repeat([]byte{9}, storage.SessionSecretLen), 0o600)
	a, _ := startServerAt(t, t.TempDir(), "zookeeper."+config.SessionSecretFileKey, shared)
	b, _ := startServerAt(t, t.TempDir(), "zookeeper."+config.SessionSecretFileKey, shared)
	c := rawConnect(t, a)
	if !b.passwords.Valid(c.session, c.passwd) || a.passwords.Derivable() {
		t.Fatal("two servers with one shared secret disagree on a password")
	}
	if _, err := os.Stat(filepath.Join(a.cfg.DataDir, storage.SessionSecretFile)); err == nil {
		t.Fatal("a dataDir secret was made although a shared one is configured")
	}
}

func TestEnsembleWithASharedSecretMovesSessionsWithUnguessablePasswords(t *testing.T) {
	e := startEnsemble(t, 3, 0)
	e.waitForLeader()
	shared := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(shared, bytes.Repeat([]byte{3}, storage.SessionSecretLen), 0o600)
	for i := range e.servers { // the same file on every server
		e.stop(i)
		e.cfgText[i] += config.SessionSecretFileKey + "=" + shared + "\n"
	}
	for i := range e.servers {
		e.start(i)
	}
	leader := e.waitForLeader()
	fs := others(3, leader)
	ctx := t.Context()
	c, err := client.Connect(ctx, []string{e.addr(fs[0])})
	if err != nil {
		t.Fatal(err)
	}
	id, passwd := c.SessionID(), c.SessionPassword()
	if bytes.Equal(passwd, session.ZooKeeperPassword(jute.SessionID(id))) {
		t.Fatal("a session of an ensemble with a shared secret got ZooKeeper's password")
	}
	if _, _, err := c.Create(ctx, "/eph", nil, client.ModeEphemeral, client.WorldACL(client.PermAll)); err != nil {
		t.Fatal(err)
	}
	e.stop(fs[0])
	if _, err := client.Connect(ctx, []string{e.addr(leader)}, client.WithSession(id, session.ZooKeeperPassword(jute.SessionID(id)))); !errors.Is(err, client.ErrSessionExpired) {
		t.Fatalf("ZooKeeper's password on the leader: %v, want session expired", err)
	}
	moved, err := client.Connect(ctx, []string{e.addr(fs[1])}, client.WithSession(id, passwd))
	if err != nil {
		t.Fatalf("reattach with the real password on another server: %v", err)
	}
	defer moved.Close(ctx)
	if _, st, err := moved.Get(ctx, "/eph"); err != nil || st.EphemeralOwner != id {
		t.Fatalf("ephemeral after the move: %v %+v", err, st)
	}
}

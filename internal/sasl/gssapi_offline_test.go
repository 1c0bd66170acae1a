package sasl

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// offlineRealm stands in for a KDC: a service keytab, and tickets issued
// by hand under its key with chosen times (no KDC would issue an expired
// one).
type offlineRealm struct {
	kt       *keytab.Keytab
	path     string // the keytab file
	acceptor *GSSAPIAcceptor
}

const offlineRealmName = "OFFLINE.TEST"

func newOfflineRealm(t testing.TB) *offlineRealm {
	t.Helper()
	kt := keytab.New()
	if err := kt.AddEntry("zookeeper/localhost", offlineRealmName, "service password", time.Now(), 1, 18); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "zk.keytab")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := config.New()
	conf.LibDefaults.DefaultRealm = offlineRealmName
	a, err := NewGSSAPIAcceptor(GSSAPIConfig{Principal: "zookeeper/localhost", Keytab: path, Krb5Conf: conf})
	if err != nil {
		t.Fatal(err)
	}
	return &offlineRealm{kt: kt, path: path, acceptor: a}
}

// token returns a client for alice whose AP-REQ (returned) carries a ticket
// valid from start to end.
func (r *offlineRealm) token(t testing.TB, start, end time.Time, mutual bool) (*gssapiClient, []byte) {
	t.Helper()
	alice := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice")
	svc := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "zookeeper/localhost")
	tkt, key, err := messages.NewTicket(alice, offlineRealmName, svc, offlineRealmName, types.NewKrbFlags(), r.kt, 18, 1, start, start, end, end)
	if err != nil {
		t.Fatal(err)
	}
	c := &gssapiClient{cfg: GSSAPIClientConfig{Mutual: mutual}}
	tok, err := c.apReq(tkt, key, alice, offlineRealmName)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

func TestGSSAPIServerChecksTicketTimesAgainstTheClockSkew(t *testing.T) {
	r := newOfflineRealm(t)
	now := time.Now()
	tests := []struct {
		name       string
		start, end time.Time
		wantErr    string
	}{
		{"a current ticket is accepted", now.Add(-time.Hour), now.Add(time.Hour), ""},
		{"a ticket that ended within the 5 min skew is accepted", now.Add(-time.Hour), now.Add(-4 * time.Minute), ""},
		{"a ticket that ended beyond the skew is refused", now.Add(-time.Hour), now.Add(-6 * time.Minute), "alice@OFFLINE.TEST's ticket expired at"},
		{"a ticket starting beyond the skew is refused", now.Add(6 * time.Minute), now.Add(time.Hour), "alice@OFFLINE.TEST's ticket is not yet valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, tok := r.token(t, tc.start, tc.end, false)
			s := r.acceptor.NewServer()
			err := gssExchange(t, tokenClient{c, tok}, s)
			if tc.wantErr == "" {
				if err != nil || s.AuthorizationID() != "alice@OFFLINE.TEST" {
					t.Fatalf("err = %v, identity %q", err, s.AuthorizationID())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// tokenClient is a gssapiClient whose AP-REQ was built already.
type tokenClient struct {
	*gssapiClient
	first []byte
}

func (c tokenClient) Start() ([]byte, error) { return c.first, nil }

// FuzzGSSAPIServer feeds the server arbitrary first and second tokens: it
// must refuse them with an error, never panic.
func FuzzGSSAPIServer(f *testing.F) {
	r := newOfflineRealm(f)
	now := time.Now()
	for _, mutual := range []bool{false, true} {
		c, tok := r.token(f, now.Add(-time.Hour), now.Add(time.Hour), mutual)
		s := r.acceptor.NewServer()
		offer, _, err := s.Next(tok)
		if err != nil {
			f.Fatal(err)
		}
		second := []byte{}
		if !mutual {
			second, _, err = c.Next(offer)
			if err != nil {
				f.Fatal(err)
			}
		}
		f.Add(tok, second)
	}
	f.Add([]byte{0x60, 0x80}, []byte{0x05, 0x04})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		// Forget earlier runs' authenticators, so that the seeds' valid
		// AP-REQs get past the replay check every time.
		r.acceptor.mu.Lock()
		clear(r.acceptor.replay)
		r.acceptor.mu.Unlock()
		s := r.acceptor.NewServer()
		if _, _, err := s.Next(first); err != nil {
			return
		}
		_, _, _ = s.Next(second)
	})
}

func TestAKeytabThatNoLongerParsesKeepsTheOldKeys(t *testing.T) {
	r := newOfflineRealm(t)
	// The log goes to a file, read back while the acceptor writes it.
	logPath := filepath.Join(t.TempDir(), "log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	logs := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	conf := config.New()
	conf.LibDefaults.DefaultRealm = offlineRealmName
	a, err := NewGSSAPIAcceptor(GSSAPIConfig{Principal: "zookeeper/localhost", Keytab: r.path, Krb5Conf: conf,
		Log: slog.New(slog.NewTextHandler(logFile, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.acceptor = a
	if err := os.WriteFile(r.path, []byte("not a keytab"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs(), "keytab changed but does not parse; keeping the keys loaded before") {
		if time.Now().After(deadline) {
			t.Fatalf("no WARN about the broken keytab within 5 s; log:\n%s", logs())
		}
		c, tok := r.token(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), false)
		s := a.NewServer()
		if err := gssExchange(t, tokenClient{c, tok}, s); err != nil {
			t.Fatalf("with the keytab broken on disk: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOneAcceptorServesExchangesConcurrently(t *testing.T) {
	r := newOfflineRealm(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		c, tok := r.token(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), i%2 == 0)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.acceptor.NewServer()
			if err := gssExchange(t, tokenClient{c, tok}, s); err != nil {
				errs <- err
				return
			}
			if s.AuthorizationID() != "alice@"+offlineRealmName {
				errs <- fmt.Errorf("identity %q", s.AuthorizationID())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The offer has the shape of the one Apache ZooKeeper 3.8 (Java 17) sent
// zkCli.sh in a captured exchange: 05 04 01 ff 00 0c 00 00, the client's
// initial sequence number, payload 01 01 00 00 (no security layer,
// 65536), 12 checksum bytes: 32 bytes under aes256-cts-hmac-sha1-96.
func TestTheSecurityLayerOfferIsShapedAsJavasServerSendsIt(t *testing.T) {
	r := newOfflineRealm(t)
	c, tok := r.token(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), false)
	offer, done, err := r.acceptor.NewServer().Next(tok)
	if err != nil || done {
		t.Fatalf("Next: done %v, %v", done, err)
	}
	want := append([]byte{0x05, 0x04, 0x01, 0xff, 0x00, 0x0c, 0x00, 0x00}, make([]byte, 8)...)
	binary.BigEndian.PutUint64(want[8:], c.initiatorSeq)
	want = append(want, 0x01, 0x01, 0x00, 0x00)
	if len(offer) != 32 || !bytes.Equal(offer[:20], want) {
		t.Fatalf("offer % x, want % x followed by 12 checksum bytes", offer, want)
	}
}

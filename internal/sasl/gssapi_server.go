package sasl

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// GSS context flags carried in the authenticator checksum (RFC 4121
// §4.1.1.1).
const (
	gssFlagMutual   = 2
	gssFlagSequence = 8
)

// GSSAPIConfig configures the server side of SASL GSSAPI: the service's
// Kerberos identity, as a JAAS Server section with Krb5LoginModule names it,
// and how authenticated principals become session identities.
type GSSAPIConfig struct {
	// Principal is the service principal, e.g.
	// "zookeeper/localhost@EXAMPLE.COM" (JAAS option principal). Without a
	// realm, krb5.conf's default_realm is used.
	Principal string
	// Keytab is the path of the keytab holding Principal's keys (JAAS
	// option keyTab). It is re-read when it changes on disk.
	Keytab string
	// Krb5Conf is the Kerberos configuration (default_realm, clockskew);
	// nil means gokrb5's defaults (no default realm, 300 s clock skew).
	Krb5Conf *config.Config
	// RemoveHostFromPrincipal and RemoveRealmFromPrincipal are the
	// zookeeper.kerberos.* properties of the same names.
	RemoveHostFromPrincipal, RemoveRealmFromPrincipal bool
	// AuthToLocal are zookeeper.security.auth_to_local's rules; nil means
	// DEFAULT.
	AuthToLocal AuthToLocal
	// Log receives keytab reloads and refused tickets; nil discards.
	Log *slog.Logger
	// Authorize, when set, decides whether the authenticated principal
	// ("service/host@REALM") may act as the authorization identity its
	// security-layer reply asks for (the principal itself when it names
	// none, as Java's acceptor takes it); an error refuses the exchange and
	// says why. The exchange's identity is then the authorization identity
	// as sent, not mapped by the naming options, as ZooKeeper's quorum
	// authentication sets it. Without Authorize the authorization identity
	// is ignored and the principal, mapped, is the identity, as ZooKeeper's
	// client port does.
	Authorize func(authenticationID, authorizationID string) error
}

// GSSAPIAcceptor is a Kerberos service able to accept SASL GSSAPI
// exchanges (RFC 4752) for one service principal. It is safe for concurrent
// use; each exchange gets its own Server from NewServer.
type GSSAPIAcceptor struct {
	principal types.PrincipalName
	realm     string
	keytab    *reloadingKeytab
	skew      time.Duration
	naming    KerberosNaming
	authorize func(authenticationID, authorizationID string) error
	log       *slog.Logger

	mu     sync.Mutex // guards replay
	replay map[string]time.Time
}

// NewGSSAPIAcceptor loads the keytab and checks that it holds a key for the
// principal.
func NewGSSAPIAcceptor(cfg GSSAPIConfig) (*GSSAPIAcceptor, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	krb := cfg.Krb5Conf
	if krb == nil {
		krb = config.New()
	}
	if cfg.Principal == "" {
		return nil, errors.New("GSSAPI: no service principal (JAAS Server option principal)")
	}
	if cfg.Keytab == "" {
		return nil, errors.New("GSSAPI: no keytab (JAAS Server option keyTab)")
	}
	pn, realm := types.ParseSPNString(cfg.Principal)
	if realm == "" {
		realm = krb.LibDefaults.DefaultRealm
	}
	if realm == "" {
		return nil, fmt.Errorf("GSSAPI: principal %q names no realm and krb5.conf has no default_realm", cfg.Principal)
	}
	kt, err := loadKeytab(cfg.Keytab, log)
	if err != nil {
		return nil, fmt.Errorf("GSSAPI: %w", err)
	}
	if !hasAESKey(kt, pn, realm) {
		return nil, fmt.Errorf("GSSAPI: keytab %s has no AES key for %s@%s", cfg.Keytab, pn.PrincipalNameString(), realm)
	}
	return &GSSAPIAcceptor{
		principal: pn,
		realm:     realm,
		keytab:    kt,
		skew:      krb.LibDefaults.Clockskew,
		naming: KerberosNaming{
			DefaultRealm: krb.LibDefaults.DefaultRealm,
			RemoveHost:   cfg.RemoveHostFromPrincipal,
			RemoveRealm:  cfg.RemoveRealmFromPrincipal,
			Rules:        cfg.AuthToLocal,
		},
		authorize: cfg.Authorize,
		log:       log,
		replay:    make(map[string]time.Time),
	}, nil
}

// hasAESKey reports whether the keytab holds a key of an RFC 4121
// encryption type for the principal.
func hasAESKey(kt *reloadingKeytab, pn types.PrincipalName, realm string) bool {
	for etype := range cfxEnctypes {
		if _, _, err := kt.current().GetEncryptionKey(pn, realm, 0, etype); err == nil {
			return true
		}
	}
	return false
}

// Principal returns the service principal, "service/host@REALM".
func (a *GSSAPIAcceptor) Principal() string {
	return a.principal.PrincipalNameString() + "@" + a.realm
}

// NewServer starts one exchange.
func (a *GSSAPIAcceptor) NewServer() Server { return &gssapiServer{a: a} }

// gssapiServer is one SASL GSSAPI exchange on the acceptor side.
type gssapiServer struct {
	a     *GSSAPIAcceptor
	stage int // 0: want AP-REQ; 1: want the empty token after AP-REP; 2: want the layer reply; 3: done

	key          types.EncryptionKey // protects wrap tokens: the initiator's subkey, else the session key
	initiatorSeq uint64
	acceptorSeq  uint64
	checkSeq     bool
	peer         string // "user@REALM" from the authenticator
	id           string
}

// AuthorizationID implements Server.
func (s *gssapiServer) AuthorizationID() string { return s.id }

// Next implements Server.
func (s *gssapiServer) Next(token []byte) ([]byte, bool, error) {
	switch s.stage {
	case 0:
		return s.acceptAPReq(token)
	case 1:
		if len(token) != 0 {
			return nil, false, fmt.Errorf("GSSAPI: expected an empty token after the AP-REP, got %d bytes", len(token))
		}
		return s.offerLayers()
	case 2:
		return s.acceptLayer(token)
	}
	return nil, false, errors.New("GSSAPI: token after the exchange completed")
}

// acceptAPReq verifies the initiator's AP-REQ (RFC 4121 §4.1) and answers
// the AP-REP when mutual authentication was asked for, or else goes straight
// to the security-layer offer, as Java's acceptor does for ZooKeeper's
// client (which does not ask for it).
func (s *gssapiServer) acceptAPReq(token []byte) ([]byte, bool, error) {
	id, msg, err := parseContextToken(token)
	if err != nil {
		return nil, false, fmt.Errorf("GSSAPI: %w", err)
	}
	if id != tokAPReq {
		return nil, false, fmt.Errorf("GSSAPI: first token has identifier %x, want AP-REQ (0100)", id)
	}
	var req messages.APReq
	if err := req.Unmarshal(msg); err != nil {
		return nil, false, fmt.Errorf("GSSAPI: AP-REQ does not decode: %w", err)
	}
	if err := s.a.verify(&req); err != nil {
		return nil, false, err
	}
	auth := req.Authenticator
	s.peer = auth.CName.PrincipalNameString() + "@" + auth.CRealm
	cks := auth.Cksum
	if cks.CksumType != chksumtype.GSSAPI || len(cks.Checksum) < 24 || binary.LittleEndian.Uint32(cks.Checksum) != 16 {
		return nil, false, fmt.Errorf("GSSAPI: authenticator of %s lacks the GSS checksum (RFC 4121 §4.1.1)", s.peer)
	}
	gssFlags := binary.LittleEndian.Uint32(cks.Checksum[20:])
	s.key = req.Ticket.DecryptedEncPart.Key
	if len(auth.SubKey.KeyValue) > 0 {
		s.key = auth.SubKey
	}
	if err := checkCFXKey(s.key); err != nil {
		return nil, false, fmt.Errorf("GSSAPI: %s: %w", s.peer, err)
	}
	s.initiatorSeq = uint64(auth.SeqNumber)
	s.checkSeq = gssFlags&gssFlagSequence != 0
	if gssFlags&gssFlagMutual == 0 && !types.IsFlagSet(&req.APOptions, flags.APOptionMutualRequired) {
		// Without an AP-REP the acceptor's sequence numbers start where
		// the initiator's do (RFC 4121 §4.2.6 via RFC 1964 §1.2.1.2).
		s.acceptorSeq = s.initiatorSeq
		return s.offerLayers()
	}
	rep, err := s.apRep(&req)
	if err != nil {
		return nil, false, err
	}
	s.stage = 1
	return rep, false, nil
}

// encAPRepPart is EncAPRepPart (RFC 4120 §5.5.2) without a subkey.
type encAPRepPart struct {
	CTime          time.Time `asn1:"generalized,explicit,tag:0"`
	Cusec          int       `asn1:"explicit,tag:1"`
	SequenceNumber int64     `asn1:"optional,explicit,tag:3"`
}

// apRep builds the framed AP-REP: the authenticator's time, no acceptor
// subkey (so both sides keep protecting tokens with the initiator's key),
// and a fresh acceptor sequence number.
func (s *gssapiServer) apRep(req *messages.APReq) ([]byte, error) {
	var seq [4]byte
	if _, err := rand.Read(seq[:]); err != nil {
		return nil, fmt.Errorf("GSSAPI: sequence number: %w", err)
	}
	s.acceptorSeq = uint64(binary.BigEndian.Uint32(seq[:])&0x3fffffff | 1)
	part, err := asn1.Marshal(encAPRepPart{
		CTime:          req.Authenticator.CTime,
		Cusec:          req.Authenticator.Cusec,
		SequenceNumber: int64(s.acceptorSeq),
	})
	if err != nil {
		return nil, fmt.Errorf("GSSAPI: encode AP-REP: %w", err)
	}
	part = asn1tools.AddASNAppTag(part, asnAppTag.EncAPRepPart)
	enc, err := crypto.GetEncryptedData(part, req.Ticket.DecryptedEncPart.Key, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, fmt.Errorf("GSSAPI: encrypt AP-REP: %w", err)
	}
	rep, err := asn1.Marshal(messages.APRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: enc})
	if err != nil {
		return nil, fmt.Errorf("GSSAPI: encode AP-REP: %w", err)
	}
	return frameContextToken(tokAPRep, asn1tools.AddASNAppTag(rep, asnAppTag.APREP)), nil
}

// offerLayers sends the security-layer offer: no security layer only, with
// Java's maximum buffer size (RFC 4752 §3.1).
func (s *gssapiServer) offerLayers() ([]byte, bool, error) {
	tok, err := makeWrap(s.key, usageAcceptorSeal, wrapSentByAcceptor, s.acceptorSeq, layerMessage(layerNone, javaMaxBuffer, ""))
	if err != nil {
		return nil, false, fmt.Errorf("GSSAPI: wrap the security-layer offer: %w", err)
	}
	s.stage = 2
	return tok, false, nil
}

// acceptLayer checks the client's choice of security layer and takes its
// identity: the authenticated principal named as ZooKeeper names it (the
// authorization id the client sends is not used, as in ZooKeeper).
func (s *gssapiServer) acceptLayer(token []byte) ([]byte, bool, error) {
	w, err := openWrap(s.key, usageInitiatorSeal, false, token)
	if err != nil {
		return nil, false, fmt.Errorf("GSSAPI: %s's security-layer reply: %w", s.peer, err)
	}
	if w.flags&wrapAcceptorSubkey != 0 {
		return nil, false, fmt.Errorf("GSSAPI: %s's wrap token claims an acceptor subkey; none was sent", s.peer)
	}
	if s.checkSeq && w.seq != s.initiatorSeq {
		return nil, false, fmt.Errorf("GSSAPI: %s's wrap token has sequence number %d, want %d", s.peer, w.seq, s.initiatorSeq)
	}
	layers, _, authzid, err := parseLayerMessage(w.payload)
	if err != nil {
		return nil, false, fmt.Errorf("GSSAPI: %s: %w", s.peer, err)
	}
	if layers != layerNone {
		return nil, false, fmt.Errorf("GSSAPI: %s chose security layer %#x; only 'no security layer' (0x01) was offered", s.peer, layers)
	}
	if s.a.authorize != nil {
		if authzid == "" {
			authzid = s.peer
		}
		if err := s.a.authorize(s.peer, authzid); err != nil {
			return nil, false, fmt.Errorf("GSSAPI: %s is not authorized to act as %s: %w", s.peer, authzid, err)
		}
		s.id = authzid
		s.stage = 3
		return nil, true, nil
	}
	id, fallback, err := s.a.naming.Identity(s.peer)
	if fallback {
		s.a.log.Warn("GSSAPI: the auth_to_local rules give no name; the identity is the whole principal name",
			"principal", s.peer, "default_realm", s.a.naming.DefaultRealm, "reason", err)
	} else if err != nil {
		return nil, false, fmt.Errorf("GSSAPI: %w", err)
	}
	s.id = id
	s.stage = 3
	return nil, true, nil
}

// verify decrypts and checks an AP-REQ: the ticket is for this service, its
// key is in the keytab, it is within its validity (allowing the clock
// skew), the authenticator decrypts under its session key, names the
// ticket's client, is fresh and has not been seen before.
func (a *GSSAPIAcceptor) verify(req *messages.APReq) error {
	t := &req.Ticket
	sname := t.SName.PrincipalNameString() + "@" + t.Realm
	if !strings.EqualFold(t.Realm, a.realm) || !sameNames(t.SName, a.principal) {
		return fmt.Errorf("GSSAPI: the ticket is for %s, but this server is %s", sname, a.Principal())
	}
	if types.IsFlagSet(&req.APOptions, flags.APOptionUseSessionKey) {
		return errors.New("GSSAPI: user-to-user tickets (use-session-key) are not supported")
	}
	if err := t.DecryptEncPart(a.keytab.current(), &a.principal); err != nil {
		return fmt.Errorf("GSSAPI: the ticket for %s does not decrypt with keytab %s (kvno %d, enctype %d): %w", sname, a.keytab.path, t.EncPart.KVNO, t.EncPart.EType, err)
	}
	enc := &t.DecryptedEncPart
	client := enc.CName.PrincipalNameString() + "@" + enc.CRealm
	now := time.Now().UTC()
	if enc.StartTime.Sub(now) > a.skew || types.IsFlagSet(&enc.Flags, flags.Invalid) {
		return fmt.Errorf("GSSAPI: %s's ticket is not yet valid (starts %s)", client, enc.StartTime.Format(time.RFC3339))
	}
	if now.Sub(enc.EndTime) > a.skew {
		return fmt.Errorf("GSSAPI: %s's ticket expired at %s (clock skew allowed %v)", client, enc.EndTime.Format(time.RFC3339), a.skew)
	}
	if err := req.DecryptAuthenticator(enc.Key); err != nil {
		return fmt.Errorf("GSSAPI: %s's authenticator does not decrypt with the ticket's session key", client)
	}
	auth := &req.Authenticator
	if !auth.CName.Equal(enc.CName) || auth.CRealm != enc.CRealm {
		return fmt.Errorf("GSSAPI: authenticator names %s@%s, the ticket %s", auth.CName.PrincipalNameString(), auth.CRealm, client)
	}
	ctime := auth.CTime.Add(time.Duration(auth.Cusec) * time.Microsecond)
	if d := now.Sub(ctime); d > a.skew || -d > a.skew {
		return fmt.Errorf("GSSAPI: %s's clock is %v off this server's (allowed %v)", client, d.Round(time.Second), a.skew)
	}
	return a.checkReplay(client, ctime, now)
}

// checkReplay records an authenticator and fails if it was seen within the
// clock-skew window (RFC 4120 §3.2.3).
func (a *GSSAPIAcceptor) checkReplay(client string, ctime, now time.Time) error {
	key := client + "|" + ctime.Format(time.RFC3339Nano)
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, exp := range a.replay {
		if now.After(exp) {
			delete(a.replay, k)
		}
	}
	if _, seen := a.replay[key]; seen {
		return fmt.Errorf("GSSAPI: %s's authenticator was replayed", client)
	}
	a.replay[key] = ctime.Add(a.skew)
	return nil
}

// sameNames reports whether two principal names have the same components
// (their name types may differ: a client asks for NT-SRV-INST, a keytab
// says NT-PRINCIPAL).
func sameNames(a, b types.PrincipalName) bool {
	if len(a.NameString) != len(b.NameString) {
		return false
	}
	for i := range a.NameString {
		if a.NameString[i] != b.NameString[i] {
			return false
		}
	}
	return true
}

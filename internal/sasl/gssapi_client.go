package sasl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// GSS context flags Java's initiator asks for on behalf of ZooKeeper's
// client (captured: replay, sequence, confidentiality, integrity; no
// mutual authentication).
const (
	gssFlagReplay = 4
	gssFlagConf   = 16
	gssFlagInteg  = 32
)

// GSSAPIClientConfig configures the client side of SASL GSSAPI, as a JAAS
// Client section with Krb5LoginModule does: the client principal and where
// its credentials come from (exactly one of Keytab, Password and CCache).
type GSSAPIClientConfig struct {
	// Principal is the client principal, "alice@EXAMPLE.COM" (JAAS option
	// principal); without a realm, krb5.conf's default_realm. With CCache
	// it may be empty: the cache's principal is used.
	Principal string
	// Keytab is a keytab holding Principal's keys (useKeyTab=true).
	Keytab string
	// Password is Principal's password.
	Password string
	// CCache is a credential cache file (useTicketCache=true; a
	// KRB5CCNAME of the form FILE:path or path).
	CCache string
	// Krb5Conf is the Kerberos configuration naming the realms' KDCs.
	Krb5Conf *config.Config
	// Mutual asks the server to authenticate itself with an AP-REP.
	// ZooKeeper's Java client does not.
	Mutual bool
}

// NewGSSAPIClient returns the client side of one SASL GSSAPI exchange with
// the server whose principal is service (for example
// "zookeeper/localhost", see ServerPrincipal; a realm, if named, must be
// the client's). Start contacts the KDC.
func NewGSSAPIClient(cfg GSSAPIClientConfig, service string) (Client, error) {
	if cfg.Krb5Conf == nil {
		return nil, errors.New("GSSAPI client: no krb5.conf")
	}
	n := 0
	for _, s := range []string{cfg.Keytab, cfg.Password, cfg.CCache} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("GSSAPI client: want exactly one of a keytab, a password and a ticket cache")
	}
	if service == "" {
		return nil, errors.New("GSSAPI client: no server principal")
	}
	name, realm, _ := strings.Cut(service, "@")
	return &gssapiClient{cfg: cfg, service: name, serviceRealm: realm}, nil
}

// gssapiClient is one SASL GSSAPI exchange on the initiator side.
type gssapiClient struct {
	cfg          GSSAPIClientConfig
	service      string // "zookeeper/host", without the realm
	serviceRealm string // the realm the principal named, or ""
	stage        int    // 0: before Start; 1: sent AP-REQ; 2: (mutual) got AP-REP; 3: done

	sessionKey   types.EncryptionKey
	key          types.EncryptionKey // protects wrap tokens
	acceptorKey  bool                // key is the acceptor's subkey
	ctime        types.Authenticator
	initiatorSeq uint64
	acceptorSeq  uint64
	authzid      string // the client principal, "alice@REALM"
}

// login builds the Kerberos client for the configured credentials. The
// caller must Destroy it.
func (c *gssapiClient) login() (*krbclient.Client, error) {
	krb := c.cfg.Krb5Conf
	settings := krbclient.DisablePAFXFAST(true)
	if c.cfg.CCache != "" {
		path := strings.TrimPrefix(c.cfg.CCache, "FILE:")
		cc, err := credentials.LoadCCache(path)
		if err != nil {
			return nil, fmt.Errorf("GSSAPI client: ticket cache %s: %w", path, err)
		}
		tgt := types.PrincipalName{NameType: 2, NameString: []string{"krbtgt", cc.GetClientRealm()}}
		if e, ok := cc.GetEntry(tgt); ok && time.Now().After(e.EndTime) {
			return nil, fmt.Errorf("GSSAPI client: ticket cache %s: %s's ticket-granting ticket expired at %s; run kinit", path,
				cc.GetClientPrincipalName().PrincipalNameString()+"@"+cc.GetClientRealm(), e.EndTime.UTC().Format(time.RFC3339))
		}
		cl, err := krbclient.NewFromCCache(cc, krb, settings)
		if err != nil {
			return nil, fmt.Errorf("GSSAPI client: ticket cache %s: %w", path, err)
		}
		return cl, nil
	}
	pn, realm := types.ParseSPNString(c.cfg.Principal)
	if realm == "" {
		realm = krb.LibDefaults.DefaultRealm
	}
	if len(pn.NameString) == 0 || pn.NameString[0] == "" || realm == "" {
		return nil, fmt.Errorf("GSSAPI client: principal %q has no name or no realm (and krb5.conf no default_realm)", c.cfg.Principal)
	}
	user := pn.PrincipalNameString()
	var cl *krbclient.Client
	if c.cfg.Keytab != "" {
		kt, err := keytab.Load(c.cfg.Keytab)
		if err != nil {
			return nil, fmt.Errorf("GSSAPI client: keytab %s: %w", c.cfg.Keytab, err)
		}
		cl = krbclient.NewWithKeytab(user, realm, kt, krb, settings)
	} else {
		cl = krbclient.NewWithPassword(user, realm, c.cfg.Password, krb, settings)
	}
	if err := cl.Login(); err != nil {
		cl.Destroy()
		return nil, fmt.Errorf("GSSAPI client: log in as %s@%s: %w", user, realm, err)
	}
	return cl, nil
}

// Start implements Client: it gets a service ticket and returns the framed
// AP-REQ, with an initiator subkey and sequence number as Java's initiator
// sends.
func (c *gssapiClient) Start() ([]byte, error) {
	if c.stage != 0 {
		return nil, errors.New("GSSAPI client: Start called twice")
	}
	cl, err := c.login()
	if err != nil {
		return nil, err
	}
	defer cl.Destroy()
	if c.serviceRealm != "" && c.serviceRealm != cl.Credentials.Domain() {
		return nil, fmt.Errorf("GSSAPI client: server principal %s@%s is in another realm than %s@%s; cross-realm tickets are not supported",
			c.service, c.serviceRealm, cl.Credentials.UserName(), cl.Credentials.Domain())
	}
	tkt, key, err := cl.GetServiceTicket(c.service)
	if err != nil {
		return nil, fmt.Errorf("GSSAPI client: service ticket for %s as %s@%s: %w", c.service, cl.Credentials.UserName(), cl.Credentials.Domain(), err)
	}
	return c.apReq(tkt, key, cl.Credentials.CName(), cl.Credentials.Domain())
}

// apReq builds the framed AP-REQ for a service ticket and its session key,
// as client cname@crealm, and readies the exchange for the server's answer.
func (c *gssapiClient) apReq(tkt messages.Ticket, key types.EncryptionKey, cname types.PrincipalName, crealm string) ([]byte, error) {
	c.sessionKey = key
	c.authzid = cname.PrincipalNameString() + "@" + crealm
	auth, err := types.NewAuthenticator(crealm, cname)
	if err != nil {
		return nil, fmt.Errorf("GSSAPI client: authenticator: %w", err)
	}
	// The subkey is as long as the session key (gokrb5's GetKeyByteSize
	// says 24 for aes256-cts-hmac-sha384-192, whose keys are 32 bytes).
	if err := auth.GenerateSeqNumberAndSubKey(key.KeyType, len(key.KeyValue)); err != nil {
		return nil, fmt.Errorf("GSSAPI client: subkey: %w", err)
	}
	if err := checkCFXKey(auth.SubKey); err != nil {
		return nil, fmt.Errorf("GSSAPI client: %w", err)
	}
	gssFlags := uint32(gssFlagReplay | gssFlagSequence | gssFlagConf | gssFlagInteg)
	if c.cfg.Mutual {
		gssFlags |= gssFlagMutual
	}
	sum := make([]byte, 24)
	binary.LittleEndian.PutUint32(sum, 16)
	binary.LittleEndian.PutUint32(sum[20:], gssFlags)
	auth.Cksum = types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: sum}
	req, err := messages.NewAPReq(tkt, key, auth)
	if err != nil {
		return nil, fmt.Errorf("GSSAPI client: AP-REQ: %w", err)
	}
	if c.cfg.Mutual {
		types.SetFlag(&req.APOptions, flags.APOptionMutualRequired)
	}
	b, err := req.Marshal()
	if err != nil {
		return nil, fmt.Errorf("GSSAPI client: encode AP-REQ: %w", err)
	}
	c.ctime = auth
	c.key = auth.SubKey
	c.initiatorSeq = uint64(auth.SeqNumber)
	c.acceptorSeq = c.initiatorSeq
	c.stage = 1
	if c.cfg.Mutual {
		c.stage = 2
	}
	return frameContextToken(tokAPReq, b), nil
}

// Next implements Client.
func (c *gssapiClient) Next(challenge []byte) ([]byte, bool, error) {
	switch c.stage {
	case 2:
		if err := c.acceptAPRep(challenge); err != nil {
			return nil, false, err
		}
		c.stage = 1
		return []byte{}, false, nil
	case 1:
		return c.chooseLayer(challenge)
	case 3:
		// The server's reply to the last token carries nothing (Java's
		// server sends a null token).
		if len(challenge) == 0 {
			return nil, true, nil
		}
	}
	return nil, false, errors.New("GSSAPI client: challenge out of turn")
}

// acceptAPRep checks the server's AP-REP: it decrypts under the session
// key and echoes our authenticator's time; it may carry an acceptor subkey,
// which then protects the tokens that follow.
func (c *gssapiClient) acceptAPRep(tok []byte) error {
	id, msg, err := parseContextToken(tok)
	if err != nil {
		return fmt.Errorf("GSSAPI client: %w", err)
	}
	if id == tokError {
		var e messages.KRBError
		if err := e.Unmarshal(msg); err == nil {
			return fmt.Errorf("GSSAPI client: the server refused the ticket: %s", e.Error())
		}
		return errors.New("GSSAPI client: the server refused the ticket")
	}
	if id != tokAPRep {
		return fmt.Errorf("GSSAPI client: expected an AP-REP (0200), got token %x", id)
	}
	var rep messages.APRep
	if err := rep.Unmarshal(msg); err != nil {
		return fmt.Errorf("GSSAPI client: AP-REP does not decode: %w", err)
	}
	plain, err := crypto.DecryptEncPart(rep.EncPart, c.sessionKey, keyusage.AP_REP_ENCPART)
	if err != nil {
		return fmt.Errorf("GSSAPI client: AP-REP does not decrypt with the session key (not the real server?): %w", err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		return fmt.Errorf("GSSAPI client: AP-REP's encrypted part does not decode: %w", err)
	}
	if !part.CTime.Equal(c.ctime.CTime.Truncate(time.Second)) || part.Cusec != c.ctime.Cusec {
		return errors.New("GSSAPI client: AP-REP does not echo the authenticator's time")
	}
	if len(part.Subkey.KeyValue) > 0 {
		if err := checkCFXKey(part.Subkey); err != nil {
			return fmt.Errorf("GSSAPI client: acceptor subkey: %w", err)
		}
		c.key, c.acceptorKey = part.Subkey, true
	}
	c.acceptorSeq = uint64(part.SequenceNumber)
	return nil
}

// chooseLayer answers the server's security-layer offer: no security
// layer, maximum buffer 0, and the client principal as authorization id,
// as Java's client does.
func (c *gssapiClient) chooseLayer(tok []byte) ([]byte, bool, error) {
	w, err := openWrap(c.key, usageAcceptorSeal, true, tok)
	if err != nil {
		return nil, false, fmt.Errorf("GSSAPI client: the server's security-layer offer: %w", err)
	}
	if w.seq != c.acceptorSeq {
		return nil, false, fmt.Errorf("GSSAPI client: the server's wrap token has sequence number %d, want %d", w.seq, c.acceptorSeq)
	}
	layers, _, _, err := parseLayerMessage(w.payload)
	if err != nil {
		return nil, false, fmt.Errorf("GSSAPI client: %w", err)
	}
	if layers&layerNone == 0 {
		return nil, false, fmt.Errorf("GSSAPI client: the server offers security layers %#x, not 'none'; zkd's client supports only 'none'", layers)
	}
	var fl byte
	if c.acceptorKey {
		fl |= wrapAcceptorSubkey
	}
	out, err := makeWrap(c.key, usageInitiatorSeal, fl, c.initiatorSeq, layerMessage(layerNone, 0, c.authzid))
	if err != nil {
		return nil, false, fmt.Errorf("GSSAPI client: %w", err)
	}
	c.stage = 3
	return out, true, nil
}

// ServerPrincipalOptions are the Java client properties that name the
// server's principal.
type ServerPrincipalOptions struct {
	// Principal is zookeeper.server.principal: when set, it is used as is.
	Principal string
	// Username is zookeeper.sasl.client.username, default "zookeeper".
	Username string
	// NoCanonicalize is zookeeper.sasl.client.canonicalize.hostname=false.
	NoCanonicalize bool
}

// ServerPrincipal returns the principal a ZooKeeper 3.8 Java client asks a
// ticket for when it connects to host (as written in the connect string)
// at address ip: zookeeper.server.principal if set, else
// "<username>/<host>". host is replaced by the canonical name of ip (its
// reverse look-up, confirmed forward) unless canonicalization is off or ip
// has no name; a host written as an address is replaced by its name even
// then, as Java's InetSocketAddress.getHostName looks it up (checked on
// 3.8.0: "-server 127.0.0.1:port" asks for zookeeper/localhost with
// canonicalization off, and "-server vm:port", vm an alias of 127.0.0.1,
// asks for zookeeper/localhost with it on and zookeeper/vm with it off).
func ServerPrincipal(host string, ip net.IP, opts ServerPrincipalOptions) string {
	if opts.Principal != "" {
		return opts.Principal
	}
	user := opts.Username
	if user == "" {
		user = "zookeeper"
	}
	literal := net.ParseIP(host)
	if literal != nil {
		ip = literal
	}
	if (!opts.NoCanonicalize || literal != nil) && ip != nil {
		if name := CanonicalHostName(ip); name != "" {
			host = name
		}
	}
	return user + "/" + host
}

// CanonicalHostName is the name of ip by reverse look-up, if a forward
// look-up of that name gives ip back, else "" (where Java's
// InetAddress.getCanonicalHostName falls back on the address).
func CanonicalHostName(ip net.IP) string {
	names, err := net.LookupAddr(ip.String())
	if err != nil || len(names) == 0 {
		return ""
	}
	name := strings.TrimSuffix(names[0], ".")
	addrs, err := net.LookupHost(name)
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if net.ParseIP(a).Equal(ip) {
			return name
		}
	}
	return ""
}

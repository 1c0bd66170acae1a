package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"

	"github.com/zkd/zkd/internal/jute"
)

// SecretLen is the length of the secret that keys session passwords.
const SecretLen = 32

// Passwords gives each session its password and checks the passwords
// clients present on reconnect. With a secret, a password is the first 16
// bytes of HMAC-SHA256(secret, id as 8 big-endian bytes), which knowing the
// id does not reveal; the legacy sessions, and every session when there is
// no secret, get ZooKeeper's derivation ([ZooKeeperPassword]) instead.
//
// A Passwords does not change after NewPasswords, so it is safe for
// concurrent use.
type Passwords struct {
	secret []byte
	legacy map[jute.SessionID]bool
}

// NewPasswords returns the passwords keyed by secret, which must be
// SecretLen bytes or empty. Empty means ZooKeeper's derivation for every
// session (what an ensemble with Java servers needs). The legacy sessions
// were created with ZooKeeper's derivation (by Apache ZooKeeper, before the
// secret existed) and keep it.
func NewPasswords(secret []byte, legacy []jute.SessionID) *Passwords {
	p := &Passwords{legacy: make(map[jute.SessionID]bool, len(legacy))}
	if len(secret) > 0 {
		p.secret = append([]byte(nil), secret...)
	}
	for _, id := range legacy {
		p.legacy[id] = true
	}
	return p
}

// Derivable reports whether every password is ZooKeeper's derivation, and
// so computable from the session id.
func (p *Passwords) Derivable() bool { return p.secret == nil }

// For returns the password of session id.
func (p *Passwords) For(id jute.SessionID) []byte {
	if p.secret == nil || p.legacy[id] {
		return ZooKeeperPassword(id)
	}
	m := hmac.New(sha256.New, p.secret)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	m.Write(b[:])
	return m.Sum(nil)[:PasswordLen]
}

// Valid reports whether passwd is the password of session id. The
// comparison takes the same time wherever the first difference is.
func (p *Passwords) Valid(id jute.SessionID, passwd []byte) bool {
	return subtle.ConstantTimeCompare(passwd, p.For(id)) == 1
}

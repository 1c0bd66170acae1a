package session

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

func testSecret(b byte) []byte { return bytes.Repeat([]byte{b}, SecretLen) }

func TestPasswordsWithASecret(t *testing.T) {
	const id jute.SessionID = 0x0100006ddd710004
	const legacy jute.SessionID = 0x0100006ddd710005
	p := NewPasswords(testSecret(7), []jute.SessionID{legacy})
	m := hmac.New(sha256.New, testSecret(7))
	m.Write([]byte{0x01, 0x00, 0x00, 0x6d, 0xdd, 0x71, 0x00, 0x04})
	hmacPassword := m.Sum(nil)[:PasswordLen]
	tests := []struct {
		name   string
		id     jute.SessionID
		passwd []byte
		valid  bool
	}{
		{"a session's password is the HMAC of its id", id, hmacPassword, true},
		{"ZooKeeper's derivation of a new session's id is refused", id, ZooKeeperPassword(id), false},
		{"a legacy session keeps ZooKeeper's derivation", legacy, ZooKeeperPassword(legacy), true},
		{"a legacy session does not take the HMAC", legacy, NewPasswords(testSecret(7), nil).For(legacy), false},
		{"a password under another secret is refused", id, NewPasswords(testSecret(8), nil).For(id), false},
		{"a truncated password is refused", id, hmacPassword[:PasswordLen-1], false},
		{"an empty password is refused", id, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Valid(tt.id, tt.passwd); got != tt.valid {
				t.Fatalf("Valid(%#x, %x) = %v", uint64(tt.id), tt.passwd, got)
			}
		})
	}
	if got := p.For(id); !bytes.Equal(got, hmacPassword) || len(got) != PasswordLen {
		t.Fatalf("For = %x, want %x", got, hmacPassword)
	}
	if p.Derivable() {
		t.Fatal("passwords keyed by a secret say they are derivable")
	}
}

func TestPasswordsWithoutASecretAreZooKeepers(t *testing.T) {
	p := NewPasswords(nil, nil)
	const id jute.SessionID = 0x0100006ddd710004
	if got := hex.EncodeToString(p.For(id)); got != "4184a9545e7911c8302cadfca6f4c7ae" {
		t.Fatal(got)
	}
	if !p.Valid(id, ZooKeeperPassword(id)) || !p.Derivable() {
		t.Fatal("ZooKeeper's password refused without a secret")
	}
}

func TestPasswordsKeepACopyOfTheSecret(t *testing.T) {
	secret := testSecret(1)
	p := NewPasswords(secret, nil)
	before := p.For(42)
	secret[0] = 2
	if !bytes.Equal(p.For(42), before) {
		t.Fatal("changing the caller's slice changed the passwords")
	}
}

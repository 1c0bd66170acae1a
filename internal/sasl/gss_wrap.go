package sasl

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
)

// Wrap token flags (RFC 4121 §4.2.2).
const (
	wrapSentByAcceptor = 0x01
	wrapSealed         = 0x02
	wrapAcceptorSubkey = 0x04
)

// Key usages of Wrap tokens (RFC 4121 §2): a token is protected under
// the sender's "seal" usage whether or not it is encrypted.
const (
	usageAcceptorSeal  = 22
	usageInitiatorSeal = 24
)

// wrapHeaderLen is the length of a Wrap token's header (RFC 4121 §4.2.6.2).
const wrapHeaderLen = 16

// cfxEnctypes are the session-key encryption types whose per-message tokens
// are RFC 4121's: the AES families. Older types (RC4, DES3) use RFC 1964's
// token formats, which this package does not implement.
var cfxEnctypes = map[int32]bool{17: true, 18: true, 19: true, 20: true}

// checkCFXKey fails for a key whose encryption type has no RFC 4121 tokens.
func checkCFXKey(key types.EncryptionKey) error {
	if !cfxEnctypes[key.KeyType] {
		return fmt.Errorf("encryption type %d has no RFC 4121 message tokens (zkd's GSSAPI supports the AES types 17, 18, 19, 20)", key.KeyType)
	}
	return nil
}

// wrapHeader builds a Wrap token header.
func wrapHeader(flags byte, ec, rrc uint16, seq uint64) []byte {
	h := make([]byte, wrapHeaderLen)
	h[0], h[1], h[2], h[3] = 0x05, 0x04, flags, 0xff
	binary.BigEndian.PutUint16(h[4:], ec)
	binary.BigEndian.PutUint16(h[6:], rrc)
	binary.BigEndian.PutUint64(h[8:], seq)
	return h
}

// wrapChecksum is the checksum of an integrity-only Wrap token: over the
// plaintext then the header with EC and RRC zero (RFC 4121 §4.2.4).
func wrapChecksum(key types.EncryptionKey, usage uint32, flags byte, seq uint64, payload []byte) ([]byte, error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("wrap token checksum: %w", err)
	}
	data := append(append([]byte(nil), payload...), wrapHeader(flags, 0, 0, seq)...)
	return et.GetChecksumHash(key.KeyValue, data, usage)
}

// makeWrap returns an integrity-only (unsealed) Wrap token carrying payload,
// with RRC 0, as Java's SASL GSSAPI sends during the security-layer
// negotiation (RFC 4752 §3.1 asks for no confidentiality there).
func makeWrap(key types.EncryptionKey, usage uint32, flags byte, seq uint64, payload []byte) ([]byte, error) {
	sum, err := wrapChecksum(key, usage, flags, seq, payload)
	if err != nil {
		return nil, err
	}
	tok := wrapHeader(flags, uint16(len(sum)), 0, seq)
	tok = append(tok, payload...)
	return append(tok, sum...), nil
}

// wrapToken is a verified Wrap token's content.
type wrapToken struct {
	flags   byte
	seq     uint64
	payload []byte
}

// openWrap checks a Wrap token's header and protection (the checksum of an
// integrity-only token, or the decryption and header copy of a sealed one,
// undoing any right rotation) and returns its content. fromAcceptor says
// which side must have sent it.
func openWrap(key types.EncryptionKey, usage uint32, fromAcceptor bool, tok []byte) (wrapToken, error) {
	var w wrapToken
	if len(tok) < wrapHeaderLen {
		return w, fmt.Errorf("wrap token of %d bytes is shorter than its header", len(tok))
	}
	if tok[0] != 0x05 || tok[1] != 0x04 {
		return w, fmt.Errorf("not a wrap token: token identifier %02x%02x, want 0504", tok[0], tok[1])
	}
	if tok[3] != 0xff {
		return w, fmt.Errorf("wrap token filler byte %02x, want ff", tok[3])
	}
	w.flags = tok[2]
	if got := w.flags&wrapSentByAcceptor != 0; got != fromAcceptor {
		return w, fmt.Errorf("wrap token SentByAcceptor flag is %v, want %v", got, fromAcceptor)
	}
	ec := binary.BigEndian.Uint16(tok[4:])
	rrc := binary.BigEndian.Uint16(tok[6:])
	w.seq = binary.BigEndian.Uint64(tok[8:])
	data := append([]byte(nil), tok[wrapHeaderLen:]...)
	if len(data) > 0 {
		r := int(rrc) % len(data)
		data = append(data[r:], data[:r]...)
	}
	if w.flags&wrapSealed == 0 {
		if int(ec) > len(data) {
			return w, fmt.Errorf("wrap token checksum length %d exceeds its %d data bytes", ec, len(data))
		}
		w.payload = data[:len(data)-int(ec)]
		want, err := wrapChecksum(key, usage, w.flags, w.seq, w.payload)
		if err != nil {
			return w, err
		}
		if !hmac.Equal(want, data[len(data)-int(ec):]) {
			return w, errors.New("wrap token checksum does not verify (wrong key, or the token was altered)")
		}
		return w, nil
	}
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return w, fmt.Errorf("sealed wrap token: %w", err)
	}
	plain, err := et.DecryptMessage(key.KeyValue, data, usage)
	if err != nil {
		return w, fmt.Errorf("sealed wrap token does not decrypt: %w", err)
	}
	if len(plain) < int(ec)+wrapHeaderLen {
		return w, errors.New("sealed wrap token is shorter than its filler and header copy")
	}
	n := len(plain) - int(ec) - wrapHeaderLen
	if !bytes.Equal(plain[n+int(ec):], wrapHeader(w.flags, ec, 0, w.seq)) {
		return w, errors.New("sealed wrap token's encrypted header copy differs from its header")
	}
	w.payload = plain[:n]
	return w, nil
}

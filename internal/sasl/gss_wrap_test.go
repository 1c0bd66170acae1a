package sasl

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/types"
)

func testKey(t *testing.T, etype int32) types.EncryptionKey {
	t.Helper()
	// Key lengths of RFC 3962 and RFC 8009 (gokrb5's GetKeyByteSize says 24
	// for type 20).
	k := make([]byte, map[int32]int{17: 16, 18: 32, 19: 16, 20: 32}[etype])
	for i := range k {
		k[i] = byte(i * 7)
	}
	return types.EncryptionKey{KeyType: etype, KeyValue: k}
}

// rotate moves the last n data bytes of a token to the front of its data,
// as a sender with RRC n does (RFC 4121 §4.2.5).
func rotate(tok []byte, n int) []byte {
	out := append([]byte(nil), tok[:wrapHeaderLen]...)
	out[6], out[7] = byte(n>>8), byte(n)
	data := tok[wrapHeaderLen:]
	out = append(out, data[len(data)-n:]...)
	return append(out, data[:len(data)-n]...)
}

func TestWrapTokensOpenWhateverTheirShape(t *testing.T) {
	payload := []byte("\x01\x00\x00\x00alice@EXAMPLE.TEST")
	for _, etype := range []int32{17, 18, 19, 20} {
		key := testKey(t, etype)
		plain, err := makeWrap(key, usageInitiatorSeal, 0, 42, payload)
		if err != nil {
			t.Fatal(err)
		}
		et, _ := crypto.GetEtype(etype)
		_, ct, err := et.EncryptMessage(key.KeyValue, append(append([]byte(nil), payload...), wrapHeader(wrapSealed, 0, 0, 42)...), usageInitiatorSeal)
		if err != nil {
			t.Fatal(err)
		}
		sealed := append(wrapHeader(wrapSealed, 0, 0, 42), ct...)
		for name, tok := range map[string][]byte{
			"integrity only":          plain,
			"integrity only, rotated": rotate(plain, 5),
			"sealed":                  sealed,
			"sealed, rotated":         rotate(sealed, 28),
		} {
			w, err := openWrap(key, usageInitiatorSeal, false, tok)
			if err != nil {
				t.Fatalf("etype %d, %s: %v", etype, name, err)
			}
			if w.seq != 42 || !bytes.Equal(w.payload, payload) {
				t.Fatalf("etype %d, %s: seq %d payload %q", etype, name, w.seq, w.payload)
			}
		}
		if _, err := openWrap(key, usageAcceptorSeal, false, plain); err == nil {
			t.Fatalf("etype %d: a token opened under the other side's key usage", etype)
		}
		if _, err := openWrap(key, usageInitiatorSeal, true, plain); err == nil || !strings.Contains(err.Error(), "SentByAcceptor") {
			t.Fatalf("etype %d: an initiator's token taken as the acceptor's: %v", etype, err)
		}
	}
}

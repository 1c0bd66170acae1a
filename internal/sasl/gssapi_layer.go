package sasl

import (
	"encoding/binary"
	"fmt"
)

// Security layers of the SASL GSSAPI mechanism (RFC 4752 §3.3): a bit mask
// in the first byte of the negotiation messages.
const (
	layerNone      = 0x01
	layerIntegrity = 0x02
	layerPrivacy   = 0x04
)

// javaMaxBuffer is the maximum message size Java's GSSAPI SASL server
// offers by default: 65536 (captured from Apache ZooKeeper 3.8 on Java 17:
// its challenge payload is 01 01 00 00).
const javaMaxBuffer = 65536

// layerMessage is the plaintext of a security-layer negotiation message:
// the layer byte, a 3-byte big-endian maximum buffer size and, from the
// client, the authorization identity (RFC 4752 §3.1).
func layerMessage(layers byte, maxBuf uint32, authzid string) []byte {
	b := make([]byte, 4, 4+len(authzid))
	binary.BigEndian.PutUint32(b, maxBuf&0xffffff)
	b[0] = layers
	return append(b, authzid...)
}

// parseLayerMessage splits a negotiation message into its parts.
func parseLayerMessage(b []byte) (layers byte, maxBuf uint32, authzid string, err error) {
	if len(b) < 4 {
		return 0, 0, "", fmt.Errorf("security-layer message of %d bytes, want at least 4 (RFC 4752 §3.1)", len(b))
	}
	return b[0], binary.BigEndian.Uint32(b) & 0xffffff, string(b[4:]), nil
}

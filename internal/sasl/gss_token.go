package sasl

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
)

// krb5OID is the Kerberos V5 GSS-API mechanism, 1.2.840.113554.1.2.2
// (RFC 1964 §1), DER-encoded with its tag and length.
var krb5OID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

// Token identifiers of the Kerberos mechanism's context tokens (RFC 4121
// §4.1).
var (
	tokAPReq = [2]byte{0x01, 0x00}
	tokAPRep = [2]byte{0x02, 0x00}
	tokError = [2]byte{0x03, 0x00}
)

// frameContextToken wraps an AP-REQ, AP-REP or KRB-ERROR in the
// mechanism-independent framing of RFC 2743 §3.1: [APPLICATION 0] holding
// the mechanism OID, then the two-byte token identifier and the message.
func frameContextToken(id [2]byte, msg []byte) []byte {
	inner := make([]byte, 0, len(krb5OID)+2+len(msg))
	inner = append(inner, krb5OID...)
	inner = append(inner, id[:]...)
	inner = append(inner, msg...)
	out := []byte{0x60}
	out = appendDERLength(out, len(inner))
	return append(out, inner...)
}

// appendDERLength appends n as a DER definite length.
func appendDERLength(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	var digits []byte
	for v := n; v > 0; v >>= 8 {
		digits = append([]byte{byte(v)}, digits...)
	}
	b = append(b, 0x80|byte(len(digits)))
	return append(b, digits...)
}

// parseContextToken undoes frameContextToken: it checks the framing and the
// mechanism OID and returns the token identifier and the Kerberos message.
func parseContextToken(tok []byte) (id [2]byte, msg []byte, err error) {
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(tok, &raw)
	if err != nil {
		return id, nil, fmt.Errorf("GSS context token: bad framing: %w", err)
	}
	if len(rest) != 0 {
		return id, nil, fmt.Errorf("GSS context token: %d bytes after the token", len(rest))
	}
	if raw.Class != asn1.ClassApplication || raw.Tag != 0 || !raw.IsCompound {
		return id, nil, errors.New("GSS context token: not an [APPLICATION 0] token")
	}
	body := raw.Bytes
	if !bytes.HasPrefix(body, krb5OID) {
		return id, nil, errors.New("GSS context token: mechanism is not Kerberos V5 (1.2.840.113554.1.2.2)")
	}
	body = body[len(krb5OID):]
	if len(body) < 2 {
		return id, nil, errors.New("GSS context token: no token identifier")
	}
	copy(id[:], body[:2])
	return id, body[2:], nil
}

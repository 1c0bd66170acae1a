package jute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// DefaultMaxBuffer is ZooKeeper's default jute.maxbuffer: the largest frame
// payload, buffer or string accepted from a peer (0xfffff bytes).
const DefaultMaxBuffer = 0xfffff

// MaxTxnSize is the largest transaction payload (TxnHeader, record and
// digest) zkd writes to its log or sends in a PROPOSAL: 1 GiB. Its log
// reader and quorum links accept every payload up to it, so that a
// transaction zkd acknowledged always replays. It is a sanity bound, not a
// tuning knob: jute.maxbuffer bounds client frames, but a closeSession
// lists every ephemeral of its session and so has no bound of its own.
const MaxTxnSize = 1 << 30

// ErrShort is returned when a record needs more bytes than its input holds.
var ErrShort = errors.New("jute: record truncated")

// Encoder appends jute-encoded values to a byte slice.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an Encoder that appends to buf (which may be nil).
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Bytes returns the encoded bytes.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the encoder, keeping its storage.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// Int appends a 32-bit integer.
func (e *Encoder) Int(v int32) { e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(v)) }

// Long appends a 64-bit integer.
func (e *Encoder) Long(v int64) { e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v)) }

// Bool appends a boolean as one byte, 0 or 1.
func (e *Encoder) Bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// Byte appends one byte.
func (e *Encoder) Byte(v byte) { e.buf = append(e.buf, v) }

// Buffer appends a length-prefixed byte buffer; a nil slice is written as
// null (length -1), an empty non-nil slice as length 0.
func (e *Encoder) Buffer(v []byte) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	e.buf = append(e.buf, v...)
}

// String appends a length-prefixed UTF-8 string (never null).
func (e *Encoder) String(v string) {
	e.Int(int32(len(v)))
	e.buf = append(e.buf, v...)
}

// Strings appends a vector of strings; a nil slice is written as null.
func (e *Encoder) Strings(v []string) {
	if v == nil {
		e.Int(-1)
		return
	}
	if len(v) >= 64 {
		// A long list (getChildren of a large node): size the buffer once
		// instead of growing it step by step.
		n := 4
		for _, s := range v {
			n += 4 + len(s)
		}
		e.buf = slices.Grow(e.buf, n)
	}
	e.Int(int32(len(v)))
	for _, s := range v {
		e.String(s)
	}
}

// Raw appends bytes without a length prefix.
func (e *Encoder) Raw(v []byte) { e.buf = append(e.buf, v...) }

// Record appends a record.
func (e *Encoder) Record(r Encodable) { r.Encode(e) }

// Encodable is a record that can write itself.
type Encodable interface {
	Encode(e *Encoder)
}

// Record is a jute record that can be written and read.
type Record interface {
	Encodable
	Decode(d *Decoder)
}

// Decoder reads jute values from a byte slice. See the package doc for its
// error rule.
type Decoder struct {
	buf    []byte
	off    int
	err    error
	MaxLen int // largest accepted buffer/string length; 0 means DefaultMaxBuffer
}

// NewDecoder returns a Decoder over buf.
func NewDecoder(buf []byte) *Decoder { return &Decoder{buf: buf} }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Offset returns how many bytes have been consumed.
func (d *Decoder) Offset() int { return d.off }

// Remaining returns how many bytes are left.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Fail records err as the decoder's error if it has none yet.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.buf)-d.off {
		d.err = fmt.Errorf("%w at offset %d: need %d bytes, have %d", ErrShort, d.off, n, len(d.buf)-d.off)
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

// Int reads a 32-bit integer.
func (d *Decoder) Int() int32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// Long reads a 64-bit integer.
func (d *Decoder) Long() int64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

// Bool reads a boolean; any non-zero byte is true.
func (d *Decoder) Bool() bool {
	b := d.take(1)
	return b != nil && b[0] != 0
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *Decoder) length(what string) (int, bool) {
	n := d.Int()
	if d.err != nil {
		return 0, false
	}
	if n == -1 {
		return -1, true
	}
	max := d.MaxLen
	if max <= 0 {
		max = DefaultMaxBuffer
	}
	if n < 0 || int(n) > max {
		d.err = fmt.Errorf("jute: unreasonable %s length %d at offset %d", what, n, d.off-4)
		return 0, false
	}
	return int(n), true
}

// Buffer reads a length-prefixed buffer; null comes back as nil, empty as a
// non-nil empty slice. The result aliases the decoder's input.
func (d *Decoder) Buffer() []byte {
	n, ok := d.length("buffer")
	if !ok || n == -1 {
		return nil
	}
	b := d.take(n)
	if b == nil {
		return nil
	}
	return b[:n:n]
}

// BufferCopy reads a buffer like Buffer but returns a copy that does not
// alias the input.
func (d *Decoder) BufferCopy() []byte {
	b := d.Buffer()
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// String reads a length-prefixed string; null reads as "". Invalid UTF-8 is
// kept as is (the caller validates paths).
func (d *Decoder) String() string {
	n, ok := d.length("string")
	if !ok || n <= 0 {
		return ""
	}
	b := d.take(n)
	return string(b)
}

// NullableString reads a string and reports whether it was null.
func (d *Decoder) NullableString() (s string, null bool) {
	n, ok := d.length("string")
	if !ok {
		return "", false
	}
	if n == -1 {
		return "", true
	}
	return string(d.take(n)), false
}

// Count reads a vector count, bounding it by the bytes that remain assuming
// each element takes at least minSize bytes. Null (-1) reads as -1.
func (d *Decoder) Count(minSize int) int {
	n := d.Int()
	if d.err != nil {
		return 0
	}
	if n == -1 {
		return -1
	}
	if minSize < 1 {
		minSize = 1
	}
	if n < 0 || int(n) > d.Remaining()/minSize {
		d.err = fmt.Errorf("jute: unreasonable vector count %d at offset %d", n, d.off-4)
		return 0
	}
	return int(n)
}

// Strings reads a vector of strings; null reads as nil.
func (d *Decoder) Strings() []string {
	n := d.Count(4)
	if n <= 0 {
		if n == 0 && d.err == nil {
			return []string{}
		}
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.String())
		if d.err != nil {
			return nil
		}
	}
	return out
}

// Rest returns the unread bytes and consumes them.
func (d *Decoder) Rest() []byte {
	if d.err != nil {
		return nil
	}
	b := d.buf[d.off:]
	d.off = len(d.buf)
	return b
}

// Decode decodes one record from buf, returning the decoder's error.
// Trailing bytes are ignored, as ZooKeeper does.
func Decode(buf []byte, r Record) error {
	d := NewDecoder(buf)
	r.Decode(d)
	return d.Err()
}

// Encode returns the encoding of r.
func Encode(r Encodable) []byte {
	e := NewEncoder(nil)
	r.Encode(e)
	return e.Bytes()
}

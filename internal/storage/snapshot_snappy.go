package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/snappy"
)

// The snappy-java stream format (what ZooKeeper's ".snappy" snapshots are;
// not Snappy's own framing format), §3.1:
//
//	header   8-byte magic "\x82SNAPPY\x00", int32 version 1,
//	         int32 minimum compatible version 1
//	block*   int32 compressed length, raw Snappy block
//
// A reader also accepts a second header where a block length is expected
// (streams written one after the other), as snappy-java does.
const (
	snappyVersion      = 1
	snappyHeaderSize   = 16
	snappyBlockSize    = 32 << 10 // snappy-java's default block size
	snappyMaxBlock     = 64 << 20 // largest compressed or uncompressed block read
	snappyMagicHeadInt = 0x82534E41
)

// ErrSnappyStream reports a damaged snappy-java stream.
var ErrSnappyStream = errors.New("corrupt snappy-java stream")

// snappyReader decompresses a snappy-java stream.
type snappyReader struct {
	r       io.Reader
	off     int64 // compressed bytes consumed
	started bool
	block   []byte // compressed block
	dec     []byte // decompressed block
	buf     []byte // the part of dec not yet returned
	err     error
}

func newSnappyReader(r io.Reader) *snappyReader { return &snappyReader{r: r} }

func (s *snappyReader) fail(format string, args ...any) error {
	s.err = fmt.Errorf("%w: %s at compressed offset %d", ErrSnappyStream, fmt.Sprintf(format, args...), s.off)
	return s.err
}

func (s *snappyReader) readFull(b []byte) error {
	n, err := io.ReadFull(s.r, b)
	s.off += int64(n)
	return err
}

// header reads the rest of a header whose first rest bytes were read.
func (s *snappyReader) header(head []byte) error {
	var h [snappyHeaderSize]byte
	copy(h[:], head)
	if err := s.readFull(h[len(head):]); err != nil {
		return s.fail("truncated header")
	}
	if string(h[:8]) != snappyMagic {
		return s.fail("bad magic % x", h[:8])
	}
	if compat := int32(binary.BigEndian.Uint32(h[12:])); compat > snappyVersion {
		return s.fail("stream needs snappy-java format version %d", compat)
	}
	return nil
}

func (s *snappyReader) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if err := s.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

// next decompresses the next block into buf.
func (s *snappyReader) next() error {
	if !s.started {
		s.started = true
		return s.header(nil)
	}
	var lb [4]byte
	switch err := s.readFull(lb[:]); {
	case err == io.EOF:
		s.err = io.EOF
		return io.EOF
	case err != nil:
		return s.fail("truncated block length")
	}
	n := int32(binary.BigEndian.Uint32(lb[:]))
	if uint32(n) == snappyMagicHeadInt {
		return s.header(lb[:])
	}
	if n < 0 || n > snappyMaxBlock {
		return s.fail("bad block length %d", n)
	}
	// Grow the buffer as bytes arrive, so that a damaged length cannot
	// cost much more memory than the stream holds.
	s.block = s.block[:0]
	for len(s.block) < int(n) {
		k := min(int(n)-len(s.block), 1<<20)
		if cap(s.block)-len(s.block) < k {
			s.block = append(s.block, make([]byte, k)...)[:len(s.block)]
		}
		m := len(s.block)
		s.block = s.block[:m+k]
		if err := s.readFull(s.block[m:]); err != nil {
			return s.fail("truncated block of %d bytes", n)
		}
	}
	size, err := snappy.DecodedLen(s.block)
	// A Snappy block expands at most about 22-fold.
	if err != nil || size > snappyMaxBlock || size > 32*len(s.block)+64 {
		return s.fail("bad block header")
	}
	out, err := snappy.Decode(s.dec[:cap(s.dec)], s.block)
	if err != nil {
		return s.fail("%v", err)
	}
	s.dec, s.buf = out, out
	return nil
}

// snappyWriter compresses into a snappy-java stream in 32 KiB blocks.
type snappyWriter struct {
	w       io.Writer
	buf     []byte // uncompressed bytes of the block being filled
	out     []byte
	started bool
	err     error
}

func newSnappyWriter(w io.Writer) *snappyWriter {
	return &snappyWriter{w: w, buf: make([]byte, 0, snappyBlockSize)}
}

func (s *snappyWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if s.err != nil {
			return n, s.err
		}
		k := min(len(p), snappyBlockSize-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(s.buf) == snappyBlockSize {
			s.flush()
		}
	}
	return n, s.err
}

func (s *snappyWriter) writeHeader() {
	if s.started {
		return
	}
	s.started = true
	var h [snappyHeaderSize]byte
	copy(h[:], snappyMagic)
	binary.BigEndian.PutUint32(h[8:], snappyVersion)
	binary.BigEndian.PutUint32(h[12:], snappyVersion)
	_, s.err = s.w.Write(h[:])
}

// flush writes the pending block.
func (s *snappyWriter) flush() {
	s.writeHeader()
	if s.err != nil || len(s.buf) == 0 {
		return
	}
	if need := 4 + snappy.MaxEncodedLen(len(s.buf)); cap(s.out) < need {
		s.out = make([]byte, need)
	}
	s.out = s.out[:cap(s.out)]
	enc := snappy.Encode(s.out[4:], s.buf)
	binary.BigEndian.PutUint32(s.out, uint32(len(enc)))
	_, s.err = s.w.Write(s.out[:4+len(enc)])
	s.buf = s.buf[:0]
}

// Close writes the last block; it does not close the underlying writer.
func (s *snappyWriter) Close() error {
	s.flush()
	return s.err
}

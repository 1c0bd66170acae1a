package storage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"io"
	"math"

	"github.com/zkd/zkd/internal/jute"
)

// CorruptionError reports damaged data at a place in a file.
type CorruptionError struct {
	File   string
	Offset int64
	Reason string
}

// Error names the file, the offset and the reason.
func (e *CorruptionError) Error() string {
	return fmt.Sprintf("%s: corrupt at offset %d: %s", e.File, e.Offset, e.Reason)
}

// TornTail describes a partial entry found at the end of a segment: an
// append that never completed (and so was never acknowledged).
type TornTail struct {
	File   string
	Offset int64
	Reason string
}

// Entry is one transaction read from a log, with where it was found.
type Entry struct {
	Txn    *jute.Txn
	File   string
	Offset int64
	// Size is the entry's size on disk, framing included.
	Size int
}

// Segment is the parsed content of one log file.
type Segment struct {
	File    string
	Entries []Entry
	// End is the offset just past the last whole entry.
	End int64
	// Torn is set when the segment ends in a partial entry.
	Torn *TornTail
}

// ReadSegment parses a whole log file. A zero length, EOF inside an entry
// or a bad end-of-record byte ends it (Torn says why if data was cut). A
// checksum mismatch is a CorruptionError unless tailOK is set and only
// zeros follow the bad entry, in which case it is a torn tail too. It
// streams the file, so a segment's preallocated zeros cost no memory.
func ReadSegment(fs FS, path string, tailOK bool) (*Segment, error) {
	return readSegment(fs, path, tailOK, math.MaxInt64)
}

// readSegment is ReadSegment that stops before the first entry with a zxid
// above stopAfter (End is then that entry's offset, and what follows it
// is not looked at).
func readSegment(fs FS, path string, tailOK bool, stopAfter jute.Zxid) (*Segment, error) {
	f, size, err := openRead(fs, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 256<<10)
	seg := &Segment{File: path, End: logHeaderSize}
	// rest reports whether everything after the bytes consumed so far is
	// zero (it consumes the reader).
	rest := func() (bool, error) {
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if !allZero(buf[:n]) {
				return false, nil
			}
			if err == io.EOF {
				return true, nil
			}
			if err != nil {
				return false, fmt.Errorf("read %s: %w", path, err)
			}
		}
	}
	var hdr [logHeaderSize]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil || binary.BigEndian.Uint32(hdr[:]) != logMagic {
		// A server stopped between creating the last segment and writing
		// its header leaves it empty (or, after a power loss, zeros). Such
		// a segment holds nothing that was ever acknowledged: every
		// append comes after the header.
		if tailOK && allZero(hdr[:n]) {
			zero, rerr := rest()
			if rerr != nil {
				return nil, rerr
			}
			if zero {
				seg.End = 0
				seg.Torn = &TornTail{File: path, Offset: 0, Reason: "the segment's header was never written"}
				return seg, nil
			}
		}
		return nil, &CorruptionError{File: path, Offset: 0, Reason: "not a ZooKeeper transaction log (bad magic)"}
	}
	off := int64(logHeaderSize)
	torn := func(consumed []byte, reason string) error {
		zero, err := rest()
		if err != nil {
			return err
		}
		if !zero || !allZero(consumed) {
			seg.Torn = &TornTail{File: path, Offset: off, Reason: reason}
		}
		return nil
	}
	var frame [12]byte
	for {
		n, err := io.ReadFull(r, frame[:])
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return seg, torn(frame[:n], "file ends inside an entry header")
			}
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		sum := binary.BigEndian.Uint64(frame[:])
		length := int64(int32(binary.BigEndian.Uint32(frame[8:])))
		if length == 0 {
			return seg, torn(frame[:], "zero-length entry followed by data")
		}
		if length < 0 || length > jute.MaxTxnSize {
			zero, err := rest()
			if err != nil {
				return nil, err
			}
			reason := fmt.Sprintf("unreasonable entry length %d", length)
			if tailOK && zero {
				seg.Torn = &TornTail{File: path, Offset: off, Reason: reason}
				return seg, nil
			}
			return nil, &CorruptionError{File: path, Offset: off, Reason: reason}
		}
		// left is what the file holds after the entry header: no entry is
		// read into memory unless the file holds all of it.
		left := size - off - int64(len(frame))
		if length >= left && length > tornEntryLimit {
			// A long entry that does not fit: a write whose growth of the
			// file was lost in a crash, or a damaged length.
			tail := make([]byte, max(left, 0))
			if _, err := io.ReadFull(r, tail); err != nil {
				return nil, fmt.Errorf("read %s: %w", path, err)
			}
			if reason, damaged := damagedLength(tail, length, sum, off); damaged || !tailOK {
				if !damaged {
					reason = fmt.Sprintf("entry of %d bytes runs past the end of a segment that is not the last (%d bytes left)", length, left)
				}
				return nil, &CorruptionError{File: path, Offset: off, Reason: reason}
			}
			seg.Torn = &TornTail{File: path, Offset: off, Reason: fmt.Sprintf("file ends inside an entry of %d bytes", length)}
			return seg, nil
		}
		body := make([]byte, length+1)
		if _, err := io.ReadFull(r, body); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				seg.Torn = &TornTail{File: path, Offset: off, Reason: "file ends inside an entry"}
				return seg, nil
			}
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if body[length] != endOfRecord {
			if length > tornEntryLimit {
				if reason, damaged := damagedLength(body[:length], length, sum, off); damaged {
					return nil, &CorruptionError{File: path, Offset: off, Reason: reason}
				}
			}
			seg.Torn = &TornTail{File: path, Offset: off, Reason: "entry has no end-of-record byte (partial write)"}
			return seg, nil
		}
		payload := body[:length]
		if uint64(adler32.Checksum(payload)) != sum {
			zero, err := rest()
			if err != nil {
				return nil, err
			}
			if tailOK && zero {
				seg.Torn = &TornTail{File: path, Offset: off, Reason: "checksum mismatch in the last entry"}
				return seg, nil
			}
			return nil, &CorruptionError{File: path, Offset: off, Reason: "checksum mismatch"}
		}
		txn, err := jute.DecodeTxn(payload)
		if err != nil {
			return nil, &CorruptionError{File: path, Offset: off, Reason: err.Error()}
		}
		if txn.Header.Zxid > stopAfter {
			return seg, nil
		}
		size := 12 + length + 1
		seg.Entries = append(seg.Entries, Entry{Txn: txn, File: path, Offset: off, Size: int(size)})
		off += size
		seg.End = off
	}
}

// tornEntryLimit bounds the entries whose partial writes are judged as
// before zkd wrote entries longer than ZooKeeper's readers accept
// (jute.maxbuffer plus its extra size, with room to spare). A longer
// entry that does not fit in its file, or lacks its end-of-record byte,
// is looked at more closely: if a shorter whole entry hides behind its
// length, the length is damaged and the segment is corrupt.
const tornEntryLimit = 2*jute.DefaultMaxBuffer + 1<<20

// damagedLength reports whether the bytes after an entry header of the
// given length hold a whole, shorter entry: an end-of-record byte after a
// payload that matches the header's checksum and decodes as a
// transaction. Then the length, not the data, is damaged, and what
// follows is not a torn tail but entries that must not be cut off.
func damagedLength(b []byte, length int64, sum uint64, off int64) (string, bool) {
	h := adler32.New()
	done := 0
	for p := 0; p < len(b); p++ {
		if b[p] != endOfRecord {
			continue
		}
		h.Write(b[done:p])
		done = p
		if uint64(h.Sum32()) != sum {
			continue
		}
		if _, err := jute.DecodeTxn(b[:p]); err == nil {
			return fmt.Sprintf("entry length %d is damaged: a whole %d-byte entry with a matching checksum ends at offset %d, and entries may follow it",
				length, p, off+12+int64(p)), true
		}
	}
	return "", false
}

// allZero reports whether b holds only zeros. It compares whole blocks
// (bytes.Equal is not instrumented byte by byte): a reader checks the
// preallocated rest of a segment, up to 64 MB of zeros, on every restore,
// TRUNC and SNAP, and a loop over the bytes took seconds in a race-detector
// build on a loaded machine — longer than a learner's initLimit.
func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeroBlock))
		if !bytes.Equal(b[:n], zeroBlock[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

var zeroBlock [64 << 10]byte

// LogsFrom returns the log segments that may hold transactions after zxid
// from, oldest first: every segment starting above it plus the newest one
// starting at or below it (§1.3 step 3).
func LogsFrom(fs FS, dir string, from jute.Zxid) ([]string, error) {
	files, err := listFiles(fs, dir, LogPrefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, f := range files {
		if f.Zxid > from || (i+1 < len(files) && files[i+1].Zxid > from) || i+1 == len(files) {
			out = append(out, f.Path)
		}
	}
	return out, nil
}

// ReplayResult summarises a replay.
type ReplayResult struct {
	LastZxid jute.Zxid
	Applied  int
	// Truncated lists torn tails that were cut off.
	Truncated []TornTail
}

// Replay reads every transaction with a zxid above from, in order, and
// hands it to apply. Torn tails of segments are cut off the files (when
// truncate is set) so that a later append never follows garbage.
func Replay(fs FS, dir string, from jute.Zxid, truncate bool, apply func(*jute.Txn) error) (ReplayResult, error) {
	res := ReplayResult{LastZxid: from}
	paths, err := LogsFrom(fs, dir, from)
	if err != nil {
		return res, err
	}
	for i, p := range paths {
		seg, err := ReadSegment(fs, p, i == len(paths)-1)
		if err != nil {
			return res, err
		}
		for _, e := range seg.Entries {
			z := e.Txn.Header.Zxid
			if z <= from {
				continue
			}
			if z <= res.LastZxid {
				return res, &CorruptionError{File: e.File, Offset: e.Offset,
					Reason: fmt.Sprintf("zxid %v follows %v: the log goes backwards", z, res.LastZxid)}
			}
			if err := apply(e.Txn); err != nil {
				return res, fmt.Errorf("replay %s at offset %d (zxid %v): %w", e.File, e.Offset, e.Txn.Header.Zxid, err)
			}
			res.LastZxid = e.Txn.Header.Zxid
			res.Applied++
		}
		if seg.Torn != nil {
			res.Truncated = append(res.Truncated, *seg.Torn)
			switch {
			case !truncate:
			case seg.Torn.Offset == 0:
				// No header: remove the file, so that it cannot end up
				// in the middle of the logs once the next segment
				// starts.
				if err := fs.Remove(p); err != nil {
					return res, fmt.Errorf("remove headerless segment %s: %w", p, err)
				}
				if err := fs.SyncDir(dir); err != nil {
					return res, fmt.Errorf("remove headerless segment %s: %w", p, err)
				}
			default:
				if err := cutTail(fs, p, seg.Torn.Offset); err != nil {
					return res, err
				}
			}
		}
	}
	return res, nil
}

// cutTail cuts a segment at off and syncs it.
func cutTail(fs FS, path string, off int64) error {
	f, err := fs.OpenFile(path)
	if err != nil {
		return fmt.Errorf("cut torn tail of %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("cut torn tail of %s at %d: %w", path, off, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cut torn tail of %s: %w", path, err)
	}
	return nil
}

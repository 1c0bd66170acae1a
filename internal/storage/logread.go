package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/adler32"

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
// zeros follow the bad entry, in which case it is a torn tail too.
func ReadSegment(fs FS, path string, tailOK bool) (*Segment, error) {
	b, err := fs.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seg := &Segment{File: path, End: logHeaderSize}
	if len(b) < logHeaderSize || binary.BigEndian.Uint32(b) != logMagic {
		return nil, &CorruptionError{File: path, Offset: 0, Reason: "not a ZooKeeper transaction log (bad magic)"}
	}
	off := int64(logHeaderSize)
	torn := func(reason string) {
		if !allZero(b[off:]) {
			seg.Torn = &TornTail{File: path, Offset: off, Reason: reason}
		}
	}
	for {
		if off+12 > int64(len(b)) {
			torn("file ends inside an entry header")
			return seg, nil
		}
		sum := binary.BigEndian.Uint64(b[off:])
		n := int64(int32(binary.BigEndian.Uint32(b[off+8:])))
		if n == 0 {
			torn("zero-length entry followed by data")
			return seg, nil
		}
		if n < 0 || n > 2*jute.DefaultMaxBuffer+1<<20 {
			if tailOK && allZero(b[off+12:]) {
				torn(fmt.Sprintf("unreasonable entry length %d", n))
				return seg, nil
			}
			return nil, &CorruptionError{File: path, Offset: off, Reason: fmt.Sprintf("unreasonable entry length %d", n)}
		}
		end := off + 12 + n + 1
		if end > int64(len(b)) {
			torn("file ends inside an entry")
			return seg, nil
		}
		if b[end-1] != endOfRecord {
			torn("entry has no end-of-record byte (partial write)")
			return seg, nil
		}
		payload := b[off+12 : end-1]
		if uint64(adler32.Checksum(payload)) != sum {
			if tailOK && allZero(b[end:]) {
				seg.Torn = &TornTail{File: path, Offset: off, Reason: "checksum mismatch in the last entry"}
				return seg, nil
			}
			return nil, &CorruptionError{File: path, Offset: off, Reason: "checksum mismatch"}
		}
		txn, err := jute.DecodeTxn(bytes.Clone(payload))
		if err != nil {
			return nil, &CorruptionError{File: path, Offset: off, Reason: err.Error()}
		}
		seg.Entries = append(seg.Entries, Entry{Txn: txn, File: path, Offset: off, Size: int(end - off)})
		off = end
		seg.End = off
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

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
			if truncate {
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

package storage

import (
	"fmt"

	"github.com/zkd/zkd/internal/jute"
)

// TxnsSince reads, for a leader syncing a follower with DIFF, every
// transaction in the log of logDir after zxid from, in order (storage-and-
// quorum.md §5.4: the on-disk path when the follower is behind the
// in-memory committed log).
//
// ok is false, with no transactions, when the log cannot serve the sync:
// when the first entry at or after from is not from itself (the log does
// not reach back to from, or has a hole where from should be), when the
// log holds nothing at or after from, or when maxBytes is not negative and
// the log segments involved (those of LogsFrom) are together larger than
// maxBytes. Sizes are the files' lengths on disk, preallocated space
// included, as ZooKeeper measures them against snapshotSizeFactor times
// NewestSnapshotSize; the size check comes before any segment is read.
//
// The log may be appended to meanwhile: a partial entry at the end of the
// newest segment ends it, and transactions logged but not yet committed
// may be returned, so the caller bounds the result by its committed zxid.
// A checksum mismatch elsewhere is a CorruptionError.
func TxnsSince(fs FS, logDir string, from jute.Zxid, maxBytes int64) (txns []*jute.Txn, ok bool, err error) {
	paths, err := LogsFrom(fs, logDir, from)
	if err != nil {
		return nil, false, fmt.Errorf("read txns after %v: list logs in %s: %w", from, logDir, err)
	}
	if len(paths) == 0 {
		return nil, false, nil
	}
	if maxBytes >= 0 {
		var total int64
		for _, p := range paths {
			f, size, err := openRead(fs, p)
			if err != nil {
				return nil, false, fmt.Errorf("read txns after %v: %w", from, err)
			}
			f.Close()
			total += size
		}
		if total > maxBytes {
			return nil, false, nil
		}
	}
	found := false // whether the entry with zxid from has been seen
	last := jute.Zxid(-1)
	for i, p := range paths {
		seg, err := ReadSegment(fs, p, i == len(paths)-1)
		if err != nil {
			return nil, false, fmt.Errorf("read txns after %v: %w", from, err)
		}
		for _, e := range seg.Entries {
			z := e.Txn.Header.Zxid
			if z <= last {
				return nil, false, &CorruptionError{File: e.File, Offset: e.Offset,
					Reason: fmt.Sprintf("zxid %v follows %v: the log goes backwards", z, last)}
			}
			last = z
			switch {
			case z < from:
			case z == from:
				found = true
			case !found:
				return nil, false, nil // the log has no entry for from
			default:
				txns = append(txns, e.Txn)
			}
		}
	}
	if !found {
		return nil, false, nil
	}
	return txns, true, nil
}

// NewestSnapshotSize returns the size on disk of the newest snapshot in
// snapDir that passes the cheap validity test (§3.6), the one a leader
// weighs log sizes against (§5.4); ok is false when there is none.
func NewestSnapshotSize(fs FS, snapDir string) (size int64, ok bool, err error) {
	snaps, _, err := ValidSnapshots(fs, snapDir, 1)
	if err != nil {
		return 0, false, fmt.Errorf("list snapshots in %s: %w", snapDir, err)
	}
	if len(snaps) == 0 {
		return 0, false, nil
	}
	f, size, err := openRead(fs, snaps[0].Path)
	if err != nil {
		return 0, false, err
	}
	f.Close()
	return size, true, nil
}

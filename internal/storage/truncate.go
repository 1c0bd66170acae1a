package storage

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"slices"

	"github.com/zkd/zkd/internal/jute"
)

// ErrTruncateBelowSnapshots reports a Truncate refused because no valid
// snapshot is as old as the zxid to truncate to, though newer ones exist:
// the state at that zxid cannot be rebuilt from what is on disk, so the
// server needs a full snapshot from the leader instead.
var ErrTruncateBelowSnapshots = errors.New("no valid snapshot at or below the truncation point")

// Truncate discards every transaction after zxid from the log in logDir,
// for a follower told to TRUNC (storage-and-quorum.md §2.11), and every
// snapshot in snapDir named after a later zxid. Afterwards a restore sees
// exactly the transactions up to zxid that were there before, and a Log
// opened on logDir, told SetLastZxid, appends after them (in a new
// segment, as always). No Log may be open on logDir meanwhile.
//
// The log: the segment holding zxid (the newest one whose name is at or
// below it) is cut just after its last entry with a zxid at or below
// zxid, and shrunk to that length; a segment with no such entry keeps
// only its header, and one without a header is removed. Every segment
// starting after zxid is removed. So a zxid before the first segment's
// start removes all segments, and with no log at all nothing is cut.
// Truncate does not promise that zxid itself is in the log afterwards
// (a log that ends before it is left as it is): restore tells what the
// last zxid now is.
//
// Snapshots: ZooKeeper 3.8 keeps those newer than zxid, and a reload
// would then take one of them; zkd removes them. If that would leave no
// snapshot that passes the cheap validity test (§3.6), nothing is changed
// and the error wraps ErrTruncateBelowSnapshots.
//
// Crash safety: removals go newest first and the cut comes last, with
// the snapshot directory synced before the log is touched and the log
// directory synced before the cut. A crash at any point leaves snapshots
// and a log that are a prefix of what was there, never a log with a hole.
// Running Truncate again completes the job.
func Truncate(fs FS, logDir, snapDir string, zxid jute.Zxid) error {
	if zxid < 0 {
		return fmt.Errorf("truncate %s to zxid %v: a zxid is never negative", logDir, zxid)
	}
	snaps, err := listFiles(fs, snapDir, SnapshotPrefix)
	if err != nil {
		return fmt.Errorf("truncate to zxid %v: list snapshots in %s: %w", zxid, snapDir, err)
	}
	if len(snaps) > 0 && snaps[len(snaps)-1].Zxid > zxid && !hasValidSnapshotUpTo(fs, snaps, zxid) {
		return fmt.Errorf("truncate %s to zxid %v: oldest snapshot is %s: %w",
			logDir, zxid, snaps[0].Path, ErrTruncateBelowSnapshots)
	}
	logs, err := listFiles(fs, logDir, LogPrefix)
	if err != nil {
		return fmt.Errorf("truncate to zxid %v: list logs in %s: %w", zxid, logDir, err)
	}

	// 1. Snapshots newer than zxid, newest first.
	removed := false
	for _, s := range slices.Backward(snaps) {
		if s.Zxid <= zxid {
			break
		}
		if err := removeFile(fs, s.Path); err != nil {
			return fmt.Errorf("truncate to zxid %v: remove snapshot %s: %w", zxid, s.Path, err)
		}
		removed = true
	}
	if removed {
		if err := fs.SyncDir(snapDir); err != nil {
			return fmt.Errorf("truncate to zxid %v: sync %s: %w", zxid, snapDir, err)
		}
	}

	// 2. Log segments starting after zxid, newest first.
	removed = false
	for len(logs) > 0 && logs[len(logs)-1].Zxid > zxid {
		p := logs[len(logs)-1].Path
		if err := removeFile(fs, p); err != nil {
			return fmt.Errorf("truncate to zxid %v: remove log segment %s: %w", zxid, p, err)
		}
		logs = logs[:len(logs)-1]
		removed = true
	}
	if len(logs) == 0 {
		if removed {
			if err := fs.SyncDir(logDir); err != nil {
				return fmt.Errorf("truncate to zxid %v: sync %s: %w", zxid, logDir, err)
			}
		}
		return nil
	}

	// 3. Cut the segment holding zxid after its last entry at or below it.
	p := logs[len(logs)-1].Path
	seg, err := readSegment(fs, p, true, zxid)
	if err != nil {
		return fmt.Errorf("truncate to zxid %v: %w", zxid, err)
	}
	if seg.End == 0 { // no header: nothing in it was ever acknowledged
		if err := removeFile(fs, p); err != nil {
			return fmt.Errorf("truncate to zxid %v: remove headerless log segment %s: %w", zxid, p, err)
		}
		removed = true
	}
	if removed {
		if err := fs.SyncDir(logDir); err != nil {
			return fmt.Errorf("truncate to zxid %v: sync %s: %w", zxid, logDir, err)
		}
	}
	if seg.End == 0 {
		return nil
	}
	if err := cutAt(fs, p, seg.End); err != nil {
		return fmt.Errorf("truncate to zxid %v: %w", zxid, err)
	}
	return nil
}

// hasValidSnapshotUpTo reports whether one of snaps is named at or below
// zxid and passes the cheap validity test, so that restore can start from
// it.
func hasValidSnapshotUpTo(fs FS, snaps []dataFile, zxid jute.Zxid) bool {
	for _, s := range snaps {
		if s.Zxid <= zxid && CheckSnapshotFile(fs, s.Path) == nil {
			return true
		}
	}
	return false
}

// removeFile removes path; a file already gone is not an error.
func removeFile(fs FS, path string) error {
	if err := fs.Remove(path); err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	return nil
}

// cutAt shrinks the file at path to size (if it is longer) and syncs it.
// The end of valid data is then the end of the file, which ReadSegment
// reads as a clean end.
func cutAt(fs FS, path string, size int64) error {
	f, cur, err := openRead(fs, path)
	if err != nil {
		return fmt.Errorf("cut %s at offset %d: %w", path, size, err)
	}
	f.Close()
	if cur <= size {
		return nil
	}
	return cutTail(fs, path, size)
}

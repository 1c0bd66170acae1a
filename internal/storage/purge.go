package storage

import (
	"fmt"
	"path/filepath"
	"strings"
)

// MinRetainCount is the fewest snapshots purge keeps, as in ZooKeeper.
const MinRetainCount = 3

// Purge deletes the snapshots and log segments that restore no longer
// needs, keeping the newest retain valid snapshots (at least 3) and every
// log segment that may hold transactions after the oldest of them
// (storage-and-quorum.md §1.6). Leftover temporary snapshot files older
// than that are removed too. It returns the files it deleted.
func Purge(fs FS, snapDir, logDir string, retain int) ([]string, error) {
	retain = max(retain, MinRetainCount)
	keep, _, err := ValidSnapshots(fs, snapDir, retain)
	if err != nil {
		return nil, err
	}
	if len(keep) < retain {
		return nil, nil // not enough snapshots yet: nothing is old enough
	}
	oldest := keep[len(keep)-1].Zxid
	var doomed []string
	logs, err := listFiles(fs, logDir, LogPrefix)
	if err != nil {
		return nil, err
	}
	// Keep the newest segment that starts at or before the oldest kept
	// snapshot: it may hold the transactions right after it.
	for i, l := range logs {
		if l.Zxid < oldest && i+1 < len(logs) && logs[i+1].Zxid <= oldest {
			doomed = append(doomed, l.Path)
		}
	}
	snaps, err := ListSnapshots(fs, snapDir)
	if err != nil {
		return nil, err
	}
	for _, s := range snaps {
		if s.Zxid < oldest {
			doomed = append(doomed, s.Path)
		}
	}
	names, err := fs.ReadDir(snapDir)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base, isTmp := strings.CutSuffix(n, ".tmp")
		if isTmp && ParseName(base, SnapshotPrefix) >= 0 && ParseName(base, SnapshotPrefix) < oldest {
			doomed = append(doomed, filepath.Join(snapDir, n))
		}
	}
	var deleted []string
	for _, p := range doomed {
		if err := fs.Remove(p); err != nil {
			return deleted, fmt.Errorf("purge %s: %w", p, err)
		}
		deleted = append(deleted, p)
	}
	return deleted, nil
}

package storage

import (
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"path/filepath"
	"strconv"

	"github.com/zkd/zkd/internal/jute"
)

// Names of the epoch files a quorum server keeps in the snapshot directory
// (storage-and-quorum.md §1.1). Each holds one decimal number and nothing
// else.
const (
	// AcceptedEpochFile holds the newest epoch this server has accepted
	// in a NEWEPOCH (ZAB discovery).
	AcceptedEpochFile = "acceptedEpoch"
	// CurrentEpochFile holds the epoch of the leader this server last
	// synchronized with (set on NEWLEADER).
	CurrentEpochFile = "currentEpoch"
)

// tmpSuffix is the suffix of the temporary file an atomic write goes
// through.
const tmpSuffix = ".tmp"

// ReadEpoch reads the epoch file name (AcceptedEpochFile, CurrentEpochFile,
// or a temporary copy of one) in snapDir. A missing file gives ok=false and
// no error. The content must be a decimal int64, as ZooKeeper writes it
// with no line ending; one trailing "\n" or "\r\n" is tolerated, as
// ZooKeeper reads the first line. Anything else is an error naming the
// file.
func ReadEpoch(fs FS, snapDir, name string) (epoch int64, ok bool, err error) {
	path := filepath.Join(snapDir, name)
	b, err := fs.ReadFile(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read epoch file %s: %w", path, err)
	}
	text := bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	epoch, err = strconv.ParseInt(string(text), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("epoch file %s: content %q is not a decimal number", path, clip(b))
	}
	return epoch, true, nil
}

// clip shortens garbage for an error message.
func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// WriteEpoch makes epoch the durable content of the epoch file name in
// snapDir: it writes name.tmp, fsyncs it, renames it over name and fsyncs
// the directory, so that a crash leaves either the old or the new value
// under name (and possibly the new one in name.tmp, which LoadEpochs
// uses for currentEpoch).
func WriteEpoch(fs FS, snapDir, name string, epoch int64) error {
	path := filepath.Join(snapDir, name)
	tmp := path + tmpSuffix
	if err := fs.MkdirAll(snapDir); err != nil {
		return fmt.Errorf("write epoch file %s: %w", path, err)
	}
	f, err := fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("write epoch file %s: %w", path, err)
	}
	if err := replaceWith(fs, f, path, []byte(strconv.FormatInt(epoch, 10))); err != nil {
		return fmt.Errorf("write epoch file %s: %w", path, err)
	}
	return nil
}

// replaceWith writes data to f, a new temporary file beside path, fsyncs
// it, renames it over path and fsyncs the directory, so that a crash
// leaves either the old or the new content under path. On failure before
// the rename the temporary file is removed.
func replaceWith(fs FS, f File, path string, data []byte) error {
	tmp := f.Name()
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err != nil {
		fs.Remove(tmp)
		return err
	}
	if err := fs.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("sync %s: %w", filepath.Dir(path), err)
	}
	return nil
}

// LoadEpochs reads the accepted and current epochs at startup, after the
// database has been restored to lastZxid (storage-and-quorum.md §1.7).
// With e the epoch of lastZxid (its high 32 bits):
//
//   - a missing currentEpoch is created with e, and so is a missing
//     acceptedEpoch (a dataDir from a standalone server or an upgrade);
//   - if e is newer than currentEpoch, a crash interrupted the write of a
//     new current epoch after its temporary file was made durable:
//     currentEpoch is set from currentEpoch.tmp (and rewritten). Without
//     that file it is an error, as the log holds an epoch the server never
//     recorded having joined;
//   - an acceptedEpoch older than currentEpoch is an error.
//
// Errors name the files involved. Nothing is written unless a file is
// missing or repaired.
func LoadEpochs(fs FS, snapDir string, lastZxid jute.Zxid) (accepted, current int64, err error) {
	e := int64(lastZxid) >> 32
	curPath := filepath.Join(snapDir, CurrentEpochFile)
	current, ok, err := ReadEpoch(fs, snapDir, CurrentEpochFile)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		current = e
		if err := WriteEpoch(fs, snapDir, CurrentEpochFile, current); err != nil {
			return 0, 0, err
		}
	}
	if e > current {
		tmpName := CurrentEpochFile + tmpSuffix
		repaired, ok, err := ReadEpoch(fs, snapDir, tmpName)
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			return 0, 0, fmt.Errorf("current epoch %d in %s is older than the epoch %d of the last zxid %v, and there is no %s to repair it from",
				current, curPath, e, lastZxid, tmpName)
		}
		// As ZooKeeper: the temporary file's value is taken as it is.
		current = repaired
		if err := WriteEpoch(fs, snapDir, CurrentEpochFile, current); err != nil {
			return 0, 0, err
		}
	}
	accepted, ok, err = ReadEpoch(fs, snapDir, AcceptedEpochFile)
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		accepted = e
		if err := WriteEpoch(fs, snapDir, AcceptedEpochFile, accepted); err != nil {
			return 0, 0, err
		}
	}
	if accepted < current {
		return 0, 0, fmt.Errorf("accepted epoch %d in %s is older than the current epoch %d in %s",
			accepted, filepath.Join(snapDir, AcceptedEpochFile), current, curPath)
	}
	return accepted, current, nil
}

package storage

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/zkd/zkd/internal/jute"
)

// VersionDir is the sub-directory ZooKeeper keeps its files in.
const VersionDir = "version-2"

// Prefixes of the data file names.
const (
	LogPrefix      = "log"
	SnapshotPrefix = "snapshot"
)

// ParseName returns the zxid in a data file name "<prefix>.<hex>[.<ext>]",
// or -1 if the name does not have that shape (§1.2).
func ParseName(name, prefix string) jute.Zxid {
	parts := strings.Split(filepath.Base(name), ".")
	if len(parts) < 2 || parts[0] != prefix {
		return -1
	}
	z, err := strconv.ParseInt(parts[1], 16, 64)
	if err != nil {
		return -1
	}
	return jute.Zxid(z)
}

// LogName returns the file name of the log segment starting at zxid.
func LogName(zxid jute.Zxid) string { return LogPrefix + "." + strconv.FormatInt(int64(zxid), 16) }

// dataFile is a data file with the zxid of its name.
type dataFile struct {
	Path string
	Zxid jute.Zxid
}

// listFiles returns the files in dir with the prefix whose names parse,
// sorted by zxid ascending.
func listFiles(fs FS, dir, prefix string) ([]dataFile, error) {
	names, err := fs.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []dataFile
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			continue
		}
		if z := ParseName(n, prefix); z >= 0 {
			out = append(out, dataFile{Path: filepath.Join(dir, n), Zxid: z})
		}
	}
	slices.SortFunc(out, func(a, b dataFile) int {
		switch {
		case a.Zxid < b.Zxid:
			return -1
		case a.Zxid > b.Zxid:
			return 1
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out, nil
}

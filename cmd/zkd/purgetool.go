package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/zkd/zkd/internal/storage"
)

// runPurge implements `zkd purge [-n count] dataDir [dataLogDir]`, the
// manual counterpart of autopurge (ZooKeeper's zkCleanup.sh).
func runPurge(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", storage.MinRetainCount, "how many snapshots to keep (at least 3)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return fmt.Errorf("usage: zkd purge [-n count] dataDir [dataLogDir]")
	}
	dataDir := fs.Arg(0)
	logDir := dataDir
	if fs.NArg() == 2 {
		logDir = fs.Arg(1)
	}
	deleted, err := storage.Purge(storage.OS{}, filepath.Join(dataDir, storage.VersionDir), filepath.Join(logDir, storage.VersionDir), *n)
	for _, d := range deleted {
		fmt.Fprintln(stdout, "deleted", d)
	}
	if err == nil && len(deleted) == 0 {
		fmt.Fprintln(stdout, "nothing to purge")
	}
	return err
}

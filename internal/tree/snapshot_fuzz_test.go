package tree

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadSnapshot feeds arbitrary bytes to ReadSnapshot: it must never
// panic, must fail only with a *SnapshotError, and whatever it accepts must
// survive a write and a second read unchanged. The seed corpus
// (testdata/fuzz/FuzzReadSnapshot) holds snapshots written by Apache
// ZooKeeper 3.8.0 and by this package.
func FuzzReadSnapshot(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		opts := ReadOptions{Zxid: 0x10, ExtendedTypes: len(b)%2 == 0, MaxBuffer: 1 << 16}
		tr, sessions, _, err := ReadSnapshot(bytes.NewReader(b), opts)
		if err != nil {
			var se *SnapshotError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SnapshotError", err)
			}
			return
		}
		checkInvariants(t, tr)
		var out bytes.Buffer
		if err := tr.WriteSnapshotOnce(&out, sessions); err != nil {
			t.Fatal(err)
		}
		again, _, info, err := ReadSnapshot(&out, opts)
		if err != nil {
			t.Fatalf("reading back what was written: %v", err)
		}
		if info.DigestMismatch {
			t.Errorf("written digest %#x does not match the content %#x", info.Digest, info.TreeDigest)
		}
		compareTrees(t, again, tr)
	})
}

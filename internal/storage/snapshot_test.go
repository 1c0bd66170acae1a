package storage

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy/xerial"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

// snapFixture is a dataDir written by Apache ZooKeeper 3.8.0 (see its
// README): snapshot.0, .24, .4b and .69, uncompressed.
var snapFixture = filepath.Join("..", "..", "..", "shared", "testdata", "zk38-basic", "version-2")

// copyFixtureSnapshots copies the named fixture files into a new directory.
func copyFixtureSnapshots(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(snapFixture, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSnapshotFileNames(t *testing.T) {
	for _, tc := range []struct {
		zxid jute.Zxid
		c    Compression
		want string
	}{
		{0, Uncompressed, "snapshot.0"},
		{0x24, Gzip, "snapshot.24.gz"},
		{0x100000001, Snappy, "snapshot.100000001.snappy"},
	} {
		if got := SnapshotName(tc.zxid, tc.c); got != tc.want {
			t.Errorf("SnapshotName(%#x, %v) = %q, want %q", int64(tc.zxid), tc.c, got, tc.want)
		}
		if z := ParseName(tc.want, SnapshotPrefix); z != tc.zxid {
			t.Errorf("ParseName(%q) = %#x", tc.want, int64(z))
		}
		if c := SnapshotCompression(tc.want); c != tc.c {
			t.Errorf("SnapshotCompression(%q) = %v", tc.want, c)
		}
	}
	for name, want := range map[string]Compression{
		"snapshot.24.GZ":     Gzip,
		"snapshot.24.Snappy": Snappy,
		"snapshot.24.bak":    Uncompressed,
		"/d/snapshot.24":     Uncompressed,
	} {
		if got := SnapshotCompression(name); got != want {
			t.Errorf("SnapshotCompression(%q) = %v, want %v", name, got, want)
		}
	}
	for _, bad := range []string{"snapshot", "snapshot.", "snapshot.xyz", "snap.24", "log.24", "snapshot-24"} {
		if z := ParseName(bad, SnapshotPrefix); z != -1 {
			t.Errorf("ParseName(%q) = %d, want -1", bad, z)
		}
	}
	for _, s := range []string{"", "gz", "snappy"} {
		if c, err := ParseCompression(s); err != nil || c.String() != s {
			t.Errorf("ParseCompression(%q) = %v, %v", s, c, err)
		}
	}
	if _, err := ParseCompression("lz4"); err == nil {
		t.Error("ParseCompression accepted lz4")
	}
}

func TestListSnapshotsIsNewestFirstAndIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"snapshot.4b", "snapshot.100", "snapshot.24.gz", "snapshot.200.tmp", "snapshot.300.gz.tmp", "snapshot.x", "log.500", "acceptedEpoch", "snapshot.9.snappy"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ListSnapshots(OS{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, filepath.Base(f.Path))
	}
	if want := []string{"snapshot.100", "snapshot.4b", "snapshot.24.gz", "snapshot.9.snappy"}; !slices.Equal(names, want) {
		t.Errorf("ListSnapshots = %v, want %v", names, want)
	}
	if got[2].Zxid != 0x24 || got[2].Compression != Gzip {
		t.Errorf("%+v", got[2])
	}
	if none, err := ListSnapshots(OS{}, filepath.Join(dir, "missing")); err != nil || len(none) != 0 {
		t.Errorf("missing dir: %v, %v", none, err)
	}
}

func TestCheckSnapshotFileIsZooKeepersCheapTest(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(snapFixture, "snapshot.0"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		content []byte
		ok      bool
	}{
		{"snapshot.1", good, true},
		{"snapshot.2", good[:len(good)-1], false},
		{"snapshot.3", good[:0x1a8], true}, // a pre-3.6 file ends after seal #1
		{"snapshot.4", []byte("\x00\x00\x00\x00\x01/"), false},
		{"snapshot.5", []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x01/"), true},
		{"snapshot.6.gz", []byte{0x1f, 0x8b}, true},
		{"snapshot.7.gz", good, false},
		{"snapshot.8.snappy", []byte(snappyMagic), true},
		{"snapshot.9.SNAPPY", []byte(snappyMagic[:7]), false},
		{"snapshot.a.tmp", good, false},
		{"snapshot.zz", good, false},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, tc.content, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := CheckSnapshotFile(OS{}, p); (err == nil) != tc.ok {
			t.Errorf("%s: CheckSnapshotFile = %v, want ok=%v", tc.name, err, tc.ok)
		}
		// The same through an FS whose files have neither Stat nor Seek.
		if err := CheckSnapshotFile(bareFS{}, p); (err == nil) != tc.ok {
			t.Errorf("%s through bareFS: CheckSnapshotFile = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// bareFS is the OS file system with files that only have the File
// interface's methods.
type bareFS struct{ OS }

func (bareFS) OpenFile(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return bareFile{f}, nil
}

type bareFile struct{ f *os.File }

func (b bareFile) Write(p []byte) (int, error)              { return b.f.Write(p) }
func (b bareFile) WriteAt(p []byte, off int64) (int, error) { return b.f.WriteAt(p, off) }
func (b bareFile) ReadAt(p []byte, off int64) (int, error)  { return b.f.ReadAt(p, off) }
func (b bareFile) Sync() error                              { return b.f.Sync() }
func (b bareFile) Truncate(size int64) error                { return b.f.Truncate(size) }
func (b bareFile) Close() error                             { return b.f.Close() }
func (b bareFile) Name() string                             { return b.f.Name() }

func TestFileSizeWithoutStatOrSeek(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 2, 3, 457, 4096, 100001} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		f, _ := bareFS{}.OpenFile(p)
		got, err := fileSize(f)
		f.Close()
		if err != nil || got != int64(size) {
			t.Errorf("fileSize of %d bytes = %d, %v", size, got, err)
		}
	}
}

func loadFixtureTree(t *testing.T, name string, zxid jute.Zxid) (*tree.Tree, []tree.SessionTimeout) {
	t.Helper()
	f, err := os.Open(filepath.Join(snapFixture, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, sessions, _, err := tree.ReadSnapshot(f, tree.ReadOptions{Zxid: zxid, ExtendedTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	return tr, sessions
}

func snapshotBytes(t *testing.T, tr *tree.Tree, sessions []tree.SessionTimeout) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tr.WriteSnapshotOnce(&b, sessions); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSnapshotsRoundTripInEveryCompression(t *testing.T) {
	tr, sessions := loadFixtureTree(t, "snapshot.69", 0x69)
	want := snapshotBytes(t, tr, sessions)
	for _, c := range []Compression{Uncompressed, Gzip, Snappy} {
		t.Run(c.String(), func(t *testing.T) {
			dir := t.TempDir()
			path, err := WriteSnapshot(OS{}, dir, tr, sessions, c)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(path) != SnapshotName(0x69, c) {
				t.Errorf("wrote %s", path)
			}
			if err := CheckSnapshotFile(OS{}, path); err != nil {
				t.Errorf("cheap test: %v", err)
			}
			if names, _ := (OS{}).ReadDir(dir); len(names) != 1 {
				t.Errorf("directory holds %v, want only the snapshot", names)
			}
			r, err := OpenSnapshot(OS{}, path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("uncompressed content differs (err %v, %d vs %d bytes)", err, len(got), len(want))
			}
			l, err := LoadNewestSnapshot(OS{}, dir, LoadOptions{ExtendedTypes: true})
			if err != nil {
				t.Fatal(err)
			}
			if l.Zxid != 0x69 || l.File != path || len(l.Skipped) != 0 || l.Info.DigestMismatch {
				t.Errorf("loaded %+v", l)
			}
			if again := snapshotBytes(t, l.Tree, l.Sessions); !bytes.Equal(again, want) {
				t.Error("the loaded tree writes different bytes")
			}
		})
	}
}

func TestOurSnappyStreamDecodesWithAnIndependentXerialDecoder(t *testing.T) {
	tr, sessions := loadFixtureTree(t, "snapshot.69", 0x69)
	want := snapshotBytes(t, tr, sessions)
	var buf bytes.Buffer
	w := newSnappyWriter(&buf)
	for b := want; len(b) > 0; b = b[min(len(b), 1000):] {
		if _, err := w.Write(b[:min(len(b), 1000)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := xerial.Decode(buf.Bytes())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("xerial decode: %v (%d vs %d bytes)", err, len(got), len(want))
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(snappyMagic+"\x00\x00\x00\x01\x00\x00\x00\x01")) {
		t.Errorf("header % x", buf.Bytes()[:16])
	}
}

func TestSnappyReaderAcceptsConcatenatedStreamsAndRejectsDamage(t *testing.T) {
	stream := func(s string) []byte {
		var b bytes.Buffer
		w := newSnappyWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	two := append(stream("hello, "), stream("world")...)
	got, err := io.ReadAll(newSnappyReader(bytes.NewReader(two)))
	if err != nil || string(got) != "hello, world" {
		t.Fatalf("concatenated: %q, %v", got, err)
	}
	one := stream(strings.Repeat("zookeeper ", 10000))
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"bad magic", append([]byte("\x82SNAPPX\x00"), one[8:]...)},
		{"newer format", append(append([]byte{}, one[:12]...), append([]byte{0, 0, 0, 2}, one[16:]...)...)},
		{"truncated block", one[:len(one)-3]},
		{"truncated length", append(append([]byte{}, one...), 0, 0)},
		{"negative length", append(append([]byte{}, one[:16]...), 0xff, 0xff, 0xff, 0xf0)},
		{"huge length", append(append([]byte{}, one[:16]...), 0x7f, 0xff, 0xff, 0xf0, 1, 2, 3)},
		{"garbage block", append(append([]byte{}, one[:16]...), 0, 0, 0, 3, 0xff, 0xff, 0xff)},
	} {
		_, err := io.ReadAll(newSnappyReader(bytes.NewReader(tc.b)))
		if !errors.Is(err, ErrSnappyStream) {
			t.Errorf("%s: err %v, want ErrSnappyStream", tc.name, err)
		}
	}
}

func FuzzSnappyReader(f *testing.F) {
	var b bytes.Buffer
	w := newSnappyWriter(&b)
	w.Write([]byte(strings.Repeat("abc", 20000)))
	w.Close()
	f.Add(b.Bytes())
	f.Add([]byte(snappyMagic + "\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x05\x03\x08abc"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := io.ReadAll(newSnappyReader(bytes.NewReader(in)))
		if err != nil && !errors.Is(err, ErrSnappyStream) {
			t.Fatalf("error %v is not ErrSnappyStream", err)
		}
		if err == nil {
			if dec, xerr := xerial.Decode(in); xerr == nil && !bytes.Equal(dec, out) {
				t.Fatalf("xerial decodes %d bytes, we decode %d", len(dec), len(out))
			}
		}
	})
}

func TestLoadNewestSnapshotFallsBackPastDamagedFiles(t *testing.T) {
	dir := copyFixtureSnapshots(t, "snapshot.0", "snapshot.24", "snapshot.4b", "snapshot.69")
	// snapshot.69: one flipped byte in a node (a failed seal).
	p69 := filepath.Join(dir, "snapshot.69")
	b, _ := os.ReadFile(p69)
	b[50000] ^= 0x01
	os.WriteFile(p69, b, 0o644)
	// snapshot.4b: truncated mid-node, with a valid-looking tail: the
	// cheap test passes and the read fails.
	p4b := filepath.Join(dir, "snapshot.4b")
	b, _ = os.ReadFile(p4b)
	b = append(b[:1000:1000], 0, 0, 0, 1, '/')
	os.WriteFile(p4b, b, 0o644)
	// A newer file that fails the cheap test, and a leftover temp file.
	os.WriteFile(filepath.Join(dir, "snapshot.80"), []byte("a partial snapshot"), 0o644)
	os.WriteFile(filepath.Join(dir, "snapshot.90.tmp"), b, 0o644)

	l, err := LoadNewestSnapshot(OS{}, dir, LoadOptions{ExtendedTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	if l.Zxid != 0x24 || filepath.Base(l.File) != "snapshot.24" || l.Tree.LastZxid() != 0x24 {
		t.Fatalf("loaded %s (zxid %#x)", l.File, int64(l.Zxid))
	}
	var got []string
	for _, s := range l.Skipped {
		got = append(got, s.String())
	}
	want := []string{
		dir + "/snapshot.80: does not end with a seal (an incomplete write?)",
		dir + "/snapshot.69: snapshot: checksum mismatch in seal #1",
		dir + "/snapshot.4b: snapshot: truncated",
	}
	if len(got) != len(want) {
		t.Fatalf("skipped %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("skipped[%d] = %q, want it to start with %q", i, got[i], want[i])
		}
	}
	if l.Skipped[0].Offset != -1 || l.Skipped[1].Offset != 106265 || l.Skipped[2].Offset <= 0 || l.Skipped[2].Offset > 1000 {
		t.Errorf("offsets %d %d %d", l.Skipped[0].Offset, l.Skipped[1].Offset, l.Skipped[2].Offset)
	}
}

func TestLoadNewestSnapshotWithoutAnySnapshot(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadNewestSnapshot(OS{}, dir, LoadOptions{}); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("empty dir: %v, want ErrNoSnapshot", err)
	}
	os.WriteFile(filepath.Join(dir, "snapshot.5"), []byte("junk"), 0o644)
	l, err := LoadNewestSnapshot(OS{}, dir, LoadOptions{})
	if !errors.Is(err, ErrNoSnapshot) || len(l.Skipped) != 1 {
		t.Errorf("only an invalid file: %v, skipped %v", err, l.Skipped)
	}
	// A candidate that passes the cheap test but cannot be read is fatal.
	os.WriteFile(filepath.Join(dir, "snapshot.6"), []byte("0123456789\x00\x00\x00\x01/"), 0o644)
	if _, err := LoadNewestSnapshot(OS{}, dir, LoadOptions{}); err == nil || errors.Is(err, ErrNoSnapshot) || !strings.Contains(err.Error(), "no valid snapshot in "+dir) {
		t.Errorf("unreadable candidate: %v", err)
	}
}

func TestAbortedAndFailedSnapshotsLeaveNoFile(t *testing.T) {
	dir := t.TempDir()
	p, err := CreateSnapshot(OS{}, dir, 0x10, Gzip)
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte("half a snapshot"))
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	if names, _ := (OS{}).ReadDir(dir); len(names) != 0 {
		t.Errorf("after Abort: %v", names)
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Error("Write after Abort succeeded")
	}
	// A crash before Commit leaves only the temp file, which nothing
	// takes for a snapshot.
	p, _ = CreateSnapshot(OS{}, dir, 0x11, Uncompressed)
	tr := tree.New()
	tr.WriteSnapshotOnce(p, nil)
	p.bw.Flush()
	if l, _ := ListSnapshots(OS{}, dir); len(l) != 0 {
		t.Errorf("a temp file is listed: %v", l)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if l, _ := ListSnapshots(OS{}, dir); len(l) != 1 || l[0].Zxid != 0x11 {
		t.Errorf("after Commit: %v", l)
	}
}

// TestZooKeeperCompressedSnapshotsLoad reads the gz and snappy snapshots
// Apache ZooKeeper 3.8.0 wrote (testdata/snapshot-zk380, see its README),
// and writes each again: the uncompressed bytes are identical.
func TestZooKeeperCompressedSnapshotsLoad(t *testing.T) {
	dir := filepath.Join("testdata", "snapshot-zk380")
	var plain [][]byte
	for _, name := range []string{"snapshot.30.gz", "snapshot.31.snappy"} {
		f := SnapshotFile{Path: filepath.Join(dir, name), Zxid: ParseName(name, SnapshotPrefix)}
		if err := CheckSnapshotFile(OS{}, f.Path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tr, sessions, info, err := loadSnapshot(OS{}, f, LoadOptions{ExtendedTypes: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.Nodes != 47 || !info.HasDigest || info.DigestZxid != f.Zxid || info.DigestMismatch || info.Digest != tr.Digest() {
			t.Errorf("%s: %+v", name, info)
		}
		var owner int64
		for _, s := range sessions {
			if got := tr.Ephemerals(int64(s.ID)); len(got) > 0 {
				owner = int64(s.ID)
			}
		}
		if got := tr.Ephemerals(owner); !slices.Equal(got, []string{"/interop/ephemeral"}) {
			t.Errorf("%s: ephemerals %v", name, got)
		}
		if n, ok := tr.Get("/interop/ttl"); !ok || n.TTL() != 3600000 {
			t.Errorf("%s: TTL node %v", name, n)
		}
		if n, ok := tr.Get("/interop/big"); !ok || len(n.Data) != 500000 {
			t.Errorf("%s: big node", name)
		}
		r, err := OpenSnapshot(OS{}, f.Path)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if again := snapshotBytes(t, tr, sessions); !bytes.Equal(again, raw) {
			t.Errorf("%s: rewriting it gives different bytes", name)
		}
		tr.SetLastZxid(0x30)
		plain = append(plain, snapshotBytes(t, tr, nil))
	}
	if !bytes.Equal(plain[0], plain[1]) {
		t.Error("the gz and snappy snapshots hold different nodes")
	}
}

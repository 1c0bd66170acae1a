package storage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/tree"
)

// Snapshot files (storage-and-quorum.md §1.2, §3): version-2/snapshot.<hex
// zxid>[.gz|.snappy], where the zxid is the tree's last applied zxid when
// the snapshot began. A snapshot is written to "<name>.tmp", fsynced and
// renamed, so that a crash never leaves a partial file under a snapshot
// name. (ZooKeeper writes most snapshots in place and relies on the seal;
// it would take a complete leftover .tmp for an uncompressed snapshot of
// the same zxid, which is harmless since the content is the same.)

// Compression is how a snapshot file is compressed (§3.1).
type Compression int

// Compressions ZooKeeper 3.8 reads and writes.
const (
	Uncompressed Compression = iota
	Gzip                     // RFC 1952 gzip, ".gz"
	Snappy                   // snappy-java stream, ".snappy"
)

// ParseCompression parses zookeeper.snapshot.compression.method: "" for
// none, "gz" or "snappy".
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "":
		return Uncompressed, nil
	case "gz":
		return Gzip, nil
	case "snappy":
		return Snappy, nil
	}
	return 0, fmt.Errorf("unknown snapshot compression method %q (want \"\", \"gz\" or \"snappy\")", s)
}

// String returns the compression method as ZooKeeper names it.
func (c Compression) String() string {
	switch c {
	case Gzip:
		return "gz"
	case Snappy:
		return "snappy"
	}
	return ""
}

// ext returns the file-name extension, with its dot.
func (c Compression) ext() string {
	if c == Uncompressed {
		return ""
	}
	return "." + c.String()
}

// SnapshotName returns the file name of a snapshot taken at zxid.
func SnapshotName(zxid jute.Zxid, c Compression) string {
	return SnapshotPrefix + "." + strconv.FormatInt(int64(zxid), 16) + c.ext()
}

// SnapshotCompression returns how the named snapshot is compressed: by the
// last dot-separated part of its name, ignoring case, as ZooKeeper decides
// (not by the configured method).
func SnapshotCompression(name string) Compression {
	base := filepath.Base(name)
	switch strings.ToLower(base[strings.LastIndexByte(base, '.')+1:]) {
	case "gz":
		return Gzip
	case "snappy":
		return Snappy
	}
	return Uncompressed
}

// SnapshotFile is a snapshot file found in a directory.
type SnapshotFile struct {
	Path        string
	Zxid        jute.Zxid
	Compression Compression
}

// ListSnapshots returns the files in dir whose names parse as snapshot
// names (temporary ".tmp" files excepted), newest zxid first. It does not
// look inside them.
func ListSnapshots(fs FS, dir string) ([]SnapshotFile, error) {
	files, err := listFiles(fs, dir, SnapshotPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]SnapshotFile, 0, len(files))
	for _, f := range slices.Backward(files) {
		out = append(out, SnapshotFile{Path: f.Path, Zxid: f.Zxid, Compression: SnapshotCompression(f.Path)})
	}
	return out, nil
}

// SnapshotSkip records a snapshot file passed over and why.
type SnapshotSkip struct {
	File string
	// Offset is where the problem was found, in the uncompressed stream
	// for a content error (-1 when there is no position).
	Offset int64
	Err    error
}

// String names the file and the error (which gives the offset, if any).
func (s SnapshotSkip) String() string {
	if s.Offset >= 0 && SnapshotCompression(s.File) != Uncompressed {
		return fmt.Sprintf("%s: %v (offset in the uncompressed stream)", s.File, s.Err)
	}
	return fmt.Sprintf("%s: %v", s.File, s.Err)
}

// gzipLevel is the deflate level of gz snapshots (see CreateSnapshot).
const gzipLevel = 7

// snappyMagic begins a snappy-java stream.
const snappyMagic = "\x82SNAPPY\x00"

// CheckSnapshotFile applies ZooKeeper's cheap validity test (§3.6) without
// reading the whole file: the name must parse; an uncompressed file must
// be at least 10 bytes and end with a seal's "/" (int32 1, '/'); a gzip
// file must begin with the gzip magic and a snappy file with snappy-java's.
// It returns nil when the file passes.
func CheckSnapshotFile(fs FS, path string) error {
	if ParseName(path, SnapshotPrefix) < 0 || strings.HasSuffix(path, ".tmp") {
		return errors.New("not a snapshot file name")
	}
	f, size, err := openRead(fs, path)
	if err != nil {
		return err
	}
	defer f.Close()
	switch SnapshotCompression(path) {
	case Gzip:
		var b [2]byte
		if _, err := f.ReadAt(b[:], 0); err != nil || b != [2]byte{0x1f, 0x8b} {
			return errors.New("does not begin with the gzip magic")
		}
	case Snappy:
		var b [8]byte
		if _, err := f.ReadAt(b[:], 0); err != nil || string(b[:]) != snappyMagic {
			return errors.New("does not begin with the snappy-java magic")
		}
	default:
		var b [5]byte
		if size < 10 {
			return fmt.Errorf("%d bytes long, too short for a snapshot", size)
		}
		if _, err := f.ReadAt(b[:], size-5); err != nil {
			return err
		}
		if b != [5]byte{0, 0, 0, 1, '/'} {
			return errors.New("does not end with a seal (an incomplete write?)")
		}
	}
	return nil
}

// ValidSnapshots returns up to n snapshots of dir that pass
// CheckSnapshotFile, newest first, and the newer files that did not pass.
// Restore tries them in order (n = 100, as ZooKeeper); purge keeps the
// newest n.
func ValidSnapshots(fs FS, dir string, n int) ([]SnapshotFile, []SnapshotSkip, error) {
	all, err := ListSnapshots(fs, dir)
	if err != nil {
		return nil, nil, err
	}
	var valid []SnapshotFile
	var skipped []SnapshotSkip
	for _, f := range all {
		if len(valid) >= n {
			break
		}
		if err := CheckSnapshotFile(fs, f.Path); err != nil {
			skipped = append(skipped, SnapshotSkip{File: f.Path, Offset: -1, Err: err})
			continue
		}
		valid = append(valid, f)
	}
	return valid, skipped, nil
}

// readAtCloser is a file opened for reading.
type readAtCloser interface {
	io.ReaderAt
	io.Closer
}

// openRead opens a file for reading and returns its size. The OS file
// system opens read-only; others go through FS.OpenFile.
func openRead(fs FS, path string) (readAtCloser, int64, error) {
	if _, ok := fs.(OS); ok {
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, fi.Size(), nil
	}
	f, err := fs.OpenFile(path)
	if err != nil {
		return nil, 0, err
	}
	size, err := fileSize(f)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}

// fileSize returns the size of f: from Stat or Seek when it has them,
// otherwise by probing with ReadAt.
func fileSize(f File) (int64, error) {
	if s, ok := f.(interface{ Stat() (iofs.FileInfo, error) }); ok {
		fi, err := s.Stat()
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	if s, ok := f.(io.Seeker); ok {
		return s.Seek(0, io.SeekEnd)
	}
	var b [1]byte
	has := func(n int64) bool { // whether the file is at least n bytes long
		if n == 0 {
			return true
		}
		_, err := f.ReadAt(b[:], n-1)
		return err == nil
	}
	hi := int64(1)
	for has(hi) {
		if hi > 1<<50 {
			return 0, errors.New("cannot find the file's size")
		}
		hi *= 2
	}
	lo := hi / 2 // has(lo) holds, has(hi) does not
	if hi == 1 {
		lo = 0
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if has(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// OpenSnapshot opens a snapshot file and returns a reader of its
// uncompressed bytes, decompressing as the file name says.
func OpenSnapshot(fs FS, path string) (io.ReadCloser, error) {
	f, size, err := openRead(fs, path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 64<<10)
	switch SnapshotCompression(path) {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &stackedReader{Reader: zr, closers: []io.Closer{zr, f}}, nil
	case Snappy:
		return &stackedReader{Reader: newSnappyReader(br), closers: []io.Closer{f}}, nil
	}
	return &stackedReader{Reader: br, closers: []io.Closer{f}}, nil
}

// stackedReader reads from the top of a stack of readers and closes them
// all.
type stackedReader struct {
	io.Reader
	closers []io.Closer
}

func (s *stackedReader) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// PendingSnapshot is a snapshot file being written. Bytes written go
// through the compressor to a temporary file; Commit makes the file
// durable under its final name, Abort removes it.
type PendingSnapshot struct {
	fs   FS
	dir  string
	path string
	tmp  string
	f    File
	bw   *bufio.Writer
	comp io.WriteCloser // nil when uncompressed
	w    io.Writer
	err  error // first write error; Commit reports it
	done bool
}

// CreateSnapshot starts writing the snapshot of zxid into dir (creating
// dir if needed). The caller writes the uncompressed snapshot bytes (from
// tree.SnapshotWriter) and then calls Commit or Abort.
func CreateSnapshot(fs FS, dir string, zxid jute.Zxid, c Compression) (*PendingSnapshot, error) {
	if err := fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("create snapshot dir: %w", err)
	}
	path := filepath.Join(dir, SnapshotName(zxid, c))
	p := &PendingSnapshot{fs: fs, dir: dir, path: path, tmp: path + ".tmp"}
	f, err := fs.Create(p.tmp)
	if err != nil {
		return nil, fmt.Errorf("create snapshot: %w", err)
	}
	p.f = f
	var out io.Writer = f
	if wb, ok := f.(WriteBacker); ok {
		out = &pacedWriter{f: f, wb: wb}
	}
	p.bw = bufio.NewWriterSize(out, 256<<10)
	switch c {
	case Gzip:
		// Level 7 of this deflate compresses a snapshot a little better
		// than ZooKeeper's java.util.zip at its default level 6 (0.96× the
		// bytes on a 300,000-znode tree), where this package's default
		// level makes files 1.36× as large.
		p.comp, _ = gzip.NewWriterLevel(p.bw, gzipLevel)
	case Snappy:
		p.comp = newSnappyWriter(p.bw)
	}
	p.w = p.bw
	if p.comp != nil {
		p.w = p.comp
	}
	return p, nil
}

// writebackStep is how much of a snapshot is written before it is
// written back to the device.
const writebackStep = 1 << 20

// pacedWriter writes a snapshot file and writes back each writebackStep
// bytes, waiting for them, before it takes more: the device never holds
// more than a step of the snapshot ahead of a log sync, and the final
// fsync has little left to write. A failed write-back is ignored: it only
// leaves more for the fsync.
type pacedWriter struct {
	f         File
	wb        WriteBacker
	off       int64 // bytes written
	writtenTo int64 // written back below this offset
}

func (w *pacedWriter) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.off += int64(n)
	if w.off-w.writtenTo >= writebackStep {
		w.wb.WriteBack(w.writtenTo, w.off-w.writtenTo)
		w.writtenTo = w.off
	}
	return n, err
}

// Path returns the final path of the snapshot.
func (p *PendingSnapshot) Path() string { return p.path }

// Write adds uncompressed snapshot bytes.
func (p *PendingSnapshot) Write(b []byte) (int, error) {
	if p.done {
		return 0, errors.New("snapshot already committed or aborted")
	}
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.Write(b)
	if err != nil {
		p.err = fmt.Errorf("write %s: %w", p.tmp, err)
	}
	return n, p.err
}

// Commit finishes the file: it flushes the compressor, fsyncs the file,
// renames it to its final name and fsyncs the directory. On failure the
// temporary file is removed and no snapshot is left under the final name.
func (p *PendingSnapshot) Commit() error {
	if p.done {
		return errors.New("snapshot already committed or aborted")
	}
	err := p.err
	if err == nil && p.comp != nil {
		err = p.comp.Close()
	}
	if err == nil {
		err = p.bw.Flush()
	}
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	p.done = true
	if err == nil {
		err = p.fs.Rename(p.tmp, p.path)
	}
	if err != nil {
		p.fs.Remove(p.tmp)
		return fmt.Errorf("write snapshot %s: %w", p.path, err)
	}
	if err := p.fs.SyncDir(p.dir); err != nil {
		return fmt.Errorf("sync %s after writing %s: %w", p.dir, filepath.Base(p.path), err)
	}
	return nil
}

// Abort abandons the snapshot and removes its temporary file. It does
// nothing after Commit.
func (p *PendingSnapshot) Abort() error {
	if p.done {
		return nil
	}
	p.done = true
	p.f.Close()
	if err := p.fs.Remove(p.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// WriteSnapshot writes a complete snapshot of t, holding t for the whole
// write (startup, tools, tests), and returns its path.
func WriteSnapshot(fs FS, dir string, t *tree.Tree, sessions []tree.SessionTimeout, c Compression) (string, error) {
	p, err := CreateSnapshot(fs, dir, t.LastZxid(), c)
	if err != nil {
		return "", err
	}
	if err := t.WriteSnapshotOnce(p, sessions); err != nil {
		p.Abort()
		return "", err
	}
	if err := p.Commit(); err != nil {
		return "", err
	}
	return p.path, nil
}

// ErrNoSnapshot means a directory holds no snapshot that passes the cheap
// validity test: ZooKeeper then starts from an empty tree or refuses to,
// by the rules of §1.4.
var ErrNoSnapshot = errors.New("no snapshot")

// maxSnapshotCandidates is how many valid-looking snapshots restore tries
// before giving up, as ZooKeeper does.
const maxSnapshotCandidates = 100

// LoadOptions control LoadNewestSnapshot.
type LoadOptions struct {
	// ExtendedTypes is zookeeper.extendedTypesEnabled (TTL nodes).
	ExtendedTypes bool
	// MaxBuffer bounds data and strings (jute.maxbuffer +
	// jute.maxbuffer.extrasize); 0 means tree.DefaultSnapshotMaxBuffer.
	MaxBuffer int
	// DeferDigest leaves the digest check to the caller
	// (tree.ReadOptions.DeferDigest).
	DeferDigest bool
}

// LoadedSnapshot is the state restored from a snapshot file.
type LoadedSnapshot struct {
	Tree     *tree.Tree
	Sessions []tree.SessionTimeout
	// Zxid is the zxid of the file name: replay continues at Zxid+1.
	Zxid jute.Zxid
	File string
	Info tree.SnapshotInfo
	// Skipped lists the newer snapshot files passed over: those failing
	// the cheap validity test and those that could not be read.
	Skipped []SnapshotSkip
}

// LoadNewestSnapshot restores from the newest good snapshot in dir (§1.3
// steps 1–2): it tries up to 100 files that pass the cheap validity test,
// newest first, and takes the first that reads completely with good
// seals; a file that fails is reported in Skipped with the offset of the
// problem. The tree's last zxid is the chosen file name's.
//
// It returns ErrNoSnapshot when no file passes the cheap test, and an
// error naming the directory when every candidate fails to read. Skipped
// is filled in either case.
func LoadNewestSnapshot(fs FS, dir string, opts LoadOptions) (*LoadedSnapshot, error) {
	cands, skipped, err := ValidSnapshots(fs, dir, maxSnapshotCandidates)
	res := &LoadedSnapshot{Skipped: skipped}
	if err != nil {
		return res, fmt.Errorf("list snapshots in %s: %w", dir, err)
	}
	if len(cands) == 0 {
		return res, ErrNoSnapshot
	}
	for _, c := range cands {
		t, sessions, info, err := loadSnapshot(fs, c, opts)
		if err != nil {
			off := int64(-1)
			var se *tree.SnapshotError
			if errors.As(err, &se) {
				off = se.Offset
			}
			res.Skipped = append(res.Skipped, SnapshotSkip{File: c.Path, Offset: off, Err: err})
			continue
		}
		res.Tree, res.Sessions, res.Zxid, res.File, res.Info = t, sessions, c.Zxid, c.Path, info
		return res, nil
	}
	return res, fmt.Errorf("no valid snapshot in %s: all %d candidates failed, newest: %s", dir, len(cands), res.Skipped[len(skipped)])
}

func loadSnapshot(fs FS, c SnapshotFile, opts LoadOptions) (*tree.Tree, []tree.SessionTimeout, tree.SnapshotInfo, error) {
	r, err := OpenSnapshot(fs, c.Path)
	if err != nil {
		return nil, nil, tree.SnapshotInfo{}, err
	}
	defer r.Close()
	ra := newReadAhead(r)
	defer ra.Close()
	return tree.ReadSnapshot(ra, tree.ReadOptions{Zxid: c.Zxid, ExtendedTypes: opts.ExtendedTypes, MaxBuffer: opts.MaxBuffer, DeferDigest: opts.DeferDigest})
}

package storage

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// MemFS is an FS held entirely in memory that can simulate a machine
// crash, for tests and the deterministic simulator. It keeps two views:
// the live one every call sees, and the durable one a crash leaves
// behind (CrashClone). What is durable:
//
//   - File contents as of the file's last File.Sync. Sync covers the
//     whole file (contents and size), whichever name or handle it is
//     reached by; nothing written after it is durable.
//   - Directory entries: creating a new name (Create of a missing file),
//     Rename and Remove change a directory's durable entries only once
//     SyncDir of that directory follows. A rename between two directories
//     is an entry removal in one and an addition in the other, each
//     durable with its own directory's SyncDir.
//   - Directories themselves (MkdirAll) are durable at once: MemFS does
//     not model the loss of a directory whose parent was never synced.
//
// A file that is durable in content but whose name is not is lost by a
// crash, as on a real file system. MemFS is safe for concurrent use, and
// everything it reports is deterministic: ReadDir sorts names, and
// CrashClone draws its random choices in sorted-name order.
type MemFS struct {
	// mu guards everything below and every inode reachable from it.
	mu   sync.Mutex
	dirs map[string]bool
	// live and durable map a cleaned path to its file.
	live, durable map[string]*memInode
	// pending lists, per directory, the entry changes made since its
	// last SyncDir, oldest first. Each sets one path to a file (or to
	// nothing, for a removal); applying them in order to durable gives
	// the entries that a SyncDir makes durable.
	pending map[string][]memDirOp
}

// memDirOp is one directory entry change: path now names inode (nil:
// nothing).
type memDirOp struct {
	path  string
	inode *memInode
}

// memInode is a file's contents. Bytes between len(data) and size read
// as zeros (so preallocation costs no memory); the same holds for dur
// and durSize.
type memInode struct {
	data []byte
	size int64
	// dur and durSize are the contents as of the last Sync.
	dur     []byte
	durSize int64
	// Outside [dirtyLo, dirtyHi) the live and durable contents agree
	// (below both sizes); a Sync copies only that range.
	dirtyLo, dirtyHi int64
}

const noDirt = int64(1<<62 - 1)

// memSector is the unit a crash tears writes at.
const memSector = 512

func newInode() *memInode { return &memInode{dirtyLo: noDirt} }

// dirty reports whether the live contents may differ from the durable.
func (n *memInode) dirty() bool { return n.dirtyLo < n.dirtyHi || n.size != n.durSize }

func (n *memInode) markDirty(lo, hi int64) {
	n.dirtyLo = min(n.dirtyLo, lo)
	n.dirtyHi = max(n.dirtyHi, hi)
}

func (n *memInode) writeAt(p []byte, off int64) {
	if len(p) == 0 {
		return
	}
	end := off + int64(len(p))
	n.markDirty(off, end)
	n.size = max(n.size, end)
	if off >= int64(len(n.data)) && allZero(p) {
		return // reads as zeros already
	}
	if end > int64(len(n.data)) {
		n.data = append(n.data, make([]byte, end-int64(len(n.data)))...)
	}
	copy(n.data[off:], p)
}

func (n *memInode) truncate(size int64) {
	// Everything from size on may now differ from the durable contents
	// (a later growth reads zeros where the durable file has data).
	n.markDirty(size, noDirt)
	if size < int64(len(n.data)) {
		clear(n.data[size:])
		n.data = n.data[:size]
	}
	n.size = size
}

func (n *memInode) sync() {
	if !n.dirty() {
		return
	}
	l := int64(len(n.data))
	switch {
	case int64(len(n.dur)) > l:
		n.dur = n.dur[:l]
	case int64(len(n.dur)) < l:
		n.dur = append(n.dur, make([]byte, l-int64(len(n.dur)))...)
	}
	if lo, hi := n.dirtyLo, min(n.dirtyHi, l); lo < hi {
		copy(n.dur[lo:hi], n.data[lo:hi])
	}
	n.durSize = n.size
	n.dirtyLo, n.dirtyHi = noDirt, 0
}

// readAt reads the live contents.
func (n *memInode) readAt(p []byte, off int64) (int, error) {
	if off >= n.size {
		return 0, io.EOF
	}
	k := min(int64(len(p)), n.size-off)
	clear(p[:k])
	if off < int64(len(n.data)) {
		copy(p[:k], n.data[off:])
	}
	if k < int64(len(p)) {
		return int(k), io.EOF
	}
	return int(k), nil
}

// NewMemFS returns an empty MemFS holding only the directories "/" and
// ".".
func NewMemFS() *MemFS {
	return &MemFS{
		dirs:    map[string]bool{"/": true, ".": true},
		live:    map[string]*memInode{},
		durable: map[string]*memInode{},
		pending: map[string][]memDirOp{},
	}
}

func pathErr(op, path string, err error) error { return &iofs.PathError{Op: op, Path: path, Err: err} }

// setEntry changes a directory entry in the live view and records the
// change for the directory's next SyncDir. Call with mu held.
func (m *MemFS) setEntry(path string, n *memInode) {
	if n == nil {
		delete(m.live, path)
	} else {
		m.live[path] = n
	}
	dir := filepath.Dir(path)
	m.pending[dir] = append(m.pending[dir], memDirOp{path: path, inode: n})
}

// Create implements FS: it creates name, or empties it if it exists (as
// O_TRUNC does; emptying is a content change, durable with Sync).
func (m *MemFS) Create(name string) (File, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[name] {
		return nil, pathErr("create", name, errors.New("is a directory"))
	}
	if !m.dirs[filepath.Dir(name)] {
		return nil, pathErr("create", name, iofs.ErrNotExist)
	}
	n := m.live[name]
	if n == nil {
		n = newInode()
		m.setEntry(name, n)
	} else {
		n.truncate(0)
	}
	return &memFile{fs: m, inode: n, name: name}, nil
}

// OpenFile implements FS.
func (m *MemFS) OpenFile(name string) (File, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.live[name]
	if n == nil {
		return nil, pathErr("open", name, iofs.ErrNotExist)
	}
	return &memFile{fs: m, inode: n, name: name}, nil
}

// ReadFile implements FS.
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.live[name]
	if n == nil {
		return nil, pathErr("open", name, iofs.ErrNotExist)
	}
	b := make([]byte, n.size)
	copy(b, n.data)
	return b, nil
}

// ReadDir implements FS: the names of the files in dir, sorted.
func (m *MemFS) ReadDir(dir string) ([]string, error) {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for p := range m.live {
		if filepath.Dir(p) == dir {
			out = append(out, filepath.Base(p))
		}
	}
	slices.Sort(out)
	return out, nil
}

// MkdirAll implements FS. Directories are durable at once.
func (m *MemFS) MkdirAll(dir string) error {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := dir; !m.dirs[d]; d = filepath.Dir(d) {
		if m.live[d] != nil {
			return pathErr("mkdir", d, errors.New("not a directory"))
		}
	}
	for d := dir; !m.dirs[d]; d = filepath.Dir(d) {
		m.dirs[d] = true
	}
	return nil
}

// Remove implements FS. Open handles to the file keep working.
func (m *MemFS) Remove(name string) error {
	name = filepath.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live[name] == nil {
		return pathErr("remove", name, iofs.ErrNotExist)
	}
	m.setEntry(name, nil)
	return nil
}

// Rename implements FS, replacing to if it exists.
func (m *MemFS) Rename(from, to string) error {
	from, to = filepath.Clean(from), filepath.Clean(to)
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.live[from]
	if n == nil {
		return &iofs.PathError{Op: "rename", Path: from, Err: iofs.ErrNotExist}
	}
	if !m.dirs[filepath.Dir(to)] {
		return pathErr("rename", to, iofs.ErrNotExist)
	}
	if m.dirs[to] {
		return pathErr("rename", to, errors.New("is a directory"))
	}
	if from == to {
		return nil
	}
	m.setEntry(to, n)
	m.setEntry(from, nil)
	return nil
}

// SyncDir implements FS: the entry changes made in dir so far become
// durable.
func (m *MemFS) SyncDir(dir string) error {
	dir = filepath.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[dir] {
		return pathErr("sync", dir, iofs.ErrNotExist)
	}
	m.applyDurable(m.pending[dir])
	delete(m.pending, dir)
	return nil
}

func (m *MemFS) applyDurable(ops []memDirOp) {
	for _, op := range ops {
		if op.inode == nil {
			delete(m.durable, op.path)
		} else {
			m.durable[op.path] = op.inode
		}
	}
}

// CrashClone returns what a crash at this moment would leave: a new MemFS
// with the same directories, holding the durable entries (see MemFS),
// each with the contents of its file's last Sync. The receiver is not
// changed, and handles open on it stay bound to it.
//
// With rng nil nothing else survives. With rng, the crash may also keep
// some of what was not yet durable, as a real disk may have written it
// anyway: for each directory, a prefix (possibly empty or whole) of its
// unsynced entry changes, in order; and for each file not synced since
// its last change, either none, all, or a prefix of the changed range
// (live bytes before a cut point, durable ones after it), which can leave
// a torn write (cut points fall on 512-byte sector boundaries: a sector
// is written whole or not at all). The same rng state and the same history give the same
// result.
func (m *MemFS) CrashClone(rng *rand.Rand) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := NewMemFS()
	for d := range m.dirs {
		c.dirs[d] = true
	}
	entries := make(map[string]*memInode, len(m.durable))
	for p, n := range m.durable {
		entries[p] = n
	}
	if rng != nil {
		for _, dir := range sortedKeys(m.pending) {
			ops := m.pending[dir]
			for _, op := range ops[:rng.IntN(len(ops)+1)] {
				if op.inode == nil {
					delete(entries, op.path)
				} else {
					entries[op.path] = op.inode
				}
			}
		}
	}
	// Give each surviving file one new inode, shared by all its names.
	cloned := map[*memInode]*memInode{}
	for _, p := range sortedKeys(entries) {
		old := entries[p]
		n := cloned[old]
		if n == nil {
			n = old.crashContents(rng)
			cloned[old] = n
		}
		c.live[p] = n
		c.durable[p] = n
	}
	return c
}

// crashContents returns a synced inode with the contents a crash leaves
// of n.
func (n *memInode) crashContents(rng *rand.Rand) *memInode {
	c := newInode()
	c.data = slices.Clone(n.dur)
	c.size = n.durSize
	if rng != nil && n.dirty() {
		end := max(n.size, n.durSize)
		lo := min(n.dirtyLo, end, n.size, n.durSize)
		var cut int64
		switch rng.IntN(3) {
		case 0:
			cut = lo // nothing unsynced survives
		case 1:
			cut = end // everything survives
		default:
			// Writes reach the disk in order, a whole sector at a time.
			cut = min(end, (lo+rng.Int64N(end-lo+1))/memSector*memSector)
		}
		if cut > lo {
			// Live bytes below cut, durable ones from cut on.
			size := min(cut, n.size)
			if n.durSize > cut {
				size = n.durSize
			}
			live := make([]byte, min(cut, n.size)-lo)
			n.readAt(live, lo)
			if int64(len(c.data)) > size {
				c.data = c.data[:size]
			}
			c.size = size
			c.writeAtRaw(live, lo)
		}
	}
	c.dur = slices.Clone(c.data)
	c.durSize = c.size
	return c
}

// writeAtRaw writes without changing dirt (used while building a clone).
func (n *memInode) writeAtRaw(p []byte, off int64) {
	end := off + int64(len(p))
	if end > int64(len(n.data)) {
		n.data = append(n.data, make([]byte, end-int64(len(n.data)))...)
	}
	copy(n.data[off:], p)
	n.size = max(n.size, end)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// memFile is an open MemFS file. Its offset (for Write) is its own.
type memFile struct {
	fs     *MemFS
	inode  *memInode
	name   string
	off    int64
	closed bool
}

func (f *memFile) check(op string) error {
	if f.closed {
		return pathErr(op, f.name, iofs.ErrClosed)
	}
	return nil
}

// Write writes at the handle's offset and advances it.
func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	f.inode.writeAt(p, f.off)
	f.off += int64(len(p))
	return len(p), nil
}

// WriteAt writes at off.
func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("write", f.name, errors.New("negative offset"))
	}
	f.inode.writeAt(p, off)
	return len(p), nil
}

// ReadAt reads the live contents at off.
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", f.name, errors.New("negative offset"))
	}
	return f.inode.readAt(p, off)
}

// Sync makes the file's contents durable.
func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync"); err != nil {
		return err
	}
	f.inode.sync()
	return nil
}

// Truncate changes the file's size.
func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate"); err != nil {
		return err
	}
	if size < 0 {
		return pathErr("truncate", f.name, errors.New("negative size"))
	}
	f.inode.truncate(size)
	return nil
}

// Close closes the handle; later calls on it fail.
func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("close"); err != nil {
		return err
	}
	f.closed = true
	return nil
}

// Name returns the name the file was opened by.
func (f *memFile) Name() string { return f.name }

// Stat reports the file's live size.
func (f *memFile) Stat() (iofs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat"); err != nil {
		return nil, err
	}
	return memFileInfo{name: filepath.Base(f.name), size: f.inode.size}, nil
}

type memFileInfo struct {
	name string
	size int64
}

func (i memFileInfo) Name() string        { return i.name }
func (i memFileInfo) Size() int64         { return i.size }
func (i memFileInfo) Mode() iofs.FileMode { return 0o644 }
func (i memFileInfo) ModTime() time.Time  { return time.Time{} }
func (i memFileInfo) IsDir() bool         { return false }
func (i memFileInfo) Sys() any            { return nil }
func (i memFileInfo) String() string      { return fmt.Sprintf("%s (%d bytes)", i.name, i.size) }

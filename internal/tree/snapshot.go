package tree

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"slices"
	"strconv"

	"github.com/zkd/zkd/internal/jute"
)

// Snapshot format (storage-and-quorum.md §3.2), as seen after
// decompression:
//
//	FileHeader   int32 magic "ZKSN", int32 version 2, int64 dbid -1
//	int32        session count, then {int64 session id, int32 timeout ms}
//	int32        ACL map size, then {int64 ref, vector<ACL>}
//	node*        ustring path ("" for the root), buffer data, int64 ACL
//	             ref, StatPersisted; pre-order, parents before children
//	ustring      "/"                      end of nodes
//	int64, "/"   seal #1: Adler-32 of every byte before it
//	int64 zxid, int32 version, int64 digest    digest trailer (zxid 0 = none)
//	int64, "/"   seal #2: Adler-32 of every byte before it
//
// Pre-3.6 files end after seal #1; readers accept both.
const (
	// SnapshotMagic is the FileHeader magic of a snapshot ("ZKSN").
	SnapshotMagic int32 = 0x5A4B534E
	// SnapshotVersion is the FileHeader version ZooKeeper 3.8 writes.
	SnapshotVersion int32 = 2
	// snapshotDBID is the FileHeader dbid ZooKeeper writes in snapshots.
	snapshotDBID int64 = -1
	// openACLRef stands for OPEN_ACL_UNSAFE and is never in the map (§3.3).
	openACLRef int64 = -1
	// danglingACLRef is the ref SnapshotWriter gives a node whose ACL list
	// is not in the file's map; it never allocates it (see SnapshotWriter).
	danglingACLRef int64 = 0
	// endOfNodes is the path that ends the node records and follows seals.
	endOfNodes = "/"
)

// DefaultSnapshotMaxBuffer is the largest data buffer or string a snapshot
// reader accepts by default: jute.maxbuffer plus jute.maxbuffer.extrasize,
// both 0xfffff unless configured, as Java's reader checks (§0.1).
const DefaultSnapshotMaxBuffer = 2 * jute.DefaultMaxBuffer

// SessionTimeout is one global session recorded in a snapshot: its id and
// negotiated timeout.
type SessionTimeout struct {
	ID jute.SessionID
	// Timeout is the session timeout in milliseconds.
	Timeout int32
}

// ReadOptions control ReadSnapshot.
type ReadOptions struct {
	// Zxid is the zxid in the snapshot's file name. It becomes the tree's
	// LastZxid: restore replays the log from Zxid+1 (§1.3, §3.7). It also
	// decides how nodes whose ACL ref is missing from the file's map are
	// repaired (see ReadSnapshot).
	Zxid jute.Zxid
	// ExtendedTypes is zookeeper.extendedTypesEnabled: when set, stored
	// owners with the TTL encoding mark TTL nodes; when clear, ZooKeeper
	// reads them as ephemerals of that (nonexistent) session (§3.4).
	ExtendedTypes bool
	// MaxBuffer is the largest data buffer, path or ACL string accepted;
	// 0 means DefaultSnapshotMaxBuffer.
	MaxBuffer int
	// Wire reads the form a leader sends after SNAP (storage spec §3.9):
	// no file header, seals or digest trailer. ReadSnapshot then reads
	// nothing past the end-of-nodes marker when r is a *bufio.Reader.
	Wire bool
	// DeferDigest leaves the tree digest out of the load (TreeDigest 0,
	// DigestMismatch never set), for a caller that checks the trailer
	// later, off the way to serving: when SnapshotInfo.DigestExact is set,
	// the digest of a View frozen before anything else changes the tree
	// must equal SnapshotInfo.Digest.
	DeferDigest bool
}

// SnapshotInfo describes a snapshot that ReadSnapshot loaded.
type SnapshotInfo struct {
	// Version and DBID are the FileHeader fields (only the magic is
	// checked, as ZooKeeper does).
	Version int32
	DBID    int64
	// Nodes is the number of node records loaded.
	Nodes int
	// ACLLists is the number of entries in the file's ACL map.
	ACLLists int
	// Size is the number of (uncompressed) bytes read, through the last
	// seal.
	Size int64
	// HasDigest reports that the file carries a complete digest trailer
	// followed by a matching seal #2.
	HasDigest bool
	// DigestZxid, DigestVersion and Digest are the trailer: the tree
	// digest after DigestZxid. DigestZxid 0 means the writer recorded no
	// digest. For a fuzzy snapshot DigestZxid may be above the name zxid;
	// the digest then describes the tree once replay reaches DigestZxid.
	DigestZxid    jute.Zxid
	DigestVersion int32
	Digest        int64
	// DigestExact is set when the trailer describes exactly the loaded
	// content: DigestZxid equals ReadOptions.Zxid (not 0) and the digest
	// version is 2.
	DigestExact bool
	// TreeDigest is the digest (§2.5) of the nodes as loaded, before any
	// replay (0 with ReadOptions.DeferDigest).
	TreeDigest int64
	// DigestMismatch is set when the trailer is DigestExact and its
	// digest differs from TreeDigest. ZooKeeper only logs this.
	DigestMismatch bool
	// Repaired counts nodes whose ACL ref was not in the map, a trace of a
	// fuzzy snapshot (see ReadSnapshot).
	Repaired int
}

// ErrChecksum is the cause (errors.Is) of a SnapshotError for a seal that
// does not match the bytes before it.
var ErrChecksum = errors.New("snapshot checksum mismatch")

// SnapshotError reports why a snapshot cannot be loaded and where: Offset
// counts bytes of the uncompressed stream.
type SnapshotError struct {
	Offset int64
	Reason string
	// Err is the underlying cause, if any: ErrChecksum,
	// io.ErrUnexpectedEOF for a truncated file, or the read error.
	Err error
}

// Error names the offset and the reason.
func (e *SnapshotError) Error() string {
	s := fmt.Sprintf("snapshot: %s at offset %d", e.Reason, e.Offset)
	if e.Err != nil && e.Err != ErrChecksum {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error (ErrChecksum for a bad seal).
func (e *SnapshotError) Unwrap() error { return e.Err }

// openACL is ZooKeeper's OPEN_ACL_UNSAFE.
var openACL = []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}

func isOpenACL(l []jute.ACL) bool { return len(l) == 1 && l[0] == openACL[0] }

// ReadSnapshot loads a snapshot from the uncompressed stream r: the tree,
// the global sessions in file order, and what the file said about itself.
// It checks both seals and never panics on damaged input; every error is a
// *SnapshotError naming the offset.
//
// The tree comes back as ZooKeeper rebuilds it: the ephemeral, container
// and TTL indexes from the stored owners (opts.ExtendedTypes), the quota
// registry from the zookeeper_limits nodes under /zookeeper/quota with
// every zookeeper_stats node recounted, ACL lists that no node uses
// dropped, and LastZxid set to opts.Zxid.
//
// A node whose ACL ref is neither -1 nor in the map can only come from a
// fuzzy snapshot: its list was created while the snapshot was being
// written, so a transaction after opts.Zxid gave it to the node. If the
// node was created after opts.Zxid, it and its subtree are left out:
// replaying the log recreates them with the right ACL. Otherwise a setACL
// after opts.Zxid is in the log; the node gets an empty ACL list (no
// access) until replay applies it. Info.Repaired counts such nodes.
func ReadSnapshot(r io.Reader, opts ReadOptions) (*Tree, []SessionTimeout, SnapshotInfo, error) {
	sr := newSnapReader(r, opts.MaxBuffer)
	t, sessions, info, err := sr.read(opts)
	if err != nil {
		return nil, nil, SnapshotInfo{}, err
	}
	return t, sessions, info, nil
}

// snapReader reads jute values from a stream, keeping the Adler-32 of
// everything consumed and the offset.
type snapReader struct {
	r   *bufio.Reader
	sum hash.Hash32
	off int64
	max int
	buf [68]byte
}

func newSnapReader(r io.Reader, max int) *snapReader {
	if max <= 0 {
		max = DefaultSnapshotMaxBuffer
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &snapReader{r: br, sum: adler32.New(), max: max}
}

// full fills b. It returns io.EOF only if nothing was read.
func (sr *snapReader) full(b []byte) error {
	n, err := io.ReadFull(sr.r, b)
	sr.sum.Write(b[:n])
	sr.off += int64(n)
	return err
}

// fail builds the error for a failed read of what, begun at off.
func (sr *snapReader) fail(off int64, what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &SnapshotError{Offset: off, Reason: "truncated " + what, Err: io.ErrUnexpectedEOF}
	}
	return &SnapshotError{Offset: off, Reason: "cannot read " + what, Err: err}
}

func (sr *snapReader) int32(what string) (int32, error) {
	off := sr.off
	if err := sr.full(sr.buf[:4]); err != nil {
		return 0, sr.fail(off, what, err)
	}
	return int32(uint32(sr.buf[0])<<24 | uint32(sr.buf[1])<<16 | uint32(sr.buf[2])<<8 | uint32(sr.buf[3])), nil
}

func (sr *snapReader) int64(what string) (int64, error) {
	off := sr.off
	if err := sr.full(sr.buf[:8]); err != nil {
		return 0, sr.fail(off, what, err)
	}
	return be64(sr.buf[:8]), nil
}

func be64(b []byte) int64 {
	_ = b[7]
	return int64(uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]))
}

func be32(b []byte) int32 {
	_ = b[3]
	return int32(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
}

// buffer reads a length-prefixed buffer; null comes back as nil.
func (sr *snapReader) buffer(what string) ([]byte, error) {
	off := sr.off
	n, err := sr.int32(what)
	if err != nil {
		return nil, err
	}
	if n == -1 {
		return nil, nil
	}
	if n < 0 || int(n) > sr.max {
		return nil, &SnapshotError{Offset: off, Reason: fmt.Sprintf("unreasonable length %d of %s", n, what)}
	}
	return sr.bufferBody(what, n)
}

// bufferBody reads the n bytes of a buffer whose length was read.
func (sr *snapReader) bufferBody(what string, n int32) ([]byte, error) {
	// Grow in steps so that a damaged length on a short file cannot make
	// the reader allocate much more than the file holds.
	const step = 1 << 20
	size := int(n)
	dataOff := sr.off
	b := make([]byte, 0, min(size, step))
	for len(b) < size {
		k := min(size-len(b), step)
		b = slices.Grow(b, k)
		m := len(b)
		b = b[:m+k]
		if err := sr.full(b[m:]); err != nil {
			return nil, sr.fail(dataOff, what, err)
		}
	}
	return b, nil
}

// string reads a ustring; null reads as "" with null set.
func (sr *snapReader) string(what string) (s string, null bool, err error) {
	b, err := sr.buffer(what)
	if err != nil {
		return "", false, err
	}
	return string(b), b == nil, nil
}

// seal reads a seal (int64 checksum and a ustring) and checks it against
// the bytes read before it.
func (sr *snapReader) seal(what string) error {
	computed := sr.sum.Sum32()
	off := sr.off
	stored, err := sr.int64(what)
	if err != nil {
		return err
	}
	if _, _, err := sr.string(what + " marker"); err != nil {
		return err
	}
	if stored != int64(computed) {
		return &SnapshotError{Offset: off, Err: ErrChecksum,
			Reason: fmt.Sprintf("checksum mismatch in %s (stored %#x, computed %#x)", what, uint64(stored), computed)}
	}
	return nil
}

func (sr *snapReader) read(opts ReadOptions) (*Tree, []SessionTimeout, SnapshotInfo, error) {
	var info SnapshotInfo
	if !opts.Wire {
		magic, err := sr.int32("file header")
		if err != nil {
			return nil, nil, info, err
		}
		if magic != SnapshotMagic {
			return nil, nil, info, &SnapshotError{Offset: 0, Reason: fmt.Sprintf("bad magic %#x, want %#x (ZKSN)", uint32(magic), SnapshotMagic)}
		}
		if info.Version, err = sr.int32("file header"); err != nil {
			return nil, nil, info, err
		}
		if info.DBID, err = sr.int64("file header"); err != nil {
			return nil, nil, info, err
		}
	}

	sessions, err := sr.sessions()
	if err != nil {
		return nil, nil, info, err
	}
	refs, err := sr.aclMap()
	if err != nil {
		return nil, nil, info, err
	}
	info.ACLLists = len(refs)

	t := emptyTree()
	if err := sr.nodes(t, refs, opts, &info); err != nil {
		return nil, nil, info, err
	}
	if opts.Wire {
		info.Size = sr.off
		t.setupQuotas()
		t.lastZxid = opts.Zxid
		return t, sessions, info, nil
	}
	if err := sr.seal("seal #1"); err != nil {
		return nil, nil, info, err
	}
	if err := sr.trailer(opts, &info); err != nil {
		return nil, nil, info, err
	}
	info.Size = sr.off
	t.setupQuotas()
	t.lastZxid = opts.Zxid
	return t, sessions, info, nil
}

func (sr *snapReader) sessions() ([]SessionTimeout, error) {
	off := sr.off
	n, err := sr.int32("session count")
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, &SnapshotError{Offset: off, Reason: fmt.Sprintf("negative session count %d", n)}
	}
	out := make([]SessionTimeout, 0, min(int(n), 1024))
	for range n {
		off := sr.off
		if err := sr.full(sr.buf[:12]); err != nil {
			return nil, sr.fail(off, "session", err)
		}
		out = append(out, SessionTimeout{ID: jute.SessionID(be64(sr.buf[:8])), Timeout: be32(sr.buf[8:12])})
	}
	return out, nil
}

// aclMap reads the ACL map; a ref that appears twice keeps its last list,
// as ZooKeeper's reader does.
func (sr *snapReader) aclMap() (map[int64][]jute.ACL, error) {
	off := sr.off
	n, err := sr.int32("ACL map size")
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, &SnapshotError{Offset: off, Reason: fmt.Sprintf("negative ACL map size %d", n)}
	}
	refs := make(map[int64][]jute.ACL, min(int(n), 1024))
	for range n {
		ref, err := sr.int64("ACL ref")
		if err != nil {
			return nil, err
		}
		off := sr.off
		count, err := sr.int32("ACL list length")
		if err != nil {
			return nil, err
		}
		if count < 0 {
			return nil, &SnapshotError{Offset: off, Reason: fmt.Sprintf("invalid ACL list length %d for ref %d", count, ref)}
		}
		list := make([]jute.ACL, 0, min(int(count), 64))
		for range count {
			perms, err := sr.int32("ACL perms")
			if err != nil {
				return nil, err
			}
			scheme, _, err := sr.string("ACL scheme")
			if err != nil {
				return nil, err
			}
			id, _, err := sr.string("ACL id")
			if err != nil {
				return nil, err
			}
			list = append(list, jute.ACL{Perms: perms, ID: jute.Id{Scheme: scheme, ID: id}})
		}
		refs[ref] = list
	}
	return refs, nil
}

// loadChain is the chain of ancestors of the node read last, for finding
// parents without the index: snapshots list nodes in pre-order.
type loadChain struct {
	path  []byte // the path of the node read last
	stack []loadLink
}

type loadLink struct {
	id  nodeID
	end int // its path is path[:end]
}

// parentOf returns the id of the node at parentPath if it is on the
// chain, or 0.
func (c *loadChain) parentOf(parentPath []byte) nodeID {
	for n := len(c.stack); n > 0; n-- {
		top := c.stack[n-1]
		if top.end < len(parentPath) {
			return 0
		}
		if top.end == len(parentPath) {
			if string(c.path[:top.end]) == string(parentPath) {
				c.stack = c.stack[:n]
				return top.id
			}
			return 0
		}
	}
	return 0
}

// push makes a node the last one read, with parent the chain's top (or
// a node found otherwise, which then starts a new chain).
func (c *loadChain) push(parent nodeID, parentPath, path []byte, id nodeID) {
	if n := len(c.stack); n == 0 || c.stack[n-1].id != parent {
		c.stack = append(c.stack[:0], loadLink{parent, len(parentPath)})
	}
	c.path = append(c.path[:0], path...)
	c.stack = append(c.stack, loadLink{id, len(path)})
}

// largeLoad is the data size above which nodes reads data through
// buffer, which grows in steps, before copying it into the arena.
const largeLoad = 1 << 20

// loader builds a tree from node records.
type loader struct {
	t          *Tree
	refs       map[int64][]jute.ACL
	opts       ReadOptions
	info       *SnapshotInfo
	interned   map[int64]uint32
	dropped    map[string]struct{} // subtrees left out (see ReadSnapshot)
	chain      loadChain
	crcScratch []byte
	// pending holds index entries (hash<<32 | id) not yet inserted: the
	// index is built once the records are read (see index.insertAll).
	pending []uint64
	dup     nodeID // a node found twice, if any
}

// flush inserts the pending index entries and returns a node whose path
// another node has too, or 0.
func (l *loader) flush() nodeID {
	dup := l.t.idx.insertAll(l.pending, l.t.samePath)
	l.pending = l.pending[:0]
	if dup != 0 && l.dup == 0 {
		l.dup = dup
	}
	return dup
}

// add links one node record read at offset off; data is nil for null
// data and stat is the 60 encoded bytes.
func (l *loader) add(off int64, path, data []byte, ref int64, stat []byte) error {
	t := l.t
	root := len(path) == 0
	var parentPath, name []byte
	var parent nodeID
	var h uint32 // index hash of (parent, name)
	st := decodeStat(stat)
	if !root {
		if path[0] != '/' || path[len(path)-1] == '/' {
			return &SnapshotError{Offset: off, Reason: fmt.Sprintf("invalid node path %q", path)}
		}
		i := bytes.LastIndexByte(path, '/')
		parentPath, name = path[:i], path[i+1:]
		if parent = l.chain.parentOf(parentPath); parent == 0 {
			// Not in pre-order: look the parent up.
			l.flush()
			if len(parentPath) == 0 {
				parent = t.find(RootPath)
			} else {
				parent = t.find(string(parentPath))
			}
		}
		if _, gone := l.dropped[string(parentPath)]; gone {
			l.dropped[string(path)] = struct{}{}
			l.info.Repaired++
			return nil
		}
		if parent == 0 {
			return &SnapshotError{Offset: off, Reason: fmt.Sprintf("node %q comes before its parent", path)}
		}
		// A node that appears twice is found when the index is built
		// (flush), which saves a lookup per node.
		h = t.idx.hash(unsafeString(path))
	} else if t.count > 0 {
		return &SnapshotError{Offset: off, Reason: fmt.Sprintf("node %q appears twice", path)}
	}

	acl, ok := l.interned[ref]
	if !ok {
		switch list, found := l.refs[ref]; {
		case ref == openACLRef:
			acl = t.intern(openACL)
			l.interned[ref] = acl
		case found:
			acl = t.intern(list)
			l.interned[ref] = acl
		default:
			l.info.Repaired++
			if st.Czxid > l.opts.Zxid && !root {
				if l.dropped == nil {
					l.dropped = make(map[string]struct{})
				}
				l.dropped[string(path)] = struct{}{}
				return nil
			}
			acl = t.intern([]jute.ACL{})
		}
	}

	id := t.newID()
	bs := splitStat(&st)
	*t.mrec(id) = record{blob: t.writeBlob(id, &bs, unsafeString(name), data), pzxid: int64(st.Pzxid),
		parent: parent, acl: acl, cversion: st.Cversion}
	t.count++
	t.dataSize += int64(len(data))
	key := RootPath
	if !root {
		key = unsafeString(path)
		t.pathSize += int64(len(path))
		l.pending = append(l.pending, uint64(h)<<32|uint64(id))
		kl := t.mutKids(parent)
		kl.ids = append(kl.ids, id)
		kl.unsorted = len(kl.ids) > 1 // sorted when first needed in order
		t.indexOwner(id, st.EphemeralOwner, l.opts.ExtendedTypes)
	} else {
		t.pathSize++
	}
	if !l.opts.DeferDigest {
		l.info.TreeDigest += int64(nodeCRCWith(&l.crcScratch, key, data, &st))
	}
	l.info.Nodes++
	l.chain.push(parent, parentPath, path, id)
	return nil
}

func (sr *snapReader) nodes(t *Tree, refs map[int64][]jute.ACL, opts ReadOptions, info *SnapshotInfo) error {
	l := &loader{t: t, refs: refs, opts: opts, info: info, interned: make(map[int64]uint32, len(refs))}
	var path []byte
	scratch := make([]byte, 0, 256) // never nil: nil data means null
	for {
		end, err := sr.fastNodes(l)
		if err != nil || end {
			return err
		}
		// One record the slow way: across the end of the read buffer, or
		// one that the fast path leaves to the checks here.
		off := sr.off
		n, err := sr.int32("node path")
		if err != nil {
			return err
		}
		if n == -1 {
			return &SnapshotError{Offset: off, Reason: "null node path"}
		}
		if n < 0 || int(n) > sr.max {
			return &SnapshotError{Offset: off, Reason: fmt.Sprintf("unreasonable length %d of node path", n)}
		}
		path = slices.Grow(path[:0], int(n))[:n]
		if err := sr.full(path); err != nil {
			return sr.fail(off+4, "node path", err)
		}
		if string(path) == endOfNodes {
			l.flush()
			return sr.endNodes(t, l.dup)
		}
		// Error messages name the node; build them only on failure.
		of := func(err error) error {
			var se *SnapshotError
			if errors.As(err, &se) {
				se.Reason += " of " + strconv.Quote(string(path))
			}
			return err
		}
		dataOff := sr.off
		dn, err := sr.int32("data")
		if err != nil {
			return of(err)
		}
		if dn < -1 || int(dn) > sr.max {
			return of(&SnapshotError{Offset: dataOff, Reason: fmt.Sprintf("unreasonable length %d of data", dn)})
		}
		var data []byte // nil for null data
		switch {
		case dn > largeLoad:
			if data, err = sr.bufferBody("data", dn); err != nil {
				return of(err)
			}
		case dn >= 0:
			scratch = slices.Grow(scratch[:0], int(dn))[:dn]
			if err := sr.full(scratch); err != nil {
				return of(sr.fail(dataOff+4, "data", err))
			}
			data = scratch
		}
		ref, err := sr.int64("ACL ref")
		if err != nil {
			return of(err)
		}
		statOff := sr.off
		if err := sr.full(sr.buf[:60]); err != nil {
			return of(sr.fail(statOff, "stat", err))
		}
		if err := l.add(off, path, data, ref, sr.buf[:60]); err != nil {
			return err
		}
	}
}

// endNodes finishes the node records once the end marker is read; dup is
// a node whose path came twice.
func (sr *snapReader) endNodes(t *Tree, dup nodeID) error {
	if t.count == 0 {
		return &SnapshotError{Offset: sr.off, Reason: "snapshot has no root node"}
	}
	if dup != 0 {
		return &SnapshotError{Offset: sr.off, Reason: fmt.Sprintf("node %q appears twice", t.pathOf(dup))}
	}
	return nil
}

// fastNodes adds the node records that lie whole in the read buffer,
// straight from it, and stops at anything unusual (a record across the
// buffer's end, a length out of range, the end marker), which the slow
// path then reads with all its checks. It reports the end of the nodes
// only if a record failed to link.
func (sr *snapReader) fastNodes(l *loader) (bool, error) {
	for {
		// Only what is buffered: a SNAP stream must never wait for bytes
		// the leader has not sent.
		win, _ := sr.r.Peek(sr.r.Buffered())
		i := 0
		for {
			rest := win[i:]
			if len(rest) < 8 {
				break
			}
			pn := int(be32(rest))
			if pn < 0 || pn > sr.max || len(rest) < 8+pn {
				break
			}
			path := rest[4 : 4+pn]
			if string(path) == endOfNodes {
				break
			}
			dn := int(be32(rest[4+pn:]))
			if dn < -1 || dn > largeLoad || dn > sr.max {
				break
			}
			dataEnd := 8 + pn + max(dn, 0)
			size := dataEnd + 8 + 60
			if len(rest) < size {
				break
			}
			var data []byte
			if dn >= 0 {
				data = rest[8+pn : dataEnd : dataEnd]
			}
			if err := l.add(sr.off+int64(i), path, data, be64(rest[dataEnd:]), rest[dataEnd+8:size]); err != nil {
				sr.consume(win[:i])
				return true, err
			}
			i += size
		}
		if i == 0 {
			return false, nil
		}
		sr.consume(win[:i])
	}
}

// consume accounts for bytes taken straight from the read buffer.
func (sr *snapReader) consume(b []byte) {
	sr.sum.Write(b)
	sr.off += int64(len(b))
	sr.r.Discard(len(b))
}

func decodeStat(b []byte) jute.StatPersisted {
	return jute.StatPersisted{
		Czxid:          jute.Zxid(be64(b[0:])),
		Mzxid:          jute.Zxid(be64(b[8:])),
		Ctime:          be64(b[16:]),
		Mtime:          be64(b[24:]),
		Version:        be32(b[32:]),
		Cversion:       be32(b[36:]),
		Aversion:       be32(b[40:]),
		EphemeralOwner: be64(b[44:]),
		Pzxid:          jute.Zxid(be64(b[52:])),
	}
}

// trailer reads the optional digest trailer and seal #2. Like ZooKeeper,
// it takes an end of file anywhere inside the trailer for a file written
// without one; a trailer read in full must be followed by a good seal.
func (sr *snapReader) trailer(opts ReadOptions, info *SnapshotInfo) error {
	eof := func(err error) bool {
		var se *SnapshotError
		return errors.As(err, &se) && errors.Is(se.Err, io.ErrUnexpectedEOF)
	}
	zxid, err := sr.int64("digest zxid")
	if err != nil {
		if eof(err) {
			return nil
		}
		return err
	}
	version, err := sr.int32("digest version")
	if err != nil {
		if eof(err) {
			return nil
		}
		return err
	}
	var digest int64
	if version < 2 {
		// Digest versions before 2 stored the digest as hex text.
		off := sr.off
		s, null, err := sr.string("digest")
		if err != nil {
			if eof(err) {
				return nil
			}
			return err
		}
		if !null {
			v, perr := strconv.ParseUint(s, 16, 64)
			if perr != nil {
				return &SnapshotError{Offset: off, Reason: fmt.Sprintf("invalid digest %q", s)}
			}
			digest = int64(v)
		}
	} else if digest, err = sr.int64("digest"); err != nil {
		if eof(err) {
			return nil
		}
		return err
	}
	if err := sr.seal("seal #2"); err != nil {
		return err
	}
	info.HasDigest = true
	info.DigestZxid = jute.Zxid(zxid)
	info.DigestVersion = version
	info.Digest = digest
	info.DigestExact = zxid > 0 && jute.Zxid(zxid) == opts.Zxid && version == DigestVersion
	info.DigestMismatch = info.DigestExact && !opts.DeferDigest && digest != info.TreeDigest
	return nil
}

// setupQuotas registers every quota described under /zookeeper/quota (a
// zookeeper_limits leaf) and recounts its zookeeper_stats node, as
// ZooKeeper does after loading a snapshot.
func (t *Tree) setupQuotas() {
	var targets []string
	if q := t.find(QuotaPath); q != 0 {
		t.live().walkFrom(q, QuotaPath, func(path []byte, r *record, _ *parsedBlob) {
			if r.kids != 0 {
				return
			}
			if target, which, ok := quotaTarget(string(path)); ok && which == quotaLimitsNode {
				targets = append(targets, target)
			}
		})
	}
	slices.Sort(targets)
	for _, target := range targets {
		if t.quotas == nil {
			t.quotas = make(map[string]struct{})
		}
		t.quotas[target] = struct{}{}
		count, bytes := t.usage(target)
		t.setStatsData(target, count, bytes)
	}
}

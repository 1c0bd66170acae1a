package tree

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"unsafe"
)

// Storage layout. A tree of a million znodes must cost little memory,
// load fast and let a snapshot goroutine read a frozen version of it while
// the owner goes on changing it. So nodes are not Go objects with maps:
//
//   - Every node is a fixed-size record without pointers, found by a
//     nodeID. Records live in pages of pageSize; the tree keeps a table of
//     page pointers.
//   - A node's name, its data and the Stat fields only its own setData and
//     setACL change are one blob (blob.go) in an append-only arena of byte
//     chunks. Bytes of a blob never change while it is live, so Data
//     slices and child names can be handed out without copying. A blob
//     that dies (setData, delete) is marked dead in its header; a chunk
//     with nothing live left is freed at once, and once a quarter of the
//     arena is garbage, chunks below half live are evacuated (their live
//     blobs copied to the active chunk), one per transaction.
//   - Children are a list of nodeIDs per parent, in pages too, sorted by
//     name (a list loaded from a snapshot is sorted when first needed).
//     A list of more than 1024 is kept in chunks of at most 1024, so that
//     a create or delete under a large parent costs a search and a move
//     within one chunk, not a move of the whole list.
//   - Lookups go through an open-addressing hash index keyed by the full
//     path; a hit is checked by walking up the parents, whose names must
//     spell the path.
//
// Copy-on-write. Freeze clones the page and chunk tables (a few thousand
// pointers for a million nodes) and marks the current epoch frozen. While
// any view is live, the owner copies a page before writing into it if the
// page is as old as the newest frozen epoch, and a child list (of a
// chunked list, its chunk table and the chunk it changes) before changing
// it likewise; blobs never change. A view therefore sees the tree
// exactly as it was when frozen, at the cost of the pages written since.

// nodeID names a record; 0 is no node.
type nodeID uint32

// rootID is the record of "/".
const rootID nodeID = 1

// record is the fixed part of one znode, without pointers: what creates
// and deletes of children change (cversion, pzxid, the child list), the
// links, and where the rest is. The rest of the Stat, the name and the
// data are in the blob (blob.go), where Stat fields that equal their
// usual value take no room.
type record struct {
	blob     blobRef
	pzxid    int64
	parent   nodeID
	acl      uint32 // index in Tree.acls
	kids     uint32 // index in the kid list pages; 0 none
	cversion int32
}

// pageShift sets the number of records (or kid lists) per page.
const (
	pageShift = 9
	pageSize  = 1 << pageShift
	pageMask  = pageSize - 1
)

// page is pageSize items and the epoch it was created or copied in.
type page[T any] struct {
	epoch uint32
	items [pageSize]T
}

// pages is a growable array of T in copy-on-write pages.
type pages[T any] struct {
	table []*page[T]
}

// at returns item i for reading.
func (p *pages[T]) at(i uint32) *T { return &p.table[i>>pageShift].items[i&pageMask] }

// mut returns item i for writing, copying its page first if a live view
// may read it.
func (p *pages[T]) mut(i uint32, cow *cowState) *T {
	pg := p.table[i>>pageShift]
	if cow.shared(pg.epoch) {
		c := *pg
		c.epoch = cow.epoch
		pg = &c
		p.table[i>>pageShift] = pg
	}
	return &pg.items[i&pageMask]
}

// ensure makes room for item i.
func (p *pages[T]) ensure(i uint32, cow *cowState) {
	for int(i>>pageShift) >= len(p.table) {
		p.table = append(p.table, &page[T]{epoch: cow.epoch})
	}
}

// clone returns a copy of the page table, for a view.
func (p *pages[T]) clone() pages[T] { return pages[T]{table: slices.Clone(p.table)} }

// cowState tracks epochs and live views.
type cowState struct {
	// epoch is the epoch of pages created or copied now.
	epoch uint32
	// frozen is the epoch of the newest view; pages and lists of that
	// epoch or older are shared while views > 0.
	frozen uint32
	// views counts live views.
	views int
}

func (c *cowState) shared(epoch uint32) bool {
	return epoch <= c.frozen && c.views > 0
}

// kidList is a parent's children, sorted by name unless unsorted is set
// (a list loaded from a snapshot is sorted when first needed in order).
// A list of up to flatKidsMax children is one slice (ids); a longer
// sorted one is cut into chunks of at most kidChunkMax, so that a create
// or delete moves the tail of one chunk instead of the whole list's, and
// a copy for a view copies the chunks that change, not the list.
type kidList struct {
	ids []nodeID   // the children, when big is nil
	big *kidChunks // the children, when the list is chunked
	// epoch is when ids or big (the chunk table, not the chunks' ids)
	// was made; a chunk's ids have their own.
	epoch    uint32
	unsorted bool
}

// kidChunks is a chunked child list: the chunks in order and the number
// of children in them. It is behind a pointer so that the many short
// lists pay 8 bytes for it.
type kidChunks struct {
	chunks []kidChunk
	n      int32
}

// kidChunk is a run of a chunked child list. Its ids are never empty.
type kidChunk struct {
	ids   []nodeID
	epoch uint32
}

// Child list sizes: a sorted list becomes chunked when it grows past
// flatKidsMax, a chunk is split in two when it grows past kidChunkMax and
// merged with its neighbour when it shrinks below a quarter of that, and
// a list back under flatKidsMax/2 children is made flat again. Variables
// so that tests can make them small.
var (
	flatKidsMax = 1024
	kidChunkMax = 1024
)

// len returns the number of children.
func (l *kidList) len() int {
	if l.big == nil {
		return len(l.ids)
	}
	return int(l.big.n)
}

// runs yields the children in the list's order, a run of them at a time
// (the list, or each chunk), without copying them.
func (l *kidList) runs(yield func([]nodeID) bool) {
	if l.big == nil {
		yield(l.ids)
		return
	}
	for _, c := range l.big.chunks {
		if !yield(c.ids) {
			return
		}
	}
}

// flat returns the children in the list's order. For a flat list it is
// the list's own slice; for a chunked one, a new one.
func (l *kidList) flat() []nodeID {
	if l.big == nil {
		return l.ids
	}
	out := make([]nodeID, 0, l.big.n)
	for _, c := range l.big.chunks {
		out = append(out, c.ids...)
	}
	return out
}

// blobRef locates a blob: chunk index and byte offset of its header.
type blobRef uint64

func makeRef(chunk, off uint32) blobRef { return blobRef(uint64(chunk)<<32 | uint64(off)) }
func (r blobRef) chunk() uint32         { return uint32(r >> 32) }
func (r blobRef) off() uint32           { return uint32(r) }

// Arena parameters. A chunk is Go's largest small object, which the
// allocator hands out without taking the heap lock. Blobs larger than
// largeBlob get a chunk of their own, freed as soon as the blob dies.
// The arena is compacted once garbage is more than 1/compactRatio of it
// and at least compactMin bytes.
const (
	chunkSize    = 32 << 10
	largeBlob    = chunkSize / 4
	deadBit      = 1 << 31
	compactRatio = 4
	compactMin   = 1 << 20
)

// arena holds the blobs.
type arena struct {
	chunks [][]byte // len is the used part; nil for a free index
	live   []int64  // live bytes per chunk, headers included
	sparse []bool   // queued for evacuation
	queue  []uint32 // chunks to evacuate
	free   []uint32 // free chunk indexes
	active uint32   // chunk appended to; valid when hasActive
	hasAct bool
	bytes  int64 // Σ len(chunks)
	liveB  int64 // Σ live
	// evacuated counts the chunks compaction emptied.
	evacuated int
}

// wasteful reports whether enough of the arena is garbage to compact.
func (a *arena) wasteful() bool {
	garbage := a.bytes - a.liveB
	return garbage >= compactMin && garbage*compactRatio > a.bytes
}

// newChunk returns a free chunk index holding buf.
func (a *arena) newChunk(buf []byte) uint32 {
	if n := len(a.free); n > 0 {
		c := a.free[n-1]
		a.free = a.free[:n-1]
		a.chunks[c], a.live[c], a.sparse[c] = buf, 0, false
		return c
	}
	a.chunks = append(a.chunks, buf)
	a.live = append(a.live, 0)
	a.sparse = append(a.sparse, false)
	return uint32(len(a.chunks) - 1)
}

// alloc reserves size bytes and returns where.
func (a *arena) alloc(size int) (blobRef, []byte) {
	if size > largeBlob {
		buf := make([]byte, size)
		c := a.newChunk(buf)
		a.live[c] = int64(size)
		a.bytes += int64(size)
		a.liveB += int64(size)
		return makeRef(c, 0), buf
	}
	if !a.hasAct || len(a.chunks[a.active])+size > chunkSize {
		if a.hasAct {
			a.maybeSparse(a.active) // the old active chunk may qualify now
		}
		a.active = a.newChunk(make([]byte, 0, chunkSize))
		a.hasAct = true
	}
	c := a.active
	off := len(a.chunks[c])
	a.chunks[c] = a.chunks[c][:off+size]
	a.live[c] += int64(size)
	a.bytes += int64(size)
	a.liveB += int64(size)
	return makeRef(c, uint32(off)), a.chunks[c][off : off+size : off+size]
}

// kill marks a blob of size bytes dead.
func (a *arena) kill(r blobRef, size int) {
	c := r.chunk()
	buf := a.chunks[c]
	a.live[c] -= int64(size)
	a.liveB -= int64(size)
	if size > largeBlob {
		a.dropChunk(c)
		return
	}
	binary.LittleEndian.PutUint32(buf[r.off():], deadBit|uint32(size))
	a.maybeSparse(c)
}

// dropChunk frees a chunk index; views keep their own table.
func (a *arena) dropChunk(c uint32) {
	a.bytes -= int64(len(a.chunks[c]))
	a.liveB -= a.live[c]
	a.chunks[c] = nil
	a.live[c] = 0
	a.sparse[c] = false
	a.free = append(a.free, c)
	if a.hasAct && a.active == c {
		a.hasAct = false
	}
}

// maybeSparse queues chunk c for evacuation once less than half of it is
// live; an empty chunk is dropped at once.
func (a *arena) maybeSparse(c uint32) {
	if a.hasAct && c == a.active || a.chunks[c] == nil {
		return
	}
	if a.live[c] == 0 {
		// Dropped at once, queued or not (compact skips a stale entry):
		// a chunk must not wait for compaction to be freed, which a live
		// view puts off.
		a.dropChunk(c)
		return
	}
	if a.sparse[c] {
		return
	}
	if a.live[c]*2 < int64(len(a.chunks[c])) {
		a.sparse[c] = true
		a.queue = append(a.queue, c)
	}
}

// index maps a full path to its nodeID: open addressing with linear
// probing, each slot the path's hash and the id. It does not store paths;
// Tree.lookup checks a candidate against its parents' names.
type index struct {
	slots []slot
	count int
	seed  maphash.Seed
}

type slot struct {
	hash uint32
	id   nodeID // 0: empty
}

// minIndex is the smallest table.
const minIndex = 64

// hash returns the key of a node's full path.
func (x *index) hash(path string) uint32 {
	h := maphash.String(x.seed, path)
	return uint32(h^h>>32) | 1 // never 0, so that 0 marks nothing
}

// grow doubles the table (or sizes it for n entries), rehashing by the
// stored hashes.
func (x *index) grow(n int) {
	size := minIndex
	for size*3 < n*4 {
		size *= 2
	}
	if size <= len(x.slots) {
		return
	}
	old := x.slots
	x.slots = make([]slot, size)
	mask := uint32(size - 1)
	for _, s := range old {
		if s.id == 0 {
			continue
		}
		i := s.hash & mask
		for x.slots[i].id != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// insert adds an entry known to be absent.
func (x *index) insert(h uint32, id nodeID) {
	if (x.count+1)*4 > len(x.slots)*3 {
		x.grow(max(2*len(x.slots)*3/4, x.count+1))
	}
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].id != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = slot{h, id}
	x.count++
}

// insertAll adds entries (hash<<32 | id) of a loaded snapshot. Into an
// empty index it inserts them grouped by their home slot, so that building
// the index walks the table once instead of missing the cache on every
// insert. same reports whether two nodes have the same path; it is asked
// only about entries with equal hashes, and insertAll returns the first
// id that duplicates another (0 if none).
func (x *index) insertAll(entries []uint64, same func(a, b nodeID) bool) nodeID {
	if x.count > 0 || len(entries) < 1<<12 {
		for _, e := range entries {
			if dup := x.insertChecked(uint32(e>>32), nodeID(e), same); dup != 0 {
				return dup
			}
		}
		return 0
	}
	x.grow(len(entries))
	mask := uint32(len(x.slots) - 1)
	// A counting sort on the top bits of the home slot.
	shift := uint(0)
	for (mask >> shift) >= 1<<12 {
		shift++
	}
	counts := make([]int, (mask>>shift)+2)
	for _, e := range entries {
		counts[(uint32(e>>32)&mask)>>shift+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	sorted := make([]uint64, len(entries))
	for _, e := range entries {
		b := (uint32(e>>32) & mask) >> shift
		sorted[counts[b]] = e
		counts[b]++
	}
	for _, e := range sorted {
		h, id := uint32(e>>32), nodeID(e)
		i := h & mask
		for x.slots[i].id != 0 {
			if x.slots[i].hash == h && same(x.slots[i].id, id) {
				return id
			}
			i = (i + 1) & mask
		}
		x.slots[i] = slot{h, id}
		x.count++
	}
	return 0
}

// insertChecked is insert that first looks for an entry of the same path.
func (x *index) insertChecked(h uint32, id nodeID, same func(a, b nodeID) bool) nodeID {
	if len(x.slots) > 0 {
		mask := uint32(len(x.slots) - 1)
		for i := h & mask; x.slots[i].id != 0; i = (i + 1) & mask {
			if x.slots[i].hash == h && same(x.slots[i].id, id) {
				return id
			}
		}
	}
	x.insert(h, id)
	return 0
}

// remove deletes the entry for id with hash h (backward-shift deletion).
func (x *index) remove(h uint32, id nodeID) {
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].id != id {
		if x.slots[i].id == 0 {
			return
		}
		i = (i + 1) & mask
	}
	for {
		x.slots[i] = slot{}
		j := i
		for {
			j = (j + 1) & mask
			if x.slots[j].id == 0 {
				x.count--
				return
			}
			home := x.slots[j].hash & mask
			// Move j into the hole at i unless its home lies cyclically
			// in (i, j]: it may move back as far as its home.
			if (j-home)&mask >= (j-i)&mask {
				x.slots[i] = x.slots[j]
				i = j
				break
			}
		}
	}
}

// unsafeString views b as a string; b must never change afterwards.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// compact evacuates one sparse chunk, if any, when the arena is wasteful,
// unless a view is live (a view would make every record moved cost a page
// copy). Apply calls it once per transaction, so the work per transaction
// is at most one chunk.
func (t *Tree) compact() {
	a := &t.blobs
	if len(a.queue) == 0 || t.cow.views > 0 || !a.wasteful() {
		return
	}
	c := a.queue[0]
	a.queue = a.queue[1:]
	if !a.sparse[c] || a.chunks[c] == nil {
		return
	}
	a.sparse[c] = false
	buf := a.chunks[c]
	for off := 0; off < len(buf); {
		h := binary.LittleEndian.Uint32(buf[off:])
		if h&deadBit != 0 {
			off += int(h &^ deadBit)
			continue
		}
		id := nodeID(h)
		size := parseBlob(buf[off:]).size
		if t.rec(id).blob == makeRef(c, uint32(off)) {
			ref, dst := a.alloc(size)
			copy(dst, buf[off:off+size])
			t.mrec(id).blob = ref
		}
		off += size
	}
	a.dropChunk(c)
	a.evacuated++
}

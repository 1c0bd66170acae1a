package tree

import (
	"cmp"
	"math/bits"
	"slices"
	"unicode/utf8"

	"github.com/zkd/zkd/internal/jute"
)

// ZooKeeper writes siblings and sessions in the iteration order of Java's
// HashSet and HashMap, so a byte-identical file needs the same order. The
// functions here reproduce it from what the tree knows; file readers do not
// depend on it (§3.4).
//
// A java.util.HashMap iterates its table from bucket 0 up, and each bucket
// in insertion order. The bucket of a key is (h ^ h>>>16) & (capacity-1),
// with h the key's hashCode. Capacity is a power of two that doubles when
// the size passes 3/4 of it and never shrinks. (Buckets of 8 or more
// colliding keys turn into trees with another order; that is ignored.)

// childOrder is a child with the key it is sorted by.
type childOrder struct {
	id     nodeID
	name   string
	bucket uint32
	czxid  jute.Zxid
}

// pushChildren pushes a node's children on the walk stack so that they
// pop in the tree's order or, with javaOrder, in the order ZooKeeper's
// DataNode iterates them: a HashSet created
// with capacity 8, whose size peaked at most at the persisted cversion
// (the number of children ever created) and whose elements went in by
// creation zxid. That is exact for a server that never restarted; after a
// restart Java's sets are rebuilt smaller and may iterate differently.
// pathLen is the length of the node's path in the path buffer.
func (w *snapWriter) pushChildren(stack []walkItem, r *record, pathLen int) []walkItem {
	ids := w.f.kidIDs(r)
	if len(ids) == 0 {
		return stack
	}
	if !w.javaOrder {
		for i := len(ids) - 1; i >= 0; i-- {
			stack = append(stack, walkItem{ids[i], pathLen})
		}
		return stack
	}
	capacity := javaSetCapacity(max(len(ids), int(r.cversion)))
	kids := w.kids[:0]
	for _, id := range ids {
		name := w.f.name(w.f.rec(id))
		kids = append(kids, childOrder{id: id, name: name, bucket: javaBucket(javaStringHash(name), capacity), czxid: -1})
	}
	slices.SortFunc(kids, func(a, b childOrder) int { return cmp.Compare(a.bucket, b.bucket) })
	// Children that share a bucket come in creation order; only they need
	// their czxid, which costs a parse of the blob.
	for i := 0; i < len(kids); {
		j := i + 1
		for j < len(kids) && kids[j].bucket == kids[i].bucket {
			j++
		}
		if j-i > 1 {
			run := kids[i:j]
			for k := range run {
				run[k].czxid = jute.Zxid(w.f.parsed(w.f.rec(run[k].id)).st.czxid)
			}
			slices.SortFunc(run, func(a, b childOrder) int {
				if c := cmp.Compare(a.czxid, b.czxid); c != 0 {
					return c
				}
				return cmp.Compare(a.name, b.name)
			})
		}
		i = j
	}
	for i := len(kids) - 1; i >= 0; i-- {
		stack = append(stack, walkItem{kids[i].id, pathLen})
	}
	clear(kids)
	w.kids = kids[:0]
	return stack
}

// javaSetCapacity returns the table size of a HashSet created with
// capacity 8 once it has held size elements.
func javaSetCapacity(size int) uint32 {
	c := uint32(8)
	for c < 1<<30 && size > int(c/4*3) {
		c *= 2
	}
	return c
}

// javaBucket returns the bucket of a key with hashCode h in a table of the
// given capacity (a power of two).
func javaBucket(h int32, capacity uint32) uint32 {
	u := uint32(h)
	return (u ^ u>>16) & (capacity - 1)
}

// javaStringHash returns Java's String.hashCode of s: s[0]·31^(n-1) + ...
// over its UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 && r <= utf8.MaxRune {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + r
	}
	return h
}

// javaLongHash returns Java's Long.hashCode of v.
func javaLongHash(v int64) int32 { return int32(uint64(v) ^ uint64(v)>>32) }

// javaSessionOrder sorts sessions the way ZooKeeper writes them: it copies
// its session table into a new HashMap and iterates that. Within a bucket
// the order of the copy is the source map's, which is unknown; ids break
// the tie.
func javaSessionOrder(s []SessionTimeout) {
	if len(s) == 0 {
		return
	}
	// new HashMap(m) sizes its table for m.size()/0.75 + 1 entries, in
	// float arithmetic.
	capacity := tableSizeFor(int64(float32(len(s))/float32(0.75) + 1))
	slices.SortFunc(s, func(a, b SessionTimeout) int {
		ba := javaBucket(javaLongHash(int64(a.ID)), capacity)
		bb := javaBucket(javaLongHash(int64(b.ID)), capacity)
		if c := cmp.Compare(ba, bb); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// tableSizeFor returns the smallest power of two at least n (1 at least,
// 1<<30 at most), as HashMap sizes its table.
func tableSizeFor(n int64) uint32 {
	if n <= 1 {
		return 1
	}
	if n >= 1<<30 {
		return 1 << 30
	}
	return 1 << (64 - bits.LeadingZeros64(uint64(n-1)))
}

package tree

import (
	"hash/crc32"
	"strings"
	"unsafe"

	"github.com/zkd/zkd/internal/jute"
)

// DigestVersion is the version of the tree digest algorithm below, as
// carried in TxnDigest records and snapshot trailers (storage-and-quorum.md
// §2.5).
const DigestVersion = 2

// digestExcluded is the prefix of the paths left out of the digest:
// everything below /zookeeper (quota stats change outside transactions),
// but not /zookeeper itself.
const digestExcluded = ZKPath + "/"

// Digest returns the tree digest ZooKeeper 3.8 computes (digest version 2,
// §2.5): the wrapping int64 sum of NodeDigest over every node. It visits
// every node; a caller that needs the digest after each transaction keeps a
// running sum with NodeDigest instead.
func (t *Tree) Digest() int64 {
	var sum int64
	t.live().walk(func(path []byte, r *record, b *parsedBlob) {
		st := statOf(r, &b.st)
		sum += int64(nodeCRC(digestPath(path), b.data, &st))
	})
	return sum
}

// walk visits every node in pre-order (siblings by name) with its path
// ("" for the root; the buffer is reused, so copy it to keep it).
func (f *frozen) walk(visit func(path []byte, r *record, b *parsedBlob)) {
	f.walkFrom(rootID, "", visit)
}

// walkFrom walks the subtree of the node id at path.
func (f *frozen) walkFrom(id nodeID, start string, visit func(path []byte, r *record, b *parsedBlob)) {
	if start == RootPath {
		start = ""
	}
	path := append(make([]byte, 0, 256), start...)
	stack := []walkItem{{id, -1}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		r := f.rec(it.id)
		b := f.parsed(r)
		if it.parentLen >= 0 {
			path = path[:it.parentLen]
			path = append(path, '/')
			path = append(path, b.name...)
		}
		visit(path, r, &b)
		ids := f.kidIDs(r)
		for i := len(ids) - 1; i >= 0; i-- {
			stack = append(stack, walkItem{ids[i], len(path)})
		}
	}
}

// NodeDigest returns one node's contribution to the tree digest: the CRC-32
// (IEEE) of its path, its data and a 60-byte block of its stored Stat, or 0
// for nodes below /zookeeper/. The root is hashed under the path "".
//
// A running digest stays equal to Digest if every change to a node (its
// data, Stat or existence, including the parent Stat changes a create or
// delete makes) subtracts the node's NodeDigest before the change and adds
// it after. Sums wrap, as Java's long arithmetic does.
func NodeDigest(path string, n *Node) int64 {
	return int64(nodeCRC(path, n.Data, &n.Stat))
}

func nodeCRC(path string, data []byte, s *jute.StatPersisted) uint32 {
	if strings.HasPrefix(path, digestExcluded) {
		return 0
	}
	if path == RootPath {
		path = ""
	}
	// The Stat block's field order is ZooKeeper's DigestCalculator order,
	// not StatPersisted's (§2.5). It is hashed in two parts, each from a
	// word, so that nothing escapes to the heap.
	crc := crc32.Update(0, crc32.IEEETable, unsafe.Slice(unsafe.StringData(path), len(path)))
	crc = crc32.Update(crc, crc32.IEEETable, data)
	for _, v := range [...]uint64{uint64(s.Czxid), uint64(s.Mzxid), uint64(s.Pzxid), uint64(s.Ctime), uint64(s.Mtime)} {
		crc = crc64be(crc, v)
	}
	crc = crc32be(crc, uint32(s.Version))
	crc = crc32be(crc, uint32(s.Cversion))
	crc = crc32be(crc, uint32(s.Aversion))
	return crc64be(crc, uint64(s.EphemeralOwner))
}

// crc64be and crc32be update an IEEE CRC-32 with a big-endian integer,
// byte by byte from the table.
func crc64be(crc uint32, v uint64) uint32 {
	crc = ^crc
	for i := 56; i >= 0; i -= 8 {
		crc = crc32.IEEETable[byte(crc)^byte(v>>i)] ^ crc>>8
	}
	return ^crc
}

func crc32be(crc uint32, v uint32) uint32 {
	crc = ^crc
	for i := 24; i >= 0; i -= 8 {
		crc = crc32.IEEETable[byte(crc)^byte(v>>i)] ^ crc>>8
	}
	return ^crc
}

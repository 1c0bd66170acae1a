package tree

import (
	"encoding/binary"
	"hash/crc32"
	"strings"

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
func (t *Tree) Digest() int64 { return t.live().digest() }

// Digest returns the tree digest of the view, as Tree.Digest does for the
// tree. Like every read of a view it may run on any goroutine.
func (v *View) Digest() int64 { return v.f.digest() }

func (f *frozen) digest() int64 {
	var sum int64
	var scratch []byte
	f.walk(func(path []byte, r *record, b *parsedBlob) {
		st := statOf(r, &b.st)
		sum += int64(nodeCRCWith(&scratch, digestPath(path), b.data, &st))
	})
	return sum
}

// walk visits every node in pre-order (siblings in the order their list
// keeps them: by name, or as a loaded snapshot listed them) with its path
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
	var scratch []byte
	return nodeCRCWith(&scratch, path, data, s)
}

// nodeCRCWith is nodeCRC with a reusable buffer: the path, the data (when
// short) and the Stat block go through one CRC update.
func nodeCRCWith(scratch *[]byte, path string, data []byte, s *jute.StatPersisted) uint32 {
	if strings.HasPrefix(path, digestExcluded) {
		return 0
	}
	if path == RootPath {
		path = ""
	}
	b := append((*scratch)[:0], path...)
	var crc uint32
	if len(data) > 4096 {
		crc = crc32.Update(crc32.Update(0, crc32.IEEETable, b), crc32.IEEETable, data)
		b = b[:0]
	} else {
		b = append(b, data...)
	}
	// The Stat block's field order is ZooKeeper's DigestCalculator order,
	// not StatPersisted's (§2.5).
	b = binary.BigEndian.AppendUint64(b, uint64(s.Czxid))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Mzxid))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Pzxid))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Ctime))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Mtime))
	b = binary.BigEndian.AppendUint32(b, uint32(s.Version))
	b = binary.BigEndian.AppendUint32(b, uint32(s.Cversion))
	b = binary.BigEndian.AppendUint32(b, uint32(s.Aversion))
	b = binary.BigEndian.AppendUint64(b, uint64(s.EphemeralOwner))
	*scratch = b
	return crc32.Update(crc, crc32.IEEETable, b)
}

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
func (t *Tree) Digest() int64 {
	var sum int64
	for p, n := range t.nodes {
		sum += NodeDigest(p, n)
	}
	return sum
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
	// not StatPersisted's (§2.5).
	var b [60]byte
	binary.BigEndian.PutUint64(b[0:], uint64(s.Czxid))
	binary.BigEndian.PutUint64(b[8:], uint64(s.Mzxid))
	binary.BigEndian.PutUint64(b[16:], uint64(s.Pzxid))
	binary.BigEndian.PutUint64(b[24:], uint64(s.Ctime))
	binary.BigEndian.PutUint64(b[32:], uint64(s.Mtime))
	binary.BigEndian.PutUint32(b[40:], uint32(s.Version))
	binary.BigEndian.PutUint32(b[44:], uint32(s.Cversion))
	binary.BigEndian.PutUint32(b[48:], uint32(s.Aversion))
	binary.BigEndian.PutUint64(b[52:], uint64(s.EphemeralOwner))
	crc := crc32.Update(0, crc32.IEEETable, []byte(path))
	crc = crc32.Update(crc, crc32.IEEETable, data)
	return crc32.Update(crc, crc32.IEEETable, b[:])
}

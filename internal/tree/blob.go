package tree

import (
	"encoding/binary"

	"github.com/zkd/zkd/internal/jute"
)

// A blob holds what a node's record does not: its name, its data and the
// Stat fields that only its own setData and setACL change. Fields that
// equal their usual value (mzxid = czxid, mtime = ctime, versions 0, no
// owner) are left out, so a node that was created and never changed costs
// 18 bytes plus its name and data:
//
//	u32      header: the node's id while live; deadBit|size once dead
//	u8       flags: which optional fields follow, and null data
//	uvarint  name length, then the name
//	i64 i64  czxid, ctime
//	i64      mzxid     if flagMzxid
//	i64      mtime     if flagMtime
//	i32      version   if flagVersion
//	i32      aversion  if flagAversion
//	i64      owner     if flagOwner
//	uvarint  data length (0 when null), then the data
//
// Integers are little-endian. A blob never changes while it is live: a
// change writes a new one.
const (
	flagMzxid = 1 << iota
	flagMtime
	flagVersion
	flagAversion
	flagOwner
	flagNullData
)

// blobStat is the part of a node's Stat kept in its blob.
type blobStat struct {
	czxid, mzxid, ctime, mtime, owner int64
	version, aversion                 int32
}

// parsedBlob is a blob's content; name and data alias the arena.
type parsedBlob struct {
	st   blobStat
	name []byte
	data []byte // nil for null data
	size int    // bytes in the arena, header included
}

// blobName returns the name in the blob at the start of b.
func blobName(b []byte) []byte {
	n, k := uvarint(b[5:])
	return b[5+k : 5+k+n]
}

// uvarint reads a uvarint, fast when it is one byte.
func uvarint(b []byte) (int, int) {
	if b[0] < 0x80 {
		return int(b[0]), 1
	}
	v, k := binary.Uvarint(b)
	return int(v), k
}

// parseBlob reads the blob at the start of b.
func parseBlob(b []byte) parsedBlob {
	var p parsedBlob
	flags := b[4]
	nameLen, k := uvarint(b[5:])
	i := 5 + k
	p.name = b[i : i+nameLen : i+nameLen]
	i += nameLen
	p.st.czxid = int64(binary.LittleEndian.Uint64(b[i:]))
	p.st.ctime = int64(binary.LittleEndian.Uint64(b[i+8:]))
	p.st.mzxid, p.st.mtime = p.st.czxid, p.st.ctime
	i += 16
	if flags&flagMzxid != 0 {
		p.st.mzxid = int64(binary.LittleEndian.Uint64(b[i:]))
		i += 8
	}
	if flags&flagMtime != 0 {
		p.st.mtime = int64(binary.LittleEndian.Uint64(b[i:]))
		i += 8
	}
	if flags&flagVersion != 0 {
		p.st.version = int32(binary.LittleEndian.Uint32(b[i:]))
		i += 4
	}
	if flags&flagAversion != 0 {
		p.st.aversion = int32(binary.LittleEndian.Uint32(b[i:]))
		i += 4
	}
	if flags&flagOwner != 0 {
		p.st.owner = int64(binary.LittleEndian.Uint64(b[i:]))
		i += 8
	}
	dataLen, k := uvarint(b[i:])
	i += k
	end := i + dataLen
	if flags&flagNullData == 0 {
		p.data = b[i:end:end]
	}
	p.size = end
	return p
}

// blobLen is the size of the blob encodeBlob writes.
func blobLen(st *blobStat, name string, data []byte) int {
	n := 21 + uvarintLen(uint64(len(name))) + uvarintLen(uint64(len(data))) + len(name) + len(data)
	if st.mzxid != st.czxid {
		n += 8
	}
	if st.mtime != st.ctime {
		n += 8
	}
	if st.version != 0 {
		n += 4
	}
	if st.aversion != 0 {
		n += 4
	}
	if st.owner != 0 {
		n += 8
	}
	return n
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// encodeBlob writes a blob into b, which is blobLen bytes.
func encodeBlob(b []byte, id nodeID, st *blobStat, name string, data []byte) {
	binary.LittleEndian.PutUint32(b, uint32(id))
	var flags byte
	i := 5 + binary.PutUvarint(b[5:], uint64(len(name)))
	i += copy(b[i:], name)
	binary.LittleEndian.PutUint64(b[i:], uint64(st.czxid))
	binary.LittleEndian.PutUint64(b[i+8:], uint64(st.ctime))
	i += 16
	if st.mzxid != st.czxid {
		flags |= flagMzxid
		binary.LittleEndian.PutUint64(b[i:], uint64(st.mzxid))
		i += 8
	}
	if st.mtime != st.ctime {
		flags |= flagMtime
		binary.LittleEndian.PutUint64(b[i:], uint64(st.mtime))
		i += 8
	}
	if st.version != 0 {
		flags |= flagVersion
		binary.LittleEndian.PutUint32(b[i:], uint32(st.version))
		i += 4
	}
	if st.aversion != 0 {
		flags |= flagAversion
		binary.LittleEndian.PutUint32(b[i:], uint32(st.aversion))
		i += 4
	}
	if st.owner != 0 {
		flags |= flagOwner
		binary.LittleEndian.PutUint64(b[i:], uint64(st.owner))
		i += 8
	}
	if data == nil {
		flags |= flagNullData
	}
	b[4] = flags
	i += binary.PutUvarint(b[i:], uint64(len(data)))
	copy(b[i:], data)
}

// statOf assembles a node's StatPersisted from its record and blob.
func statOf(r *record, st *blobStat) jute.StatPersisted {
	return jute.StatPersisted{
		Czxid: jute.Zxid(st.czxid), Mzxid: jute.Zxid(st.mzxid), Pzxid: jute.Zxid(r.pzxid),
		Ctime: st.ctime, Mtime: st.mtime, EphemeralOwner: st.owner,
		Version: st.version, Cversion: r.cversion, Aversion: st.aversion,
	}
}

// splitStat is the inverse of statOf.
func splitStat(s *jute.StatPersisted) blobStat {
	return blobStat{czxid: int64(s.Czxid), mzxid: int64(s.Mzxid), ctime: s.Ctime, mtime: s.Mtime,
		owner: s.EphemeralOwner, version: s.Version, aversion: s.Aversion}
}

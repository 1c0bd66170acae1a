// Package storage reads and writes a ZooKeeper 3.8 dataDir and dataLogDir:
// transaction log segments, snapshots and their file names
// (storage-and-quorum.md §1–§3), byte-compatible with Apache ZooKeeper so
// that either server can start on what the other wrote.
//
// Transaction log segment (version-2/log.<hex first zxid>):
//
//	FileHeader   magic "ZKLG" (0x5A4B4C47), int32 version 2, int64 dbid 0
//	entry*       int64 Adler-32(payload) | int32 len | payload | 0x42
//	zeros        preallocated space; a zero length ends the segment
//
// payload = TxnHeader + txn record [+ TxnDigest]. A segment is never
// reopened for appending: after a restart the next append starts a new
// segment named after its first zxid, as ZooKeeper does.
//
// End of a segment and torn tails: a zero length, EOF inside an entry, or
// an end-of-record byte other than 0x42 ends the segment. Such a partial
// last entry can only be a write that was never acknowledged (a write is
// acknowledged only after the fsync that covers it), so restore cuts the
// segment there. A checksum mismatch is corruption and is fatal, reported
// with file and offset — except at the very tail of the newest segment,
// followed only by zeros, where it is a torn write like the others.
//
// Entry lengths: the writer takes payloads up to jute.MaxTxnSize (1 GiB)
// and the reader accepts every one of them, so whatever was acknowledged
// replays; entries above ZooKeeperMaxEntry, which Apache ZooKeeper does not
// read back by default, are logged with a warning. The reader allocates no
// more than the file holds. A length beyond jute.MaxTxnSize is corruption;
// so is a long entry (above what ZooKeeper writes) that runs past the end
// of a segment other than the last, or behind whose length a shorter whole
// entry with a matching checksum hides (the length, not the data, is
// damaged).
//
// The package does no concurrency of its own: the server's log-writer
// goroutine owns a Log; Append buffers, Commit flushes and fsyncs once for
// everything appended since the previous Commit (group commit).
package storage

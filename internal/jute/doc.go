// Package jute is zkd's binary codec: the jute encoding ZooKeeper uses on the
// client port, in transaction logs, in snapshots and between servers, and
// every record zkd exchanges in it.
//
// Encoding (spec client-protocol.md §1.3): integers are big-endian two's
// complement; a buffer or ustring is an int32 length followed by that many
// bytes, with -1 meaning null; a vector is an int32 count (-1 = null)
// followed by its elements; a record is its fields concatenated in
// declaration order, with no tags or padding.
//
// An Encoder appends to a byte slice and never fails. A Decoder reads from a
// byte slice and records the first error it meets; every later read returns
// a zero value, so a record's Decode method reads all of its fields and the
// caller checks Err once. A Decoder rejects any buffer, string or vector
// length that is negative (other than -1), larger than its MaxLen, or larger
// than what remains of the input, so a hostile length can never make it
// allocate more than the frame it was given.
package jute

// Package admin implements ZooKeeper's monitoring commands — the
// four-letter words on the client port and the AdminServer's JSON over HTTP
// — over one command registry.
//
// A [Registry] holds every command under its four-letter word and its
// AdminServer names (client spec §11, §12). A command reads the server
// through a [Source]: it asks once for a [Snapshot] with the [Detail] it
// needs, so that everything it prints comes from one moment, and renders
// that snapshot exactly as ZooKeeper 3.8 does. The client port detects a
// command with [FourLetterWord] on the first four bytes of a connection,
// runs it with [RunFourLetter], writes the text and closes the connection.
//
// The server measures with a [Recorder] per summary family: count, sum
// and extremes since the start, and a sample of the last
// [QuantileWindow] from which mntr's percentiles and the Prometheus
// quantiles ([NewCollector]) are read.
//
// Output that copies a ZooKeeper quirk on purpose (a missing final newline,
// Java number and date formats) says so where it is produced.
package admin

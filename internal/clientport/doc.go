// Package clientport serves ZooKeeper's client port: it accepts TCP
// connections, recognises four-letter words, reads length-prefixed frames
// within jute.maxbuffer, decodes the handshake and requests, and writes
// replies and notifications in the order the server queues them
// (client-protocol.md §1, §2, §11.1).
//
// Each connection has two goroutines: a reader that decodes frames and
// hands them to the Backend, and a writer that drains the connection's
// outbound queue, encoding and writing everything queued in one system call.
// The Listener owns both and stops them in Close. The package knows nothing
// of sessions, trees or watches: it reaches the server only through the
// Backend interface it declares.
package clientport

//go:build !linux

package clientport

import "syscall"

// edgeSocket reports no socket: edge-triggered reads are Linux only.
func (c *Conn) edgeSocket() (syscall.RawConn, bool) { return nil, false }

// readEdgeTriggered is never called where edgeSocket reports no socket.
func (c *Conn) readEdgeTriggered(raw syscall.RawConn, buffered []byte) error {
	panic("clientport: edge-triggered reads without a socket")
}

//go:build !linux

package clientport

import (
	"errors"
	"syscall"
)

// edgeSocket reports no socket: edge-triggered reads are Linux only.
func (c *Conn) edgeSocket() (syscall.RawConn, bool) { return nil, false }

// readEdgeTriggered is never called where edgeSocket reports no socket.
func (c *Conn) readEdgeTriggered(raw syscall.RawConn, buffered []byte) error {
	panic("clientport: edge-triggered reads without a socket")
}

// hangupWatcher is Linux only, as edge-triggered reads are.
type hangupWatcher struct{}

func newHangupWatcher(func(string, ...any)) (*hangupWatcher, error) {
	return nil, errors.New("no hang-up watcher on this system")
}

func (*hangupWatcher) run()   {}
func (*hangupWatcher) close() {}

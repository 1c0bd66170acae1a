package server

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/zkd/zkd/internal/clientport"
)

// clientPorts are the server's client listeners: the plaintext (or
// unified) clientPort and the TLS secureClientPort, either of which may be
// absent. Its counters add up the listeners', as ZooKeeper's server-wide
// statistics do.
type clientPorts struct {
	plain, secure *clientport.Listener
}

func (p *clientPorts) all() []*clientport.Listener {
	var out []*clientport.Listener
	for _, l := range []*clientport.Listener{p.plain, p.secure} {
		if l != nil {
			out = append(out, l)
		}
	}
	return out
}

// Addr returns the plaintext port's address, or the secure port's when
// there is no plaintext port.
func (p *clientPorts) Addr() net.Addr {
	if p.plain != nil {
		return p.plain.Addr()
	}
	return p.secure.Addr()
}

func (p *clientPorts) sum(f func(*clientport.Listener) int64) int64 {
	var n int64
	for _, l := range p.all() {
		n += f(l)
	}
	return n
}

func (p *clientPorts) PacketsReceived() int64 {
	return p.sum((*clientport.Listener).PacketsReceived)
}

func (p *clientPorts) PacketsSent() int64 { return p.sum((*clientport.Listener).PacketsSent) }

func (p *clientPorts) LargeRequestsRejected() int64 {
	return p.sum((*clientport.Listener).LargeRequestsRejected)
}

func (p *clientPorts) HandshakeFailures() int64 {
	return p.sum((*clientport.Listener).HandshakeFailures)
}

func (p *clientPorts) TLSStats() clientport.TLSStats {
	var t clientport.TLSStats
	for _, l := range p.all() {
		s := l.TLSStats()
		t.Outstanding += s.Outstanding
		t.Unsuccessful += s.Unsuccessful
		t.Exceeded += s.Exceeded
		t.NonMTLSLocal += s.NonMTLSLocal
		t.NonMTLSRemote += s.NonMTLSRemote
	}
	return t
}

func (p *clientPorts) Connections() []*clientport.Conn {
	var out []*clientport.Conn
	for _, l := range p.all() {
		out = append(out, l.Connections()...)
	}
	return out
}

// ResetPacketCounts zeroes the packet counters and the TLS counters srst
// resets.
func (p *clientPorts) ResetPacketCounts() {
	for _, l := range p.all() {
		l.ResetPacketCounts()
		l.ResetTLSStats()
	}
}

func (p *clientPorts) Close() error {
	var errs []error
	for _, l := range p.all() {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}

// Serve accepts connections on every listener until ctx is done or they
// are closed.
func (p *clientPorts) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, l := range p.all() {
		wg.Go(func() { errs[i] = l.Serve(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

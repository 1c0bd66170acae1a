package testcluster

import (
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP relay on a loopback port between clients and a server,
// for injecting connection faults: Cut closes every relayed connection,
// SetDown makes it refuse new ones, Freeze makes it swallow what clients
// send, and CutOnNextReply makes it swallow the server's next bytes and cut
// everything, so that a request takes effect but its answer is lost.
// Its methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu             sync.Mutex // guards the fields below
	down           bool
	frozen         bool
	cutReply       bool
	conns          map[net.Conn]struct{}
	bytesDropped   int64
	repliesDropped int

	wg sync.WaitGroup // the accept loop and the relays
}

// StartProxy starts a proxy to target that the test's cleanup closes. Call
// it from the test's goroutine; elsewhere use NewProxy.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatalf("StartProxy: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// NewProxy starts a proxy to target; Close stops it.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Close stops accepting, closes every relayed connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

// Addr is the proxy's "127.0.0.1:port", for clients.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.down
		p.mu.Unlock()
		if refuse {
			down.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns[down] = struct{}{}
		p.conns[up] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.relay(up, down, true)
		go p.relay(down, up, false)
	}
}

// relay copies src to dst until either fails. fromClient tells the
// direction: Freeze stops client bytes, CutOnNextReply server bytes.
func (p *Proxy) relay(dst, src net.Conn, fromClient bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen := fromClient && p.frozen
			if frozen {
				p.bytesDropped += int64(n)
			}
			cut := !fromClient && p.cutReply
			if cut {
				p.cutReply = false
				p.repliesDropped++
				for c := range p.conns {
					c.Close()
				}
			}
			p.mu.Unlock()
			if cut {
				break
			}
			if !frozen {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Cut closes every relayed connection.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// SetDown makes the proxy refuse new connections (down) or accept them.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// Freeze makes the proxy swallow (frozen) or pass what clients send; the
// server's bytes still flow.
func (p *Proxy) Freeze(frozen bool) {
	p.mu.Lock()
	p.frozen = frozen
	p.mu.Unlock()
}

// CutOnNextReply arms the proxy to swallow the server's next bytes and cut
// every connection.
func (p *Proxy) CutOnNextReply() {
	p.mu.Lock()
	p.cutReply = true
	p.mu.Unlock()
}

// BytesDropped returns how many client bytes Freeze swallowed.
func (p *Proxy) BytesDropped() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytesDropped
}

// RepliesDropped returns how many replies CutOnNextReply swallowed.
func (p *Proxy) RepliesDropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.repliesDropped
}

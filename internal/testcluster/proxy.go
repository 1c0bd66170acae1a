package testcluster

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Direction names one way through a Proxy: from the side that connected
// to the proxy towards the target, or back.
type Direction int

const (
	// ToServer is the way from the connecting side (a client, or the
	// server that dialled a peer) to the proxy's target.
	ToServer Direction = iota
	// ToClient is the way from the target back to the connecting side.
	ToClient
)

// String returns "to server" or "to client".
func (d Direction) String() string {
	if d == ToClient {
		return "to client"
	}
	return "to server"
}

// Proxy is a TCP relay on a loopback port between clients and a server,
// for injecting connection faults: Cut closes every relayed connection,
// SetDown makes it refuse new ones, Drop swallows the bytes going one way
// (Freeze is Drop(ToServer, ...)), Delay holds them back for a while, and
// CutOnNextReply makes it swallow the server's next bytes and cut
// everything, so that a request takes effect but its answer is lost.
// Its methods are safe for concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu             sync.Mutex // guards the fields below
	down           bool
	drop           [2]bool          // by Direction: swallow what goes that way
	delay          [2]time.Duration // by Direction: hold each chunk back this long
	dropped        [2]int64         // by Direction: bytes swallowed
	cutReply       bool
	links          map[*link]struct{}
	repliesDropped int

	wg sync.WaitGroup // the accept loop and the relays
}

// link is one relayed connection: the connection a client made to the
// proxy and the one the proxy made to the target.
type link struct {
	down, up net.Conn
	once     sync.Once
	done     chan struct{} // closed by close
}

// close closes both connections; it may be called any number of times.
func (l *link) close() {
	l.once.Do(func() {
		l.down.Close()
		l.up.Close()
		close(l.done)
	})
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
	p := &Proxy{ln: ln, target: target, links: make(map[*link]struct{})}
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

// Target is the address the proxy relays to.
func (p *Proxy) Target() string { return p.target }

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
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			down.Close()
			continue
		}
		l := &link{down: down, up: up, done: make(chan struct{})}
		p.mu.Lock()
		p.links[l] = struct{}{}
		p.mu.Unlock()
		for _, dir := range []Direction{ToServer, ToClient} {
			src, dst := down, up
			if dir == ToClient {
				src, dst = up, down
			}
			chunks := make(chan chunk, 64)
			p.wg.Add(2)
			go p.read(l, src, dir, chunks)
			go p.write(l, dst, chunks)
		}
	}
}

// chunk is bytes read from one side, to be written to the other at due.
type chunk struct {
	b   []byte
	due time.Time
}

// read copies what arrives on src into chunks, each stamped with the time
// it may be passed on, until src fails or the link closes. dir tells the
// way: Drop and Delay act per direction, CutOnNextReply on ToClient.
func (p *Proxy) read(l *link, src net.Conn, dir Direction, chunks chan<- chunk) {
	defer p.wg.Done()
	defer close(chunks)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			drop := p.drop[dir]
			if drop {
				p.dropped[dir] += int64(n)
			}
			cut := dir == ToClient && p.cutReply
			if cut {
				p.cutReply = false
				p.repliesDropped++
				for other := range p.links {
					other.close()
				}
			}
			delay := p.delay[dir]
			p.mu.Unlock()
			if cut {
				return
			}
			if !drop {
				c := chunk{b: append([]byte(nil), buf[:n]...), due: time.Now().Add(delay)}
				select {
				case chunks <- c:
				case <-l.done:
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// write passes chunks on to dst, each no earlier than its due time, and
// closes the link when chunks ends (the other side closed) or a write
// fails.
func (p *Proxy) write(l *link, dst net.Conn, chunks <-chan chunk) {
	defer p.wg.Done()
	defer func() {
		l.close()
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	for c := range chunks {
		if wait := time.Until(c.due); wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-l.done:
				timer.Stop()
				return
			}
		}
		if _, err := dst.Write(c.b); err != nil {
			return
		}
	}
}

// Cut closes every relayed connection.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		l.close()
	}
}

// SetDown makes the proxy refuse new connections (down) or accept them.
// Connections already relayed are left alone; Cut closes them.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// Freeze makes the proxy swallow (frozen) or pass what clients send; the
// server's bytes still flow. It is Drop(ToServer, frozen).
func (p *Proxy) Freeze(frozen bool) { p.Drop(ToServer, frozen) }

// Drop makes the proxy swallow (drop) or pass the bytes going in direction
// dir, on every connection, current and new. The connections stay open:
// with both directions dropped a link behaves like a network that lost
// every packet, which only timeouts detect.
func (p *Proxy) Drop(dir Direction, drop bool) {
	p.mu.Lock()
	p.drop[dir] = drop
	p.mu.Unlock()
}

// Delay makes the proxy hold back what goes in direction dir for d before
// passing it on (0 passes it on at once), preserving the order of the
// bytes. It applies to bytes read from now on.
func (p *Proxy) Delay(dir Direction, d time.Duration) {
	p.mu.Lock()
	p.delay[dir] = d
	p.mu.Unlock()
}

// CutOnNextReply arms the proxy to swallow the server's next bytes and cut
// every connection.
func (p *Proxy) CutOnNextReply() {
	p.mu.Lock()
	p.cutReply = true
	p.mu.Unlock()
}

// BytesDropped returns how many client bytes Freeze (or Drop(ToServer))
// swallowed.
func (p *Proxy) BytesDropped() int64 { return p.BytesDroppedGoing(ToServer) }

// BytesDroppedGoing returns how many bytes going in direction dir Drop
// swallowed.
func (p *Proxy) BytesDroppedGoing(dir Direction) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped[dir]
}

// RepliesDropped returns how many replies CutOnNextReply swallowed.
func (p *Proxy) RepliesDropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.repliesDropped
}

// Conns returns how many connections the proxy is relaying now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

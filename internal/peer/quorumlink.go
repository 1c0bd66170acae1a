package peer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// readPacket reads one QuorumPacket from the quorum stream, which has no
// framing beyond the jute record itself (storage spec §5.1). The data
// buffer may be as long as the largest transaction a PROPOSAL carries
// (jute.MaxTxnSize, or maxString if that is larger); maxString bounds the
// authinfo strings.
func readPacket(r *bufio.Reader, maxString int) (jute.QuorumPacket, error) {
	var p jute.QuorumPacket
	var head [16]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return p, err
	}
	p.Type = jute.PacketType(binary.BigEndian.Uint32(head[0:4]))
	p.Zxid = jute.Zxid(binary.BigEndian.Uint64(head[4:12]))
	n := int32(binary.BigEndian.Uint32(head[12:16]))
	switch {
	case n == -1:
	case n < 0 || int(n) > max(jute.MaxTxnSize, maxString):
		return p, fmt.Errorf("quorum packet %v: data length %d out of range", p.Type, n)
	default:
		data, err := readData(r, int(n))
		if err != nil {
			return p, noEOF(err)
		}
		p.Data = data
	}
	count, err := readInt32(r)
	if err != nil {
		return p, noEOF(err)
	}
	if count == -1 {
		return p, nil
	}
	if count < 0 || count > 1024 {
		return p, fmt.Errorf("quorum packet %v: authinfo count %d out of range", p.Type, count)
	}
	p.Auth = make([]jute.Id, count)
	for i := range p.Auth {
		if p.Auth[i].Scheme, err = readString(r, maxString); err != nil {
			return p, err
		}
		if p.Auth[i].ID, err = readString(r, maxString); err != nil {
			return p, err
		}
	}
	return p, nil
}

// readData reads n bytes into a buffer that grows as they arrive: a peer
// that announces a large packet and sends less costs no more memory than
// it sent.
func readData(r io.Reader, n int) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(min(n, 64<<10))
	if _, err := io.CopyN(&b, r, int64(n)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func readInt32(r *bufio.Reader) (int32, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(b[:])), nil
}

func readString(r *bufio.Reader, max int) (string, error) {
	n, err := readInt32(r)
	if err != nil {
		return "", noEOF(err)
	}
	if n == -1 {
		return "", nil
	}
	if n < 0 || int(n) > max {
		return "", fmt.Errorf("string length %d out of range", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", noEOF(err)
	}
	return string(b), nil
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// outgoing is one item a quorum link's writer sends: a packet, followed
// by the raw snapshot stream and end marker for a SNAP.
type outgoing struct {
	packet   jute.QuorumPacket
	snapshot []byte
}

// quorumLink is one connection on the quorum port: to the leader (on a
// learner) or from one learner (on the leader). A writer goroutine sends
// what is queued, in order; a reader goroutine hands packets to the peer's
// loop. Both stop when the link closes.
type quorumLink struct {
	conn net.Conn
	// sid is the learner's id on the leader side (0 until its first
	// packet names it), the leader's on the learner side.
	sid int64
	// gen is the role generation the link belongs to; events of older
	// generations are ignored.
	gen uint64
	// early holds packets a learner sent before this server, still
	// LOOKING, decided to lead (loop-owned).
	early []jute.QuorumPacket

	mu     sync.Mutex // guards queue and closed
	queue  []outgoing
	closed bool
	signal chan struct{}

	closeOnce sync.Once
	done      chan struct{}
}

func newQuorumLink(conn net.Conn, sid int64, gen uint64) *quorumLink {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return &quorumLink{conn: conn, sid: sid, gen: gen, signal: make(chan struct{}, 1), done: make(chan struct{})}
}

// send queues an item; it never blocks.
func (l *quorumLink) send(o outgoing) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.queue = append(l.queue, o)
	l.mu.Unlock()
	select {
	case l.signal <- struct{}{}:
	default:
	}
}

// close shuts the connection; the goroutines notice and end.
func (l *quorumLink) close() {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.queue = nil
		l.mu.Unlock()
		close(l.done)
		l.conn.Close()
	})
}

// writeLoop sends queued items until the link closes or a write fails.
// writeTimeout bounds each flush.
func (l *quorumLink) writeLoop(writeTimeout time.Duration) error {
	w := bufio.NewWriterSize(l.conn, 64<<10)
	e := jute.NewEncoder(make([]byte, 0, 4096))
	var batch []outgoing
	for {
		select {
		case <-l.done:
			return nil
		case <-l.signal:
		}
		l.mu.Lock()
		batch, l.queue = l.queue, batch[:0]
		l.mu.Unlock()
		l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		for i := range batch {
			e.Reset()
			batch[i].packet.Encode(e)
			if _, err := w.Write(e.Bytes()); err != nil {
				return err
			}
			if snap := batch[i].snapshot; snap != nil {
				// A large snapshot takes longer than one deadline: each
				// chunk gets its own, so only a stalled learner times out.
				for len(snap) > 0 {
					n := min(len(snap), 1<<20)
					l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
					if _, err := w.Write(snap[:n]); err != nil {
						return err
					}
					snap = snap[n:]
				}
				e.Reset()
				e.String(jute.SnapshotEndMarker)
				if _, err := w.Write(e.Bytes()); err != nil {
					return err
				}
			}
			batch[i] = outgoing{}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

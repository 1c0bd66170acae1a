package client

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// conn is one established connection of the session: a writer goroutine
// sends queued requests (and pings when idle) and a reader goroutine
// matches replies to them in order and dispatches notifications.
type conn struct {
	c           *Client
	nc          net.Conn
	addr        string
	readTimeout time.Duration // 2/3 of the negotiated session timeout (§2.6)
	pingEvery   time.Duration // 1/3 of it

	pmu     sync.Mutex // guards pending
	pending []*request // written and awaiting a reply, in xid order

	failOnce sync.Once
	done     chan struct{} // closed by fail
	err      error         // why the connection ended; set before done closes
	wg       sync.WaitGroup
}

func newConn(c *Client, nc net.Conn, addr string, timeout time.Duration) *conn {
	return &conn{
		c:           c,
		nc:          nc,
		addr:        addr,
		readTimeout: timeout * 2 / 3,
		pingEvery:   timeout / 3,
		done:        make(chan struct{}),
	}
}

// start runs the reader and the writer; setup goes out first.
func (cn *conn) start(setup []*request) {
	cn.wg.Add(2)
	go func() {
		defer cn.wg.Done()
		cn.readLoop()
	}()
	go func() {
		defer cn.wg.Done()
		cn.writeLoop(setup)
	}()
}

// fail ends the connection; the first cause wins.
func (cn *conn) fail(err error) {
	cn.failOnce.Do(func() {
		cn.err = err
		close(cn.done)
		cn.nc.Close()
	})
}

// failPending fails every request still awaiting a reply. It runs after
// the reader and writer have stopped.
func (cn *conn) failPending(err error) {
	cn.pmu.Lock()
	p := cn.pending
	cn.pending = nil
	cn.pmu.Unlock()
	for _, r := range p {
		r.complete(err, false)
	}
}

func (cn *conn) push(r *request) {
	cn.pmu.Lock()
	cn.pending = append(cn.pending, r)
	cn.pmu.Unlock()
}

// pop removes the request a reply with xid answers: the oldest one (the
// server answers in order, §3.5), except that an auth reply (xid -4) is
// matched to the oldest auth request, because Apache ZooKeeper answers auth
// as soon as it arrives.
func (cn *conn) pop(xid int32) *request {
	cn.pmu.Lock()
	defer cn.pmu.Unlock()
	if xid == jute.XidAuth {
		for i, r := range cn.pending {
			if r.op == jute.OpAuth {
				cn.pending = append(cn.pending[:i:i], cn.pending[i+1:]...)
				return r
			}
		}
		return nil
	}
	if len(cn.pending) == 0 || cn.pending[0].xid != xid {
		return nil
	}
	r := cn.pending[0]
	cn.pending[0] = nil
	cn.pending = cn.pending[1:]
	return r
}

var pingFrame = appendRequest(nil, jute.XidPing, jute.OpPing, nil)

// writeLoop sends setup, then whatever the Client queues, batching what is
// queued together into one write; it pings after pingEvery without writes.
func (cn *conn) writeLoop(setup []*request) {
	c := cn.c
	ping := time.NewTimer(cn.pingEvery)
	defer ping.Stop()
	var buf []byte
	batch := setup
	for {
		select {
		case <-cn.done:
			return
		default:
		}
		c.mu.Lock()
		batch = append(batch, c.queue...)
		clear(c.queue)
		c.queue = c.queue[:0]
		c.mu.Unlock()
		buf = buf[:0]
		for _, r := range batch {
			if r.abandoned() {
				continue
			}
			r.xid = c.nextXid(r.op)
			buf = appendRequest(buf, r.xid, r.op, r.body)
			// Pending before written: the reply may come at once.
			cn.push(r)
		}
		clear(batch)
		batch = batch[:0]
		if len(buf) > 0 {
			if err := cn.write(buf); err != nil {
				cn.fail(err)
				return
			}
			ping.Reset(cn.pingEvery)
		}
		if cap(buf) > 1<<20 {
			buf = nil // do not keep a large request's buffer
		}
		select {
		case <-cn.done:
			return
		case <-c.wakeCh:
		case <-ping.C:
			if err := cn.write(pingFrame); err != nil {
				cn.fail(err)
				return
			}
			ping.Reset(cn.pingEvery)
		}
	}
}

func (cn *conn) write(b []byte) error {
	cn.nc.SetWriteDeadline(time.Now().Add(cn.readTimeout))
	if _, err := cn.nc.Write(b); err != nil {
		return fmt.Errorf("write to %s: %w", cn.addr, err)
	}
	return nil
}

// readLoop reads frames until the connection fails. Silence for longer
// than readTimeout counts as a failure (the writer's pings make the server
// answer at least that often).
func (cn *conn) readLoop() {
	br := bufio.NewReaderSize(cn.nc, 32<<10)
	var buf []byte
	for {
		cn.nc.SetReadDeadline(time.Now().Add(cn.readTimeout))
		frame, err := readFrame(br, buf, cn.c.opts.maxFrame)
		if err != nil {
			cn.fail(fmt.Errorf("read from %s: %w", cn.addr, err))
			return
		}
		buf = frame
		if err := cn.handle(frame); err != nil {
			cn.fail(fmt.Errorf("reply from %s: %w", cn.addr, err))
			return
		}
	}
}

// handle processes one frame: a notification, a ping reply, or the reply
// to the oldest outstanding request. An error means the stream can no
// longer be trusted.
func (cn *conn) handle(frame []byte) error {
	d := jute.NewDecoder(frame)
	d.MaxLen = cn.c.opts.maxFrame
	var h jute.ReplyHeader
	h.Decode(d)
	if d.Err() != nil {
		return fmt.Errorf("decode header: %w", d.Err())
	}
	switch h.Xid {
	case jute.XidNotification:
		var ev jute.WatcherEvent
		ev.Decode(d)
		if d.Err() != nil {
			return fmt.Errorf("decode notification: %w", d.Err())
		}
		cn.c.watches.dispatch(eventFromJute(&ev))
		return nil
	case jute.XidPing:
		return nil
	}
	r := cn.pop(h.Xid)
	if r == nil {
		return fmt.Errorf("xid %d answers no outstanding request", h.Xid)
	}
	if h.Zxid > 0 {
		cn.c.noteZxid(int64(h.Zxid))
	}
	var err error
	switch {
	case h.Err != jute.OK:
		err = h.Err
	case r.resp != nil:
		r.resp.Decode(d)
		if d.Err() != nil {
			err = fmt.Errorf("%w: decode %v reply: %v", ErrMarshallingError, r.op, d.Err())
		}
	}
	r.complete(err, true)
	return nil
}

// appendRequest appends one request frame: length, RequestHeader, body.
func appendRequest(buf []byte, xid int32, op jute.OpCode, body jute.Encodable) []byte {
	start := len(buf)
	e := jute.NewEncoder(append(buf, 0, 0, 0, 0))
	e.Int(xid)
	e.Int(int32(op))
	if body != nil {
		body.Encode(e)
	}
	buf = e.Bytes()
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
	return buf
}

// appendFrame appends a frame holding one record (the handshake).
func appendFrame(buf []byte, r jute.Encodable) []byte {
	start := len(buf)
	e := jute.NewEncoder(append(buf, 0, 0, 0, 0))
	r.Encode(e)
	buf = e.Bytes()
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
	return buf
}

// readFrame reads one frame's payload into buf's storage (reallocating if
// it is too small); a length outside [0, max] is an error.
func readFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 0 || int(n) > max {
		return nil, fmt.Errorf("frame length %d outside [0, %d]", n, max)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

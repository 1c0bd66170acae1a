package clientport

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// Request is one decoded request frame.
type Request struct {
	Header jute.RequestHeader
	// Body is the decoded request record; nil when the opcode is unknown or
	// the body failed to decode (DecodeErr says which).
	Body      jute.Record
	DecodeErr error
	// Unknown is set for opcodes a client may not send.
	Unknown bool
	// Size is the frame's payload size in bytes.
	Size int
}

// Backend is the server side of the client port.
type Backend interface {
	// Connect is called with a connection's ConnectRequest. The backend
	// answers with Conn.Send (or closes the connection).
	Connect(c *Conn, req *jute.ConnectRequest)
	// Request is called for every request frame after the handshake, in
	// arrival order.
	Request(c *Conn, req *Request)
	// Closed is called once when the connection has closed.
	Closed(c *Conn)
	// FourLetter runs the four-letter word the first four bytes of c
	// spell, reading any argument from r. known is false when the bytes
	// are not a four-letter word.
	FourLetter(c *Conn, first [4]byte, r io.Reader) (output string, known bool)
}

type outgoing struct {
	hdr   jute.ReplyHeader
	body  jute.Encodable
	raw   bool // body is a ConnectResponse: no ReplyHeader
	close bool // close the connection after writing
	size  int64
}

// Conn is one client connection.
type Conn struct {
	// ID is unique among the listener's connections.
	ID int64
	// nc is the accepted socket; rw is the stream frames travel on (nc, or
	// a TLS connection over it), set by open before ready is closed.
	nc       net.Conn
	rw       net.Conn
	ready    chan struct{}
	tlsState *tls.ConnectionState
	remote   netip.AddrPort
	l        *Listener
	start    time.Time

	mu     sync.Mutex
	out    []outgoing
	closed bool
	signal chan struct{}
	done   chan struct{} // closed by the reader when the connection is torn down
	shut   chan struct{} // closed by Close

	idleTimeout atomic.Int64 // ns; 0 = none

	// The deadlines last set, so that a busy connection does not move
	// them (a timer update each) on every frame: readArmedFor is the idle
	// timeout the read deadline was set for at readArmedAt (armedNone:
	// none set, armedHandshake: the handshake's), writeArmedFor the write
	// timeout set at writeArmedAt. The reader and the writer goroutine
	// each own theirs.
	readArmedAt   time.Time
	readArmedFor  time.Duration
	writeArmedAt  time.Time
	writeArmedFor time.Duration

	// Flow control (flow.go): requests handed to the backend and not
	// answered yet, with what each holds of the listener's budgets
	// (charges, oldest first, guarded by mu), and the estimated bytes of
	// output not yet written.
	outstanding atomic.Int64
	charges     []charge
	queuedBytes atomic.Int64
	// notificationBytes is the part of the queued output that is
	// notifications (guarded by mu).
	notificationBytes int64
	closedFlag        atomic.Bool
	// hangup is set by the hang-up watcher when the client has closed or
	// reset the connection, for an edge-triggered reader to read again.
	hangup atomic.Bool

	// Received and Sent count frames, for the monitoring commands.
	Received atomic.Int64
	Sent     atomic.Int64
}

// Remote returns the peer's address.
func (c *Conn) Remote() netip.AddrPort { return c.remote }

// Established returns when the connection was accepted.
func (c *Conn) Established() time.Time { return c.start }

// SetIdleTimeout sets how long the connection may stay silent before it is
// closed (the negotiated session timeout).
func (c *Conn) SetIdleTimeout(d time.Duration) { c.idleTimeout.Store(int64(d)) }

// Send queues a reply or notification. It never blocks.
func (c *Conn) Send(hdr jute.ReplyHeader, body jute.Encodable) {
	c.push(outgoing{hdr: hdr, body: body})
}

// SendThenClose queues a final reply and closes the connection once it is
// written.
func (c *Conn) SendThenClose(hdr jute.ReplyHeader, body jute.Encodable) {
	c.push(outgoing{hdr: hdr, body: body, close: true})
}

// SendConnectResponse queues the handshake answer; with closeAfter the
// connection closes once it is written (an invalid session).
func (c *Conn) SendConnectResponse(resp *jute.ConnectResponse, closeAfter bool) {
	c.push(outgoing{body: resp, raw: true, close: closeAfter})
}

// maxQueuedFrames and maxQueuedNotificationBytes bound what waits for a
// connection's writer: a client that stops reading is disconnected rather
// than buffered for without limit. Only notifications can pile up: replies
// are bounded by the requests read, and reading stops when output backs up.
const (
	maxQueuedFrames            = 1 << 17
	maxQueuedNotificationBytes = 8 << 20
)

func (c *Conn) push(o outgoing) {
	o.size = replySize(o.body)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	notification := !o.raw && o.hdr.Xid == jute.XidNotification
	if len(c.out) >= maxQueuedFrames || notification && c.notificationBytes+o.size > maxQueuedNotificationBytes {
		c.mu.Unlock()
		c.l.log.Warn("client is not reading its notifications; closing the connection", "peer", c.remote,
			"queued_frames", len(c.out), "queued_notification_bytes", c.notificationBytes)
		c.Close()
		return
	}
	if notification {
		c.notificationBytes += o.size
	}
	c.out = append(c.out, o)
	c.queuedBytes.Add(o.size)
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// Close closes the connection at once, dropping unwritten output.
func (c *Conn) Close() {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.closedFlag.Store(true)
	c.out = nil
	c.mu.Unlock()
	if !already {
		close(c.shut)
		c.nc.Close()
	}
}

// writeLoop owns the socket's writes.
func (c *Conn) writeLoop() {
	defer c.nc.Close()
	select {
	case <-c.ready:
	case <-c.done:
		return
	}
	var batch []outgoing
	for {
		select {
		case <-c.signal:
		case <-c.done:
			return
		}
		c.mu.Lock()
		batch, c.out = c.out, batch[:0]
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return
		}
		c.armWriteDeadline()
		res, err := c.writeBatch(batch)
		clear(batch)
		if cap(batch) > 1024 {
			batch = nil
		}
		if res.notified > 0 {
			c.mu.Lock()
			c.notificationBytes -= res.notified
			c.mu.Unlock()
		}
		c.release(res.replies, res.bytes)
		if err != nil || res.closeAfter {
			c.Close()
			return
		}
	}
}

// written is what writeBatch wrote: the replies among the frames, their
// estimated bytes and those of the notifications among them, and whether
// a frame asked for the connection to close after it.
type written struct {
	replies         int
	bytes, notified int64
	closeAfter      bool
}

// socketWriter is the buffer and encoder a connection writes a batch
// with; they come from a pool, so that idle connections hold none.
type socketWriter struct {
	bw  *bufio.Writer
	enc *jute.Encoder
}

var socketWriters = sync.Pool{New: func() any {
	return &socketWriter{bw: bufio.NewWriterSize(nil, writeBufferSize), enc: jute.NewEncoder(make([]byte, 0, 4096))}
}}

// writeBatch encodes and writes batch and flushes it.
func (c *Conn) writeBatch(batch []outgoing) (res written, err error) {
	w := socketWriters.Get().(*socketWriter)
	w.bw.Reset(c.rw)
	defer func() {
		w.bw.Reset(nil)
		if cap(w.enc.Bytes()) > keptBufferSize {
			// A large reply's buffer served its batch; it is not kept.
			w.enc = jute.NewEncoder(make([]byte, 0, 4096))
		}
		socketWriters.Put(w)
	}()
	for _, o := range batch {
		enc := w.enc
		enc.Reset()
		enc.Int(0) // frame length, patched below
		if !o.raw {
			o.hdr.Encode(enc)
		}
		if o.body != nil {
			o.body.Encode(enc)
		}
		b := enc.Bytes()
		binary.BigEndian.PutUint32(b, uint32(len(b)-4))
		if _, err := w.bw.Write(b); err != nil {
			return res, err
		}
		c.Sent.Add(1)
		c.l.sent.Add(1)
		res.bytes += o.size
		switch {
		case o.raw:
		case o.hdr.Xid == jute.XidNotification:
			res.notified += o.size
		default:
			res.replies++
		}
		if o.close {
			res.closeAfter = true
			break
		}
	}
	return res, w.bw.Flush()
}

// Socket buffer sizes per connection: small, since thousands of mostly
// idle connections each hold one of each; frames larger than a buffer go
// to the socket directly.
const (
	readBufferSize  = 8 << 10
	writeBufferSize = 16 << 10
	// keptBufferSize is the largest frame buffer a connection keeps for
	// reuse.
	keptBufferSize = 64 << 10
)

var errFrameTooLarge = errors.New("frame length out of range")

// readFrame reads one length-prefixed request frame into buf (grown as
// needed), waiting first until the connection may have another request in
// flight. large reports whether the frame counts as a large request.
func (c *Conn) readFrame(br *bufio.Reader, buf []byte) (frame []byte, large bool, err error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
		return nil, false, err
	}
	n := int32(binary.BigEndian.Uint32(lenBuf[:]))
	large, err = c.admitFrame(n)
	if err != nil {
		return nil, false, err
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	c.armDeadline(false) // the wait may have outlasted the idle deadline
	if _, err := io.ReadFull(br, buf); err != nil {
		if large {
			c.l.largeBytes.Add(-int64(n))
		}
		c.unreserve()
		return nil, false, err
	}
	return buf, large, nil
}

// admitFrame checks a frame's length n and waits until the connection
// has room for it; it then holds the frame's flow-control slot (and, if
// large says so, its share of the large-request budget) until the frame
// is taken or given back.
func (c *Conn) admitFrame(n int32) (large bool, err error) {
	if n < 0 || int(n) > c.l.maxBuffer {
		return false, fmt.Errorf("%w: %d (jute.maxbuffer %d)", errFrameTooLarge, n, c.l.maxBuffer)
	}
	if err := c.waitForRoom(int(n)); err != nil {
		return false, err
	}
	large, ok := c.admitLarge(int(n))
	if !ok {
		c.unreserve()
		return false, fmt.Errorf("%w: %d bytes with %d of large requests in flight (zookeeper.largeRequestMaxBytes %d)",
			errLargeRequest, n, c.l.largeBytes.Load(), c.l.largeMax)
	}
	return large, nil
}

var errLargeRequest = errors.New("large request refused")

// Read deadline states besides an idle timeout.
const (
	armedNone      time.Duration = 0
	armedHandshake time.Duration = -1
	// armedStale: the deadline was moved by someone else (the hang-up
	// watcher's nudge), so the next armDeadline sets it whatever it is.
	armedStale time.Duration = -2
)

// armDeadline sets the read deadline: the handshake timeout, or the idle
// timeout from now. A connection that keeps sending re-arms it only once
// an eighth of the timeout has passed since the last time, and arms it
// an eighth longer: it then never expires sooner than the idle timeout
// after the last frame, nor more than an eighth of it later, and costs
// a timer update every few seconds instead of one per frame.
func (c *Conn) armDeadline(handshake bool) {
	d := time.Duration(c.idleTimeout.Load())
	switch {
	case handshake:
		c.readArmedAt, c.readArmedFor = time.Now(), armedHandshake
		c.nc.SetReadDeadline(c.readArmedAt.Add(c.l.handshakeTimeout))
	case d > 0:
		now := time.Now()
		if c.readArmedFor == d && now.Sub(c.readArmedAt) < d/8 {
			return
		}
		c.readArmedAt, c.readArmedFor = now, d
		c.nc.SetReadDeadline(now.Add(d + d/8))
	case c.readArmedFor != armedNone:
		c.readArmedFor = armedNone
		c.nc.SetReadDeadline(time.Time{})
	}
}

// armWriteDeadline sets the deadline for the writes of a batch: a client
// that stops reading must not hold the writer forever. It is twice the
// idle timeout, 30 s at least, renewed once a tenth of it has passed
// (and set a tenth longer), so that a batch never gets less than that.
func (c *Conn) armWriteDeadline() {
	d := max(2*time.Duration(c.idleTimeout.Load()), 30*time.Second)
	now := time.Now()
	if c.writeArmedFor == d && now.Sub(c.writeArmedAt) < d/10 {
		return
	}
	c.writeArmedAt, c.writeArmedFor = now, d
	c.nc.SetWriteDeadline(now.Add(d + d/10))
}

// readLoop owns the socket's reads. It returns when the connection closes.
func (c *Conn) readLoop() error {
	br, err := c.open()
	if err != nil {
		return err
	}
	c.armDeadline(true)
	var first [4]byte
	if _, err := io.ReadFull(br, first[:]); err != nil {
		return err
	}
	if out, known := c.l.backend.FourLetter(c, first, br); known {
		c.nc.SetWriteDeadline(time.Now().Add(c.l.handshakeTimeout))
		_, err := io.WriteString(c.rw, out)
		return err
	}
	n := int32(binary.BigEndian.Uint32(first[:]))
	if n < 0 || int(n) > c.l.maxBuffer {
		return fmt.Errorf("handshake: %w: %d", errFrameTooLarge, n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	var creq jute.ConnectRequest
	d := jute.NewDecoder(payload)
	d.MaxLen = c.l.maxBuffer
	creq.Decode(d)
	if err := d.Err(); err != nil {
		return fmt.Errorf("handshake: malformed ConnectRequest: %w", err)
	}
	c.Received.Add(1)
	c.l.received.Add(1)
	c.l.backend.Connect(c, &creq)

	if raw, ok := c.edgeSocket(); ok {
		buffered, _ := br.Peek(br.Buffered())
		return c.readEdgeTriggered(raw, buffered)
	}
	var buf []byte
	for {
		c.armDeadline(false)
		frame, large, err := c.readFrame(br, buf)
		if err != nil {
			return err
		}
		buf = frame
		if cap(buf) > keptBufferSize {
			buf = nil // decoded requests copy what they keep
		}
		c.take(len(frame), large)
		c.Received.Add(1)
		c.l.received.Add(1)
		c.l.backend.Request(c, decodeRequest(frame, c.l.maxBuffer))
	}
}

// decodeRequest decodes a request frame. It never fails: problems are
// reported in the Request for the server to answer as ZooKeeper does.
func decodeRequest(frame []byte, maxLen int) *Request {
	req := &Request{Size: len(frame)}
	d := jute.NewDecoder(frame)
	d.MaxLen = maxLen
	req.Header.Decode(d)
	if err := d.Err(); err != nil {
		req.DecodeErr = err
		return req
	}
	body := jute.NewRequest(req.Header.Type)
	if body == nil || req.Header.Type == jute.OpCheck {
		req.Unknown = true
		return req
	}
	body.Decode(d)
	if err := d.Err(); err != nil {
		req.DecodeErr = err
		return req
	}
	req.Body = body
	return req
}

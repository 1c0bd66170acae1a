package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// The attacks of BenchmarkAttacks talk to the servers over raw TCP with
// hand-encoded frames: go-zookeeper cannot leave its socket unread, keep a
// thousand requests in flight or stop half-way through a handshake.
// testcluster.RawClient fails the test on anything unexpected, which an
// attacker must shrug off, so these helpers return errors instead.

// rawStep bounds one write or read of an attacker, so that a goroutine
// blocked on a server that stopped reading notices its context ending.
const rawStep = 200 * time.Millisecond

// rawHandshakeWait bounds a handshake, from dial to the ConnectResponse.
const rawHandshakeWait = 10 * time.Second

// frame returns a request frame: the length prefix, the RequestHeader and
// the body.
func frame(xid int32, op jute.OpCode, body jute.Encodable) []byte {
	e := jute.NewEncoder(make([]byte, 4, 64))
	h := jute.RequestHeader{Xid: xid, Type: op}
	h.Encode(e)
	body.Encode(e)
	b := e.Bytes()
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// connectFrame is a whole ConnectRequest frame for a new session with a
// 30 s timeout.
func connectFrame() []byte {
	body := jute.Encode(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16), HasReadOnly: true})
	return append(binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(body))), body...)
}

// dialSession dials addr and completes a handshake for a new session. The
// returned reader is positioned after the ConnectResponse.
func dialSession(ctx context.Context, addr string) (net.Conn, *bufio.Reader, error) {
	ctx, cancel := context.WithTimeout(ctx, rawHandshakeWait)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	if _, err := conn.Write(connectFrame()); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("send ConnectRequest to %s: %w", addr, err)
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	payload, err := readPayload(r)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("read ConnectResponse from %s: %w", addr, err)
	}
	var resp jute.ConnectResponse
	if err := jute.Decode(payload, &resp); err != nil || resp.SessionID == 0 {
		conn.Close()
		return nil, nil, fmt.Errorf("handshake with %s refused (%+v, %v)", addr, resp, err)
	}
	conn.SetDeadline(time.Time{})
	return conn, r, nil
}

// readPayload reads one whole frame and returns its payload.
func readPayload(r *bufio.Reader) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(l[:]))
	if n < 0 || n > 64<<20 {
		return nil, fmt.Errorf("frame length %d is out of range", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read %d-byte frame: %w", n, err)
	}
	return b, nil
}

// readReply reads one frame, decodes its ReplyHeader and discards the rest,
// so that a megabyte-sized reply costs no allocation.
func readReply(r *bufio.Reader) (jute.ReplyHeader, error) {
	var b [20]byte
	if _, err := io.ReadFull(r, b[:4]); err != nil {
		return jute.ReplyHeader{}, err
	}
	n := int64(int32(binary.BigEndian.Uint32(b[:4])))
	if n < 16 || n > 64<<20 {
		return jute.ReplyHeader{}, fmt.Errorf("reply length %d is out of range", n)
	}
	if _, err := io.ReadFull(r, b[4:20]); err != nil {
		return jute.ReplyHeader{}, fmt.Errorf("read reply header: %w", err)
	}
	var h jute.ReplyHeader
	h.Decode(jute.NewDecoder(b[4:20]))
	if _, err := r.Discard(int(n - 16)); err != nil {
		return h, fmt.Errorf("read %d-byte reply: %w", n, err)
	}
	return h, nil
}

// writeAll writes b in full unless ctx ends first, in steps of rawStep so
// that a write blocked by a server that stopped reading gives up soon after
// ctx ends. A step that times out has written part of b; the next step
// continues from there, so the stream never holds a torn frame followed by
// another.
func writeAll(ctx context.Context, conn net.Conn, b []byte) error {
	for len(b) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		conn.SetWriteDeadline(time.Now().Add(rawStep))
		n, err := conn.Write(b)
		b = b[n:]
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
	}
	return nil
}

// call sends one request frame and waits for its reply, at most
// rawHandshakeWait.
func call(conn net.Conn, r *bufio.Reader, req []byte) (jute.ReplyHeader, error) {
	conn.SetDeadline(time.Now().Add(rawHandshakeWait))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(req); err != nil {
		return jute.ReplyHeader{}, err
	}
	return readReply(r)
}

// pipeline sends n requests, request(i) for i in [0, n), on conn while
// reading their replies, with at most window of them in flight, and
// returns the first reply that check rejects or the first I/O error.
func pipeline(ctx context.Context, conn net.Conn, r *bufio.Reader, n, window int, request func(i int) []byte, check func(jute.ReplyHeader) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	tokens := make(chan struct{}, window)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var batch []byte
		for i := 0; i < n; {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			batch = append(batch[:0], request(i)...)
			i++
			for more := true; more && i < n && len(batch) < 64<<10; {
				select {
				case tokens <- struct{}{}:
					batch = append(batch, request(i)...)
					i++
				default:
					more = false
				}
			}
			if err := writeAll(ctx, conn, batch); err != nil {
				cancel(fmt.Errorf("write: %w", err))
				return
			}
		}
	}()
	var err error
	for range n {
		var h jute.ReplyHeader
		if h, err = readReply(r); err != nil {
			if c := context.Cause(ctx); c != nil {
				err = c
			}
			break
		}
		if err = check(h); err != nil {
			break
		}
		<-tokens
	}
	cancel(err)
	wg.Wait()
	conn.SetReadDeadline(time.Time{})
	return err
}

// buildChildren creates parent with n children, c0000000 and on, over one
// connection: multis of 1,000 creates, 4 of them in flight, so that it
// takes a few seconds even where every transaction is fsynced on its own.
// The parent must not exist yet.
func buildChildren(ctx context.Context, addr, parent string, n int) error {
	conn, r, err := dialSession(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	acl := []jute.ACL{{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}}
	create := func(xid int32, path string) []byte {
		return frame(xid, jute.OpCreate, &jute.CreateRequest{Path: path, ACL: acl, Flags: jute.ModePersistent})
	}
	okOrExists := func(h jute.ReplyHeader) error {
		if h.Err != jute.OK && h.Err != jute.ErrNodeExists {
			return fmt.Errorf("create under %s: error %d", parent, h.Err)
		}
		return nil
	}
	h, err := call(conn, r, create(1, parent))
	if err != nil {
		return fmt.Errorf("create %s: %w", parent, err)
	}
	if err := okOrExists(h); err != nil {
		return err
	}
	const perMulti = 1000
	batches := (n + perMulti - 1) / perMulti
	err = pipeline(ctx, conn, r, batches, 4, func(i int) []byte {
		var m jute.MultiRequest
		for k := i * perMulti; k < min(n, (i+1)*perMulti); k++ {
			m.Ops = append(m.Ops, jute.MultiOp{Type: jute.OpCreate,
				Req: &jute.CreateRequest{Path: fmt.Sprintf("%s/c%07d", parent, k), ACL: acl, Flags: jute.ModePersistent}})
		}
		return frame(int32(i+2), jute.OpMulti, &m)
	}, func(h jute.ReplyHeader) error {
		if h.Err != jute.OK {
			return fmt.Errorf("multi of creates under %s: error %d", parent, h.Err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create %d children of %s on %s: %w", n, parent, addr, err)
	}
	return nil
}

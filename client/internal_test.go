package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// unhex decodes a hex dump written in groups, as in the spec.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeServer plays the server's side of one connection from a script.
type fakeServer struct {
	t  testing.TB
	nc net.Conn
}

// pipeDialer makes the Client's first dial return a pipe whose other end
// is the returned fakeServer; later dials fail.
func pipeDialer(t testing.TB) (Option, *fakeServer) {
	dial, srvs := pipeDialerN(t, 1)
	return dial, srvs[0]
}

func (f *fakeServer) read() []byte {
	f.t.Helper()
	f.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := readFrame(f.nc, nil, 1<<20)
	if err != nil {
		f.t.Errorf("fake server read: %v", err)
		return nil
	}
	return b
}

func (f *fakeServer) write(b []byte) {
	f.t.Helper()
	f.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := f.nc.Write(b); err != nil {
		f.t.Errorf("fake server write: %v", err)
	}
}

// reply writes a reply frame for xid with an optional body.
func (f *fakeServer) reply(xid int32, zxid int64, body jute.Encodable) {
	e := jute.NewEncoder(nil)
	(&jute.ReplyHeader{Xid: xid, Zxid: jute.Zxid(zxid)}).Encode(e)
	if body != nil {
		body.Encode(e)
	}
	f.write(appendFrameRaw(e.Bytes()))
}

func appendFrameRaw(payload []byte) []byte {
	return append([]byte{byte(len(payload) >> 24), byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

// Captured from Apache ZooKeeper 3.8.0 (client-protocol.md Appendix B): a
// new session asking for 30000 ms, with the readOnly byte, and the reply.
const (
	capturedConnectRequest  = "0000002d 00000000 00000000 00000000 00007530 00000000 00000000 00000010 00000000 00000000 00000000 00000000 00"
	capturedConnectResponse = "00000025 00000000 00007530 0100006d dd710004 00000010 4184a954 5e7911c8 302cadfc a6f4c7ae 00"
)

func TestHandshakeMatchesZooKeepersBytes(t *testing.T) {
	dial, srv := pipeDialer(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		got := appendFrameRaw(srv.read())
		if want := unhex(t, capturedConnectRequest); !bytes.Equal(got, want) {
			t.Errorf("ConnectRequest\n got %x\nwant %x", got, want)
		}
		srv.write(unhex(t, capturedConnectResponse))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, []string{"fake:2181"}, dial, WithSessionTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if c.SessionID() != 0x0100006ddd710004 || c.SessionTimeout() != 30*time.Second || c.State() != StateConnected {
		t.Fatalf("session %#x timeout %v state %v", c.SessionID(), c.SessionTimeout(), c.State())
	}
	srv.nc.Close()
	c.Close(ctx)
}

// Apache ZooKeeper answers auth as soon as it arrives, so its reply may
// overtake the replies to earlier requests (§3.5); the Client must match it
// anyway.
func TestAnAuthReplyMayOvertakeEarlierReplies(t *testing.T) {
	dial, srv := pipeDialer(t)
	script := make(chan struct{})
	go func() {
		srv.read()
		srv.write(unhex(t, capturedConnectResponse))
		get := srv.read() // xid 1, getData
		<-script
		auth := srv.read() // xid -4
		if x := int32(get[0])<<24 | int32(get[1])<<16 | int32(get[2])<<8 | int32(get[3]); x != 1 {
			t.Errorf("getData xid %d", x)
		}
		if !bytes.HasPrefix(auth, []byte{0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 100}) {
			t.Errorf("auth frame %x", auth)
		}
		srv.reply(jute.XidAuth, 0, nil)
		srv.reply(1, 7, &jute.GetDataResponse{Data: []byte("d"), Stat: jute.Stat{Czxid: 5}})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, []string{"fake"}, dial)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.nc.Close() // nobody would read the closeSession
		c.Close(ctx)
	}()
	got := make(chan error, 1)
	go func() {
		d, st, err := c.Get(ctx, "/x")
		if err == nil && (string(d) != "d" || st.Czxid != 5) {
			err = errors.New("wrong getData result")
		}
		got <- err
	}()
	// Send the auth only once the getData is outstanding.
	for c.pendingForTest() < 1 {
		time.Sleep(time.Millisecond)
	}
	close(script)
	if err := c.AddAuth(ctx, "digest", []byte("u:p")); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if c.lastZxid.Load() != 7 {
		t.Fatalf("lastZxid %d, want 7", c.lastZxid.Load())
	}
}

// pendingForTest reports how many requests await a reply on the live
// connection.
func (c *Client) pendingForTest() int {
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	if cn == nil {
		return 0
	}
	cn.pmu.Lock()
	defer cn.pmu.Unlock()
	return len(cn.pending)
}

func TestSetWatchesIsSplitIntoBatchesAndUsesVersion2OnlyForPersistentWatches(t *testing.T) {
	r := newWatchRegistry()
	long := strings.Repeat("x", 1000)
	for i := range 300 {
		r.addOneShot(watchData, "/d/"+long+string(rune('a'+i%26))+strings.Repeat("y", i))
	}
	r.addOneShot(watchExist, "/e")
	r.addOneShot(watchChild, "/c")
	r.mu.Lock()
	r.addWatcher(&Watcher{path: "/p"})
	r.addWatcher(&Watcher{path: "/r", recursive: true})
	r.mu.Unlock()

	batches := r.setWatches(42)
	if len(batches) < 3 {
		t.Fatalf("%d batches for ~340 KiB of paths", len(batches))
	}
	total := 0
	for i, b := range batches {
		size := 0
		for _, l := range [][]string{b.Data, b.Exist, b.Child, b.Persistent, b.PersistentRecursive} {
			for _, p := range l {
				size += len(p)
			}
			total += len(l)
		}
		if size > setWatchesBatchBytes {
			t.Errorf("batch %d holds %d bytes of paths", i, size)
		}
		if b.RelativeZxid != 42 {
			t.Errorf("batch %d relative zxid %d", i, b.RelativeZxid)
		}
		if hasPersistent := len(b.Persistent)+len(b.PersistentRecursive) > 0; b.V2 != hasPersistent {
			t.Errorf("batch %d: V2=%v with %d persistent paths", i, b.V2, len(b.Persistent)+len(b.PersistentRecursive))
		}
		if b.Data == nil || b.Exist == nil || b.Child == nil {
			t.Errorf("batch %d has null lists", i)
		}
	}
	if total != 304 {
		t.Fatalf("%d paths in all batches, want 304", total)
	}
	if len(newWatchRegistry().setWatches(1)) != 0 {
		t.Fatal("no watches should mean no setWatches")
	}
}

func TestBackoffIsJitteredAndBounded(t *testing.T) {
	c := &Client{opts: defaultOptions()}
	c.opts.minBackoff, c.opts.maxBackoff = 50*time.Millisecond, 5*time.Second
	c.opts.sessionTimeout = 30 * time.Second
	c.rnd = newTestRand()
	for failures, ceiling := range []time.Duration{50, 100, 200, 400, 800, 1600, 3200, 5000, 5000} {
		ceiling *= time.Millisecond
		var maxSeen time.Duration
		for range 200 {
			d := c.backoff(failures)
			if d < 0 || d >= ceiling {
				t.Fatalf("failures=%d: delay %v outside [0, %v)", failures, d, ceiling)
			}
			maxSeen = max(maxSeen, d)
		}
		if maxSeen < ceiling/2 {
			t.Fatalf("failures=%d: no delay above %v in 200 draws: not jittered over the full range", failures, maxSeen)
		}
	}
	// A short session caps the delay at a third of its timeout.
	c.timeout = 300 * time.Millisecond
	for range 100 {
		if d := c.backoff(20); d >= 100*time.Millisecond {
			t.Fatalf("delay %v with a 300ms session", d)
		}
	}
}

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

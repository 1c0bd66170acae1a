package interop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/testcluster"
)

var differentialOut = flag.String("differential.out", "",
	"write the raw-protocol transcripts of TestRawProtocolMatchesApacheZooKeeper to this directory")

// differentialFlags are given to both servers: TTL nodes on, and a super
// user "super" with password "test" (client-protocol.md §5.7, §10.2).
var differentialFlags = []string{
	"-Dzookeeper.extendedTypesEnabled=true",
	"-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
}

// TestRawProtocolMatchesApacheZooKeeper sends the same hand-built requests
// (rawScript) to Apache ZooKeeper 3.8 and to zkd over raw connections and
// requires the two transcripts to match step by step: error codes, reply
// zxids relative to the first one, decoded bodies with times and session
// ids masked, notifications on every open connection, and which
// connections the server closed. Steps where zkd follows ZooKeeper 3.9 on
// purpose are left out of the comparison and checked against zkd's
// intended answer instead.
func TestRawProtocolMatchesApacheZooKeeper(t *testing.T) {
	testcluster.RequireInterop(t, testcluster.NeedJava, testcluster.NeedApacheZooKeeper)
	steps := rawScript()
	apache := testcluster.StartApacheZK(t, testcluster.ApacheOptions{JVMFlags: differentialFlags})
	start := time.Now()
	ref := runRawScript(t, apache.Addr, steps)
	t.Logf("%d steps against Apache ZooKeeper took %v", len(steps), time.Since(start))
	saveTranscript(t, "apache.txt", steps, ref)
	for i, s := range steps {
		if s.apache != nil {
			if problem := s.apache(ref[i]); problem != "" {
				t.Errorf("Apache ZooKeeper no longer behaves as the spec records for step %d (%s): %s\n%s",
					i, s.title(), problem, strings.Join(ref[i].lines, "\n"))
			}
		}
	}

	t.Run("zkd answers like Apache ZooKeeper", func(t *testing.T) {
		zkd := testcluster.StartZkd(t, testcluster.ZkdOptions{Flags: differentialFlags})
		start := time.Now()
		got := runRawScript(t, zkd.Addr, steps)
		t.Logf("%d steps against zkd took %v", len(steps), time.Since(start))
		saveTranscript(t, "zkd.txt", steps, got)
		if report := diffTranscripts(steps, ref, got); report != "" {
			t.Errorf("zkd answers raw requests differently from Apache ZooKeeper 3.8 (run with -differential.out=DIR for both transcripts):\n%s", report)
		}
		for i, s := range steps {
			if s.zkd != nil {
				if problem := s.zkd(got[i]); problem != "" {
					t.Errorf("step %d (%s) is one where zkd follows %s on purpose, but %s\nzkd:\n%s\nApache ZooKeeper 3.8:\n%s",
						i, s.title(), s.differs, problem, strings.Join(got[i].lines, "\n"), strings.Join(ref[i].lines, "\n"))
				}
			}
		}
	})

	t.Run("Apache ZooKeeper matches the golden capture", func(t *testing.T) {
		checkGolden(t, "differential_raw.golden", apache.Addr, renderTranscript(steps, ref))
	})
}

// saveTranscript writes a run's transcript to -differential.out, if set.
func saveTranscript(t *testing.T, name string, steps []*rawStep, outs []*outcome) {
	t.Helper()
	if *differentialOut == "" {
		return
	}
	if err := os.MkdirAll(*differentialOut, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(*differentialOut, name)
	if err := os.WriteFile(path, []byte(renderTranscript(steps, outs)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// renderTranscript prints every step with what the server did.
func renderTranscript(steps []*rawStep, outs []*outcome) string {
	var b strings.Builder
	for i, s := range steps {
		if s.heading != "" {
			fmt.Fprintf(&b, "\n## %s\n", s.heading)
			continue
		}
		fmt.Fprintf(&b, "%03d %s\n", i, s.title())
		if s.differs != "" {
			fmt.Fprintf(&b, "    (not compared: zkd follows %s)\n", s.differs)
		}
		for _, l := range outs[i].lines {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	return b.String()
}

// maxReportedDifferences bounds the failure report.
const maxReportedDifferences = 25

// relativeZxid matches a zxid as the transcript prints it (see
// rawRun.zxid).
var relativeZxid = regexp.MustCompile(`z[+-][0-9]+`)

// diffTranscripts describes the steps where the two runs differ, skipping
// steps marked as intentional differences, or returns "" if there are
// none. Once a step has differed in its zxids, every later zxid may be
// shifted by it; later steps that differ in nothing else are counted, not
// listed.
func diffTranscripts(steps []*rawStep, want, got []*outcome) string {
	var b strings.Builder
	listed, shifted := 0, 0
	zxidsDiverged := false
	for i, s := range steps {
		if s.heading != "" || s.differs != "" || slices.Equal(want[i].lines, got[i].lines) {
			continue
		}
		w, g := want[i].lines, got[i].lines
		if zxidsDiverged && slices.Equal(maskZxids(w), maskZxids(g)) {
			shifted++
			continue
		}
		listed++
		if listed > maxReportedDifferences {
			continue
		}
		fmt.Fprintf(&b, "step %d: %s\n", i, s.title())
		for j := 0; j < max(len(w), len(g)); j++ {
			wl, gl := "(nothing)", "(nothing)"
			if j < len(w) {
				wl = w[j]
			}
			if j < len(g) {
				gl = g[j]
			}
			if wl == gl {
				continue
			}
			if relativeZxid.ReplaceAllString(wl, "z") == relativeZxid.ReplaceAllString(gl, "z") {
				zxidsDiverged = true // the lines differ in their zxids only
			}
			fmt.Fprintf(&b, "  Apache ZooKeeper: %s\n  zkd:              %s\n", wl, gl)
		}
	}
	if listed > maxReportedDifferences {
		fmt.Fprintf(&b, "... and %d more differing steps\n", listed-maxReportedDifferences)
	}
	if shifted > 0 {
		fmt.Fprintf(&b, "... and %d later steps that differ only in zxids, which a zxid consumed on one side only (above) shifts\n", shifted)
	}
	return b.String()
}

// maskZxids replaces the relative zxids in lines with "z".
func maskZxids(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = relativeZxid.ReplaceAllString(l, "z")
	}
	return out
}

// A rawStep is one action of the script: opening a connection, or sending
// one request on an open connection, followed by a barrier that collects
// what every open connection received.
type rawStep struct {
	heading string // a section title instead of an action

	conn string // the connection that acts
	note string // what the step shows

	open *openSpec // open conn with this handshake, instead of a request

	op       jute.OpCode
	body     jute.Encodable
	payload  func(xid int32) []byte // a hand-made request frame instead of op and body
	rawBytes []byte                 // bytes written as they are, no frame around them
	xid      int32
	fixedXid bool

	// thenPing sends a ping right behind the request, for requests a
	// server may leave unanswered.
	thenPing bool
	// closes marks a request the server may answer by closing the
	// connection: instead of pinging it, the barrier waits for the close.
	closes bool
	// mark saves the reply's zxid (absolute) under this name for later
	// steps (setWatches' relativeZxid).
	mark string
	// eventZxids records the zxids of notifications too.
	eventZxids bool
	// relTo sets a setWatches request's relativeZxid to the zxid saved
	// under this mark.
	relTo string

	// differs, when set, names the specification zkd follows here instead
	// of ZooKeeper 3.8.0; the step is not compared.
	differs string
	// zkd checks zkd's answer to a step that is not compared, and apache
	// checks the reference against what the spec records for 3.8.0. They
	// return a problem, or "".
	zkd, apache func(*outcome) string
}

// openSpec is the ConnectRequest of a new connection.
type openSpec struct {
	timeout     int32  // requested session timeout; 0 means rawTimeout
	noReadOnly  bool   // leave out the trailing readOnly byte
	resume      string // resume the session of this earlier connection
	wrongPasswd bool   // with a password that is not the session's
	ahead       bool   // claim a lastZxidSeen far beyond the server's
	readOnly    bool   // set the readOnly byte to true
	unknown     bool   // resume a session id the server never issued
	// pipeline requests are written in the same TCP write as the
	// ConnectRequest, before the server has answered it.
	pipeline []pipelined
}

type pipelined struct {
	op   jute.OpCode
	body jute.Encodable
}

// rawTimeout is the session timeout the script asks for: the largest the
// servers allow with tickTime 2000, so that no session of a connection the
// script lost expires (and consumes a zxid) during the run.
const rawTimeout = 40000

// closeWait bounds the wait for a server to close a connection after a
// request that may close it.
const closeWait = 3 * time.Second

func (s *rawStep) title() string {
	var d string
	switch {
	case s.open != nil:
		d = s.conn + ": " + describeOpen(s.open)
	case s.payload != nil, s.rawBytes != nil:
		return s.conn + ": " + s.note // the note describes the request
	default:
		d = s.conn + ": " + describe(s.op, s.body)
		if s.relTo != "" {
			d = strings.Replace(d, "relativeZxid=0", "relativeZxid=<zxid of "+s.relTo+">", 1)
		}
	}
	if s.fixedXid {
		d += fmt.Sprintf(" (xid %d)", s.xid)
	}
	if s.note != "" {
		d += " — " + s.note
	}
	return d
}

// The modifiers below adjust a step as the script is written.

func (s *rawStep) why(note string) *rawStep   { s.note = note; return s }
func (s *rawStep) closing() *rawStep          { s.closes = true; return s }
func (s *rawStep) markZxid(n string) *rawStep { s.mark = n; return s }
func (s *rawStep) withXid(x int32) *rawStep   { s.xid, s.fixedXid = x, true; return s }
func (s *rawStep) withPing() *rawStep         { s.thenPing = true; return s }

// intended marks a step where zkd deliberately follows a later ZooKeeper
// (the spec section says which and why), with a check of zkd's answer.
func (s *rawStep) intended(section string, zkd func(*outcome) string) *rawStep {
	s.differs, s.zkd = section, zkd
	return s
}

// reference adds a check that Apache ZooKeeper still does what the spec
// recorded from 3.8.0 for a step zkd answers differently.
func (s *rawStep) reference(check func(*outcome) string) *rawStep { s.apache = check; return s }

// outcome is what one step observed.
type outcome struct {
	replied bool             // a reply (or ConnectResponse) arrived
	header  jute.ReplyHeader // the reply's header
	// beforeZxids are the header zxids of the notifications that came
	// before the reply.
	beforeZxids []jute.Zxid
	closed      []string // connections found closed after the step
	lines       []string // the rendering that is compared
}

// hasLine reports whether the outcome's rendering has line l.
func (o *outcome) hasLine(l string) bool { return slices.Contains(o.lines, l) }

// rawConn is one of the script's connections.
type rawConn struct {
	name    string
	c       *testcluster.RawClient
	nextXid int32
	session jute.SessionID
	passwd  []byte
}

// rawRun executes a script against one server.
type rawRun struct {
	t        *testing.T
	addr     string
	open     []*rawConn          // open connections, in the order they were opened
	known    map[string]*rawConn // every connection that got a session
	sessions map[jute.SessionID]string
	marks    map[string]jute.Zxid
	base     jute.Zxid // the first positive reply zxid; zxids print relative to it
}

// runRawScript runs the steps against the server at addr and returns one
// outcome per step.
func runRawScript(t *testing.T, addr string, steps []*rawStep) []*outcome {
	t.Helper()
	r := &rawRun{t: t, addr: addr, known: map[string]*rawConn{},
		sessions: map[jute.SessionID]string{}, marks: map[string]jute.Zxid{}}
	outs := make([]*outcome, len(steps))
	defer func() {
		if t.Failed() {
			done := slices.IndexFunc(outs, func(o *outcome) bool { return o == nil })
			if done < 0 {
				done = len(outs)
			}
			t.Logf("transcript of %s up to the failure:\n%s", addr, renderTranscript(steps[:done], outs[:done]))
		}
	}()
	for i, s := range steps {
		if s.heading != "" {
			outs[i] = &outcome{}
			continue
		}
		outs[i] = r.exec(s)
	}
	return outs
}

func (r *rawRun) conn(name string) *rawConn {
	for _, c := range r.open {
		if c.name == name {
			return c
		}
	}
	r.t.Fatalf("script error: connection %q is not open", name)
	return nil
}

func (r *rawRun) drop(c *rawConn) {
	r.open = slices.DeleteFunc(r.open, func(o *rawConn) bool { return o == c })
	c.c.Close()
}

func (r *rawRun) exec(s *rawStep) *outcome {
	if s.open != nil {
		return r.openConn(s)
	}
	rc := r.conn(s.conn)
	xid := s.xid
	if !s.fixedXid {
		xid = rc.nextXid
		rc.nextXid++
	}
	body := s.body
	if s.relTo != "" {
		sw := *s.body.(*jute.SetWatches)
		sw.RelativeZxid = r.marks[s.relTo]
		body = &sw
	}
	switch {
	case s.rawBytes != nil:
		rc.c.Conn().SetWriteDeadline(time.Now().Add(testcluster.RawWait))
		if _, err := rc.c.Conn().Write(s.rawBytes); err != nil {
			r.t.Fatalf("connection %s: write: %v", rc.name, err)
		}
	case s.payload != nil:
		rc.c.WriteFrame(s.payload(xid))
	default:
		rc.c.Send(xid, s.op, body)
	}
	if s.thenPing {
		rc.c.Send(jute.XidPing, jute.OpPing, nil)
	}
	o := &outcome{}
	wait := testcluster.RawWait
	if s.rawBytes != nil {
		wait = closeWait
	}
	h, d, before, zxids, closed, timedOut := r.reply(rc, wait)
	o.beforeZxids = zxids
	switch {
	case timedOut:
		o.lines = append(o.lines, fmt.Sprintf("reply  none within %v", wait))
		closed = true // nothing more can be read in step with the server
		o.closed = append(o.closed, rc.name+"(abandoned)")
		r.drop(rc)
	case closed:
		o.lines = append(o.lines, "reply  none: the connection closed")
		o.closed = append(o.closed, rc.name)
		r.drop(rc)
	default:
		o.replied, o.header = true, h
		if r.base == 0 && h.Zxid > 0 {
			r.base = h.Zxid
		}
		if s.mark != "" {
			r.marks[s.mark] = h.Zxid
		}
		op := s.op
		if h.Xid == jute.XidPing && s.op != jute.OpPing {
			op = jute.OpPing // the request went unanswered; this is the ping's reply
		}
		o.lines = append(o.lines, r.replyLine(xid, h))
		if body := r.body(op, h, d); body != "" {
			o.lines = append(o.lines, "body   "+body)
		}
	}
	if len(before) > 0 {
		var shown []jute.Zxid
		if s.eventZxids {
			shown = zxids
		}
		o.lines = append(o.lines, "before "+r.events(before, shown))
	}
	if !closed && s.thenPing && h.Xid == xid {
		if h2, _, ev, closed := rc.c.ReplyOrClosed(); closed {
			o.lines = append(o.lines, "ping   none: the connection closed")
			o.closed = append(o.closed, rc.name)
			r.drop(rc)
		} else {
			o.lines = append(o.lines, "ping   "+r.replyLine(jute.XidPing, h2))
			if len(ev) > 0 {
				o.lines = append(o.lines, "before ping "+r.events(ev, nil))
			}
		}
	}
	if s.closes && slices.Contains(r.open, rc) {
		r.awaitClose(rc, o)
	}
	r.barrier(o)
	return o
}

// reply reads frames until one that is not a notification, like
// RawClient.ReplyOrClosed, and also returns the notifications' zxids. It
// waits at most wait; timedOut reports that nothing more came in time.
func (r *rawRun) reply(rc *rawConn, wait time.Duration) (h jute.ReplyHeader, d *jute.Decoder, events []jute.WatcherEvent, zxids []jute.Zxid, closed, timedOut bool) {
	deadline := time.Now().Add(wait)
	for {
		frame, err := rc.c.NextFrame(time.Until(deadline))
		switch {
		case errors.Is(err, testcluster.ErrConnClosed):
			return h, nil, events, zxids, true, false
		case errors.Is(err, os.ErrDeadlineExceeded) && wait != testcluster.RawWait:
			return h, nil, events, zxids, false, true
		case err != nil:
			r.t.Fatalf("connection %s: waiting for a reply: %v", rc.name, err)
		}
		d = jute.NewDecoder(frame)
		h.Decode(d)
		if d.Err() != nil {
			r.t.Fatalf("connection %s: reply header %x: %v", rc.name, frame, d.Err())
		}
		if h.Xid != jute.XidNotification {
			return h, d, events, zxids, false, false
		}
		var ev jute.WatcherEvent
		ev.Decode(d)
		if d.Err() != nil {
			r.t.Fatalf("connection %s: notification %x: %v", rc.name, frame, d.Err())
		}
		events = append(events, ev)
		zxids = append(zxids, h.Zxid)
	}
}

// openConn dials and handshakes a new connection.
func (r *rawRun) openConn(s *rawStep) *outcome {
	spec := s.open
	rc := &rawConn{name: s.conn, c: testcluster.DialRaw(r.t, r.addr), nextXid: 1}
	req := &jute.ConnectRequest{Timeout: spec.timeout, Passwd: make([]byte, 16), HasReadOnly: !spec.noReadOnly}
	if req.Timeout == 0 {
		req.Timeout = rawTimeout
	}
	if spec.resume != "" {
		old := r.known[spec.resume]
		if old == nil {
			r.t.Fatalf("script error: no session of connection %q to resume", spec.resume)
		}
		req.SessionID, req.Passwd = old.session, slices.Clone(old.passwd)
		if spec.wrongPasswd {
			req.Passwd[0] ^= 0xff
		}
	}
	if spec.ahead {
		req.LastZxidSeen = 1 << 50
	}
	if spec.unknown {
		req.SessionID = 0x7e00_0000_0000_0001
	}
	req.ReadOnly = spec.readOnly
	o := &outcome{}
	var resp *jute.ConnectResponse
	if len(spec.pipeline) == 0 {
		resp = rc.c.Handshake(req)
	} else {
		var buf []byte
		frame := func(p []byte) {
			buf = binary.BigEndian.AppendUint32(buf, uint32(len(p)))
			buf = append(buf, p...)
		}
		frame(jute.Encode(req))
		for i, p := range spec.pipeline {
			e := jute.NewEncoder(nil)
			(&jute.RequestHeader{Xid: int32(i + 1), Type: p.op}).Encode(e)
			p.body.Encode(e)
			frame(e.Bytes())
		}
		rc.nextXid = int32(len(spec.pipeline) + 1)
		if _, err := rc.c.Conn().Write(buf); err != nil {
			r.t.Fatalf("pipelined handshake: %v", err)
		}
		if f := rc.c.ReadFrame(); f != nil {
			resp = &jute.ConnectResponse{}
			if err := jute.Decode(f, resp); err != nil {
				r.t.Fatalf("decode ConnectResponse: %v", err)
			}
		}
	}
	if resp == nil {
		o.lines = append(o.lines, "connect none: the connection closed")
		o.closed = append(o.closed, rc.name)
		rc.c.Close()
		r.barrier(o)
		return o
	}
	o.replied = true
	if resp.SessionID != 0 {
		rc.session, rc.passwd = resp.SessionID, resp.Passwd
		if _, ok := r.sessions[resp.SessionID]; !ok {
			r.sessions[resp.SessionID] = rc.name
		}
		r.known[rc.name] = rc
	}
	o.lines = append(o.lines, "connect "+r.connectLine(req, resp))
	r.open = append(r.open, rc)
	for i, p := range spec.pipeline {
		h, d, ev, closed := rc.c.ReplyOrClosed()
		if closed {
			o.lines = append(o.lines, fmt.Sprintf("pipelined %d: none, the connection closed", i+1))
			o.closed = append(o.closed, rc.name)
			r.drop(rc)
			break
		}
		if len(ev) > 0 {
			o.lines = append(o.lines, fmt.Sprintf("pipelined %d: before %s", i+1, r.events(ev, nil)))
		}
		o.lines = append(o.lines, fmt.Sprintf("pipelined %d: %s", i+1, r.replyLine(int32(i+1), h)))
		if body := r.body(p.op, h, d); body != "" {
			o.lines = append(o.lines, fmt.Sprintf("pipelined %d: body %s", i+1, body))
		}
	}
	if (resp.Timeout == 0 || s.closes) && slices.Contains(r.open, rc) {
		r.awaitClose(rc, o)
	}
	r.barrier(o)
	return o
}

// awaitClose waits up to closeWait for the server to close rc, recording
// what arrives meanwhile.
func (r *rawRun) awaitClose(rc *rawConn, o *outcome) {
	deadline := time.Now().Add(closeWait)
	for {
		frame, err := rc.c.NextFrame(time.Until(deadline))
		switch {
		case errors.Is(err, testcluster.ErrConnClosed):
			o.closed = append(o.closed, rc.name)
			r.drop(rc)
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			o.lines = append(o.lines, fmt.Sprintf("open   %s still open after %v", rc.name, closeWait))
			return
		case err != nil:
			r.t.Fatalf("connection %s: %v", rc.name, err)
		}
		d := jute.NewDecoder(frame)
		var h jute.ReplyHeader
		h.Decode(d)
		if h.Xid == jute.XidNotification {
			var ev jute.WatcherEvent
			ev.Decode(d)
			o.lines = append(o.lines, "after  "+rc.name+": "+r.events([]jute.WatcherEvent{ev}, nil))
			continue
		}
		o.lines = append(o.lines, "then   "+r.replyLine(h.Xid, h))
	}
}

// barrier pings every open connection, in the order they were opened, and
// records the notifications each had queued and the ones that turned out
// closed.
func (r *rawRun) barrier(o *outcome) {
	for _, rc := range slices.Clone(r.open) {
		events, closed := rc.c.Ping()
		if len(events) > 0 {
			o.lines = append(o.lines, "after  "+rc.name+": "+r.events(events, nil))
		}
		if closed {
			o.closed = append(o.closed, rc.name)
			r.drop(rc)
		}
	}
	if len(o.closed) > 0 {
		o.lines = append(o.lines, "closed "+strings.Join(o.closed, " "))
	}
}

// zxid prints a zxid relative to the run's first reply zxid; 0 and
// negative values print as they are.
func (r *rawRun) zxid(z jute.Zxid) string {
	if z <= 0 || r.base == 0 {
		return fmt.Sprint(int64(z))
	}
	d := int64(z - r.base)
	if d < 0 {
		return fmt.Sprintf("z%d", d)
	}
	return fmt.Sprintf("z+%d", d)
}

func (r *rawRun) session(id int64) string {
	if id == 0 {
		return "0"
	}
	if n, ok := r.sessions[jute.SessionID(id)]; ok {
		return "session(" + n + ")"
	}
	return "session(unknown)"
}

func (r *rawRun) replyLine(sent int32, h jute.ReplyHeader) string {
	var b strings.Builder
	b.WriteString("reply  ")
	if h.Xid != sent {
		fmt.Fprintf(&b, "xid=%d ", h.Xid)
	}
	fmt.Fprintf(&b, "err=%s zxid=%s", codeName(h.Err), r.zxid(h.Zxid))
	return b.String()
}

func (r *rawRun) connectLine(req *jute.ConnectRequest, resp *jute.ConnectResponse) string {
	pw := fmt.Sprintf("%d bytes", len(resp.Passwd))
	switch {
	case bytes.Equal(resp.Passwd, make([]byte, len(resp.Passwd))):
		pw += ", all zero"
	case req.SessionID != 0 && bytes.Equal(resp.Passwd, r.known[r.sessions[req.SessionID]].passwd):
		pw += ", the session's"
	}
	ro := "no readOnly byte"
	if resp.HasReadOnly {
		ro = fmt.Sprintf("readOnly=%v", resp.ReadOnly)
	}
	return fmt.Sprintf("timeout=%d session=%s passwd=%s %s protocolVersion=%d",
		resp.Timeout, r.session(int64(resp.SessionID)), pw, ro, resp.ProtocolVersion)
}

// events prints notifications, with their zxids if zxids is not nil.
func (r *rawRun) events(evs []jute.WatcherEvent, zxids []jute.Zxid) string {
	var parts []string
	for i, ev := range evs {
		s := fmt.Sprintf("%v %q", ev.Type, ev.Path)
		if ev.State != jute.StateSyncConnected {
			s += fmt.Sprintf(" state=%d", ev.State)
		}
		if i < len(zxids) {
			s += " zxid=" + r.zxid(zxids[i])
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// codeName is an error code's ZooKeeper name, such as NONODE.
func codeName(c jute.Code) string {
	if c == jute.OK {
		return "OK"
	}
	s := strings.TrimPrefix(c.Error(), "zookeeper: ")
	name, _, _ := strings.Cut(s, " (")
	return name
}

// responseRecord returns an empty record for the success body of op, or
// nil if op's success reply has no body.
func responseRecord(op jute.OpCode) jute.Record {
	switch op {
	case jute.OpCreate, jute.OpSync:
		return &jute.PathResponse{}
	case jute.OpCreate2, jute.OpCreateContainer, jute.OpCreateTTL:
		return &jute.Create2Response{}
	case jute.OpExists, jute.OpSetData, jute.OpSetACL:
		return &jute.StatResponse{}
	case jute.OpGetData, jute.OpReconfig:
		return &jute.GetDataResponse{}
	case jute.OpGetACL:
		return &jute.GetACLResponse{}
	case jute.OpGetChildren:
		return &jute.GetChildrenResponse{}
	case jute.OpGetChildren2:
		return &jute.GetChildren2Response{}
	case jute.OpMulti, jute.OpMultiRead:
		return &jute.MultiResponse{}
	case jute.OpGetEphemerals:
		return &jute.StringsResponse{}
	case jute.OpGetAllChildrenNumber, jute.OpAddWatch:
		return &jute.IntResponse{}
	case jute.OpWhoAmI:
		return &jute.WhoAmIResponse{}
	case jute.OpSASL:
		return &jute.SASLToken{}
	}
	return nil
}

// body decodes and prints a reply body; "" when there is none, as there
// should be none after an error header.
func (r *rawRun) body(op jute.OpCode, h jute.ReplyHeader, d *jute.Decoder) string {
	rec := responseRecord(op)
	if h.Err != jute.OK || rec == nil {
		if n := d.Remaining(); n > 0 {
			return fmt.Sprintf("%d bytes %x", n, d.Rest())
		}
		return ""
	}
	rec.Decode(d)
	if d.Err() != nil {
		return fmt.Sprintf("undecodable as %T: %v", rec, d.Err())
	}
	s := r.record(rec)
	if n := d.Remaining(); n > 0 {
		s += fmt.Sprintf(" +%d trailing bytes %x", n, d.Rest())
	}
	return s
}

func (r *rawRun) stat(s *jute.Stat) string {
	t := func(ms int64) string {
		if ms == 0 {
			return "0"
		}
		return "t"
	}
	return fmt.Sprintf("stat{czxid=%s mzxid=%s pzxid=%s ctime=%s mtime=%s version=%d cversion=%d aversion=%d owner=%s dataLength=%d numChildren=%d}",
		r.zxid(s.Czxid), r.zxid(s.Mzxid), r.zxid(s.Pzxid), t(s.Ctime), t(s.Mtime), s.Version, s.Cversion, s.Aversion,
		r.session(s.EphemeralOwner), s.DataLength, s.NumChildren)
}

func data(b []byte) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprintf("%q", b)
}

func acls(list []jute.ACL) string {
	if list == nil {
		return "null"
	}
	parts := make([]string, len(list))
	for i, a := range list {
		parts[i] = fmt.Sprintf("%d %s:%s", a.Perms, a.ID.Scheme, a.ID.ID)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// sorted prints a list whose order the protocol leaves unspecified.
func sorted(list []string) string {
	if list == nil {
		return "null"
	}
	s := slices.Clone(list)
	slices.Sort(s)
	return fmt.Sprintf("%q", s)
}

func (r *rawRun) record(rec jute.Record) string {
	switch v := rec.(type) {
	case *jute.PathResponse:
		return fmt.Sprintf("path=%q", v.Path)
	case *jute.Create2Response:
		return fmt.Sprintf("path=%q %s", v.Path, r.stat(&v.Stat))
	case *jute.StatResponse:
		return r.stat(&v.Stat)
	case *jute.GetDataResponse:
		return fmt.Sprintf("data=%s %s", data(v.Data), r.stat(&v.Stat))
	case *jute.GetACLResponse:
		return fmt.Sprintf("acl=%s %s", acls(v.ACL), r.stat(&v.Stat))
	case *jute.GetChildrenResponse:
		return "children=" + sorted(v.Children)
	case *jute.GetChildren2Response:
		return fmt.Sprintf("children=%s %s", sorted(v.Children), r.stat(&v.Stat))
	case *jute.StringsResponse:
		return "paths=" + sorted(v.Strings)
	case *jute.IntResponse:
		return fmt.Sprintf("int=%d", v.Value)
	case *jute.WhoAmIResponse:
		ids := make([]string, len(v.Infos))
		for i, in := range v.Infos {
			ids[i] = in.AuthScheme + ":" + in.User
		}
		return "whoami=" + sorted(ids)
	case *jute.SASLToken:
		return "token=" + data(v.Token)
	case *jute.MultiResponse:
		parts := make([]string, len(v.Results))
		for i, res := range v.Results {
			if res.Type == jute.OpError {
				parts[i] = "error " + codeName(res.Err)
				continue
			}
			parts[i] = res.Type.String()
			if res.Err != jute.OK {
				parts[i] += " err=" + codeName(res.Err)
			}
			if res.Resp != nil {
				parts[i] += " " + r.record(res.Resp)
			}
		}
		return "results=[" + strings.Join(parts, " | ") + "]"
	}
	return fmt.Sprintf("%+v", rec)
}

// describe prints a request for the transcript.
func describe(op jute.OpCode, body jute.Encodable) string {
	switch b := body.(type) {
	case nil, *jute.Empty:
		return op.String()
	case *jute.CreateRequest:
		return fmt.Sprintf("%v %q data=%s acl=%s flags=%d", op, b.Path, data(b.Data), acls(b.ACL), b.Flags)
	case *jute.CreateTTLRequest:
		return fmt.Sprintf("%v %q data=%s acl=%s flags=%d ttl=%d", op, b.Path, data(b.Data), acls(b.ACL), b.Flags, b.TTL)
	case *jute.DeleteRequest:
		return fmt.Sprintf("%v %q version=%d", op, b.Path, b.Version)
	case *jute.PathWatchRequest:
		return fmt.Sprintf("%v %q watch=%v", op, b.Path, b.Watch)
	case *jute.PathRequest:
		return fmt.Sprintf("%v %q", op, b.Path)
	case *jute.SetDataRequest:
		return fmt.Sprintf("%v %q data=%s version=%d", op, b.Path, data(b.Data), b.Version)
	case *jute.SetACLRequest:
		return fmt.Sprintf("%v %q acl=%s version=%d", op, b.Path, acls(b.ACL), b.Version)
	case *jute.CheckVersionRequest:
		return fmt.Sprintf("%v %q version=%d", op, b.Path, b.Version)
	case *jute.WatchesRequest:
		return fmt.Sprintf("%v %q type=%d", op, b.Path, b.Type)
	case *jute.AddWatchRequest:
		return fmt.Sprintf("%v %q mode=%d", op, b.Path, b.Mode)
	case *jute.AuthPacket:
		return fmt.Sprintf("%v scheme=%q auth=%q", op, b.Scheme, b.Auth)
	case *jute.ReconfigRequest:
		return fmt.Sprintf("%v joining=%q leaving=%q members=%q configId=%d", op, b.JoiningServers, b.LeavingServers, b.NewMembers, b.CurConfigID)
	case *jute.SASLToken:
		return fmt.Sprintf("%v token=%s", op, data(b.Token))
	case *jute.SetWatches:
		s := fmt.Sprintf("%v relativeZxid=%d data=%q exist=%q child=%q", op, b.RelativeZxid, b.Data, b.Exist, b.Child)
		if b.V2 {
			s += fmt.Sprintf(" persistent=%q recursive=%q", b.Persistent, b.PersistentRecursive)
		}
		return s
	case *jute.MultiRequest:
		parts := make([]string, len(b.Ops))
		for i, o := range b.Ops {
			parts[i] = describe(o.Type, o.Req)
		}
		return fmt.Sprintf("%v [%s]", op, strings.Join(parts, " | "))
	}
	return fmt.Sprintf("%v %+v", op, body)
}

func describeOpen(o *openSpec) string {
	var parts []string
	switch {
	case o.resume != "" && o.wrongPasswd:
		parts = append(parts, "resume the session of "+o.resume+" with a wrong password")
	case o.resume != "":
		parts = append(parts, "resume the session of "+o.resume)
	case o.unknown:
		parts = append(parts, "resume a session the server never issued")
	default:
		parts = append(parts, "connect a new session")
	}
	t := o.timeout
	if t == 0 {
		t = rawTimeout
	}
	parts = append(parts, fmt.Sprintf("timeout=%d", t))
	if o.noReadOnly {
		parts = append(parts, "without the readOnly byte")
	}
	if o.readOnly {
		parts = append(parts, "readOnly=true")
	}
	if o.ahead {
		parts = append(parts, "lastZxidSeen far ahead of the server")
	}
	for _, p := range o.pipeline {
		parts = append(parts, "then at once "+describe(p.op, p.body))
	}
	return strings.Join(parts, ", ")
}

func TestDiffTranscriptsListsTheCauseOfAZxidShiftOnce(t *testing.T) {
	steps := []*rawStep{
		{conn: "a", op: jute.OpExists, body: pw("/", false)},
		{conn: "a", op: jute.OpDelete, body: del("/x", -1)},
		{conn: "a", op: jute.OpCreate, body: mk("/y", 0)},
		{conn: "a", op: jute.OpCreate, body: mk("/z", 0), differs: "3.9"},
		{conn: "a", op: jute.OpGetData, body: pw("/y", false)},
	}
	lines := func(l ...string) *outcome { return &outcome{lines: l} }
	apache := []*outcome{
		lines("reply  err=OK zxid=z+0"),
		lines("reply  err=BADARGUMENTS zxid=z+1"),
		lines("reply  err=OK zxid=z+2"),
		lines("reply  err=OK zxid=z+3"),
		lines("reply  err=OK zxid=z+3", "body   data=null"),
	}
	zkd := []*outcome{
		lines("reply  err=OK zxid=z+0"),
		lines("reply  err=BADARGUMENTS zxid=z+0"),
		lines("reply  err=OK zxid=z+1"),
		lines("reply  err=UNIMPLEMENTED zxid=-1"),
		lines("reply  err=OK zxid=z+1", `body   data=""`),
	}
	report := diffTranscripts(steps, apache, zkd)
	for _, want := range []string{
		"step 1: a: delete \"/x\" version=-1\n  Apache ZooKeeper: reply  err=BADARGUMENTS zxid=z+1\n  zkd:              reply  err=BADARGUMENTS zxid=z+0\n",
		"step 4: a: getData \"/y\" watch=false\n",
		"  Apache ZooKeeper: body   data=null\n  zkd:              body   data=\"\"\n",
		"1 later steps that differ only in zxids",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "step 2:") || strings.Contains(report, "step 3:") {
		t.Errorf("report lists a zxid-only echo or an intentional difference:\n%s", report)
	}
}

func TestTranscriptZxidsAreRelativeToTheFirstReply(t *testing.T) {
	r := &rawRun{base: 0x100000005}
	for z, want := range map[jute.Zxid]string{0: "0", -1: "-1", 0x100000005: "z+0", 0x100000009: "z+4", 0x100000003: "z-2"} {
		if got := r.zxid(z); got != want {
			t.Errorf("zxid(%#x) = %q, want %q", int64(z), got, want)
		}
	}
}

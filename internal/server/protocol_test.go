package server

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/session"
)

func TestHandshakeEchoesTheReadOnlyByteOnlyWhenSent(t *testing.T) {
	s := startServer(t, nil)
	for _, withByte := range []bool{true, false} {
		c := rawDial(t, s)
		c.writeFrame(jute.Encode(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16), HasReadOnly: withByte}))
		frame := c.readFrame()
		want := 36
		if withByte {
			want = 37
		}
		if len(frame) != want {
			t.Fatalf("readOnly byte sent=%v: response payload %d bytes, want %d", withByte, len(frame), want)
		}
		var resp jute.ConnectResponse
		jute.Decode(frame, &resp)
		if !bytes.Equal(resp.Passwd, s.passwords.For(resp.SessionID)) || bytes.Equal(resp.Passwd, session.ZooKeeperPassword(resp.SessionID)) || uint64(resp.SessionID)>>56 != 1 {
			t.Fatalf("session %x passwd %x", resp.SessionID, resp.Passwd)
		}
	}
}

func TestTimeoutIsClampedIntoTheConfiguredRange(t *testing.T) {
	s := startServer(t, nil) // tickTime 2000 → [4000, 40000]
	for req, want := range map[int32]int32{0: 4000, 1000: 4000, 6000: 6000, 999999: 40000} {
		c := rawDial(t, s)
		if got := c.handshake(&jute.ConnectRequest{Timeout: req, Passwd: make([]byte, 16)}).Timeout; got != want {
			t.Fatalf("requested %d: got %d, want %d", req, got, want)
		}
	}
}

func TestClientAheadOfTheServerIsRefused(t *testing.T) {
	s := startServer(t, nil)
	c := rawDial(t, s)
	if resp := c.handshake(&jute.ConnectRequest{LastZxidSeen: 1e9, Timeout: 30000, Passwd: make([]byte, 16)}); resp != nil {
		t.Fatalf("got a response %+v", resp)
	}
}

func TestReattachWithTheRightPasswordKeepsTheSession(t *testing.T) {
	s := startServer(t, nil)
	a := rawConnect(t, s)
	a.call(1, jute.OpCreate, &jute.CreateRequest{Path: "/e", ACL: openACL, Flags: jute.ModeEphemeral}, nil)
	b := rawDial(t, s)
	resp := b.handshake(&jute.ConnectRequest{SessionID: a.session, Passwd: a.passwd, Timeout: 10000})
	if resp.SessionID != a.session || resp.Timeout != 10000 {
		t.Fatalf("reattach %+v", resp)
	}
	a.expectClosed() // the old connection is kicked off
	var eph jute.StringsResponse
	b.call(2, jute.OpGetEphemerals, &jute.PathRequest{Path: "/"}, &eph)
	if !slices.Equal(eph.Strings, []string{"/e"}) {
		t.Fatalf("ephemerals %v", eph.Strings)
	}
	wrong := rawDial(t, s)
	bad := wrong.handshake(&jute.ConnectRequest{SessionID: a.session, Passwd: make([]byte, 16), Timeout: 10000})
	if bad.Timeout != 0 || bad.SessionID != 0 || !bytes.Equal(bad.Passwd, make([]byte, 16)) {
		t.Fatalf("wrong password accepted: %+v", bad)
	}
}

func TestUnknownOpcodeGetsUnimplementedThenClose(t *testing.T) {
	s := startServer(t, nil)
	c := rawConnect(t, s)
	c.send(7, 99, nil)
	h, _, _ := c.reply()
	if h.Xid != 7 || h.Zxid != -1 || h.Err != jute.ErrUnimplemented {
		t.Fatalf("reply %+v", h)
	}
	c.expectClosed()
}

func TestOversizedFrameClosesOnlyThatConnection(t *testing.T) {
	s := startServer(t, nil)
	bystander := rawConnect(t, s)
	c := rawConnect(t, s)
	var lenBuf [4]byte
	binary.BigEndian.PutUint32(lenBuf[:], jute.DefaultMaxBuffer+1)
	c.nc.Write(lenBuf[:])
	c.expectClosed()
	if h := bystander.call(1, jute.OpExists, &jute.PathWatchRequest{Path: "/"}, &jute.StatResponse{}); h.Err != jute.OK {
		t.Fatalf("bystander: %+v", h)
	}
}

func TestMalformedBodyGetsMarshallingErrorAndKeepsTheConnection(t *testing.T) {
	s := startServer(t, nil)
	c := rawConnect(t, s)
	e := jute.NewEncoder(nil)
	(&jute.RequestHeader{Xid: 1, Type: jute.OpGetData}).Encode(e)
	e.Int(1000) // a path length far beyond the frame
	c.writeFrame(e.Bytes())
	h, _, _ := c.reply()
	if h.Err != jute.ErrMarshallingError {
		t.Fatalf("reply %+v", h)
	}
	if h := c.call(2, jute.OpPing, nil, nil); h.Xid != jute.XidPing || h.Err != jute.OK {
		t.Fatalf("ping after error: %+v", h)
	}
}

func TestPingReplyAlwaysCarriesXidMinusTwo(t *testing.T) {
	s := startServer(t, nil)
	c := rawConnect(t, s)
	c.send(42, jute.OpPing, nil)
	if h, _, _ := c.reply(); h.Xid != jute.XidPing {
		t.Fatalf("ping reply xid %d", h.Xid)
	}
}

func TestRequestsPipelinedBehindTheHandshakeAreAnsweredInOrder(t *testing.T) {
	s := startServer(t, nil)
	c := rawDial(t, s)
	var buf []byte
	frame := func(p []byte) { buf = binary.BigEndian.AppendUint32(buf, uint32(len(p))); buf = append(buf, p...) }
	frame(jute.Encode(&jute.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16), HasReadOnly: true}))
	for i, body := range []jute.Record{
		&jute.AuthPacket{Scheme: "digest", Auth: []byte("alice:secret")},
		&jute.PathWatchRequest{Path: "/"},
	} {
		e := jute.NewEncoder(nil)
		op := []jute.OpCode{jute.OpAuth, jute.OpExists}[i]
		(&jute.RequestHeader{Xid: int32(i + 1), Type: op}).Encode(e)
		body.Encode(e)
		frame(e.Bytes())
	}
	e := jute.NewEncoder(nil)
	(&jute.RequestHeader{Xid: 3, Type: jute.OpWhoAmI}).Encode(e)
	frame(e.Bytes())
	c.nc.Write(buf)
	var resp jute.ConnectResponse
	jute.Decode(c.readFrame(), &resp)
	if resp.SessionID == 0 {
		t.Fatal("no session")
	}
	for xid := int32(1); xid <= 2; xid++ {
		if h, _, _ := c.reply(); h.Xid != xid || h.Err != jute.OK {
			t.Fatalf("reply %+v, want xid %d", h, xid)
		}
	}
	h, d, _ := c.reply()
	var who jute.WhoAmIResponse
	who.Decode(d)
	if h.Xid != 3 || len(who.Infos) != 2 || who.Infos[1] != (jute.ClientInfo{AuthScheme: "digest", User: "alice"}) {
		t.Fatalf("whoAmI %+v %+v", h, who)
	}
}

func TestPersistentRecursiveWatchSeesDescendantsButNoChildEvents(t *testing.T) {
	s := startServer(t, nil)
	w := rawConnect(t, s)
	var ok jute.IntResponse
	if h := w.call(1, jute.OpAddWatch, &jute.AddWatchRequest{Path: "/r", Mode: jute.AddWatchPersistentRecursive}, &ok); h.Err != jute.OK {
		t.Fatal(h.Err)
	}
	writer := rawConnect(t, s)
	writer.call(1, jute.OpCreate, &jute.CreateRequest{Path: "/r", ACL: openACL}, nil)
	writer.call(2, jute.OpCreate, &jute.CreateRequest{Path: "/r/a", ACL: openACL}, nil)
	writer.call(3, jute.OpSetData, &jute.SetDataRequest{Path: "/r/a", Data: []byte("x"), Version: -1}, nil)
	// The ping reply is ordered after every notification queued before it.
	w.send(2, jute.OpPing, nil)
	_, _, events := w.reply()
	var got []string
	for _, ev := range events {
		got = append(got, ev.Type.String()+" "+ev.Path)
	}
	want := []string{"NodeCreated /r", "NodeCreated /r/a", "NodeDataChanged /r/a"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestSetWatchesFiresMissedEventsAndRegistersTheRest(t *testing.T) {
	s := startServer(t, nil)
	c := rawConnect(t, s)
	c.call(1, jute.OpCreate, &jute.CreateRequest{Path: "/old", ACL: openACL}, nil)
	h := c.call(2, jute.OpCreate, &jute.CreateRequest{Path: "/changed", ACL: openACL}, nil)
	rel := h.Zxid
	c.call(3, jute.OpSetData, &jute.SetDataRequest{Path: "/changed", Data: []byte("x"), Version: -1}, nil)
	c.call(4, jute.OpCreate, &jute.CreateRequest{Path: "/born", ACL: openACL}, nil)
	c.send(5, jute.OpSetWatches, &jute.SetWatches{
		RelativeZxid: rel,
		Data:         []string{"/changed", "/gone", "/old"},
		Exist:        []string{"/born", "/unborn"},
	})
	h, _, events := c.reply()
	var got []string
	for _, ev := range events {
		got = append(got, ev.Type.String()+" "+ev.Path)
	}
	want := []string{"NodeDataChanged /changed", "NodeDeleted /gone", "NodeCreated /born"}
	if h.Err != jute.OK || !slices.Equal(got, want) {
		t.Fatalf("reply %+v events %v", h, got)
	}
	if h := c.call(6, jute.OpCheckWatches, &jute.WatchesRequest{Path: "/old", Type: jute.WatcherData}, nil); h.Err != jute.OK {
		t.Fatalf("watch on /old not registered: %v", h.Err)
	}
	if h := c.call(7, jute.OpRemoveWatches, &jute.WatchesRequest{Path: "/unborn", Type: jute.WatcherAny}, nil); h.Err != jute.OK {
		t.Fatalf("remove /unborn: %v", h.Err)
	}
	if h := c.call(8, jute.OpRemoveWatches, &jute.WatchesRequest{Path: "/unborn", Type: jute.WatcherAny}, nil); h.Err != jute.ErrNoWatcher {
		t.Fatalf("second remove: %v", h.Err)
	}
}

func TestReadOpsGoZookeeperLacks(t *testing.T) {
	s := startServer(t, nil)
	c := rawConnect(t, s)
	c.call(1, jute.OpCreate, &jute.CreateRequest{Path: "/n", Data: []byte("d"), ACL: openACL}, nil)
	c.call(2, jute.OpCreate, &jute.CreateRequest{Path: "/n/a", ACL: openACL}, nil)
	c.call(3, jute.OpCreate, &jute.CreateRequest{Path: "/n/a/b", ACL: openACL, Flags: jute.ModeEphemeral}, nil)
	var count jute.IntResponse
	c.call(4, jute.OpGetAllChildrenNumber, &jute.PathRequest{Path: "/"}, &count)
	if count.Value != 6 { // zookeeper, quota, config, n, a, b
		t.Fatalf("getAllChildrenNumber(/) = %d", count.Value)
	}
	var mr jute.MultiResponse
	c.call(5, jute.OpMultiRead, &jute.MultiRequest{Ops: []jute.MultiOp{
		{Type: jute.OpGetData, Req: &jute.PathWatchRequest{Path: "/n"}},
		{Type: jute.OpGetChildren, Req: &jute.PathWatchRequest{Path: "/missing"}},
		{Type: jute.OpGetChildren, Req: &jute.PathWatchRequest{Path: "/n"}},
	}}, &mr)
	if len(mr.Results) != 3 || string(mr.Results[0].Resp.(*jute.GetDataResponse).Data) != "d" ||
		mr.Results[1].Err != jute.ErrNoNode || !slices.Equal(mr.Results[2].Resp.(*jute.GetChildrenResponse).Children, []string{"a"}) {
		t.Fatalf("multiRead %+v", mr.Results)
	}
	var sync jute.PathResponse
	if h := c.call(6, jute.OpSync, &jute.PathRequest{Path: "/missing"}, &sync); h.Err != jute.OK || sync.Path != "/missing" {
		t.Fatalf("sync %+v %q", h, sync.Path)
	}
	if h := c.call(7, jute.OpReconfig, &jute.ReconfigRequest{CurConfigID: -1}, nil); h.Err != jute.ErrReconfigDisabled {
		t.Fatalf("reconfig %v", h.Err)
	}
	var data jute.GetDataResponse
	c.call(8, jute.OpCreate, &jute.CreateRequest{Path: "/null", Data: nil, ACL: openACL}, nil)
	c.call(9, jute.OpGetData, &jute.PathWatchRequest{Path: "/null"}, &data)
	if data.Data != nil || data.Stat.DataLength != 0 {
		t.Fatalf("null data came back as %q", data.Data)
	}
}

func TestContainersAndTTLNodes(t *testing.T) {
	s := startServer(t, func(c *config.Config) {
		c.Props["zookeeper.extendedTypesEnabled"] = "true"
		c.Props["znode.container.checkIntervalMs"] = "50"
	})
	c := rawConnect(t, s)
	var created jute.Create2Response
	if h := c.call(1, jute.OpCreateContainer, &jute.CreateRequest{Path: "/box", ACL: openACL, Flags: jute.ModeContainer}, &created); h.Err != jute.OK || created.Stat.EphemeralOwner != 0 {
		t.Fatalf("container %+v %+v", h, created)
	}
	c.call(2, jute.OpCreate, &jute.CreateRequest{Path: "/box/item", ACL: openACL}, nil)
	c.call(3, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/ttl", ACL: openACL, Flags: jute.ModePersistentWithTTL, TTL: 1}, &created)
	if h := c.call(4, jute.OpCreateTTL, &jute.CreateTTLRequest{Path: "/bad", ACL: openACL, Flags: 0, TTL: 1}, nil); h.Err != jute.ErrBadArguments {
		t.Fatalf("TTL op with a plain mode: %v", h.Err)
	}
	c.call(5, jute.OpExists, &jute.PathWatchRequest{Path: "/box", Watch: true}, &jute.StatResponse{})
	c.call(6, jute.OpExists, &jute.PathWatchRequest{Path: "/ttl", Watch: true}, &jute.StatResponse{})
	c.call(7, jute.OpDelete, &jute.DeleteRequest{Path: "/box/item", Version: -1}, nil)
	// The reaper deletes the emptied container and the expired TTL node.
	seen := map[string]bool{}
	for len(seen) < 2 {
		_, _, events := c.readEvents()
		for _, ev := range events {
			if ev.Type == jute.EventNodeDeleted {
				seen[ev.Path] = true
			}
		}
	}
	if !seen["/box"] || !seen["/ttl"] {
		t.Fatalf("deleted %v", seen)
	}
}

package jute

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// unhex decodes a capture written as space-separated hex groups.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Captures from a live ZooKeeper 3.8.0 server, spec client-protocol.md
// Appendix B (payloads without the 4-byte frame length).
const (
	captureConnectRequest  = "00000000 00000000 00000000 00007530 00000000 00000000 00000010 00000000 00000000 00000000 00000000 00"
	captureConnectResponse = "00000000 00007530 0100006d dd710004 00000010 4184a954 5e7911c8 302cadfc a6f4c7ae 00"
	captureCreateRequest   = "00000001 00000001 00000003 2f687800 00000268 69000000 01000000 1f000000 05776f72 6c640000 0006616e 796f6e65 00000001"
	captureGetDataReply    = "00000002 00000000 000000bb 00000000 00000002 68690000 00000000 00bb0000 00000000 00bb0000 01a206f3 53280000 01a206f3 53280000 00000000 00000000 00000100 006ddd71 00040000 00020000 00000000 00000000 00bb"
	captureNotification    = "ffffffff ffffffff ffffffff 00000000 00000003 00000003 00000003 2f6878"
)

func TestConnectRequestCaptureDecodesAndReencodesByteForByte(t *testing.T) {
	raw := unhex(t, captureConnectRequest)
	var req ConnectRequest
	if err := Decode(raw, &req); err != nil {
		t.Fatal(err)
	}
	if req.Timeout != 30000 || req.SessionID != 0 || len(req.Passwd) != 16 || !req.HasReadOnly || req.ReadOnly {
		t.Fatalf("decoded %+v", req)
	}
	if got := Encode(&req); !bytes.Equal(got, raw) {
		t.Fatalf("re-encoded %x, want %x", got, raw)
	}
	// go-zookeeper omits the readOnly byte: the request must still decode,
	// and remember that the byte was absent.
	var old ConnectRequest
	if err := Decode(raw[:len(raw)-1], &old); err != nil || old.HasReadOnly {
		t.Fatalf("old-style request: %+v, %v", old, err)
	}
}

func TestConnectResponseCaptureRoundTrips(t *testing.T) {
	raw := unhex(t, captureConnectResponse)
	var resp ConnectResponse
	if err := Decode(raw, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.SessionID != 0x0100006ddd710004 || resp.Timeout != 30000 || !resp.HasReadOnly {
		t.Fatalf("decoded %+v", resp)
	}
	if got := Encode(&resp); !bytes.Equal(got, raw) {
		t.Fatalf("re-encoded %x", got)
	}
}

func TestCreateRequestCaptureRoundTrips(t *testing.T) {
	raw := unhex(t, captureCreateRequest)
	d := NewDecoder(raw)
	var h RequestHeader
	h.Decode(d)
	req := NewRequest(h.Type).(*CreateRequest)
	req.Decode(d)
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	want := CreateRequest{Path: "/hx", Data: []byte("hi"), ACL: []ACL{{Perms: PermAll, ID: Id{"world", "anyone"}}}, Flags: ModeEphemeral}
	if h.Xid != 1 || h.Type != OpCreate || req.Path != want.Path || string(req.Data) != "hi" || req.ACL[0] != want.ACL[0] || req.Flags != 1 {
		t.Fatalf("decoded %+v %+v", h, req)
	}
	e := NewEncoder(nil)
	h.Encode(e)
	req.Encode(e)
	if !bytes.Equal(e.Bytes(), raw) {
		t.Fatalf("re-encoded %x", e.Bytes())
	}
}

func TestGetDataReplyCaptureRoundTrips(t *testing.T) {
	raw := unhex(t, captureGetDataReply)
	d := NewDecoder(raw)
	var h ReplyHeader
	h.Decode(d)
	var resp GetDataResponse
	resp.Decode(d)
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
	s := resp.Stat
	if h.Xid != 2 || h.Zxid != 0xbb || string(resp.Data) != "hi" || s.Czxid != 0xbb || s.Mzxid != 0xbb || s.Pzxid != 0xbb ||
		s.EphemeralOwner != 0x0100006ddd710004 || s.DataLength != 2 || s.Ctime != s.Mtime {
		t.Fatalf("decoded %+v %+v", h, resp)
	}
	e := NewEncoder(nil)
	h.Encode(e)
	resp.Encode(e)
	if !bytes.Equal(e.Bytes(), raw) {
		t.Fatalf("re-encoded %x", e.Bytes())
	}
}

func TestNotificationEncodesLikeZooKeeper38(t *testing.T) {
	e := NewEncoder(nil)
	h := ReplyHeader{Xid: XidNotification, Zxid: -1}
	h.Encode(e)
	ev := WatcherEvent{Type: EventNodeDataChanged, State: StateSyncConnected, Path: "/hx"}
	ev.Encode(e)
	if want := unhex(t, captureNotification); !bytes.Equal(e.Bytes(), want) {
		t.Fatalf("got %x want %x", e.Bytes(), want)
	}
}

func TestNullAndEmptyBuffersStayDistinct(t *testing.T) {
	for _, data := range [][]byte{nil, {}, []byte("x")} {
		got := &SetDataRequest{}
		if err := Decode(Encode(&SetDataRequest{Path: "/a", Data: data, Version: -1}), got); err != nil {
			t.Fatal(err)
		}
		if (got.Data == nil) != (data == nil) || !bytes.Equal(got.Data, data) {
			t.Fatalf("data %q came back as %q (nil=%v)", data, got.Data, got.Data == nil)
		}
	}
}

func TestDecoderRejectsHostileLengthsWithoutAllocating(t *testing.T) {
	cases := map[string][]byte{
		"negative buffer length":     {0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xfe},
		"buffer longer than input":   {0, 0, 0, 1, '/', 0x00, 0x0f, 0xff, 0xff},
		"buffer longer than maximum": {0, 0, 0, 1, '/', 0x7f, 0xff, 0xff, 0xff},
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			if err := Decode(raw, &SetDataRequest{}); err == nil {
				t.Fatal("decoded without error")
			}
		})
	}
	// A vector count far beyond the input is rejected before allocating.
	raw := []byte{0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}
	var ws SetWatches
	if err := Decode(raw, &ws); err == nil {
		t.Fatal("huge vector count accepted")
	}
}

func TestMultiRequestRejectsOpsNoMultiCarries(t *testing.T) {
	e := NewEncoder(nil)
	h := MultiHeader{Type: OpSync, Err: -1}
	h.Encode(e)
	(&PathRequest{Path: "/"}).Encode(e)
	err := Decode(e.Bytes(), &MultiRequest{})
	if !errors.Is(err, ErrBadMultiOp) {
		t.Fatalf("err = %v, want ErrBadMultiOp", err)
	}
}

func TestMultiResponseRoundTrips(t *testing.T) {
	in := MultiResponse{Results: []MultiResult{
		{Type: OpCreate, Resp: &PathResponse{Path: "/a"}},
		{Type: OpCreate2, Resp: &Create2Response{Path: "/b", Stat: Stat{Czxid: 5}}},
		{Type: OpDelete},
		{Type: OpError, Err: ErrNoNode},
	}}
	var out MultiResponse
	if err := Decode(Encode(&in), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Results) != 4 || out.Results[3].Err != ErrNoNode || out.Results[1].Resp.(*Create2Response).Stat.Czxid != 5 {
		t.Fatalf("got %+v", out.Results)
	}
}

func TestTxnRoundTripsIncludingMulti(t *testing.T) {
	in := &Txn{
		Header: TxnHeader{ClientID: 7, Cxid: 3, Zxid: 0x100000001, Time: 1234, Type: OpMulti},
		Record: &MultiTxn{Ops: []TxnOp{
			{Type: OpCreate, Record: &CreateTxn{Path: "/a", Data: []byte("x"), ACL: []ACL{{PermAll, Id{"world", "anyone"}}}, ParentCVersion: 1}},
			{Type: OpError, Record: &ErrorTxn{Err: ErrRuntimeInconsistency}},
		}},
		Digest: &TxnDigest{Version: 2, TreeDigest: 99},
	}
	out, err := DecodeTxn(Encode(in))
	if err != nil {
		t.Fatal(err)
	}
	m := out.Record.(*MultiTxn)
	if out.Header != in.Header || len(m.Ops) != 2 || m.Ops[0].Record.(*CreateTxn).Path != "/a" || out.Digest.TreeDigest != 99 {
		t.Fatalf("got %+v", out)
	}
}

func TestZxidAndSessionIDPrintLikeZooKeeper(t *testing.T) {
	if got := MakeZxid(1, 2).String(); got != "0x100000002" {
		t.Fatal(got)
	}
	if got := SessionID(0x0100006ddd710004).String(); got != "0x100006ddd710004" {
		t.Fatal(got)
	}
	if ErrNoNode.Error() != "zookeeper: NONODE (-101)" {
		t.Fatal(ErrNoNode.Error())
	}
}

// FuzzDecodeRequest feeds arbitrary bodies to every request decoder: none
// may panic, and whatever decodes must re-encode and decode to the same
// bytes.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(int32(OpCreate), unhex(f, captureCreateRequest)[8:])
	f.Add(int32(OpMulti), Encode(&MultiRequest{Ops: []MultiOp{{Type: OpDelete, Req: &DeleteRequest{Path: "/a", Version: -1}}}}))
	f.Add(int32(OpSetWatches2), Encode(&SetWatches{V2: true, Data: []string{"/a"}}))
	f.Add(int32(OpAuth), Encode(&AuthPacket{Scheme: "digest", Auth: []byte("a:b")}))
	f.Fuzz(func(t *testing.T, op int32, body []byte) {
		rec := NewRequest(OpCode(op))
		if rec == nil {
			return
		}
		if Decode(body, rec) != nil {
			return
		}
		again := NewRequest(OpCode(op))
		enc := Encode(rec)
		if err := Decode(enc, again); err != nil {
			t.Fatalf("re-decode of %x: %v", enc, err)
		}
		if !bytes.Equal(Encode(again), enc) {
			t.Fatalf("encoding not stable for op %d", op)
		}
	})
}

// FuzzDecodeTxn checks that no log payload can panic the txn reader.
func FuzzDecodeTxn(f *testing.F) {
	f.Add(Encode(&Txn{Header: TxnHeader{Type: OpCreateSession}, Record: &CreateSessionTxn{Timeout: 30000}}))
	f.Add(Encode(&Txn{Header: TxnHeader{Type: OpCloseSession}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeTxn(b)
	})
}

package jute

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestQuorumPacketWithoutDataOrAuthEncodesNullsLikeJava(t *testing.T) {
	p := QuorumPacket{Type: PacketUpToDate, Zxid: -1}
	got := hex.EncodeToString(Encode(&p))
	// type 12, zxid -1, data length -1, authinfo count -1 (§5.1, observed).
	want := "0000000c" + "ffffffffffffffff" + "ffffffff" + "ffffffff"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	var back QuorumPacket
	if err := Decode(Encode(&p), &back); err != nil || back.Data != nil || back.Auth != nil || back.Type != PacketUpToDate {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

func TestQuorumPacketRoundTripsDataAndAuth(t *testing.T) {
	p := QuorumPacket{Type: PacketRequest, Zxid: -1, Data: Encode(&ForwardedRequest{Session: 0x100, Cxid: 7, Op: OpCreate, Body: []byte{1, 2, 3}}),
		Auth: []Id{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "u:x"}}}
	var back QuorumPacket
	if err := Decode(Encode(&p), &back); err != nil {
		t.Fatal(err)
	}
	if back.Type != p.Type || !bytes.Equal(back.Data, p.Data) || len(back.Auth) != 2 || back.Auth[1] != p.Auth[1] {
		t.Fatalf("round trip: %+v", back)
	}
	var fr ForwardedRequest
	if err := Decode(back.Data, &fr); err != nil || fr.Session != 0x100 || fr.Cxid != 7 || fr.Op != OpCreate || !bytes.Equal(fr.Body, []byte{1, 2, 3}) {
		t.Fatalf("forwarded request: %+v, %v", fr, err)
	}
}

func TestTouchTableIsRecordsWithoutACount(t *testing.T) {
	b := EncodeTouches([]SessionTouch{{Session: 1, Timeout: 4000}, {Session: 2, Timeout: 6000}})
	if len(b) != 24 {
		t.Fatalf("len %d, want 24", len(b))
	}
	got, err := DecodeTouches(b)
	if err != nil || len(got) != 2 || got[1] != (SessionTouch{Session: 2, Timeout: 6000}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := DecodeTouches(b[:13]); err == nil {
		t.Fatal("a torn touch table decoded")
	}
}

func TestAnEmptyTouchTableIsAZeroLengthBufferNotNull(t *testing.T) {
	p := QuorumPacket{Type: PacketPing, Zxid: 0x100000002, Data: EncodeTouches(nil)}
	b := Encode(&p)
	// type, zxid, then the data's length: 0, where -1 (null) would make a
	// Java leader's LearnerHandler throw and drop the follower.
	if len(b) < 16 || !bytes.Equal(b[12:16], []byte{0, 0, 0, 0}) {
		t.Fatalf("encoded %x, want a zero data length at offset 12", b)
	}
}

func TestLearnerInfoAcceptsThePreZab10Form(t *testing.T) {
	e := NewEncoder(nil)
	e.Long(5)
	var li LearnerInfo
	if err := Decode(e.Bytes(), &li); err != nil || li.ServerID != 5 || li.ProtocolVersion != 0 {
		t.Fatalf("%+v %v", li, err)
	}
	full := LearnerInfo{ServerID: 3, ProtocolVersion: ZabProtocolVersion, ConfigVersion: 0x100000000}
	if err := Decode(Encode(&full), &li); err != nil || li != full {
		t.Fatalf("%+v %v", li, err)
	}
}

func TestAckEpochData(t *testing.T) {
	if got := hex.EncodeToString(AckEpochData(-1)); got != "ffffffff" {
		t.Fatal(got)
	}
	if e, err := DecodeAckEpoch(AckEpochData(7)); e != 7 || err != nil {
		t.Fatal(e, err)
	}
	if _, err := DecodeAckEpoch(nil); err == nil {
		t.Fatal("empty ACKEPOCH data accepted")
	}
}

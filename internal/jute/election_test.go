package jute

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// quorumText builds a config text the way spec §7.2 describes it: one
// server.N line per member without a client part, then version=<hex> with no
// trailing newline.
func quorumText(members []string, version string) string {
	var b strings.Builder
	for i, m := range members {
		b.WriteString("server." + string(rune('1'+i)) + "=" + m + ":participant\n")
	}
	b.WriteString("version=" + version)
	return b.String()
}

func TestPeerStateString(t *testing.T) {
	for _, tc := range []struct {
		s    PeerState
		want string
	}{
		{Looking, "LOOKING"}, {Following, "FOLLOWING"}, {Leading, "LEADING"}, {Observing, "OBSERVING"},
		{PeerState(7), "PeerState(7)"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%d: got %q, want %q", int32(tc.s), got, tc.want)
		}
	}
}

func TestSpec4_3_NotificationLayoutIsVersion2(t *testing.T) {
	n := Notification{State: Leading, Leader: 3, Zxid: MakeZxid(1, 2), Round: 4, PeerEpoch: 1, Config: "version=0"}
	got := n.Encode()
	want := unhex(t, `
		00000002
		0000000000000003
		0000000100000002
		0000000000000004
		0000000000000001
		00000002
		00000009`)
	want = append(want, "version=0"...)
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%x\nwant\n%x", got, want)
	}
	back, err := DecodeNotification(got)
	if err != nil {
		t.Fatal(err)
	}
	n.Version = NotificationVersion
	if back != n {
		t.Fatalf("decoded %+v, want %+v", back, n)
	}
}

// The spec observed 182-byte notifications from a three-server ensemble whose
// server.N lines have no client part. 127.0.0.1 with five-digit quorum and
// election ports (a test ensemble's usual choice) gives exactly that size.
func TestSpec4_3_ThreeServerConfigGives182Bytes(t *testing.T) {
	cfg := quorumText([]string{"127.0.0.1:12888:13888", "127.0.0.1:12889:13889", "127.0.0.1:12890:13890"}, "0")
	n := Notification{State: Looking, Leader: 1, Round: 1, Config: cfg}
	if got := len(n.Encode()); got != 182 {
		t.Fatalf("notification is %d bytes, want 182 (config %q)", got, cfg)
	}
}

func TestSpec4_3_DecodeCompatibility(t *testing.T) {
	head := func(state int32, leader, zxid, round int64) []byte {
		e := NewEncoder(nil)
		e.Int(state)
		e.Long(leader)
		e.Long(zxid)
		e.Long(round)
		return e.Bytes()
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	i32 := func(v int32) []byte { e := NewEncoder(nil); e.Int(v); return e.Bytes() }
	i64 := func(v int64) []byte { e := NewEncoder(nil); e.Long(v); return e.Bytes() }
	zx := int64(MakeZxid(5, 9))
	for _, tc := range []struct {
		name string
		in   []byte
		want Notification
		err  bool
	}{
		{name: "fewer than 28 bytes are rejected", in: head(0, 1, 2, 3)[:27], err: true},
		{name: "an empty message is rejected", in: nil, err: true},
		{name: "28 bytes take peerEpoch from the zxid and version 0",
			in:   head(1, 2, zx, 3),
			want: Notification{State: Following, Leader: 2, Zxid: Zxid(zx), Round: 3, PeerEpoch: 5}},
		{name: "28 bytes with a zxid of -1 give peerEpoch -1",
			in:   head(0, 2, -1, 3),
			want: Notification{State: Looking, Leader: 2, Zxid: -1, Round: 3, PeerEpoch: -1}},
		{name: "40 bytes carry peerEpoch and leave the version word unread",
			in:   cat(head(2, 2, zx, 3), i64(7), i32(2)),
			want: Notification{State: Leading, Leader: 2, Zxid: Zxid(zx), Round: 3, PeerEpoch: 7}},
		{name: "between 28 and 36 bytes is too short for peerEpoch",
			in: cat(head(0, 1, 1, 1), []byte{0, 0, 0, 0}), err: true},
		{name: "36 bytes lack the version word",
			in: cat(head(0, 1, 1, 1), i64(1)), err: true},
		{name: "40 bytes saying version 1 are still version 0",
			in:   cat(head(0, 1, 1, 1), i64(1), i32(1)),
			want: Notification{Leader: 1, Zxid: 1, Round: 1, PeerEpoch: 1}},
		{name: "version 1 has no config and ignores trailing bytes",
			in:   cat(head(0, 1, 1, 1), i64(1), i32(1), i32(3), []byte("abc")),
			want: Notification{Leader: 1, Zxid: 1, Round: 1, PeerEpoch: 1, Version: 1}},
		{name: "version 2 reads the config",
			in:   cat(head(3, 1, 1, 1), i64(1), i32(2), i32(3), []byte("abc")),
			want: Notification{State: Observing, Leader: 1, Zxid: 1, Round: 1, PeerEpoch: 1, Version: 2, Config: "abc"}},
		{name: "version 2 with an empty config",
			in:   cat(head(0, 1, 1, 1), i64(1), i32(2), i32(0)),
			want: Notification{Leader: 1, Zxid: 1, Round: 1, PeerEpoch: 1, Version: 2}},
		{name: "version 2 without the config length is rejected",
			in: cat(head(0, 1, 1, 1), i64(1), i32(2), []byte{0}), err: true},
		{name: "a negative config length is rejected",
			in: cat(head(0, 1, 1, 1), i64(1), i32(2), i32(-1)), err: true},
		{name: "a config length past the end is rejected",
			in: cat(head(0, 1, 1, 1), i64(1), i32(2), i32(4), []byte("abc")), err: true},
		{name: "a later version is read like version 2",
			in:   cat(head(0, 1, 1, 1), i64(1), i32(9), i32(1), []byte("xy")),
			want: Notification{Leader: 1, Zxid: 1, Round: 1, PeerEpoch: 1, Version: 9, Config: "x"}},
		{name: "an unknown state is rejected",
			in: cat(head(4, 1, 1, 1), i64(1), i32(2), i32(0)), err: true},
		{name: "a negative state is rejected in the old format too",
			in: head(-1, 1, 1, 1), err: true},
		{name: "extreme values survive",
			in:   cat(head(0, math.MinInt64, math.MinInt64, math.MaxInt64), i64(math.MinInt64), i32(2), i32(0)),
			want: Notification{Leader: math.MinInt64, Zxid: math.MinInt64, Round: math.MaxInt64, PeerEpoch: math.MinInt64, Version: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeNotification(tc.in)
			if tc.err {
				if !errors.Is(err, ErrBadNotification) {
					t.Fatalf("got %+v, %v; want ErrBadNotification", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// FuzzDecodeNotification checks that no election message can panic the
// decoder, and that whatever decodes re-encodes to a message that decodes
// to the same vote.
func FuzzDecodeNotification(f *testing.F) {
	f.Add((&Notification{State: Looking, Leader: 1, Round: 1, Config: "server.1=a:1:2:participant\nversion=0"}).Encode())
	f.Add(make([]byte, 28))
	f.Add(make([]byte, 40))
	f.Add(append(make([]byte, 36), 0, 0, 0, 2, 0x7f, 0xff, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := DecodeNotification(b)
		if err != nil {
			return
		}
		again, err := DecodeNotification(n.Encode())
		if err != nil {
			t.Fatalf("re-decode of %+v: %v", n, err)
		}
		n.Version = NotificationVersion
		if again != n {
			t.Fatalf("round trip changed %+v into %+v", n, again)
		}
	})
}

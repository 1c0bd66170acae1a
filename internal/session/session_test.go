package session

import (
	"encoding/hex"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

func TestPasswordMatchesZooKeeper38Capture(t *testing.T) {
	// client-protocol.md Appendix B: session 0x0100006ddd710004 got this
	// password from a live 3.8.0 server.
	got := hex.EncodeToString(ZooKeeperPassword(0x0100006ddd710004))
	if got != "4184a9545e7911c8302cadfca6f4c7ae" {
		t.Fatal(got)
	}
}

func TestInitialIDPutsServerIDInTopByte(t *testing.T) {
	id := InitialID(1, 0x6ddd71)
	if uint64(id)>>56 != 1 || uint64(id)&0xffff != 0 {
		t.Fatalf("%x", uint64(id))
	}
}

func TestExpiryIsRoundedUpToTheNextTick(t *testing.T) {
	tab := NewTable(2000, 0)
	tab.Add(5, 4000, 1000) // deadline = (5000/2000+1)*2000 = 6000
	if got := tab.Expired(5999); len(got) != 0 {
		t.Fatal("expired early", got)
	}
	if got := tab.Expired(6000); len(got) != 1 || got[0] != 5 {
		t.Fatal(got)
	}
	if tab.Touch(5, 6000) {
		t.Fatal("a closing session was touched")
	}
}

func TestTouchPostponesExpiry(t *testing.T) {
	tab := NewTable(2000, 0)
	tab.Add(5, 4000, 0)
	tab.Touch(5, 3000)
	if got := tab.Expired(6000); len(got) != 0 {
		t.Fatal("expired despite touch", got)
	}
	if got := tab.Expired(10000); len(got) != 1 {
		t.Fatal(got)
	}
}

func TestNextIDSkipsTakenIDs(t *testing.T) {
	tab := NewTable(2000, 10)
	tab.Add(11, 4000, 0)
	if id := tab.NextID(); id != jute.SessionID(12) {
		t.Fatal(id)
	}
}

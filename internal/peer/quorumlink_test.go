package peer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

func encodePacket(p *jute.QuorumPacket) []byte {
	e := jute.NewEncoder(nil)
	p.Encode(e)
	return e.Bytes()
}

// A PROPOSAL carries a whole transaction, which may be far longer than
// jute.maxbuffer (a closeSession lists every ephemeral of its session).
func TestAProposalLongerThanJuteMaxBufferIsRead(t *testing.T) {
	data := bytes.Repeat([]byte("txn"), 10<<20/3)
	in := jute.QuorumPacket{Type: jute.PacketProposal, Zxid: 0x100000007, Data: data}
	out, err := readPacket(bufio.NewReader(bytes.NewReader(encodePacket(&in))), 2*jute.DefaultMaxBuffer+1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if out.Type != in.Type || out.Zxid != in.Zxid || !bytes.Equal(out.Data, data) || out.Auth != nil {
		t.Fatalf("read back %v", &out)
	}
}

func TestAPacketLengthBeyondTheLargestTransactionIsRefused(t *testing.T) {
	var head [16]byte
	binary.BigEndian.PutUint32(head[0:], uint32(jute.PacketProposal))
	binary.BigEndian.PutUint32(head[12:], jute.MaxTxnSize+1)
	_, err := readPacket(bufio.NewReader(bytes.NewReader(head[:])), 1<<20)
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("err %v", err)
	}
}

// A peer that announces the largest packet and sends a little of it costs
// what it sent, not what it announced.
func TestAnAnnouncedPacketCostsOnlyWhatArrives(t *testing.T) {
	var head [16]byte
	binary.BigEndian.PutUint32(head[0:], uint32(jute.PacketProposal))
	binary.BigEndian.PutUint32(head[12:], jute.MaxTxnSize)
	stream := append(head[:], make([]byte, 1<<20)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readPacket(bufio.NewReader(bytes.NewReader(stream)), 1<<20)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("reading 1 MiB of an announced 1 GiB packet allocated %d MiB", grew>>20)
	}
}

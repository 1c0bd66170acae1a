package server

import (
	"bufio"
	"encoding/binary"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/zkd/zkd/internal/config"
	"github.com/zkd/zkd/internal/jute"
	"github.com/zkd/zkd/internal/testcluster"
)

// pipelineDepth is how many requests the pipelined benchmarks keep in
// flight on their one connection.
const pipelineDepth = 100

// benchServer starts a server for a benchmark: in memory, or with the
// transaction log (without fsync, so that the disk does not drown the
// server's own cost).
func benchServer(b *testing.B, inMemory bool) *Server {
	b.Helper()
	cfg := config.Default()
	cfg.ClientPort = 0
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.DataDir = b.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.Props["zookeeper.admin.enableServer"] = "false"
	cfg.Props["zookeeper.forceSync"] = "no"
	s, err := New(cfg, Options{Logger: slog.New(slog.DiscardHandler), InMemory: inMemory})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// runPipelined sends the request frame b.N times on one session, keeping
// pipelineDepth requests in flight, and reads every reply. The client side
// reuses its buffers, so allocations per op are the server's.
func runPipelined(b *testing.B, s *Server, op jute.OpCode, body jute.Encodable) {
	b.Helper()
	c := testcluster.ConnectRaw(b, s.Addr().String())
	defer c.Close()
	if h := c.Call(0, jute.OpCreate, &jute.CreateRequest{Path: "/bench", Data: []byte("x"), ACL: openACL}, nil); h.Err != jute.OK {
		b.Fatalf("create /bench: %v", h.Err)
	}
	e := jute.NewEncoder(nil)
	e.Int(0)
	(&jute.RequestHeader{Xid: 1, Type: op}).Encode(e)
	body.Encode(e)
	frame := e.Bytes()
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	burst := make([]byte, 0, len(frame)*pipelineDepth)
	for range pipelineDepth {
		burst = append(burst, frame...)
	}
	nc := c.Conn()
	nc.SetDeadline(time.Now().Add(10 * time.Minute))
	br := bufio.NewReaderSize(nc, 64<<10)
	reply := make([]byte, 64<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(pipelineDepth, b.N-done)
		if _, err := nc.Write(burst[:n*len(frame)]); err != nil {
			b.Fatal(err)
		}
		for range n {
			var l [4]byte
			if _, err := io.ReadFull(br, l[:]); err != nil {
				b.Fatal(err)
			}
			size := binary.BigEndian.Uint32(l[:])
			if _, err := io.ReadFull(br, reply[:size]); err != nil {
				b.Fatal(err)
			}
			if code := int32(binary.BigEndian.Uint32(reply[12:16])); code != 0 {
				b.Fatalf("reply error %d", code)
			}
		}
		done += n
	}
}

func BenchmarkPipelinedGetData(b *testing.B) {
	s := benchServer(b, true)
	runPipelined(b, s, jute.OpGetData, &jute.PathWatchRequest{Path: "/bench"})
}

func BenchmarkPipelinedSetDataInMemory(b *testing.B) {
	s := benchServer(b, true)
	runPipelined(b, s, jute.OpSetData, &jute.SetDataRequest{Path: "/bench", Data: []byte("x"), Version: -1})
}

func BenchmarkPipelinedSetDataLogged(b *testing.B) {
	s := benchServer(b, false)
	runPipelined(b, s, jute.OpSetData, &jute.SetDataRequest{Path: "/bench", Data: []byte("x"), Version: -1})
}

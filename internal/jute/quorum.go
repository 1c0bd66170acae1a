package jute

import (
	"errors"
	"fmt"
	"strconv"
)

// This file holds the quorum-port records of ZAB, storage-and-quorum.md
// §5.1-§5.9. Field order is wire order.

// PacketType is the type of a QuorumPacket (§5.2).
type PacketType int32

// The quorum packet types (§5.2).
const (
	PacketRequest           PacketType = 1
	PacketProposal          PacketType = 2
	PacketAck               PacketType = 3
	PacketCommit            PacketType = 4
	PacketPing              PacketType = 5
	PacketRevalidate        PacketType = 6
	PacketSync              PacketType = 7
	PacketInform            PacketType = 8
	PacketCommitAndActivate PacketType = 9
	PacketNewLeader         PacketType = 10
	PacketFollowerInfo      PacketType = 11
	PacketUpToDate          PacketType = 12
	PacketDiff              PacketType = 13
	PacketTrunc             PacketType = 14
	PacketSnap              PacketType = 15
	PacketObserverInfo      PacketType = 16
	PacketLeaderInfo        PacketType = 17
	PacketAckEpoch          PacketType = 18
	PacketInformAndActivate PacketType = 19
)

var packetNames = [...]string{
	PacketRequest: "REQUEST", PacketProposal: "PROPOSAL", PacketAck: "ACK", PacketCommit: "COMMIT",
	PacketPing: "PING", PacketRevalidate: "REVALIDATE", PacketSync: "SYNC", PacketInform: "INFORM",
	PacketCommitAndActivate: "COMMITANDACTIVATE", PacketNewLeader: "NEWLEADER",
	PacketFollowerInfo: "FOLLOWERINFO", PacketUpToDate: "UPTODATE", PacketDiff: "DIFF",
	PacketTrunc: "TRUNC", PacketSnap: "SNAP", PacketObserverInfo: "OBSERVERINFO",
	PacketLeaderInfo: "LEADERINFO", PacketAckEpoch: "ACKEPOCH", PacketInformAndActivate: "INFORMANDACTIVATE",
}

// String returns ZooKeeper's name for the type.
func (t PacketType) String() string {
	if t > 0 && int(t) < len(packetNames) {
		return packetNames[t]
	}
	return "UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// ZabProtocolVersion is the protocol version a 3.8 leader sends in
// LEADERINFO and a learner in LearnerInfo (§5.2).
const ZabProtocolVersion = 0x10000

// QuorumPacket is one packet on the quorum port: the stream is nothing but
// these records back to back (§5.1).
type QuorumPacket struct {
	Type PacketType
	Zxid Zxid
	// Data is nil when the packet has none (encoded as length -1, as Java
	// does).
	Data []byte
	// Auth is nil when the packet has none (encoded as count -1).
	Auth []Id
}

// Encode writes the packet.
func (p *QuorumPacket) Encode(e *Encoder) {
	e.Int(int32(p.Type))
	e.Long(int64(p.Zxid))
	e.Buffer(p.Data)
	if p.Auth == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(p.Auth)))
	for _, id := range p.Auth {
		id.Encode(e)
	}
}

// Decode reads the packet; a null buffer or vector (-1) reads as nil.
func (p *QuorumPacket) Decode(d *Decoder) {
	p.Type = PacketType(d.Int())
	p.Zxid = Zxid(d.Long())
	p.Data = d.BufferCopy()
	n := d.Count(8)
	if n < 0 || d.Err() != nil {
		p.Auth = nil
		return
	}
	p.Auth = make([]Id, n)
	for i := range p.Auth {
		p.Auth[i].Decode(d)
	}
}

// String describes the packet for logs.
func (p *QuorumPacket) String() string {
	return fmt.Sprintf("%v zxid=%v len=%d", p.Type, p.Zxid, len(p.Data))
}

// LearnerInfo is the data of FOLLOWERINFO and OBSERVERINFO (§5.3).
type LearnerInfo struct {
	ServerID        int64
	ProtocolVersion int32
	ConfigVersion   int64
}

// Encode writes the record.
func (l *LearnerInfo) Encode(e *Encoder) {
	e.Long(l.ServerID)
	e.Int(l.ProtocolVersion)
	e.Long(l.ConfigVersion)
}

// Decode reads the record. Pre-3.4 learners send only the server id; the
// missing fields read as zero.
func (l *LearnerInfo) Decode(d *Decoder) {
	l.ServerID = d.Long()
	if d.Err() == nil && d.Remaining() >= 4 {
		l.ProtocolVersion = d.Int()
	}
	if d.Err() == nil && d.Remaining() >= 8 {
		l.ConfigVersion = d.Long()
	}
}

// ForwardedRequest is the data of a REQUEST packet: a client request a
// learner forwards to the leader (§5.7). Body is the client request record
// without its RequestHeader.
type ForwardedRequest struct {
	Session SessionID
	Cxid    int32
	Op      OpCode
	Body    []byte
}

// Encode writes the request.
func (r *ForwardedRequest) Encode(e *Encoder) {
	e.Long(int64(r.Session))
	e.Int(r.Cxid)
	e.Int(int32(r.Op))
	e.Raw(r.Body)
}

// Decode reads the request; the body is the rest of the buffer.
func (r *ForwardedRequest) Decode(d *Decoder) {
	r.Session = SessionID(d.Long())
	r.Cxid = d.Int()
	r.Op = OpCode(d.Int())
	if d.Err() == nil {
		r.Body = append([]byte(nil), d.Rest()...)
	}
}

// SessionTouch is one record of a PING reply's touch table (§5.6).
type SessionTouch struct {
	Session SessionID
	Timeout int32
}

// EncodeTouches writes a touch table: records back to back, no count. An
// empty table is an empty, non-nil buffer (length 0 on the wire, not -1):
// a Java leader reads a PING reply's data without a null check (§5.6).
func EncodeTouches(touches []SessionTouch) []byte {
	if len(touches) == 0 {
		return []byte{}
	}
	e := NewEncoder(make([]byte, 0, 12*len(touches)))
	for _, t := range touches {
		e.Long(int64(t.Session))
		e.Int(t.Timeout)
	}
	return e.Bytes()
}

// DecodeTouches reads a touch table.
func DecodeTouches(b []byte) ([]SessionTouch, error) {
	if len(b)%12 != 0 {
		return nil, fmt.Errorf("jute: touch table of %d bytes is not a whole number of 12-byte records", len(b))
	}
	d := NewDecoder(b)
	out := make([]SessionTouch, 0, len(b)/12)
	for d.Remaining() > 0 {
		out = append(out, SessionTouch{Session: SessionID(d.Long()), Timeout: d.Int()})
	}
	return out, d.Err()
}

// Revalidate is the data of a learner's REVALIDATE request (§5.9).
type Revalidate struct {
	Session SessionID
	Timeout int32
}

// Encode writes the request.
func (r *Revalidate) Encode(e *Encoder) { e.Long(int64(r.Session)); e.Int(r.Timeout) }

// Decode reads the request.
func (r *Revalidate) Decode(d *Decoder) { r.Session = SessionID(d.Long()); r.Timeout = d.Int() }

// RevalidateReply is the data of the leader's REVALIDATE answer (§5.9).
type RevalidateReply struct {
	Session SessionID
	Valid   bool
}

// Encode writes the answer.
func (r *RevalidateReply) Encode(e *Encoder) { e.Long(int64(r.Session)); e.Bool(r.Valid) }

// Decode reads the answer.
func (r *RevalidateReply) Decode(d *Decoder) { r.Session = SessionID(d.Long()); r.Valid = d.Bool() }

// SnapshotEndMarker is the string that follows the raw snapshot of a SNAP
// sync (§3.9); a learner that does not find it aborts the sync.
const SnapshotEndMarker = "BenWasHere"

// ErrBadAckEpoch reports an ACKEPOCH whose data is not a 4-byte epoch.
var ErrBadAckEpoch = errors.New("jute: ACKEPOCH data is not a 4-byte epoch")

// AckEpochData encodes ACKEPOCH's data: the learner's current epoch, or -1
// when it had already accepted the proposed epoch (§5.3).
func AckEpochData(epoch int32) []byte {
	e := NewEncoder(make([]byte, 0, 4))
	e.Int(epoch)
	return e.Bytes()
}

// DecodeAckEpoch reads ACKEPOCH's data.
func DecodeAckEpoch(b []byte) (int32, error) {
	if len(b) != 4 {
		return 0, ErrBadAckEpoch
	}
	d := NewDecoder(b)
	return d.Int(), nil
}

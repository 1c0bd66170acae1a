package zab

import (
	"slices"

	"github.com/zkd/zkd/internal/jute"
)

// Config is what both roles need to know about the ensemble.
type Config struct {
	// ID is this server's id (myid).
	ID int64
	// Voters are the ids of the participants; everyone else is an
	// observer. A quorum is a majority of Voters.
	Voters []int64
	// InitLimit bounds, in ticks, discovery and synchronization.
	InitLimit int
	// SyncLimit bounds, in ticks, how long a peer may stay silent (and a
	// proposal unacknowledged) once synchronized.
	SyncLimit int
	// CommitLogCount is how many committed proposals the leader keeps in
	// memory to DIFF a learner that is a little behind; 0 means 500 like
	// ZooKeeper's default.
	CommitLogCount int
}

// IsVoter reports whether id is a participant.
func (c *Config) IsVoter(id int64) bool { return slices.Contains(c.Voters, id) }

// IsQuorum reports whether the voters among ids form a majority of Voters.
func (c *Config) IsQuorum(ids []int64) bool {
	n := 0
	for _, v := range c.Voters {
		if slices.Contains(ids, v) {
			n++
		}
	}
	return n > len(c.Voters)/2
}

func (c *Config) commitLogCount() int {
	if c.CommitLogCount > 0 {
		return c.CommitLogCount
	}
	return 500
}

// Proposal is one transaction as ZAB carries it: its zxid, its serialized
// form (the log payload, byte for byte the PROPOSAL data) and the decoded
// transaction.
type Proposal struct {
	Zxid jute.Zxid
	Data []byte
	Txn  *jute.Txn
}

// NewProposal serializes txn into a Proposal.
func NewProposal(txn *jute.Txn) Proposal {
	return Proposal{Zxid: txn.Header.Zxid, Data: jute.Encode(txn), Txn: txn}
}

// Message is a packet for one peer. When Snapshot is set (a SNAP sync) the
// driver writes the snapshot stream and the end marker (§3.9) right after
// the packet, before any later message to that peer.
type Message struct {
	To       int64
	Packet   jute.QuorumPacket
	Snapshot bool
}

// Delivery is one step of the committed history, in order: a committed
// transaction to apply, or (learners) the answer to the oldest sync this
// server forwarded.
type Delivery struct {
	Txn  *jute.Txn
	Sync bool
}

// Request is a client request a learner forwarded to the leader (§5.7).
type Request struct {
	From int64
	jute.ForwardedRequest
	Auth []jute.Id
}

// RevalidateRequest asks the leader's server whether a session is alive,
// for a client that moved to learner From (§5.9); the answer goes back
// through [Leader.Revalidated].
type RevalidateRequest struct {
	From int64
	jute.Revalidate
}

// Ready is a batch of work for the driver; see the package doc for the
// order in which it must be executed.
type Ready struct {
	// AcceptedEpoch and CurrentEpoch, when non-zero, must be persisted
	// before Messages are sent.
	AcceptedEpoch, CurrentEpoch int64

	// Learner sync (§5.4): Truncate the log after TruncateTo and reload the
	// state from disk; or load the snapshot the leader sent (which the
	// driver read from the stream right after SNAP) as of SnapshotZxid.
	Truncate     bool
	TruncateTo   jute.Zxid
	LoadSnapshot bool
	SnapshotZxid jute.Zxid
	Snapshot     any
	// TakeSnapshot asks for a snapshot of the state after Deliveries, made
	// durable before Messages are sent (a learner at NEWLEADER after SNAP or
	// TRUNC).
	TakeSnapshot bool

	// Deliveries are applied in order.
	Deliveries []Delivery
	// Messages are sent in order per peer.
	Messages []Message
	// Append is logged asynchronously; report durability with Persisted.
	Append []Proposal

	// Leader only.
	// SnapshotFor lists learners that need a SNAP sync: the driver takes a
	// snapshot of the applied state and calls Leader.SnapshotReady.
	SnapshotFor []int64
	// Disconnect lists learners whose links must be closed.
	Disconnect []int64
	// Requests are forwarded client requests for the leader's server to
	// prepare and Propose.
	Requests []Request
	// Revalidate lists sessions learners asked about.
	Revalidate []RevalidateRequest
	// Touches are session touches reported by learners (§5.6).
	Touches []jute.SessionTouch

	// Learner only: answers to this learner's REVALIDATE requests.
	Revalidated []jute.RevalidateReply

	// Serving is set once: the leader has a quorum synchronized, or the
	// learner got UPTODATE; client requests may be served from now on.
	Serving bool
	// Err, when set, ends this role: the driver goes back to LOOKING.
	Err error
}

// empty reports whether there is nothing to do.
func (r *Ready) empty() bool {
	return r.AcceptedEpoch == 0 && r.CurrentEpoch == 0 && !r.Truncate && !r.LoadSnapshot && !r.TakeSnapshot &&
		len(r.Deliveries) == 0 && len(r.Messages) == 0 && len(r.Append) == 0 && len(r.SnapshotFor) == 0 &&
		len(r.Disconnect) == 0 && len(r.Requests) == 0 && len(r.Revalidate) == 0 && len(r.Touches) == 0 &&
		len(r.Revalidated) == 0 && !r.Serving && r.Err == nil
}

func packet(t jute.PacketType, zxid jute.Zxid, data []byte) jute.QuorumPacket {
	return jute.QuorumPacket{Type: t, Zxid: zxid, Data: data}
}

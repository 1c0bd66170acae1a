// Package session keeps the table of client sessions: ids, passwords,
// negotiated timeouts and expiry by tick buckets, as ZooKeeper's session
// tracker does (client-protocol.md §2.4, §14; storage-and-quorum.md §6).
//
// Time is an input (milliseconds); the table never reads a clock. It is not
// safe for concurrent use; the server's apply loop owns it.
package session

import (
	"slices"

	"github.com/zkd/zkd/internal/jute"
)

// PasswordLen is the length of a session password.
const PasswordLen = 16

// passwordSecret is the constant ZooKeeper mixes into each session id to
// seed its password generator; using it makes passwords of sessions created
// by Apache ZooKeeper verifiable here.
const passwordSecret = 0xB3415C00

// ZooKeeperPassword returns the password ZooKeeper gives session id: 16
// bytes of Java's java.util.Random seeded with id XOR 0xB3415C00
// (client-protocol.md §2.4). Anyone who knows the id can compute it;
// [Passwords] decides when zkd uses it.
func ZooKeeperPassword(id jute.SessionID) []byte {
	const (
		mult = 0x5DEECE66D
		mask = 1<<48 - 1
	)
	seed := (uint64(int64(id)^passwordSecret) ^ mult) & mask
	out := make([]byte, PasswordLen)
	for i := 0; i < PasswordLen; {
		seed = (seed*mult + 0xB) & mask
		rnd := int32(seed >> 16)
		for n := min(PasswordLen-i, 4); n > 0; n-- {
			out[i] = byte(rnd)
			rnd >>= 8
			i++
		}
	}
	return out
}

// InitialID returns the first session id a server hands out: its id in the
// top byte, the low 40 bits of the start time (ms) in bits 16–55 and a zero
// counter (§2.4 / §6.1).
func InitialID(serverID int64, nowMS int64) jute.SessionID {
	return jute.SessionID(serverID<<56 | (nowMS&(1<<40-1))<<16)
}

// Session is one client session.
type Session struct {
	ID      jute.SessionID
	Timeout int32 // negotiated, ms
	// Closing is set once a close or expiry is under way: the session takes
	// no more requests.
	Closing  bool
	deadline int64
}

// Deadline returns the time (ms) at which the session expires unless
// touched.
func (s *Session) Deadline() int64 { return s.deadline }

// Table holds the live sessions.
type Table struct {
	tickMS   int64
	nextID   jute.SessionID
	sessions map[jute.SessionID]*Session
	buckets  map[int64][]jute.SessionID // deadline → sessions (may hold stale ids)
}

// NewTable returns an empty table with expiry buckets of tickMS.
func NewTable(tickMS int64, firstID jute.SessionID) *Table {
	return &Table{
		tickMS:   tickMS,
		nextID:   firstID,
		sessions: make(map[jute.SessionID]*Session),
		buckets:  make(map[int64][]jute.SessionID),
	}
}

// NextID allocates a fresh session id.
func (t *Table) NextID() jute.SessionID {
	for {
		t.nextID++
		if _, taken := t.sessions[t.nextID]; !taken && t.nextID != 0 {
			return t.nextID
		}
	}
}

// Get returns the session with id.
func (t *Table) Get(id jute.SessionID) (*Session, bool) {
	s, ok := t.sessions[id]
	return s, ok
}

// Len returns the number of sessions.
func (t *Table) Len() int { return len(t.sessions) }

// Add records a session (createSession applied) and starts its clock.
func (t *Table) Add(id jute.SessionID, timeout int32, nowMS int64) *Session {
	s := &Session{ID: id, Timeout: timeout}
	t.sessions[id] = s
	t.Touch(id, nowMS)
	return s
}

// Touch pushes a session's deadline out to now + timeout, rounded up to
// the next tick boundary (§14.2). It reports whether the session is live.
func (t *Table) Touch(id jute.SessionID, nowMS int64) bool {
	s, ok := t.sessions[id]
	if !ok || s.Closing {
		return false
	}
	d := ((nowMS+int64(s.Timeout))/t.tickMS + 1) * t.tickMS
	if d != s.deadline {
		s.deadline = d
		t.buckets[d] = append(t.buckets[d], id)
	}
	return true
}

// SetTimeout changes a session's timeout (a reconnect renegotiated it).
func (t *Table) SetTimeout(id jute.SessionID, timeout int32, nowMS int64) {
	if s, ok := t.sessions[id]; ok {
		s.Timeout = timeout
		t.Touch(id, nowMS)
	}
}

// Remove forgets a session (closeSession applied).
func (t *Table) Remove(id jute.SessionID) { delete(t.sessions, id) }

// Expired returns the live sessions whose deadline has passed at nowMS, in
// id order, and marks them closing.
func (t *Table) Expired(nowMS int64) []jute.SessionID {
	var out []jute.SessionID
	for d, ids := range t.buckets {
		if d > nowMS {
			continue
		}
		for _, id := range ids {
			if s, ok := t.sessions[id]; ok && s.deadline == d && !s.Closing {
				s.Closing = true
				out = append(out, id)
			}
		}
		delete(t.buckets, d)
	}
	slices.Sort(out)
	return out
}

// All returns every session in id order.
func (t *Table) All() []*Session {
	out := make([]*Session, 0, len(t.sessions))
	for _, s := range t.sessions {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Session) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// Untrack forgets every deadline, so that nothing expires here: a learner
// leaves expiry to its leader (storage spec §6.2). Touch starts tracking
// again.
func (t *Table) Untrack() {
	clear(t.buckets)
	for _, s := range t.sessions {
		s.deadline = 0
	}
}

// RestartClocks gives every live session a full timeout from nowMS, as a
// new leader does (storage spec §6.2): sessions survive a leader change.
func (t *Table) RestartClocks(nowMS int64) {
	t.Untrack()
	for id := range t.sessions {
		t.Touch(id, nowMS)
	}
}

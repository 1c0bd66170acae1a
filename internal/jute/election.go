package jute

import (
	"errors"
	"fmt"
)

// PeerState is a quorum peer's state as carried in an election
// notification (spec storage-and-quorum.md §4.3, §4.7).
type PeerState int32

// Peer states with their wire values.
const (
	Looking   PeerState = 0 // electing a leader
	Following PeerState = 1 // a participant following the elected leader
	Leading   PeerState = 2 // the elected leader
	Observing PeerState = 3 // an observer following the elected leader
)

// String returns the state's name as ZooKeeper prints it ("LOOKING", …),
// or "PeerState(n)" for a value outside the four known ones.
func (s PeerState) String() string {
	switch s {
	case Looking:
		return "LOOKING"
	case Following:
		return "FOLLOWING"
	case Leading:
		return "LEADING"
	case Observing:
		return "OBSERVING"
	}
	return fmt.Sprintf("PeerState(%d)", int32(s))
}

// Valid reports whether s is one of the four known states.
func (s PeerState) Valid() bool { return s >= Looking && s <= Observing }

// NotificationVersion is the notification format version zkd writes
// (spec §4.3): the one that carries the sender's config text.
const NotificationVersion = 2

// Sizes of the notification formats a receiver accepts (spec §4.3).
const (
	notificationMin  = 28 // state, leader, zxid, round: the oldest format
	notificationV0   = 40 // adds peerEpoch and an unread version word
	notificationHead = 44 // version 2 header up to and including the config length
)

// ErrBadNotification is returned (wrapped) for an election message that
// must be dropped: too short, with an impossible config length, or with an
// unknown peer state.
var ErrBadNotification = errors.New("jute: malformed election notification")

// Notification is one fast-leader-election message: the sender's state and
// the vote it currently holds (spec §4.3). It travels as the payload of an
// election-port frame; the frame's length prefix is not part of it.
type Notification struct {
	State     PeerState // sender's state
	Leader    int64     // proposed leader sid
	Zxid      Zxid      // proposed leader's last logged zxid
	Round     int64     // sender's logical clock (ZooKeeper's electionEpoch)
	PeerEpoch int64     // proposed leader's current epoch
	Version   int32     // format version the message was written in; 0 for the 28- and 40-byte formats
	Config    string    // sender's committed config text (spec §7.2); only in version 2 and later
}

// Encode returns the notification in the version-2 layout: a 44-byte header
// followed by the config text. The Version field is not consulted: the
// message always says version 2, the only layout zkd writes.
func (n *Notification) Encode() []byte {
	e := NewEncoder(make([]byte, 0, notificationHead+len(n.Config)))
	e.Int(int32(n.State))
	e.Long(n.Leader)
	e.Long(int64(n.Zxid))
	e.Long(n.Round)
	e.Long(n.PeerEpoch)
	e.Int(NotificationVersion)
	e.String(n.Config)
	return e.Bytes()
}

// DecodeNotification reads an election notification with ZooKeeper's
// compatibility rules (spec §4.3):
//
//   - fewer than 28 bytes: error;
//   - exactly 28 bytes: the oldest format; PeerEpoch is the zxid's epoch and
//     Version is 0;
//   - exactly 40 bytes: PeerEpoch is present, Version is taken as 0 and the
//     last four bytes are not read;
//   - otherwise the version word is read, and when it is above 1 a config
//     length and that many bytes of config text follow; a negative length
//     or one past the end of b is an error;
//   - a state other than the four known ones is an error.
//
// Bytes after the last field read are ignored. Every error wraps
// ErrBadNotification; the caller drops the message and carries on.
func DecodeNotification(b []byte) (Notification, error) {
	var n Notification
	if len(b) < notificationMin {
		return n, fmt.Errorf("%w: %d bytes, need at least %d", ErrBadNotification, len(b), notificationMin)
	}
	d := NewDecoder(b)
	n.State = PeerState(d.Int())
	n.Leader = d.Long()
	n.Zxid = Zxid(d.Long())
	n.Round = d.Long()
	switch len(b) {
	case notificationMin:
		n.PeerEpoch = int64(n.Zxid) >> 32
	case notificationV0:
		n.PeerEpoch = d.Long()
	default:
		n.PeerEpoch = d.Long()
		n.Version = d.Int()
		if n.Version > 1 {
			c := d.Int()
			if d.Err() != nil {
				break
			}
			if c < 0 || int(c) > d.Remaining() {
				return Notification{}, fmt.Errorf("%w: config length %d with %d bytes left", ErrBadNotification, c, d.Remaining())
			}
			n.Config = string(d.Rest()[:c])
		}
	}
	if err := d.Err(); err != nil {
		return Notification{}, fmt.Errorf("%w: %d bytes: %v", ErrBadNotification, len(b), err)
	}
	if !n.State.Valid() {
		return Notification{}, fmt.Errorf("%w: unknown peer state %d", ErrBadNotification, int32(n.State))
	}
	return n, nil
}

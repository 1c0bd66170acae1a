package client

// This file holds the package's own exported data types and is the one
// place that converts them to and from jute records.

import (
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/zkd/zkd/internal/jute"
)

// AnyVersion, passed as the expected version to Delete, Set, SetACL or a
// multi op, matches every version.
const AnyVersion int32 = -1

// Stat is a znode's metadata (client-protocol.md §5.1).
type Stat struct {
	Czxid          int64 // zxid of the transaction that created the node
	Mzxid          int64 // zxid of the last data change
	Ctime          int64 // creation time, ms since the Unix epoch
	Mtime          int64 // time of the last data change, ms since the Unix epoch
	Version        int32 // number of data changes
	Cversion       int32 // child version (§5.5)
	Aversion       int32 // number of ACL changes
	EphemeralOwner int64 // session id of the owner of an ephemeral node, else 0
	DataLength     int32 // length of the data
	NumChildren    int32 // number of children
	Pzxid          int64 // zxid of the last child creation or deletion
}

// Created returns Ctime as a time.
func (s Stat) Created() time.Time { return time.UnixMilli(s.Ctime) }

// Modified returns Mtime as a time.
func (s Stat) Modified() time.Time { return time.UnixMilli(s.Mtime) }

// Perm is a set of ACL permission bits.
type Perm int32

// Permissions (§5.3).
const (
	PermRead   Perm = 1 << iota // getData, getChildren, exists
	PermWrite                   // setData
	PermCreate                  // create children
	PermDelete                  // delete children
	PermAdmin                   // setACL
	PermAll    = PermRead | PermWrite | PermCreate | PermDelete | PermAdmin
)

// String returns the permissions as zkCli prints them: letters out of
// "cdrwa".
func (p Perm) String() string {
	var b []byte
	for _, l := range []struct {
		bit Perm
		c   byte
	}{{PermCreate, 'c'}, {PermDelete, 'd'}, {PermRead, 'r'}, {PermWrite, 'w'}, {PermAdmin, 'a'}} {
		if p&l.bit != 0 {
			b = append(b, l.c)
		}
	}
	return string(b)
}

// ACL is one access-control entry: Perms granted to the identity ID of
// Scheme ("world", "digest", "ip", "auth", ...).
type ACL struct {
	Perms  Perm
	Scheme string
	ID     string
}

// WorldACL returns the list granting perms to everyone (world:anyone);
// WorldACL(PermAll) is ZooKeeper's OPEN_ACL_UNSAFE.
func WorldACL(perms Perm) []ACL { return []ACL{{Perms: perms, Scheme: "world", ID: "anyone"}} }

// AuthACL returns the list granting perms to every identity the caller has
// authenticated as (the auth pseudo-scheme); AuthACL(PermAll) is
// ZooKeeper's CREATOR_ALL_ACL.
func AuthACL(perms Perm) []ACL { return []ACL{{Perms: perms, Scheme: "auth", ID: ""}} }

// DigestACL returns the list granting perms to the digest user who
// authenticates with AddAuth(ctx, "digest", []byte(user+":"+password)).
func DigestACL(perms Perm, user, password string) []ACL {
	sum := sha1.Sum([]byte(user + ":" + password))
	return []ACL{{Perms: perms, Scheme: "digest", ID: user + ":" + base64.StdEncoding.EncodeToString(sum[:])}}
}

// CreateMode is the kind of node Create makes (§5.4).
type CreateMode int32

// Create modes; the values are ZooKeeper's flags.
const (
	ModePersistent                  CreateMode = 0
	ModeEphemeral                   CreateMode = 1 // deleted when the session ends
	ModePersistentSequential        CreateMode = 2 // name gets a 10-digit counter suffix
	ModeEphemeralSequential         CreateMode = 3
	ModeContainer                   CreateMode = 4 // deleted by the server once its last child is gone
	ModePersistentWithTTL           CreateMode = 5 // deleted after a TTL without changes or children (CreateTTL)
	ModePersistentSequentialWithTTL CreateMode = 6
)

// String returns ZooKeeper's name for the mode.
func (m CreateMode) String() string {
	switch m {
	case ModePersistent:
		return "PERSISTENT"
	case ModeEphemeral:
		return "EPHEMERAL"
	case ModePersistentSequential:
		return "PERSISTENT_SEQUENTIAL"
	case ModeEphemeralSequential:
		return "EPHEMERAL_SEQUENTIAL"
	case ModeContainer:
		return "CONTAINER"
	case ModePersistentWithTTL:
		return "PERSISTENT_WITH_TTL"
	case ModePersistentSequentialWithTTL:
		return "PERSISTENT_SEQUENTIAL_WITH_TTL"
	}
	return "CreateMode(" + strconv.Itoa(int(m)) + ")"
}

func (m CreateMode) isTTL() bool {
	return m == ModePersistentWithTTL || m == ModePersistentSequentialWithTTL
}

// EventType says what happened to a watched node (§6.1).
type EventType int32

// Event types. The first five come from the server; the WatchRemoved ones
// are made by the Client when it removes a watch.
const (
	EventNone                   EventType = -1 // no node event: the watch ended (see Event.State)
	EventNodeCreated            EventType = 1
	EventNodeDeleted            EventType = 2
	EventNodeDataChanged        EventType = 3
	EventNodeChildrenChanged    EventType = 4
	EventDataWatchRemoved       EventType = 5
	EventChildWatchRemoved      EventType = 6
	EventPersistentWatchRemoved EventType = 7
)

// String returns ZooKeeper's name for the event type.
func (t EventType) String() string {
	switch t {
	case EventDataWatchRemoved:
		return "DataWatchRemoved"
	case EventChildWatchRemoved:
		return "ChildWatchRemoved"
	case EventPersistentWatchRemoved:
		return "PersistentWatchRemoved"
	}
	return jute.EventType(t).String()
}

// State is the state of a Client's session; the values are ZooKeeper's
// KeeperState numbers (§6.2).
type State int32

// States.
const (
	StateDisconnected      State = 0    // reconnecting; the session may still be alive
	StateConnected         State = 3    // SyncConnected
	StateAuthFailed        State = 4    // the server refused credentials; the Client has stopped
	StateConnectedReadOnly State = 5    // connected to a read-only server
	StateSaslAuthenticated State = 6    // an event only: the connection's SASL exchange succeeded (WithSASL); the Client stays connected
	StateClosed            State = 7    // Close was called
	StateExpired           State = -112 // the session has expired; the Client has stopped
)

// String returns ZooKeeper's name for the state.
func (s State) String() string {
	switch s {
	case StateDisconnected:
		return "Disconnected"
	case StateConnected:
		return "SyncConnected"
	case StateAuthFailed:
		return "AuthFailed"
	case StateConnectedReadOnly:
		return "ConnectedReadOnly"
	case StateSaslAuthenticated:
		return "SaslAuthenticated"
	case StateClosed:
		return "Closed"
	case StateExpired:
		return "Expired"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Event is a watch notification.
type Event struct {
	Type  EventType
	State State  // StateConnected for server events; why the watch ended for EventNone
	Path  string // the node the event is about (empty for EventNone)
	// Err is set on the final EventNone of a watch that ended because the
	// Client stopped: ErrSessionExpired, ErrAuthFailed or ErrClosed.
	Err error
}

// StateEvent reports a change of the Client's State.
type StateEvent struct {
	State     State
	SessionID int64
	Server    string // the server's address when connected
	Err       error  // why the connection or the Client ended, if known
}

// ClientInfo is one identity of the connection, as WhoAmI reports it.
type ClientInfo struct {
	Scheme string
	User   string
}

// WatcherType selects the watches RemoveWatches and CheckWatches act on
// (§6.7).
type WatcherType int32

// Watcher types.
const (
	WatcherChildren            WatcherType = 1 // one-shot child watches (ChildrenW)
	WatcherData                WatcherType = 2 // one-shot data and exist watches (GetW, ExistsW)
	WatcherAny                 WatcherType = 3 // every watch on the path
	WatcherPersistent          WatcherType = 4 // AddWatch(ctx, path, false); needs a 3.9 server or zkd
	WatcherPersistentRecursive WatcherType = 5 // AddWatch(ctx, path, true); needs a 3.9 server or zkd
)

func statFromJute(s *jute.Stat) Stat {
	return Stat{
		Czxid: int64(s.Czxid), Mzxid: int64(s.Mzxid), Ctime: s.Ctime, Mtime: s.Mtime,
		Version: s.Version, Cversion: s.Cversion, Aversion: s.Aversion, EphemeralOwner: s.EphemeralOwner,
		DataLength: s.DataLength, NumChildren: s.NumChildren, Pzxid: int64(s.Pzxid),
	}
}

// aclToJute converts an ACL list; nil becomes an empty (not null) vector,
// which the server rejects with INVALIDACL.
func aclToJute(acl []ACL) []jute.ACL {
	out := make([]jute.ACL, len(acl))
	for i, a := range acl {
		out[i] = jute.ACL{Perms: int32(a.Perms), ID: jute.Id{Scheme: a.Scheme, ID: a.ID}}
	}
	return out
}

func aclFromJute(acl []jute.ACL) []ACL {
	out := make([]ACL, len(acl))
	for i, a := range acl {
		out[i] = ACL{Perms: Perm(a.Perms), Scheme: a.ID.Scheme, ID: a.ID.ID}
	}
	return out
}

func eventFromJute(ev *jute.WatcherEvent) Event {
	return Event{Type: EventType(ev.Type), State: State(ev.State), Path: ev.Path}
}

func clientInfoFromJute(infos []jute.ClientInfo) []ClientInfo {
	out := make([]ClientInfo, len(infos))
	for i, c := range infos {
		out[i] = ClientInfo{Scheme: c.AuthScheme, User: c.User}
	}
	return out
}

// createRecord picks the opcode and request record for a create (§4.3.1):
// containers use createContainer, TTL modes (or a TTL) createTTL, and
// everything else create2 so the Stat comes back.
func createRecord(path string, data []byte, mode CreateMode, acl []ACL, ttl time.Duration) (jute.OpCode, jute.Record) {
	switch {
	case mode == ModeContainer:
		return jute.OpCreateContainer, &jute.CreateRequest{Path: path, Data: data, ACL: aclToJute(acl), Flags: int32(mode)}
	case mode.isTTL() || ttl != 0:
		return jute.OpCreateTTL, &jute.CreateTTLRequest{Path: path, Data: data, ACL: aclToJute(acl), Flags: int32(mode), TTL: ttl.Milliseconds()}
	}
	return jute.OpCreate2, &jute.CreateRequest{Path: path, Data: data, ACL: aclToJute(acl), Flags: int32(mode)}
}

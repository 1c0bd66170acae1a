package jute

// This file holds the client-port records, spec client-protocol.md §2, §3,
// §4.2, §5 and §6.3. Field order is wire order.

// ConnectRequest is the first frame a client sends (no RequestHeader).
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    Zxid
	Timeout         int32
	SessionID       SessionID
	Passwd          []byte
	ReadOnly        bool
	// HasReadOnly reports whether the optional trailing readOnly byte was
	// present; the response carries the byte only if the request did.
	HasReadOnly bool
}

// Encode writes the request, with the readOnly byte iff HasReadOnly.
func (r *ConnectRequest) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Long(int64(r.LastZxidSeen))
	e.Int(r.Timeout)
	e.Long(int64(r.SessionID))
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

// Decode reads the request and detects the optional readOnly byte.
func (r *ConnectRequest) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.LastZxidSeen = Zxid(d.Long())
	r.Timeout = d.Int()
	r.SessionID = SessionID(d.Long())
	r.Passwd = d.BufferCopy()
	if d.Err() == nil && d.Remaining() > 0 {
		r.HasReadOnly = true
		r.ReadOnly = d.Bool()
	}
}

// ConnectResponse is the server's answer to a ConnectRequest.
type ConnectResponse struct {
	ProtocolVersion int32
	Timeout         int32
	SessionID       SessionID
	Passwd          []byte
	ReadOnly        bool
	HasReadOnly     bool
}

// Encode writes the response.
func (r *ConnectResponse) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Int(r.Timeout)
	e.Long(int64(r.SessionID))
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

// Decode reads the response and detects the optional readOnly byte.
func (r *ConnectResponse) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.Timeout = d.Int()
	r.SessionID = SessionID(d.Long())
	r.Passwd = d.BufferCopy()
	if d.Err() == nil && d.Remaining() > 0 {
		r.HasReadOnly = true
		r.ReadOnly = d.Bool()
	}
}

// RequestHeader precedes every request after the handshake.
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

// Encode writes the header.
func (h *RequestHeader) Encode(e *Encoder) { e.Int(h.Xid); e.Int(int32(h.Type)) }

// Decode reads the header.
func (h *RequestHeader) Decode(d *Decoder) { h.Xid = d.Int(); h.Type = OpCode(d.Int()) }

// ReplyHeader precedes every reply and notification.
type ReplyHeader struct {
	Xid  int32
	Zxid Zxid
	Err  Code
}

// Encode writes the header.
func (h *ReplyHeader) Encode(e *Encoder) { e.Int(h.Xid); e.Long(int64(h.Zxid)); e.Int(int32(h.Err)) }

// Decode reads the header.
func (h *ReplyHeader) Decode(d *Decoder) {
	h.Xid = d.Int()
	h.Zxid = Zxid(d.Long())
	h.Err = Code(d.Int())
}

// Stat is a znode's metadata as clients see it (68 bytes on the wire).
type Stat struct {
	Czxid          Zxid
	Mzxid          Zxid
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          Zxid
}

// Encode writes the Stat.
func (s *Stat) Encode(e *Encoder) {
	e.Long(int64(s.Czxid))
	e.Long(int64(s.Mzxid))
	e.Long(s.Ctime)
	e.Long(s.Mtime)
	e.Int(s.Version)
	e.Int(s.Cversion)
	e.Int(s.Aversion)
	e.Long(s.EphemeralOwner)
	e.Int(s.DataLength)
	e.Int(s.NumChildren)
	e.Long(int64(s.Pzxid))
}

// Decode reads the Stat.
func (s *Stat) Decode(d *Decoder) {
	s.Czxid = Zxid(d.Long())
	s.Mzxid = Zxid(d.Long())
	s.Ctime = d.Long()
	s.Mtime = d.Long()
	s.Version = d.Int()
	s.Cversion = d.Int()
	s.Aversion = d.Int()
	s.EphemeralOwner = d.Long()
	s.DataLength = d.Int()
	s.NumChildren = d.Int()
	s.Pzxid = Zxid(d.Long())
}

// StatPersisted is the Stat a server stores (snapshots): no dataLength or
// numChildren, and cversion/ephemeralOwner hold internal values (§5.5, §5.7).
type StatPersisted struct {
	Czxid          Zxid
	Mzxid          Zxid
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	Pzxid          Zxid
}

// Encode writes the StatPersisted.
func (s *StatPersisted) Encode(e *Encoder) {
	e.Long(int64(s.Czxid))
	e.Long(int64(s.Mzxid))
	e.Long(s.Ctime)
	e.Long(s.Mtime)
	e.Int(s.Version)
	e.Int(s.Cversion)
	e.Int(s.Aversion)
	e.Long(s.EphemeralOwner)
	e.Long(int64(s.Pzxid))
}

// Decode reads the StatPersisted.
func (s *StatPersisted) Decode(d *Decoder) {
	s.Czxid = Zxid(d.Long())
	s.Mzxid = Zxid(d.Long())
	s.Ctime = d.Long()
	s.Mtime = d.Long()
	s.Version = d.Int()
	s.Cversion = d.Int()
	s.Aversion = d.Int()
	s.EphemeralOwner = d.Long()
	s.Pzxid = Zxid(d.Long())
}

// Id is an authentication identity: a scheme and an id within it.
type Id struct {
	Scheme string
	ID     string
}

// Encode writes the Id.
func (i *Id) Encode(e *Encoder) { e.String(i.Scheme); e.String(i.ID) }

// Decode reads the Id.
func (i *Id) Decode(d *Decoder) { i.Scheme = d.String(); i.ID = d.String() }

// ACL is one access-control entry: permission bits granted to an Id.
type ACL struct {
	Perms int32
	ID    Id
}

// Encode writes the ACL entry.
func (a *ACL) Encode(e *Encoder) { e.Int(a.Perms); a.ID.Encode(e) }

// Decode reads the ACL entry.
func (a *ACL) Decode(d *Decoder) { a.Perms = d.Int(); a.ID.Decode(d) }

// EncodeACLs writes a vector of ACL entries (nil as null).
func EncodeACLs(e *Encoder, acls []ACL) {
	if acls == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(acls)))
	for i := range acls {
		acls[i].Encode(e)
	}
}

// DecodeACLs reads a vector of ACL entries (null as nil).
func DecodeACLs(d *Decoder) []ACL {
	n := d.Count(12)
	if n < 0 {
		return nil
	}
	out := make([]ACL, n)
	for i := range out {
		out[i].Decode(d)
	}
	if d.Err() != nil {
		return nil
	}
	return out
}

// EncodeIds writes a vector of Ids (nil as null).
func EncodeIds(e *Encoder, ids []Id) {
	if ids == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(ids)))
	for i := range ids {
		ids[i].Encode(e)
	}
}

// DecodeIds reads a vector of Ids (null as nil).
func DecodeIds(d *Decoder) []Id {
	n := d.Count(8)
	if n < 0 {
		return nil
	}
	out := make([]Id, n)
	for i := range out {
		out[i].Decode(d)
	}
	if d.Err() != nil {
		return nil
	}
	return out
}

// CreateRequest is the body of create, create2 and createContainer.
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
}

// Encode writes the request.
func (r *CreateRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
}

// Decode reads the request.
func (r *CreateRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.BufferCopy()
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
}

// CreateTTLRequest is the body of createTTL.
type CreateTTLRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

// Encode writes the request.
func (r *CreateTTLRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
	e.Long(r.TTL)
}

// Decode reads the request.
func (r *CreateTTLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.BufferCopy()
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
	r.TTL = d.Long()
}

// PathResponse carries one path: CreateResponse and SyncResponse.
type PathResponse struct{ Path string }

// Encode writes the response.
func (r *PathResponse) Encode(e *Encoder) { e.String(r.Path) }

// Decode reads the response.
func (r *PathResponse) Decode(d *Decoder) { r.Path = d.String() }

// Create2Response is the answer to create2, createContainer and createTTL.
type Create2Response struct {
	Path string
	Stat Stat
}

// Encode writes the response.
func (r *Create2Response) Encode(e *Encoder) { e.String(r.Path); r.Stat.Encode(e) }

// Decode reads the response.
func (r *Create2Response) Decode(d *Decoder) { r.Path = d.String(); r.Stat.Decode(d) }

// DeleteRequest is the body of delete.
type DeleteRequest struct {
	Path    string
	Version int32
}

// Encode writes the request.
func (r *DeleteRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }

// Decode reads the request.
func (r *DeleteRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// PathWatchRequest is the body of exists, getData, getChildren and
// getChildren2: a path and whether to leave a watch.
type PathWatchRequest struct {
	Path  string
	Watch bool
}

// Encode writes the request.
func (r *PathWatchRequest) Encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }

// Decode reads the request.
func (r *PathWatchRequest) Decode(d *Decoder) { r.Path = d.String(); r.Watch = d.Bool() }

// PathRequest is a request with only a path: getACL, sync, getEphemerals,
// getAllChildrenNumber.
type PathRequest struct{ Path string }

// Encode writes the request.
func (r *PathRequest) Encode(e *Encoder) { e.String(r.Path) }

// Decode reads the request.
func (r *PathRequest) Decode(d *Decoder) { r.Path = d.String() }

// StatResponse carries one Stat: exists, setData and setACL responses.
type StatResponse struct{ Stat Stat }

// Encode writes the response.
func (r *StatResponse) Encode(e *Encoder) { r.Stat.Encode(e) }

// Decode reads the response.
func (r *StatResponse) Decode(d *Decoder) { r.Stat.Decode(d) }

// GetDataResponse is the answer to getData (and reconfig).
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

// Encode writes the response.
func (r *GetDataResponse) Encode(e *Encoder) { e.Buffer(r.Data); r.Stat.Encode(e) }

// Decode reads the response.
func (r *GetDataResponse) Decode(d *Decoder) { r.Data = d.BufferCopy(); r.Stat.Decode(d) }

// SetDataRequest is the body of setData.
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

// Encode writes the request.
func (r *SetDataRequest) Encode(e *Encoder) { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }

// Decode reads the request.
func (r *SetDataRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.BufferCopy()
	r.Version = d.Int()
}

// GetACLResponse is the answer to getACL.
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

// Encode writes the response.
func (r *GetACLResponse) Encode(e *Encoder) { EncodeACLs(e, r.ACL); r.Stat.Encode(e) }

// Decode reads the response.
func (r *GetACLResponse) Decode(d *Decoder) { r.ACL = DecodeACLs(d); r.Stat.Decode(d) }

// SetACLRequest is the body of setACL.
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

// Encode writes the request.
func (r *SetACLRequest) Encode(e *Encoder) { e.String(r.Path); EncodeACLs(e, r.ACL); e.Int(r.Version) }

// Decode reads the request.
func (r *SetACLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.ACL = DecodeACLs(d)
	r.Version = d.Int()
}

// GetChildrenResponse is the answer to getChildren.
type GetChildrenResponse struct{ Children []string }

// Encode writes the response.
func (r *GetChildrenResponse) Encode(e *Encoder) { e.Strings(r.Children) }

// Decode reads the response.
func (r *GetChildrenResponse) Decode(d *Decoder) { r.Children = d.Strings() }

// EncodedChildren is a getChildren or getChildren2 answer whose child
// list is already encoded (a jute vector of strings, as the server keeps
// it for a large, unchanging child set); Stat follows it for
// getChildren2. Only servers write it; clients read GetChildrenResponse
// or GetChildren2Response.
type EncodedChildren struct {
	Vector []byte
	Stat   *Stat
}

// Encode writes the vector and the Stat, if any.
func (r *EncodedChildren) Encode(e *Encoder) {
	e.Raw(r.Vector)
	if r.Stat != nil {
		r.Stat.Encode(e)
	}
}

// GetChildren2Response is the answer to getChildren2.
type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

// Encode writes the response.
func (r *GetChildren2Response) Encode(e *Encoder) { e.Strings(r.Children); r.Stat.Encode(e) }

// Decode reads the response.
func (r *GetChildren2Response) Decode(d *Decoder) { r.Children = d.Strings(); r.Stat.Decode(d) }

// CheckVersionRequest is the body of check (inside multi).
type CheckVersionRequest struct {
	Path    string
	Version int32
}

// Encode writes the request.
func (r *CheckVersionRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }

// Decode reads the request.
func (r *CheckVersionRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// ReconfigRequest is the body of reconfig. Null strings read as "".
type ReconfigRequest struct {
	JoiningServers string
	LeavingServers string
	NewMembers     string
	CurConfigID    int64
}

// Encode writes the request.
func (r *ReconfigRequest) Encode(e *Encoder) {
	e.String(r.JoiningServers)
	e.String(r.LeavingServers)
	e.String(r.NewMembers)
	e.Long(r.CurConfigID)
}

// Decode reads the request.
func (r *ReconfigRequest) Decode(d *Decoder) {
	r.JoiningServers = d.String()
	r.LeavingServers = d.String()
	r.NewMembers = d.String()
	r.CurConfigID = d.Long()
}

// WatchesRequest is the body of checkWatches and removeWatches.
type WatchesRequest struct {
	Path string
	Type int32
}

// Encode writes the request.
func (r *WatchesRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Type) }

// Decode reads the request.
func (r *WatchesRequest) Decode(d *Decoder) { r.Path = d.String(); r.Type = d.Int() }

// AddWatchRequest is the body of addWatch.
type AddWatchRequest struct {
	Path string
	Mode int32
}

// Encode writes the request.
func (r *AddWatchRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Mode) }

// Decode reads the request.
func (r *AddWatchRequest) Decode(d *Decoder) { r.Path = d.String(); r.Mode = d.Int() }

// SetWatches is the body of setWatches (V2 false) and setWatches2 (V2 true).
type SetWatches struct {
	RelativeZxid        Zxid
	Data                []string
	Exist               []string
	Child               []string
	Persistent          []string
	PersistentRecursive []string
	V2                  bool
}

// Encode writes the request; the persistent lists only when V2.
func (r *SetWatches) Encode(e *Encoder) {
	e.Long(int64(r.RelativeZxid))
	e.Strings(r.Data)
	e.Strings(r.Exist)
	e.Strings(r.Child)
	if r.V2 {
		e.Strings(r.Persistent)
		e.Strings(r.PersistentRecursive)
	}
}

// Decode reads the request; the caller sets V2 first for setWatches2.
func (r *SetWatches) Decode(d *Decoder) {
	r.RelativeZxid = Zxid(d.Long())
	r.Data = d.Strings()
	r.Exist = d.Strings()
	r.Child = d.Strings()
	if r.V2 {
		r.Persistent = d.Strings()
		r.PersistentRecursive = d.Strings()
	}
}

// AuthPacket is the body of auth.
type AuthPacket struct {
	Type   int32
	Scheme string
	Auth   []byte
}

// Encode writes the packet.
func (r *AuthPacket) Encode(e *Encoder) { e.Int(r.Type); e.String(r.Scheme); e.Buffer(r.Auth) }

// Decode reads the packet.
func (r *AuthPacket) Decode(d *Decoder) {
	r.Type = d.Int()
	r.Scheme = d.String()
	r.Auth = d.BufferCopy()
}

// SASLToken is the body of a sasl request and of its response.
type SASLToken struct{ Token []byte }

// Encode writes the token.
func (r *SASLToken) Encode(e *Encoder) { e.Buffer(r.Token) }

// Decode reads the token.
func (r *SASLToken) Decode(d *Decoder) { r.Token = d.BufferCopy() }

// StringsResponse carries a list of paths: getEphemerals.
type StringsResponse struct{ Strings []string }

// Encode writes the response.
func (r *StringsResponse) Encode(e *Encoder) { e.Strings(r.Strings) }

// Decode reads the response.
func (r *StringsResponse) Decode(d *Decoder) { r.Strings = d.Strings() }

// IntResponse carries one int: getAllChildrenNumber and ErrorResponse.
type IntResponse struct{ Value int32 }

// Encode writes the response.
func (r *IntResponse) Encode(e *Encoder) { e.Int(r.Value) }

// Decode reads the response.
func (r *IntResponse) Decode(d *Decoder) { r.Value = d.Int() }

// ClientInfo is one identity in a whoAmI response.
type ClientInfo struct {
	AuthScheme string
	User       string
}

// WhoAmIResponse is the answer to whoAmI.
type WhoAmIResponse struct{ Infos []ClientInfo }

// Encode writes the response.
func (r *WhoAmIResponse) Encode(e *Encoder) {
	e.Int(int32(len(r.Infos)))
	for _, c := range r.Infos {
		e.String(c.AuthScheme)
		e.String(c.User)
	}
}

// Decode reads the response.
func (r *WhoAmIResponse) Decode(d *Decoder) {
	n := d.Count(8)
	r.Infos = make([]ClientInfo, 0, max(n, 0))
	for range n {
		r.Infos = append(r.Infos, ClientInfo{AuthScheme: d.String(), User: d.String()})
	}
}

// WatcherEvent is the body of a notification (xid -1).
type WatcherEvent struct {
	Type  EventType
	State int32
	Path  string
}

// Encode writes the event.
func (r *WatcherEvent) Encode(e *Encoder) { e.Int(int32(r.Type)); e.Int(r.State); e.String(r.Path) }

// Decode reads the event.
func (r *WatcherEvent) Decode(d *Decoder) {
	r.Type = EventType(d.Int())
	r.State = d.Int()
	r.Path = d.String()
}

// Empty is a record with no fields (ping, closeSession, whoAmI requests).
type Empty struct{}

// Encode writes nothing.
func (Empty) Encode(*Encoder) {}

// Decode reads nothing.
func (*Empty) Decode(*Decoder) {}

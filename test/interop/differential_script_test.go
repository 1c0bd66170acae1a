package interop

import (
	"fmt"

	"github.com/zkd/zkd/internal/jute"
)

// Identities the script uses. The digest is Base64(SHA-1("alice:secret")),
// as client-protocol.md §10.2 records it from a live server.
const aliceDigest = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="

var (
	worldAll  = jute.ACL{Perms: jute.PermAll, ID: jute.Id{Scheme: "world", ID: "anyone"}}
	worldRead = jute.ACL{Perms: jute.PermRead, ID: jute.Id{Scheme: "world", ID: "anyone"}}
	authAll   = jute.ACL{Perms: jute.PermAll, ID: jute.Id{Scheme: "auth", ID: ""}}
	aliceAll  = jute.ACL{Perms: jute.PermAll, ID: jute.Id{Scheme: "digest", ID: aliceDigest}}
)

// scriptBuilder collects the steps of the raw-protocol script.
type scriptBuilder struct{ steps []*rawStep }

func (b *scriptBuilder) add(s *rawStep) *rawStep {
	b.steps = append(b.steps, s)
	return s
}

// section starts a part of the transcript, named after the spec section
// whose rules it exercises.
func (b *scriptBuilder) section(title string) { b.add(&rawStep{heading: title}) }

// open connects conn with a handshake.
func (b *scriptBuilder) open(conn string, spec openSpec) *rawStep {
	return b.add(&rawStep{conn: conn, open: &spec})
}

// do sends op with body on conn.
func (b *scriptBuilder) do(conn string, op jute.OpCode, body jute.Encodable) *rawStep {
	return b.add(&rawStep{conn: conn, op: op, body: body})
}

// raw sends a hand-made request on conn; what describes it.
func (b *scriptBuilder) raw(conn string, op jute.OpCode, what string, body func(e *jute.Encoder)) *rawStep {
	return b.add(&rawStep{conn: conn, op: op, note: what, payload: func(xid int32) []byte {
		e := jute.NewEncoder(nil)
		(&jute.RequestHeader{Xid: xid, Type: op}).Encode(e)
		body(e)
		return e.Bytes()
	}})
}

// bytes writes b on conn as it is, without a frame around it; what
// describes it. The server gets closeWait to answer.
func (b *scriptBuilder) bytes(conn, what string, raw []byte) *rawStep {
	return b.add(&rawStep{conn: conn, note: what, rawBytes: raw})
}

// endSession resumes the session of a connection the server closed and
// closes the session, so that it cannot expire (and consume a zxid) later
// in the run. It shows on the way that the session outlived its
// connection.
func (b *scriptBuilder) endSession(of string) {
	via := of + "'"
	b.open(via, openSpec{resume: of}).why("the session outlived its connection")
	b.do(via, jute.OpCloseSession, nil).closing()
}

// Request bodies.

func mk(path string, flags int32) *jute.CreateRequest {
	return &jute.CreateRequest{Path: path, ACL: []jute.ACL{worldAll}, Flags: flags}
}

func mkData(path, data string) *jute.CreateRequest {
	return &jute.CreateRequest{Path: path, Data: []byte(data), ACL: []jute.ACL{worldAll}}
}

func mkACL(path string, acl []jute.ACL) *jute.CreateRequest {
	return &jute.CreateRequest{Path: path, ACL: acl}
}

func mkTTL(path string, flags int32, ttl int64) *jute.CreateTTLRequest {
	return &jute.CreateTTLRequest{Path: path, ACL: []jute.ACL{worldAll}, Flags: flags, TTL: ttl}
}

func del(path string, version int32) *jute.DeleteRequest {
	return &jute.DeleteRequest{Path: path, Version: version}
}

func pw(path string, watch bool) *jute.PathWatchRequest {
	return &jute.PathWatchRequest{Path: path, Watch: watch}
}

func pr(path string) *jute.PathRequest { return &jute.PathRequest{Path: path} }

func set(path string, data []byte, version int32) *jute.SetDataRequest {
	return &jute.SetDataRequest{Path: path, Data: data, Version: version}
}

func setACL(path string, version int32, acl []jute.ACL) *jute.SetACLRequest {
	return &jute.SetACLRequest{Path: path, ACL: acl, Version: version}
}

func chk(path string, version int32) *jute.CheckVersionRequest {
	return &jute.CheckVersionRequest{Path: path, Version: version}
}

func wt(path string, typ int32) *jute.WatchesRequest {
	return &jute.WatchesRequest{Path: path, Type: typ}
}

func addWatch(path string, mode int32) *jute.AddWatchRequest {
	return &jute.AddWatchRequest{Path: path, Mode: mode}
}

func auth(scheme, cred string) *jute.AuthPacket {
	return &jute.AuthPacket{Scheme: scheme, Auth: []byte(cred)}
}

func multi(ops ...jute.MultiOp) *jute.MultiRequest { return &jute.MultiRequest{Ops: ops} }

func op(t jute.OpCode, req jute.Record) jute.MultiOp { return jute.MultiOp{Type: t, Req: req} }

// Checks of single outcomes, for steps that are not compared.

func replyErr(want jute.Code) func(*outcome) string {
	return func(o *outcome) string {
		switch {
		case !o.replied:
			return fmt.Sprintf("no reply, want %s", codeName(want))
		case o.header.Err != want:
			return fmt.Sprintf("reply err %s, want %s", codeName(o.header.Err), codeName(want))
		}
		return ""
	}
}

func all(checks ...func(*outcome) string) func(*outcome) string {
	return func(o *outcome) string {
		for _, c := range checks {
			if p := c(o); p != "" {
				return p
			}
		}
		return ""
	}
}

// unknownOpcode is zkd's answer to an opcode it does not serve (§4.4):
// UNIMPLEMENTED with zxid -1, then the connection closes.
func unknownOpcode(conn string) func(*outcome) string {
	return all(replyErr(jute.ErrUnimplemented), func(o *outcome) string {
		if o.header.Zxid != -1 {
			return fmt.Sprintf("reply zxid %d, want -1", o.header.Zxid)
		}
		for _, c := range o.closed {
			if c == conn {
				return ""
			}
		}
		return "the connection stayed open"
	})
}

// rawScript is the sequence of raw requests TestRawProtocolMatchesApacheZooKeeper
// sends to both servers. Most steps exercise an ordering of checks or a
// quirk client-protocol.md records from a live ZooKeeper 3.8.0 ([live]);
// section headings name the part of the spec.
//
// Connections: a (no credentials), b (digest alice and bob), w and w2
// (watchers), e (ephemerals), s and s2 (setWatches), su (super user), and
// short-lived ones for steps that end a connection or a session.
func rawScript() []*rawStep {
	b := &scriptBuilder{}
	var (
		empty  = []jute.ACL{}
		ch     = jute.WatcherChildren
		rd     = jute.WatcherData
		any    = jute.WatcherAny
		absent = []string{}
	)

	b.section("§2 handshake and the built-in nodes")
	b.open("a", openSpec{}).why("the answer echoes the readOnly byte (§2.2)")
	b.do("a", jute.OpExists, pw("/", false)).why("fresh root: cversion -1 (§5.5, §9.3)")
	b.do("a", jute.OpGetChildren2, pw("/", false))
	b.do("a", jute.OpExists, pw("/zookeeper", false)).why("cversion -2")
	b.do("a", jute.OpGetChildren2, pw("/zookeeper", false))
	b.do("a", jute.OpGetData, pw("/zookeeper/quota", false))
	b.do("a", jute.OpGetData, pw("/zookeeper/config", false)).why("empty on a standalone server, aversion -1")
	b.do("a", jute.OpGetACL, pr("/zookeeper/config")).why("world:anyone READ only")
	b.do("a", jute.OpGetData, pw("/", false)).why("empty, not null")
	b.do("a", jute.OpGetACL, pr("/"))
	b.open("h1", openSpec{timeout: 1000, noReadOnly: true}).why("clamped up to 2×tickTime; no readOnly byte in the answer (§2.3)")
	b.do("h1", jute.OpCloseSession, nil).closing().why("reply, then the server closes (§4.3.22)")
	b.open("h2", openSpec{timeout: 999999}).why("clamped down to 20×tickTime")
	b.do("h2", jute.OpCloseSession, nil).closing()
	b.open("h3", openSpec{timeout: -5}).why("a negative timeout gets the minimum")
	b.do("h3", jute.OpCloseSession, nil).closing()
	b.open("h4", openSpec{resume: "h1"}).why("a closed session: the invalid-session answer, then a close (§2.3 step 6)")
	b.open("h6", openSpec{unknown: true}).why("the invalid-session answer, then a close")
	b.open("ro", openSpec{readOnly: true}).why("a standalone server answers readOnly=false (§13)")
	b.do("ro", jute.OpCloseSession, nil).closing()
	b.open("h5", openSpec{ahead: true}).why("a client ahead of the server is closed without an answer (§2.3 step 3)")
	b.open("k", openSpec{})
	b.do("k", jute.OpCreate, mk("/k-eph", jute.ModeEphemeral))
	b.open("k2", openSpec{resume: "k", wrongPasswd: true}).why("invalid answer; k is kicked off all the same (§2.3 step 6)")
	b.open("k3", openSpec{resume: "k", timeout: 20000}).why("same session and password, the new timeout")
	b.do("k3", jute.OpGetEphemerals, pr("/")).why("the session kept its ephemeral")
	b.do("k3", jute.OpCloseSession, nil).closing().why("deletes the session's ephemerals")
	b.do("a", jute.OpExists, pw("/k-eph", false))
	b.open("p", openSpec{pipeline: []pipelined{
		{jute.OpAuth, auth("digest", "alice:secret")},
		{jute.OpExists, pw("/", false)},
		{jute.OpWhoAmI, &jute.Empty{}},
	}}).why("requests sent before the handshake's answer run in order (§1.5)")

	b.section("§3 xids and malformed requests")
	b.do("a", jute.OpPing, nil).withXid(42).why("the ping reply always carries xid -2 (§3.3)")
	b.do("a", jute.OpExists, pw("/", false)).withXid(0).why("any xid is echoed")
	b.do("a", jute.OpExists, pw("/", false)).withXid(-7)
	b.do("a", jute.OpExists, pw("/", false)).withXid(0).why("a duplicate xid")
	b.raw("a", jute.OpExists, `exists "/" followed by 3 stray bytes: ignored (§1.3)`, func(e *jute.Encoder) {
		pw("/", false).Encode(e)
		e.Raw([]byte{1, 2, 3})
	})
	b.raw("a", jute.OpGetData, "getData whose path length runs past the frame: MARSHALLINGERROR, the connection stays (§4.3)", func(e *jute.Encoder) {
		e.Int(1000)
	})
	b.raw("a", jute.OpCreate, "create cut short after the path: MARSHALLINGERROR, and a zxid is consumed", func(e *jute.Encoder) {
		e.String("/cut")
	})
	b.do("a", jute.OpExists, pw("/cut", false))

	b.section("§4.3.1 create: order of checks")
	b.do("a", jute.OpCreate, mk("/f7", 7)).why("flags are checked first")
	b.do("a", jute.OpCreate, mk("/fneg", -1))
	b.do("a", jute.OpCreate, mk("a", 0)).why("a path without a slash")
	b.do("a", jute.OpCreate, mkACL("a", empty)).why("the path's slash is checked before the ACL")
	b.do("a", jute.OpCreate, mk("/nul\x00x", 0))
	b.do("a", jute.OpCreate, mkACL("/nope/x", empty)).why("the ACL is checked before the parent")
	b.do("a", jute.OpCreate, mk("/nope/x", 0))
	b.do("a", jute.OpCreate, mkData("/a", "A"))
	b.do("a", jute.OpCreate, mk("/a//b", 0)).why(`NONODE: the parent "/a/" is looked up before the path is validated`)
	b.do("a", jute.OpCreate, mk("/a/", 0)).why("BADARGUMENTS from the final validation")
	b.do("a", jute.OpCreate, mk("/a/.", 0))
	b.do("a", jute.OpCreate, mk("/a/..", 0))
	b.do("a", jute.OpCreate, mk("/a/\x01", 0))
	b.do("a", jute.OpCreate, mk("/a/\u00e9t\u00e9", 0)).why("non-ASCII names are fine")
	b.do("a", jute.OpCreate, mk("/a/\U0001F600", 0)).why("outside the BMP: invalid (§9.1)")
	b.do("a", jute.OpCreate, mk("/a/...", 0)).why(`"..." is a valid name`)
	b.do("a", jute.OpCreate, mk("/", 0))
	b.do("a", jute.OpCreate, mk("/a", 0))
	b.do("a", jute.OpCreate, mk("/zookeeper/zx", 0)).why("allowed under /zookeeper (§9.3)")
	b.do("a", jute.OpExists, pw("/zookeeper", false)).why("cversion 2·1 − 3")
	b.do("a", jute.OpCreate, mk("/zookeeper/quota/q", 0))
	b.do("a", jute.OpExists, pw("/zookeeper/quota", false))

	b.section("§10.1 ACL validation on create")
	for _, c := range []struct {
		acl  []jute.ACL
		note string
	}{
		{empty, "an empty list"},
		{nil, "a null list"},
		{[]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "world", ID: "bob"}}}, ""},
		{[]jute.ACL{authAll}, "auth without credentials"},
		{[]jute.ACL{authAll, worldAll}, "auth without credentials next to a valid entry"},
		{[]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "digest", ID: "alice"}}}, "a digest id without a colon"},
		{[]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "digest", ID: "alice:"}}}, "a digest id with nothing after the colon"},
		{[]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "ip", ID: "::1"}}}, "an IPv6 address"},
		{[]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "ip", ID: "10.0.0.0/33"}}}, ""},
		{[]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "ip", ID: "host.example"}}}, ""},
		{[]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "x509", ID: "CN=x"}}}, "no x509 provider without TLS"},
		{[]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "nosuch", ID: "x"}}}, ""},
	} {
		b.do("a", jute.OpCreate, mkACL("/acl", c.acl)).why(c.note)
	}
	for i, c := range []struct {
		acl  []jute.ACL
		note string
	}{
		{[]jute.ACL{worldAll, worldAll}, "duplicates are removed"},
		{[]jute.ACL{{Perms: 1, ID: jute.Id{Scheme: "ip", ID: "127.0.0.1"}}, {Perms: 31, ID: jute.Id{Scheme: "ip", ID: "10.0.0.0/8"}}}, ""},
		{[]jute.ACL{{Perms: 31, ID: jute.Id{Scheme: "digest", ID: "u:h"}}, worldRead}, "any text after the colon"},
		{[]jute.ACL{{Perms: 0, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, "no permissions at all"},
		{[]jute.ACL{{Perms: 0x7fffffff, ID: jute.Id{Scheme: "world", ID: "anyone"}}}, "unknown permission bits"},
	} {
		path := fmt.Sprintf("/acl%d", i)
		b.do("a", jute.OpCreate, mkACL(path, c.acl)).why(c.note)
		b.do("a", jute.OpGetACL, pr(path))
	}
	b.do("a", jute.OpGetData, pw("/acl3", false)).why("permissions 0 grant nothing")
	b.do("a", jute.OpGetACL, pr("/acl2")).why("a READ-only caller sees digest ids as user:x (§4.3.6)")

	b.section("§4.3.1 TTL nodes and containers (§5.7)")
	b.do("a", jute.OpCreateTTL, mkTTL("/ttl", jute.ModePersistentWithTTL, 3600000)).why("Create2Response with ephemeralOwner 0")
	b.do("a", jute.OpCreateTTL, mkTTL("/ttl0", jute.ModePersistentWithTTL, 0))
	b.do("a", jute.OpCreateTTL, mkTTL("/ttlmax", jute.ModePersistentWithTTL, 0xFF_FFFF_FFFF)).why("the largest TTL")
	b.do("a", jute.OpCreateTTL, mkTTL("/ttlmax1", jute.ModePersistentWithTTL, 0x100_0000_0000))
	b.do("a", jute.OpCreateTTL, mkTTL("/ttlneg", jute.ModePersistentWithTTL, -1))
	b.do("a", jute.OpCreateTTL, mkTTL("/ttlf0", 0, 1000)).why("op 21 needs a TTL mode")
	b.do("a", jute.OpCreateTTL, mkTTL("/ttlf1", 1, 1000))
	b.do("a", jute.OpCreateTTL, mkTTL("/ttlf4", 4, 1000))
	b.do("a", jute.OpCreateTTL, mkTTL("/ttlf7", 7, 1000))
	b.do("a", jute.OpCreateTTL, mkTTL("a", jute.ModePersistentWithTTL, 0)).why("the TTL is checked before the path")
	b.do("a", jute.OpCreateTTL, mkTTL("/ttls-", jute.ModePersistentSequentialWithTTL, 3600000)).why("named by the root's child counter")
	b.do("a", jute.OpCreate, mk("/op1f5", jute.ModePersistentWithTTL)).why("op 1 with a TTL mode")
	b.do("a", jute.OpCreate2, mk("/op15f5", jute.ModePersistentWithTTL))
	b.do("a", jute.OpCreate2, mk("/op15f6", jute.ModePersistentSequentialWithTTL))
	b.do("a", jute.OpCreateContainer, mk("/op19f5", jute.ModePersistentWithTTL))
	b.do("a", jute.OpCreateContainer, mk("/box", jute.ModeContainer)).why("ephemeralOwner 0")
	b.do("a", jute.OpCreateContainer, mk("/box0", 0)).why("op 19 makes a container whatever the flags")
	b.do("a", jute.OpCreateContainer, mk("/boxs-", jute.ModePersistentSequential))
	b.do("a", jute.OpCreateContainer, mk("/boxe", jute.ModeEphemeral))
	b.do("a", jute.OpCreate, mk("/f4", jute.ModeContainer)).why("op 1 with flags 4 makes a plain node")
	b.do("a", jute.OpCreate2, mk("/c2", 0)).why("path and Stat")
	b.do("a", jute.OpCreate2, mk("/c2s-", jute.ModeEphemeralSequential)).why("owner is the session")
	b.do("a", jute.OpCreate, mk("/box/item", 0)).why("containers may have children")
	b.do("a", jute.OpCreate, mk("/ttl/item", 0)).why("so may TTL nodes")
	b.do("a", jute.OpGetData, pw("/box", false))
	b.do("a", jute.OpGetData, pw("/ttl", false))
	b.do("a", jute.OpCreate, mk("/eph", jute.ModeEphemeral))
	b.do("a", jute.OpCreate, mk("/eph/c", 0)).why("no children for ephemerals")
	b.do("a", jute.OpCreate, mk("/eph/s-", jute.ModePersistentSequential))
	b.do("a", jute.OpCreateContainer, mk("/eph/box", jute.ModeContainer))
	b.do("a", jute.OpCreateTTL, mkTTL("/eph/t", jute.ModePersistentWithTTL, 1000))
	b.do("a", jute.OpCreate, mk("/eph/x/", 0)).why("the parent is missing")

	b.section("§10 auth and whoAmI")
	b.open("b", openSpec{})
	b.do("b", jute.OpWhoAmI, nil).why("every connection starts with its ip identity (§10.3)")
	b.do("b", jute.OpAuth, auth("digest", "alice:secret")).withXid(77).why("the xid is echoed, zxid 0 (§4.3.20)")
	b.do("b", jute.OpWhoAmI, nil)
	b.do("b", jute.OpAuth, auth("digest", "alice:secret")).why("the same identity again")
	b.do("b", jute.OpAuth, auth("ip", "anything")).why("ip auth always succeeds")
	b.do("b", jute.OpWhoAmI, nil)
	b.do("b", jute.OpAuth, auth("digest", "bob:pw")).withXid(jute.XidAuth)
	b.do("b", jute.OpWhoAmI, nil)
	b.do("b", jute.OpSASL, &jute.SASLToken{Token: []byte("x")}).why("no SASL configured (§10.8)")

	b.section("§4.3.6 getACL, §10.1 auth expansion, NOAUTH before NONODE")
	b.do("b", jute.OpCreate, mkACL("/prot", []jute.ACL{authAll, worldRead})).why("auth expands to each digest identity")
	b.do("b", jute.OpGetACL, pr("/prot")).why("an ADMIN caller sees the hashes")
	b.do("a", jute.OpGetACL, pr("/prot")).why("a READ caller sees user:x")
	b.do("b", jute.OpCreate, mkACL("/secret", []jute.ACL{aliceAll}))
	b.do("b", jute.OpCreate, mk("/secret/kid", 0))
	b.do("a", jute.OpGetData, pw("/secret", false))
	b.do("a", jute.OpGetData, pw("/secret", true)).why("no watch is left behind")
	b.do("a", jute.OpCheckWatches, wt("/secret", any))
	b.do("a", jute.OpGetChildren, pw("/secret", false))
	b.do("a", jute.OpGetChildren2, pw("/secret", false))
	b.do("a", jute.OpGetACL, pr("/secret"))
	b.do("a", jute.OpGetAllChildrenNumber, pr("/secret"))
	b.do("a", jute.OpExists, pw("/secret", false)).
		intended("ZooKeeper 3.8.4+/3.9.2+ (§4.3.3): exists needs READ on an existing node; 3.8.0 returns the Stat to anyone",
			replyErr(jute.ErrNoAuth)).
		reference(replyErr(jute.OK))
	b.do("a", jute.OpExists, pw("/secret/kid", false)).why("a readable child of an unreadable parent")
	b.do("a", jute.OpGetData, pw("/secret/kid", false))
	b.do("a", jute.OpSetData, set("/prot", []byte("x"), -1))
	b.do("a", jute.OpSetACL, setACL("/prot", -1, []jute.ACL{worldAll}))
	b.do("a", jute.OpCreate, mk("/prot/x", 0))
	b.do("a", jute.OpCreate, mk("/prot/nope/x", 0))
	b.do("a", jute.OpCreate, mk("/prot/", 0)).why("NOAUTH: the parent's ACL is checked before the final path")
	b.do("a", jute.OpCreate, mk("/prot/s-", jute.ModePersistentSequential))
	b.do("a", jute.OpCreate, mk("/prot", 0))
	b.do("a", jute.OpCreate, mkACL("/prot/x", empty)).why("INVALIDACL before the parent's ACL")
	b.do("b", jute.OpCreate, mk("/prot/kid", 0))
	b.do("a", jute.OpDelete, del("/prot/kid", -1))
	b.do("a", jute.OpDelete, del("/prot/missing", -1)).why("NOAUTH: the parent's ACL is checked before the node's existence (§4.3.2)")
	b.do("a", jute.OpDelete, del("/prot/nope/x", -1))
	b.do("a", jute.OpSetData, set("/prot/missing", nil, -1))
	b.do("b", jute.OpCreate, mkACL("/adm", []jute.ACL{{Perms: jute.PermAdmin, ID: aliceAll.ID}}))
	b.do("b", jute.OpGetACL, pr("/adm")).why("ADMIN alone allows getACL, unmasked")
	b.do("b", jute.OpGetData, pw("/adm", false))
	b.do("b", jute.OpCreate, mkACL("/rd", []jute.ACL{{Perms: jute.PermRead, ID: aliceAll.ID}}))
	b.do("b", jute.OpGetACL, pr("/rd")).why("READ without ADMIN: masked")
	b.do("b", jute.OpSetACL, setACL("/rd", -1, []jute.ACL{worldAll}))

	b.section("§10.2 super user")
	b.open("su", openSpec{})
	b.do("su", jute.OpAuth, auth("digest", "super:test"))
	b.do("su", jute.OpWhoAmI, nil).why("super adds an identity with an empty id (§4.3.19)")
	b.do("su", jute.OpGetData, pw("/secret", false))
	b.do("su", jute.OpGetACL, pr("/rd")).why("super passes the ADMIN check: unmasked")
	b.do("su", jute.OpSetData, set("/zookeeper/config", []byte("cfg"), -1)).why("allowed for super (§9.3)")
	b.do("a", jute.OpGetData, pw("/zookeeper/config", false))
	b.do("b", jute.OpDelete, del("/rd", -1)).why("DELETE is checked on the parent, which is open")

	b.section("§4.3.7 setACL")
	b.do("a", jute.OpSetACL, setACL("/missing", -1, empty)).why("INVALIDACL before the existence check")
	b.do("a", jute.OpSetACL, setACL("/missing", -1, []jute.ACL{worldAll}))
	b.do("a", jute.OpSetACL, setACL("/a/", -1, []jute.ACL{worldAll}))
	b.do("a", jute.OpSetACL, setACL("a", -1, empty)).why("the path is validated before the ACL")
	b.do("a", jute.OpSetACL, setACL("/a", 3, []jute.ACL{worldAll})).why("compared with aversion")
	b.do("a", jute.OpSetACL, setACL("/a", 0, []jute.ACL{worldAll, worldAll})).why("aversion+1; mzxid and mtime untouched")
	b.do("a", jute.OpGetACL, pr("/a"))
	b.do("a", jute.OpSetACL, setACL("/a", -1, []jute.ACL{authAll}))
	b.do("a", jute.OpSetACL, setACL("/zookeeper/config", -1, []jute.ACL{worldAll}))

	b.section("§4.3.2 delete")
	for _, p := range []string{"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", "a", "/a\x00", ""} {
		b.do("a", jute.OpDelete, del(p, -1))
	}
	for _, p := range []string{"/nope/nope", "/nope", "/a/", "/a//b", "/a/.."} {
		b.do("a", jute.OpDelete, del(p, -1))
	}
	b.do("a", jute.OpCreate, mk("/a/c1", 0))
	b.do("a", jute.OpDelete, del("/a", 5)).why("BADVERSION comes before NOTEMPTY")
	b.do("a", jute.OpDelete, del("/a", 0))
	b.do("a", jute.OpDelete, del("/a/c1", 3))
	b.do("a", jute.OpDelete, del("/a/c1", 0))
	b.do("a", jute.OpGetChildren2, pw("/a", false)).why("cversion counts creates and deletes (§5.5)")
	b.do("a", jute.OpDelete, del("/zookeeper/zx", -1))
	b.do("a", jute.OpExists, pw("/zookeeper", false))
	b.do("a", jute.OpDelete, del("/zookeeper/quota/q", -1))
	b.do("a", jute.OpExists, pw("/zookeeper/quota", false))

	b.section("§4.3.3–4.3.5 exists, getData, setData")
	b.do("a", jute.OpExists, pw("/a\x00", false))
	b.do("a", jute.OpExists, pw("bad", false))
	b.do("a", jute.OpExists, pw("/a/", false))
	b.do("a", jute.OpExists, pw("", false))
	b.do("a", jute.OpGetData, pw("bad", false))
	b.do("a", jute.OpGetData, pw("/a/", false))
	b.do("a", jute.OpGetData, pw("", false))
	b.do("a", jute.OpGetChildren, pw("", false))
	b.do("a", jute.OpGetChildren2, pw("", false))
	b.do("a", jute.OpGetACL, pr(""))
	b.do("a", jute.OpGetAllChildrenNumber, pr(""))
	b.do("a", jute.OpMultiRead, multi(op(jute.OpGetData, pw("", false))))
	b.do("a", jute.OpSetData, set("", nil, -1))
	b.do("a", jute.OpCreate, mk("", 0))
	b.do("a", jute.OpGetChildren, pw("/missing", false))
	b.do("a", jute.OpCreate, &jute.CreateRequest{Path: "/null", ACL: []jute.ACL{worldAll}})
	b.do("a", jute.OpGetData, pw("/null", false)).why("null data stays null (§5.1)")
	b.do("a", jute.OpCreate, &jute.CreateRequest{Path: "/empty", Data: []byte{}, ACL: []jute.ACL{worldAll}})
	b.do("a", jute.OpGetData, pw("/empty", false))
	b.do("a", jute.OpSetData, set("/empty", nil, -1))
	b.do("a", jute.OpGetData, pw("/empty", false))
	b.do("a", jute.OpSetData, set("/null", []byte{}, -1))
	b.do("a", jute.OpGetData, pw("/null", false))
	b.do("a", jute.OpSetData, set("/zookeeper/config", []byte("x"), -1)).why("READ-only ACL")
	b.do("a", jute.OpSetData, set("/zookeeper", []byte("z"), -1)).why("allowed")
	b.do("a", jute.OpSetData, set("/", []byte("r"), -1))
	b.do("a", jute.OpSetData, set("/a/", nil, -1))
	b.do("a", jute.OpSetData, set("a", nil, -1))
	b.do("a", jute.OpSetData, set("/missing/", nil, -1)).why("the path is validated before the existence check")
	b.do("a", jute.OpSetData, set("/missing", nil, -1))
	b.do("a", jute.OpSetData, set("/a", []byte("B"), 7))
	b.do("a", jute.OpSetData, set("/a", []byte("B"), 0))

	b.section("§5.6 sequential names")
	b.do("a", jute.OpCreate, mk("/seq", 0))
	b.do("a", jute.OpCreate, mk("/seq/s-", jute.ModePersistentSequential))
	b.do("a", jute.OpCreate, mk("/seq/e", 0))
	b.do("a", jute.OpDelete, del("/seq/e", -1))
	b.do("a", jute.OpCreate, mk("/seq/s-", jute.ModePersistentSequential)).why("the counter counts the deleted child")
	b.do("a", jute.OpCreate, mk("/seq/", jute.ModePersistentSequential)).why(`"/seq/" + counter is valid`)
	b.do("a", jute.OpCreate, mkACL("/seq/x-", empty)).why("a failed create does not advance the counter")
	b.do("a", jute.OpCreate, mk("/seq/s-", jute.ModePersistentSequential))
	b.do("a", jute.OpMulti, multi(
		op(jute.OpCreate, mk("/seq/m-", jute.ModePersistentSequential)),
		op(jute.OpCreate, mk("/seq/m-", jute.ModePersistentSequential)),
		op(jute.OpCheck, chk("/seq", 99)),
	)).why("a failed multi does not advance it either")
	b.do("a", jute.OpCreate, mk("/seq/s-", jute.ModePersistentSequential))
	b.do("a", jute.OpMulti, multi(
		op(jute.OpCreate, mk("/seq/m-", jute.ModePersistentSequential)),
		op(jute.OpCreate, mk("/seq/m-", jute.ModePersistentSequential)),
	)).why("creates in one multi see each other's counter")
	b.do("a", jute.OpCreate, mk("/seq/s-", jute.ModeEphemeralSequential))
	b.do("a", jute.OpCreate, mk("/seq/s-0000000010", 0)).why("takes the name the counter reaches next")
	b.do("a", jute.OpCreate, mk("/seq/s-", jute.ModePersistentSequential)).why("NODEEXISTS")
	b.do("a", jute.OpCreate, mk("/seq/s-", jute.ModePersistentSequential)).why("the failure did not advance the counter")
	b.do("a", jute.OpGetChildren2, pw("/seq", false))

	b.section("§7 multi and multiRead")
	b.do("a", jute.OpMulti, multi(
		op(jute.OpCreate, mkData("/m", "1")),
		op(jute.OpCreate, mk("/m/a", 0)),
		op(jute.OpSetData, set("/m", []byte("2"), 0)),
		op(jute.OpCheck, chk("/m", 1)),
		op(jute.OpDelete, del("/m/a", -1)),
	))
	b.do("a", jute.OpMulti, multi(
		op(jute.OpCreate, mk("/m/b", 0)),
		op(jute.OpCheck, chk("/m", 0)),
		op(jute.OpDelete, del("/m", -1)),
	)).why("results: 0 before the failure, its code, RUNTIMEINCONSISTENCY after")
	b.do("a", jute.OpExists, pw("/m/b", false))
	b.do("a", jute.OpMulti, multi(
		op(jute.OpCreate, mk("/m/e", jute.ModeEphemeral)),
		op(jute.OpCreate, mk("/m/e/c", 0)),
	))
	b.do("a", jute.OpMulti, multi(
		op(jute.OpCreate, mk("/nope/x", 0)),
		op(jute.OpCreate, mk("/m/z", 0)),
	))
	b.do("a", jute.OpMulti, multi()).why("an empty multi succeeds and consumes a zxid")
	b.do("a", jute.OpMultiRead, multi())
	b.do("a", jute.OpMulti, multi(op(jute.OpGetData, pw("/m", false)))).why("a read op in multi: MARSHALLINGERROR")
	b.do("a", jute.OpMulti, multi(op(jute.OpCreate, mk("/m/y", 0)), op(jute.OpGetChildren, pw("/m", false))))
	b.do("a", jute.OpMulti, multi(op(jute.OpExists, pw("/m", false))))
	b.do("a", jute.OpMultiRead, multi(op(jute.OpSetData, set("/m", nil, -1)))).why("a write op in multiRead")
	b.do("a", jute.OpMultiRead, multi(op(jute.OpGetData, pw("/m", false)), op(jute.OpCreate, mk("/m/r", 0))))
	b.do("a", jute.OpMultiRead, multi(op(jute.OpExists, pw("/m", false))))
	b.do("a", jute.OpMultiRead, multi(op(jute.OpCreate, mk("/m/r", 0)), op(jute.OpDelete, del("/m/zz", -1)))).why("write ops only")
	b.do("a", jute.OpExists, pw("/m", false))
	b.do("a", jute.OpMultiRead, multi(
		op(jute.OpGetData, pw("/m", false)),
		op(jute.OpGetChildren, pw("/missing", false)),
		op(jute.OpGetChildren, pw("/m", false)),
		op(jute.OpGetData, pw("/secret", false)),
		op(jute.OpGetData, pw("/null", false)),
	)).why("failing ops do not stop the others (§7.4)")
	b.do("a", jute.OpMultiRead, multi(op(jute.OpGetData, pw("/m", true)))).why("watch flags are ignored")
	b.do("a", jute.OpCheckWatches, wt("/m", rd))
	b.do("a", jute.OpMulti, multi(
		op(jute.OpCreateContainer, mk("/mc", jute.ModeContainer)),
		op(jute.OpCreateTTL, mkTTL("/mt", jute.ModePersistentWithTTL, 3600000)),
	)).why("reported as create2 with a Stat")
	b.do("a", jute.OpMulti, multi(op(jute.OpCreate2, mk("/m15", 0)))).
		intended("ZooKeeper 3.8.2+/3.9 (§7.2): a create2 op in a multi is reported as type 15 with a Stat; 3.8.0 reports type 1 with the path only",
			func(o *outcome) string {
				want := "body   results=[create2 path=\"/m15\" "
				for _, l := range o.lines {
					if len(l) >= len(want) && l[:len(want)] == want {
						return ""
					}
				}
				return "no create2 result with a Stat"
			}).
		reference(func(o *outcome) string {
			if !o.hasLine(`body   results=[create path="/m15"]`) {
				return "3.8.0 reported a create2 op in a multi as a create (type 1) with the path only"
			}
			return ""
		})
	b.do("a", jute.OpMulti, multi(op(jute.OpDelete, del("/m/a", -1))))
	b.do("a", jute.OpMulti, multi(op(jute.OpCheck, chk("/missing", -1))))
	b.do("a", jute.OpMulti, multi(op(jute.OpCheck, chk("bad", -1))))
	b.do("a", jute.OpMulti, multi(op(jute.OpCheck, chk("/secret", -1))))
	b.do("a", jute.OpMulti, multi(op(jute.OpCheck, chk("/m", -1)), op(jute.OpSetData, set("/m", []byte("3"), 1))))
	b.do("a", jute.OpMulti, multi(op(jute.OpSetData, set("/zookeeper/config", nil, -1))))
	b.do("a", jute.OpMulti, multi(op(jute.OpDelete, del("/", -1))))
	b.do("a", jute.OpMulti, multi(op(jute.OpCreate, mk("/m/f7", 7))))

	b.section("§4.3.16 getEphemerals, §4.3.18 getAllChildrenNumber")
	b.do("a", jute.OpCreate, mk("/epx", 0))
	b.open("e", openSpec{})
	for _, p := range []string{"/ep1", "/ep2", "/epx/a", "/eq"} {
		b.do("e", jute.OpCreate, mk(p, jute.ModeEphemeral))
	}
	for _, p := range []string{"/", "", "/ep", "/epx", "/nomatch", "  ", "ep"} {
		b.do("e", jute.OpGetEphemerals, pr(p))
	}
	b.do("a", jute.OpGetEphemerals, pr("/")).why("only the caller's own")
	b.do("a", jute.OpGetAllChildrenNumber, pr("/"))
	b.do("a", jute.OpGetAllChildrenNumber, pr("/zookeeper"))
	b.do("a", jute.OpGetAllChildrenNumber, pr("/epx"))
	b.do("a", jute.OpGetAllChildrenNumber, pr("/missing"))
	b.do("a", jute.OpGetAllChildrenNumber, pr("bad"))

	b.section("§6 watches: one-shot, checkWatches and removeWatches")
	b.open("w", openSpec{})
	b.do("w", jute.OpExists, pw("/wa", true)).why("registers a watch on a missing node")
	b.do("w", jute.OpCheckWatches, wt("/wa", rd))
	b.do("w", jute.OpCheckWatches, wt("/wa", ch))
	b.do("w", jute.OpCheckWatches, wt("/wa", any))
	b.do("w", jute.OpGetData, pw("/wb", true)).why("no watch on failure")
	b.do("w", jute.OpCheckWatches, wt("/wb", any))
	b.do("w", jute.OpGetChildren, pw("/wb", true))
	b.do("w", jute.OpCheckWatches, wt("/wb", ch))
	b.do("a", jute.OpCreate, mkData("/wa", "1"))
	b.do("w", jute.OpCheckWatches, wt("/wa", rd)).why("a fired watch is gone")
	b.do("w", jute.OpGetData, pw("/wa", true))
	b.do("w", jute.OpGetChildren, pw("/wa", true))
	b.do("a", jute.OpCreate, mk("/wa/c", 0))
	b.do("a", jute.OpSetData, set("/wa", []byte("2"), -1))
	b.do("w", jute.OpExists, pw("/wa", true))
	b.do("w", jute.OpGetData, pw("/wa", true))
	b.do("w", jute.OpGetChildren2, pw("/wa", true))
	b.do("a", jute.OpDelete, del("/wa/c", -1))
	b.do("w", jute.OpSetData, set("/wa", []byte("3"), -1)).why("one notification, before the writer's own reply (§3.5, §6.4)")
	b.do("w", jute.OpGetData, pw("/wa", true))
	b.do("w", jute.OpRemoveWatches, wt("/wa", ch))
	b.do("w", jute.OpRemoveWatches, wt("/wa", rd))
	b.do("w", jute.OpRemoveWatches, wt("/wa", rd))
	b.do("w", jute.OpGetChildren, pw("/wa", true))
	b.do("w", jute.OpCheckWatches, wt("/wa", ch))
	b.do("w", jute.OpCheckWatches, wt("/wa", rd))
	b.do("w", jute.OpRemoveWatches, wt("/wa", any))
	b.do("w", jute.OpCheckWatches, wt("/wa", any))
	b.do("a", jute.OpSetData, set("/wa", []byte("4"), -1)).why("removed watches stay silent, and removing sent nothing")
	b.do("w", jute.OpGetChildren, pw("/wa", true))
	b.do("w", jute.OpExists, pw("/wa", true))
	b.do("a", jute.OpDelete, del("/wa", -1)).why("child watches see NodeDeleted too")
	b.do("w", jute.OpRemoveWatches, wt("/nowhere", any))
	b.do("w", jute.OpCheckWatches, wt("/wa", 0))
	b.do("w", jute.OpCheckWatches, wt("/wa", 6))
	b.do("w", jute.OpRemoveWatches, wt("/wa", -1))
	// Types 4 and 5 are ZooKeeper 3.9's; 3.8 rejects them. zkd follows
	// 3.9 (§6.7) so that 3.9 clients can remove persistent watches.
	types45 := "ZooKeeper 3.9 (§6.7): watcher types 4 and 5 are accepted; 3.8 answers MARSHALLINGERROR"
	b.do("w", jute.OpCheckWatches, wt("/nowhere", jute.WatcherPersistent)).
		intended(types45, replyErr(jute.ErrNoWatcher)).reference(replyErr(jute.ErrMarshallingError))
	b.do("w", jute.OpRemoveWatches, wt("/nowhere", jute.WatcherPersistentRecursive)).
		intended(types45, replyErr(jute.ErrNoWatcher)).reference(replyErr(jute.ErrMarshallingError))

	b.section("§6.5 addWatch: persistent and recursive watches")
	b.do("w", jute.OpAddWatch, addWatch("/pw", jute.AddWatchPersistent)).why("the body is ErrorResponse{0} (§4.3.14)")
	b.do("w", jute.OpAddWatch, addWatch("/rw", jute.AddWatchPersistentRecursive))
	b.do("w", jute.OpAddWatch, addWatch("/pw", 2))
	b.do("w", jute.OpAddWatch, addWatch("/pw", -1))
	b.do("w", jute.OpAddWatch, addWatch("no/slash", jute.AddWatchPersistent)).why("no path validation")
	b.do("a", jute.OpCreate, mk("/pw", 0))
	b.do("a", jute.OpCreate, mk("/pw/c", 0))
	b.do("a", jute.OpSetData, set("/pw/c", []byte("1"), -1)).why("a persistent watch does not see its children's data")
	b.do("a", jute.OpCreate, mk("/pw/c/d", 0))
	b.do("a", jute.OpSetData, set("/pw", []byte("1"), -1))
	b.do("a", jute.OpSetData, set("/pw", []byte("2"), -1)).why("and fires again")
	b.do("w", jute.OpAddWatch, addWatch("/pw", jute.AddWatchPersistent)).why("re-adding is idempotent")
	b.do("w", jute.OpGetData, pw("/pw", true)).why("a one-shot watch beside the persistent one")
	b.do("a", jute.OpSetData, set("/pw", []byte("3"), -1)).why("one notification per connection")
	b.do("w", jute.OpCheckWatches, wt("/pw", any))
	// ZooKeeper 3.8 lets types 1 and 2 match persistent watches (they sit
	// in its child and data tables); 3.9, and zkd, keep types 1 and 2 for
	// one-shot watches and use 4 and 5 for the others (§6.7).
	types12 := "ZooKeeper 3.9 (§6.7): watcher types 1 and 2 match one-shot watches only; 3.8 also matches persistent and recursive ones"
	b.do("w", jute.OpCheckWatches, wt("/pw", ch)).
		intended(types12, replyErr(jute.ErrNoWatcher)).reference(replyErr(jute.OK))
	b.do("w", jute.OpCheckWatches, wt("/pw", rd)).why("3.8 does not count a persistent watch as a data watch either")
	b.do("w", jute.OpCheckWatches, wt("/pw", jute.WatcherPersistent)).
		intended(types45, replyErr(jute.OK)).reference(replyErr(jute.ErrMarshallingError))
	b.do("a", jute.OpCreate, mk("/rw", 0))
	b.do("a", jute.OpCreate, mk("/rw/x", 0)).why("no NodeChildrenChanged for recursive watches")
	b.do("a", jute.OpCreate, mk("/rw/x/y", 0))
	b.do("a", jute.OpSetData, set("/rw/x/y", []byte("1"), -1))
	b.do("a", jute.OpDelete, del("/rw/x/y", -1))
	b.do("w", jute.OpCheckWatches, wt("/rw", any))
	b.do("w", jute.OpCheckWatches, wt("/rw/x", any)).why("a recursive watch is registered on its own path only")
	b.do("w", jute.OpCheckWatches, wt("/rw", rd)).
		intended(types12, replyErr(jute.ErrNoWatcher)).reference(replyErr(jute.OK))
	b.do("w", jute.OpCheckWatches, wt("/rw", jute.WatcherPersistentRecursive)).
		intended(types45, replyErr(jute.OK)).reference(replyErr(jute.ErrMarshallingError))
	b.do("w", jute.OpRemoveWatches, wt("/pw", any))
	b.do("w", jute.OpRemoveWatches, wt("/rw", any))
	b.do("a", jute.OpSetData, set("/pw", []byte("4"), -1))
	b.do("a", jute.OpCreate, mk("/rw/z", 0))
	b.open("w2", openSpec{})
	b.do("w2", jute.OpExists, pw("/x2", true))
	b.do("w", jute.OpCheckWatches, wt("/x2", rd)).
		intended("ZooKeeper 3.9 (§6.7): checkWatches looks at the caller's own watches; 3.8 answers OK if any connection watches the path",
			replyErr(jute.ErrNoWatcher)).reference(replyErr(jute.OK))
	b.do("w", jute.OpRemoveWatches, wt("/x2", any)).why("only the caller's own watches are removed")
	b.do("a", jute.OpCreate, mk("/x2", 0))

	b.section("§7.3 the notifications of a multi")
	b.do("w", jute.OpExists, pw("/mw", true))
	b.do("w", jute.OpGetChildren, pw("/", true))
	b.do("w", jute.OpAddWatch, addWatch("/mw", jute.AddWatchPersistent))
	b.do("a", jute.OpMulti, multi(
		op(jute.OpCreate, mk("/mw", 0)),
		op(jute.OpSetData, set("/mw", []byte("1"), -1)),
		op(jute.OpDelete, del("/mw", -1)),
	)).why("each op fires in order, before the reply")
	b.do("w", jute.OpRemoveWatches, wt("/mw", any))
	// 3.9 puts the zxid of the transaction that fired a watch into the
	// notification's header; 3.8 sends -1 (§3.4, §6.3).
	b.do("w", jute.OpExists, pw("/nz", true))
	nz := b.do("w", jute.OpCreate, mk("/nz", 0))
	nz.eventZxids = true
	nz.intended("ZooKeeper 3.9 (§6.3): a notification carries the zxid of the transaction that fired it; 3.8 sends -1",
		func(o *outcome) string {
			if len(o.beforeZxids) != 1 || o.beforeZxids[0] != o.header.Zxid {
				return fmt.Sprintf("notification zxids %v before a reply with zxid %v", o.beforeZxids, o.header.Zxid)
			}
			return ""
		}).
		reference(func(o *outcome) string {
			if len(o.beforeZxids) != 1 || o.beforeZxids[0] != -1 {
				return fmt.Sprintf("notification zxids %v, want [-1]", o.beforeZxids)
			}
			return ""
		})

	b.section("§6.6 setWatches catch-up")
	for _, p := range []string{"/sw-old", "/sw-changed", "/sw-gone", "/sw-par", "/sw-par/k0"} {
		b.do("a", jute.OpCreate, mk(p, 0))
	}
	b.do("a", jute.OpCreate, mk("/sw-same", 0)).markZxid("sw")
	b.do("a", jute.OpSetData, set("/sw-changed", []byte("x"), -1))
	b.do("a", jute.OpDelete, del("/sw-gone", -1))
	b.do("a", jute.OpCreate, mk("/sw-born", 0))
	b.do("a", jute.OpCreate, mk("/sw-par/k1", 0))
	b.open("s", openSpec{})
	b.do("s", jute.OpSetWatches, &jute.SetWatches{
		Data:  []string{"/sw-changed", "/sw-gone", "/sw-old", "/sw-never"},
		Exist: []string{"/sw-born", "/sw-unborn"},
		Child: []string{"/sw-par", "/sw-same", "/sw-gone"},
	}).why("missed changes fire at once, before the reply").relTo = "sw"
	b.do("a", jute.OpSetData, set("/sw-old", []byte("x"), -1))
	b.do("a", jute.OpCreate, mk("/sw-unborn", 0))
	b.do("a", jute.OpCreate, mk("/sw-same/k", 0))
	b.do("a", jute.OpSetData, set("/sw-changed", []byte("y"), -1)).why("fired, so not registered")
	b.open("s2", openSpec{})
	b.do("s2", jute.OpSetWatches2, &jute.SetWatches{V2: true,
		Data: []string{"/sw-gone"}, Exist: absent, Child: absent,
		Persistent: []string{"/sw-p"}, PersistentRecursive: []string{"/sw-r"},
	}).relTo = "sw"
	b.do("a", jute.OpCreate, mk("/sw-p", 0))
	b.do("a", jute.OpCreate, mk("/sw-p/c", 0))
	b.do("a", jute.OpCreate, mk("/sw-r", 0))
	b.do("a", jute.OpCreate, mk("/sw-r/c", 0))

	b.section("§4.3.9 sync, §4.3.12 reconfig, §4.3.17 deleteContainer")
	b.do("a", jute.OpSync, pr("/missing")).why("no checks; the path is echoed")
	b.do("a", jute.OpSync, pr("bad"))
	b.do("a", jute.OpReconfig, &jute.ReconfigRequest{CurConfigID: -1})
	b.do("a", jute.OpExists, pw("/", false)).why("shows whether reconfig consumed a zxid")
	b.raw("a", jute.OpDeleteContainer, `deleteContainer (op 20) of "/box0": BADARGUMENTS, nothing deleted`, func(e *jute.Encoder) {
		e.Buffer([]byte("/box0"))
	})
	b.do("a", jute.OpExists, pw("/box0", false))

	b.section("§4.3.20 a failed auth, §4.4 unknown opcodes")
	b.open("x", openSpec{})
	b.do("x", jute.OpCreate, mk("/x-eph", jute.ModeEphemeral))
	b.do("x", jute.OpAuth, auth("nosuch", "x")).closing().why("AUTHFAILED with zxid 0, then the server closes")
	b.do("w", jute.OpExists, pw("/x-eph", true))
	b.do("w", jute.OpGetChildren, pw("/", true))
	b.endSession("x")
	b.do("a", jute.OpExists, pw("/x-eph", false))
	// -10 (createSession) is left out: real servers mishandle it after the
	// handshake (§4.1), and zkd's answer (unknown opcode) is its own.
	for _, code := range []jute.OpCode{99, 0, 10, 23, 108} {
		name := fmt.Sprintf("u%d", code)
		b.open(name, openSpec{})
		b.do(name, code, nil).closing().why("UNIMPLEMENTED with zxid -1, then the server closes")
		b.endSession(name)
	}

	b.section("§9.4 quota nodes")
	b.do("a", jute.OpCreate, mkData("/q4", "abc"))
	b.do("a", jute.OpCreate, mk("/zookeeper/quota/q4", 0))
	b.do("a", jute.OpCreate, mkData("/zookeeper/quota/q4/zookeeper_limits", "count=10,bytes=-1"))
	b.do("a", jute.OpCreate, mkData("/zookeeper/quota/q4/zookeeper_stats", "count=0,bytes=0")).
		why("the server overwrites the data with the subtree's usage")
	b.do("a", jute.OpGetData, pw("/zookeeper/quota/q4/zookeeper_stats", false))
	b.do("a", jute.OpCreate, mkData("/q4/c", "xy"))
	b.do("a", jute.OpSetData, set("/q4", []byte("abcdef"), -1))
	b.do("a", jute.OpGetData, pw("/zookeeper/quota/q4/zookeeper_stats", false)).why("updated in place: same version and mzxid")
	b.do("a", jute.OpDelete, del("/q4/c", -1))
	b.do("a", jute.OpGetData, pw("/zookeeper/quota/q4/zookeeper_stats", false))
	b.do("a", jute.OpGetAllChildrenNumber, pr("/zookeeper"))

	b.section("§1.4 frame length limits")
	b.do("a", jute.OpCreate, mk("/big", 0))
	b.open("big", openSpec{})
	b.raw("big", jute.OpSetData, "setData of /big in a frame of exactly jute.maxbuffer (1,048,575) bytes: accepted", func(e *jute.Encoder) {
		const path = "/big"
		n := 0xfffff - 8 - (4 + len(path)) - 4 - 4
		set(path, make([]byte, n), -1).Encode(e)
	})
	b.bytes("big", "a frame length of jute.maxbuffer+1: the server closes without a reply", []byte{0, 0x10, 0, 0})
	b.endSession("big")
	b.open("neg", openSpec{})
	b.bytes("neg", "a negative frame length", []byte{0xff, 0xff, 0xff, 0xff})
	b.endSession("neg")
	b.open("4lw", openSpec{})
	b.bytes("4lw", `"ruok" on an established session is a huge frame length (§11.1)`, []byte("ruok"))
	b.endSession("4lw")

	b.section("§5.5 the final child counters")
	b.do("a", jute.OpGetChildren2, pw("/", false))
	b.do("a", jute.OpGetChildren2, pw("/zookeeper", false))

	// Last, because ZooKeeper 3.8 runs a top-level check as a write and
	// consumes a zxid where zkd does not: later zxids would not compare.
	b.section("§4.3.10 top-level check")
	check := "ZooKeeper 3.9.3 (§4.3.10): a top-level check is an unknown opcode; 3.8 runs it and sends no reply on success"
	b.open("ck", openSpec{})
	b.do("ck", jute.OpCheck, chk("/a", -1)).withPing().
		intended(check, unknownOpcode("ck")).
		reference(func(o *outcome) string {
			if !o.replied || o.header.Xid != jute.XidPing {
				return "3.8.0 answered a successful top-level check; it used to send nothing (the ping's reply came first)"
			}
			return ""
		})
	b.open("ck2", openSpec{})
	b.do("ck2", jute.OpCheck, chk("/missing", -1)).withPing().
		intended(check, unknownOpcode("ck2")).
		reference(replyErr(jute.ErrNoNode))
	return b.steps
}

// Package lincheck judges client histories of a ZooKeeper ensemble: it
// checks that writes and synced reads are linearizable (with porcupine, one
// versioned register per znode) and that every session's plain reads are
// sequentially consistent as ZooKeeper promises them.
//
// A history is a slice of Op, each the invocation and the response of one
// client call, stamped with the caller's monotonic clock. A call whose
// outcome the client cannot know (connection loss, session moved, a
// timeout) is recorded with Result Unknown: the check lets such a write
// take effect at any moment after its invocation, or never.
//
// ZooKeeper's guarantees (Programmer's Guide, "Consistency Guarantees")
// split the check in two:
//
//   - Writes (create, setData, delete) are linearizable, and a read that
//     follows a sync on the same session sees every write that completed
//     before the sync was invoked. Operations gives porcupine those
//     operations, and Model is the sequential specification: a map from
//     path to an optional (data, version), partitioned by path.
//   - Plain reads may be stale, but a session never goes back in time:
//     it reads its own writes, each znode's mzxid it sees never decreases,
//     and once it has seen a state with zxid M it sees no znode older than
//     its last write at or below M. CheckSessions checks exactly that,
//     using the zxids in the Stats the server returned.
//
// The package is pure: it does no I/O and keeps no clock; callers time the
// check with porcupine's timeout.
package lincheck

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Kind is the ZooKeeper call an Op made.
type Kind int

const (
	// Create is create(path, data) of a persistent znode.
	Create Kind = iota + 1
	// Set is setData(path, data, version); version -1 matches any.
	Set
	// Delete is delete(path, version); version -1 matches any.
	Delete
	// Get is a plain getData(path): sequentially consistent only.
	Get
	// SyncGet is sync(path) followed by getData(path) on the same session,
	// recorded as one call from the sync's invocation to the read's
	// response: linearizable.
	SyncGet
)

// String returns the call's ZooKeeper name.
func (k Kind) String() string {
	switch k {
	case Create:
		return "create"
	case Set:
		return "setData"
	case Delete:
		return "delete"
	case Get:
		return "getData"
	case SyncGet:
		return "sync+getData"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Result is how a call ended.
type Result int

const (
	// Unknown means the client cannot tell whether the call took effect.
	Unknown Result = iota
	// OK is success.
	OK
	// NoNode is ZooKeeper's NONODE.
	NoNode
	// NodeExists is ZooKeeper's NODEEXISTS.
	NodeExists
	// BadVersion is ZooKeeper's BADVERSION.
	BadVersion
)

// String returns the result's name.
func (r Result) String() string {
	switch r {
	case Unknown:
		return "unknown"
	case OK:
		return "ok"
	case NoNode:
		return "NoNode"
	case NodeExists:
		return "NodeExists"
	case BadVersion:
		return "BadVersion"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Input is what a call asked for.
type Input struct {
	Kind    Kind
	Path    string
	Data    string // Create and Set: the data written
	Version int32  // Set and Delete: the expected version, -1 for any
}

// Output is what a call answered. Data, Version and Mzxid are meaningful
// for an OK Get or SyncGet (the znode's data and Stat) and, except Data,
// for an OK Set (the Stat it returned).
type Output struct {
	Result  Result
	Data    string
	Version int32
	Mzxid   int64
}

// Op is one call of a history.
type Op struct {
	// Client numbers the caller from 0; one client issues one call at a
	// time.
	Client int
	// Session is the ZooKeeper session the call ran on.
	Session int64
	Input
	Output
	// Call and Return are the caller's clock when the call was invoked and
	// when its response arrived. Return is ignored for Unknown results.
	Call, Return int64
}

// String describes the op for failure messages.
func (o Op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "client %d session %#x: %s(%s", o.Client, o.Session, o.Kind, o.Path)
	switch o.Kind {
	case Create:
		fmt.Fprintf(&b, ", %q", o.Input.Data)
	case Set:
		fmt.Fprintf(&b, ", %q, v%d", o.Input.Data, o.Input.Version)
	case Delete:
		fmt.Fprintf(&b, ", v%d", o.Input.Version)
	}
	fmt.Fprintf(&b, ") -> %s", o.Result)
	if o.Result == OK && (o.Kind == Get || o.Kind == SyncGet || o.Kind == Set) {
		if o.Kind != Set {
			fmt.Fprintf(&b, " %q", o.Output.Data)
		}
		fmt.Fprintf(&b, " v%d mzxid %#x", o.Output.Version, o.Mzxid)
	}
	fmt.Fprintf(&b, " [%d, ", o.Call)
	if o.Result == Unknown {
		b.WriteString("∞)")
	} else {
		fmt.Fprintf(&b, "%d]", o.Return)
	}
	return b.String()
}

// Node is the model's state of one path: absent, or present with its data
// and version.
type Node struct {
	Exists  bool
	Data    string
	Version int32
}

// String shows the state as the HTML report does.
func (n Node) String() string {
	if !n.Exists {
		return "absent"
	}
	return fmt.Sprintf("%q v%d", n.Data, n.Version)
}

// apply returns the state after in succeeds on n and whether in can succeed
// on n at all; reads never change the state.
func apply(n Node, in Input) (Node, bool) {
	matches := in.Version == -1 || in.Version == n.Version
	switch in.Kind {
	case Create:
		return Node{Exists: true, Data: in.Data}, !n.Exists
	case Set:
		return Node{Exists: true, Data: in.Data, Version: n.Version + 1}, n.Exists && matches
	case Delete:
		return Node{}, n.Exists && matches
	}
	return n, true
}

// step returns the states a path can be in after op ran on n, none if op
// cannot have answered out on n.
func step(n Node, in Input, out Output) []any {
	next, can := apply(n, in)
	if out.Result == Unknown {
		if in.Kind == Get || in.Kind == SyncGet {
			return []any{n} // Operations drops these; a read changes nothing
		}
		if can {
			return []any{n, next}
		}
		return []any{n}
	}
	var ok bool
	switch in.Kind {
	case Create:
		ok = (out.Result == OK && can) || (out.Result == NodeExists && n.Exists)
	case Set:
		ok = (out.Result == OK && can && out.Version == next.Version) ||
			(out.Result == NoNode && !n.Exists) ||
			(out.Result == BadVersion && n.Exists && !can)
	case Delete:
		ok = (out.Result == OK && can) ||
			(out.Result == NoNode && !n.Exists) ||
			(out.Result == BadVersion && n.Exists && !can)
	case Get, SyncGet:
		ok = (out.Result == OK && n.Exists && n.Data == out.Data && n.Version == out.Version) ||
			(out.Result == NoNode && !n.Exists)
	}
	if !ok {
		return nil
	}
	if out.Result == OK {
		return []any{next}
	}
	return []any{n}
}

// Model is the sequential specification of the znodes a history touches:
// each path is a register holding nothing or (data, version), written by
// create, versioned setData and versioned delete, read by sync+getData.
// An Unknown write may or may not take effect. It partitions histories by
// path, so each znode is checked on its own.
var Model = nondeterministic.ToModel()

var nondeterministic = &porcupine.NondeterministicModel{
	Partition: partitionByPath,
	Init:      func() []any { return []any{Node{}} },
	Step: func(state, input, output any) []any {
		return step(state.(Node), input.(Input), output.(Output))
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		return Op{Input: in, Output: out}.describe()
	},
	DescribeState: func(state any) string { return state.(Node).String() },
}

// describe is Op.String without the client, session and times.
func (o Op) describe() string {
	s := o.String()
	s = s[strings.Index(s, ": ")+2:]
	return s[:strings.LastIndex(s, " [")]
}

func partitionByPath(history []porcupine.Operation) [][]porcupine.Operation {
	byPath := make(map[string][]porcupine.Operation)
	var paths []string
	for _, op := range history {
		p := op.Input.(Input).Path
		if _, ok := byPath[p]; !ok {
			paths = append(paths, p)
		}
		byPath[p] = append(byPath[p], op)
	}
	sort.Strings(paths)
	out := make([][]porcupine.Operation, 0, len(paths))
	for _, p := range paths {
		out = append(out, byPath[p])
	}
	return out
}

// Operations returns the part of h that must be linearizable, as porcupine
// operations for Model: every write, and every SyncGet that answered.
// Plain Gets are left out (CheckSessions judges them), and so are reads
// with an Unknown result (they changed nothing and told nothing). An
// Unknown write returns at math.MaxInt64: it may take effect at any time
// after its invocation.
func Operations(h []Op) []porcupine.Operation {
	var ops []porcupine.Operation
	for _, o := range h {
		read := o.Kind == Get || o.Kind == SyncGet
		if o.Kind == Get || (read && o.Result == Unknown) {
			continue
		}
		ret := o.Return
		if o.Result == Unknown {
			ret = math.MaxInt64
		}
		ops = append(ops, porcupine.Operation{
			ClientId: o.Client,
			Input:    o.Input,
			Call:     o.Call,
			Output:   o.Output,
			Return:   ret,
		})
	}
	return ops
}

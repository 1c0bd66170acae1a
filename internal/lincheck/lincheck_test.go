package lincheck

import (
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
)

// op builds an Op compactly for the tables below.
func op(client int, call, ret int64, in Input, out Output) Op {
	return Op{Client: client, Session: int64(client + 1), Input: in, Output: out, Call: call, Return: ret}
}

func create(p, d string) Input       { return Input{Kind: Create, Path: p, Data: d} }
func set(p, d string, v int32) Input { return Input{Kind: Set, Path: p, Data: d, Version: v} }
func del(p string, v int32) Input    { return Input{Kind: Delete, Path: p, Version: v} }
func syncGet(p string) Input         { return Input{Kind: SyncGet, Path: p} }
func get(p string) Input             { return Input{Kind: Get, Path: p} }
func ok() Output                     { return Output{Result: OK} }
func res(r Result) Output            { return Output{Result: r} }
func stat(v int32, z int64) Output   { return Output{Result: OK, Version: v, Mzxid: z} }
func read(d string, v int32, z int64) Output {
	return Output{Result: OK, Data: d, Version: v, Mzxid: z}
}

func TestLinearizability(t *testing.T) {
	tests := []struct {
		name string
		h    []Op
		want porcupine.CheckResult
	}{
		{"a create then a synced read that sees it is linearizable", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(1, 11, 20, syncGet("/a"), read("x", 0, 1)),
		}, porcupine.Ok},
		{"an acknowledged create that a later synced read misses is a lost write", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(1, 11, 20, syncGet("/a"), res(NoNode)),
		}, porcupine.Illegal},
		{"a synced read concurrent with a create may miss it", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(1, 5, 20, syncGet("/a"), res(NoNode)),
		}, porcupine.Ok},
		{"a write with unknown outcome may have taken effect", []Op{
			op(0, 0, 0, create("/a", "x"), res(Unknown)),
			op(1, 11, 20, syncGet("/a"), read("x", 0, 1)),
		}, porcupine.Ok},
		{"a write with unknown outcome may not have taken effect", []Op{
			op(0, 0, 0, create("/a", "x"), res(Unknown)),
			op(1, 11, 20, syncGet("/a"), res(NoNode)),
			op(1, 21, 30, create("/a", "y"), ok()),
		}, porcupine.Ok},
		{"a write with unknown outcome cannot be seen before it was invoked", []Op{
			op(1, 0, 10, syncGet("/a"), read("x", 0, 1)),
			op(0, 11, 0, create("/a", "x"), res(Unknown)),
		}, porcupine.Illegal},
		{"a stale synced read is not linearizable", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(0, 11, 20, set("/a", "y", 0), stat(1, 2)),
			op(1, 21, 30, syncGet("/a"), read("x", 0, 1)),
		}, porcupine.Illegal},
		{"setData with a stale version fails with BadVersion", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(0, 11, 20, set("/a", "y", 0), stat(1, 2)),
			op(1, 21, 30, set("/a", "z", 0), res(BadVersion)),
			op(1, 31, 40, syncGet("/a"), read("y", 1, 2)),
		}, porcupine.Ok},
		{"setData succeeding on a wrong version is not linearizable", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(1, 11, 20, set("/a", "z", 5), stat(6, 2)),
		}, porcupine.Illegal},
		{"delete then create restarts the version at zero", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(0, 11, 20, set("/a", "y", -1), stat(1, 2)),
			op(0, 21, 30, del("/a", 1), ok()),
			op(1, 31, 40, create("/a", "z"), ok()),
			op(1, 41, 50, syncGet("/a"), read("z", 0, 4)),
		}, porcupine.Ok},
		{"two acknowledged creates of one path cannot both succeed", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(1, 0, 10, create("/a", "y"), ok()),
		}, porcupine.Illegal},
		{"paths are independent registers", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(1, 0, 10, create("/b", "y"), ok()),
			op(2, 11, 20, syncGet("/b"), read("y", 0, 2)),
		}, porcupine.Ok},
		{"plain reads are not judged for linearizability", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(1, 11, 20, get("/a"), res(NoNode)),
		}, porcupine.Ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := porcupine.CheckOperations(Model, Operations(tt.h))
			want := tt.want == porcupine.Ok
			if got != want {
				t.Errorf("linearizable = %v, want %v", got, want)
			}
		})
	}
}

func TestCheckSessions(t *testing.T) {
	tests := []struct {
		name string
		h    []Op
		want string // substring of the first violation; "" for none
	}{
		{"a session reading its own writes is fine", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(0, 11, 20, get("/a"), read("x", 0, 1)),
			op(0, 21, 30, set("/a", "y", 0), stat(1, 2)),
			op(0, 31, 40, get("/a"), read("y", 1, 2)),
		}, ""},
		{"a session that misses its own create breaks read-your-writes", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(0, 11, 20, get("/a"), res(NoNode)),
		}, "had seen it present"},
		{"absent after a possible delete by another client is fine", []Op{
			op(0, 0, 10, create("/a", "x"), ok()),
			op(1, 5, 0, del("/a", -1), res(Unknown)),
			op(0, 11, 20, get("/a"), res(NoNode)),
		}, ""},
		{"a session that reads an older version than it read before goes back in time", []Op{
			op(1, 0, 10, create("/a", "x"), ok()),
			op(1, 11, 20, set("/a", "y", 0), stat(1, 5)),
			op(0, 21, 30, get("/a"), read("y", 1, 5)),
			op(0, 31, 40, get("/a"), read("x", 0, 3)),
		}, "went back in time"},
		{"a session that saw zxid M may not miss an older write of another path", []Op{
			op(1, 0, 10, create("/a", "x"), ok()),
			op(1, 11, 20, set("/a", "x2", 0), stat(1, 4)),
			op(1, 21, 30, create("/b", "y"), ok()),
			op(1, 31, 40, set("/b", "y2", 0), stat(1, 6)),
			op(0, 41, 50, get("/b"), read("y2", 1, 6)),
			op(0, 51, 60, get("/a"), read("x", 0, 3)),
		}, "stale"},
		{"a stale plain read of a path the session has not seen newer is allowed", []Op{
			op(1, 0, 10, create("/a", "x"), ok()),
			op(1, 11, 20, set("/a", "x2", 0), stat(1, 4)),
			op(0, 51, 60, get("/a"), read("x", 0, 3)),
		}, ""},
		{"a read of data nobody wrote is invented", []Op{
			op(0, 0, 10, get("/a"), read("ghost", 0, 3)),
		}, "no write"},
		{"a read must carry the zxid the write returned", []Op{
			op(1, 0, 10, create("/a", "x"), ok()),
			op(1, 11, 20, set("/a", "y", 0), stat(1, 4)),
			op(0, 21, 30, get("/a"), read("y", 1, 7)),
		}, "with mzxid"},
		{"an acknowledged write gets a zxid above what its session saw", []Op{
			op(1, 0, 10, create("/b", "y"), ok()),
			op(1, 11, 20, set("/b", "y2", 0), stat(1, 9)),
			op(0, 21, 30, get("/b"), read("y2", 1, 9)),
			op(0, 31, 40, create("/a", "x"), ok()),
			op(0, 41, 50, set("/a", "x2", 0), stat(1, 8)),
		}, "not above zxid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := CheckSessions(tt.h)
			switch {
			case tt.want == "" && len(vs) > 0:
				t.Errorf("unexpected violation: %v", vs[0])
			case tt.want != "" && len(vs) == 0:
				t.Errorf("no violation, want one saying %q", tt.want)
			case tt.want != "" && !strings.Contains(vs[0].Error(), tt.want):
				t.Errorf("violation %v, want one saying %q", vs[0], tt.want)
			}
		})
	}
}

func TestOpStringShowsUnknownAsOpenEnded(t *testing.T) {
	s := op(2, 7, 0, set("/a", "d", 3), res(Unknown)).String()
	want := `client 2 session 0x3: setData(/a, "d", v3) -> unknown [7, ∞)`
	if s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
}

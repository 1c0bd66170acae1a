package lincheck

import (
	"fmt"
	"sort"
)

// Violation is a breach of a session guarantee found by CheckSessions.
type Violation struct {
	Op     Op     // the read (or write) that broke the guarantee
	Reason string // what it broke, naming the ops involved
}

func (v Violation) Error() string { return v.Op.String() + ": " + v.Reason }

// seen is what a session last saw of one path.
type seen struct {
	present bool
	mzxid   int64 // 0 when unknown (the session's own create)
	by      Op    // the op it saw it through
}

// CheckSessions checks the guarantees ZooKeeper gives each session for
// every call, plain reads included, and returns the breaches:
//
//   - A read returns data some write of that path wrote, invoked before the
//     read returned; if that write was an acknowledged setData, the read's
//     mzxid is the one the write returned.
//   - A session's view never goes back: per path, the mzxid it reads never
//     decreases, and once it has seen zxid M (in a read or its own
//     setData) it reads no path at a mzxid older than an acknowledged
//     setData of that path with zxid at most M.
//   - A session reads its own writes: after it saw a path present (its own
//     create or setData, or a read), it reads it absent only if some delete
//     of that path may have run by then.
//   - An acknowledged setData gets a zxid above every zxid its session had
//     seen.
//
// Ops of one session are taken in the order of their Call times (one
// client issues one call at a time).
func CheckSessions(h []Op) []Violation {
	setsByPath := make(map[string][]Op)         // acknowledged setData, with their zxids
	writers := make(map[string]map[string][]Op) // path → data → creates and sets writing it
	deletes := make(map[string][]Op)            // deletes that may have run
	sessions := make(map[int64][]Op)
	var ids []int64
	for _, o := range h {
		switch o.Kind {
		case Set, Create:
			if o.Result == OK || o.Result == Unknown {
				if writers[o.Path] == nil {
					writers[o.Path] = make(map[string][]Op)
				}
				writers[o.Path][o.Input.Data] = append(writers[o.Path][o.Input.Data], o)
			}
			if o.Kind == Set && o.Result == OK {
				setsByPath[o.Path] = append(setsByPath[o.Path], o)
			}
		case Delete:
			if o.Result == OK || o.Result == Unknown {
				deletes[o.Path] = append(deletes[o.Path], o)
			}
		}
		if _, ok := sessions[o.Session]; !ok {
			ids = append(ids, o.Session)
		}
		sessions[o.Session] = append(sessions[o.Session], o)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	var out []Violation
	for _, id := range ids {
		ops := sessions[id]
		sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
		var maxZxid int64 // the newest zxid the session has seen
		var maxBy Op
		last := make(map[string]seen)
		for _, o := range ops {
			if o.Result != OK && o.Result != NoNode {
				continue
			}
			switch o.Kind {
			case Create:
				if o.Result == OK {
					last[o.Path] = seen{present: true, by: o}
				}
			case Delete:
				if o.Result == OK {
					last[o.Path] = seen{by: o}
				}
			case Set:
				if o.Result != OK {
					continue
				}
				if o.Mzxid <= maxZxid {
					out = append(out, Violation{o, fmt.Sprintf("acknowledged with zxid %#x, not above zxid %#x its session had seen through %v", o.Mzxid, maxZxid, maxBy)})
				}
				if o.Mzxid > maxZxid {
					maxZxid, maxBy = o.Mzxid, o
				}
				last[o.Path] = seen{present: true, mzxid: o.Mzxid, by: o}
			case Get, SyncGet:
				if o.Result == NoNode {
					if l := last[o.Path]; l.present && !mayHaveRun(deletes[o.Path], o.Return) {
						out = append(out, Violation{o, fmt.Sprintf("read absent, but its session had seen it present through %v and no delete of it was invoked before this read returned", l.by)})
					}
					last[o.Path] = seen{by: o}
					continue
				}
				out = append(out, checkRead(o, writers[o.Path][o.Output.Data], setsByPath[o.Path], last[o.Path], maxZxid, maxBy)...)
				if o.Mzxid > maxZxid {
					maxZxid, maxBy = o.Mzxid, o
				}
				last[o.Path] = seen{present: true, mzxid: o.Mzxid, by: o}
			}
		}
	}
	return out
}

// checkRead checks one read that found its path present against the
// writes that may have written what it read (cands), the acknowledged
// setData calls of its path, and what its session had seen.
func checkRead(o Op, cands, sets []Op, last seen, maxZxid int64, maxBy Op) []Violation {
	var out []Violation
	var from *Op
	for i := range cands {
		if cands[i].Call <= o.Return {
			from = &cands[i]
			break
		}
	}
	switch {
	case from == nil:
		out = append(out, Violation{o, fmt.Sprintf("read data %q that no write of the path invoked before it returned wrote", o.Output.Data)})
	case from.Kind == Set && from.Result == OK && from.Mzxid != o.Mzxid:
		out = append(out, Violation{o, fmt.Sprintf("read data written by %v at zxid %#x, but with mzxid %#x", *from, from.Mzxid, o.Mzxid)})
	}
	if last.present && last.mzxid > o.Mzxid {
		out = append(out, Violation{o, fmt.Sprintf("went back in time: its session had seen the path at mzxid %#x through %v", last.mzxid, last.by)})
	}
	for _, s := range sets {
		if s.Mzxid > o.Mzxid && s.Mzxid <= maxZxid {
			out = append(out, Violation{o, fmt.Sprintf("stale: misses %v although its session had seen zxid %#x through %v", s, maxZxid, maxBy)})
			break
		}
	}
	return out
}

// mayHaveRun reports whether one of ops was invoked at or before t.
func mayHaveRun(ops []Op, t int64) bool {
	for _, o := range ops {
		if o.Call <= t {
			return true
		}
	}
	return false
}

package recipe_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/zkd/zkd/client/recipe"
)

// candidate is an Election campaigning in the background.
type candidate struct {
	c    *zk
	e    *recipe.Election
	done chan error // Campaign's result
}

func campaign(t *testing.T, e *env, path, id string) *candidate {
	t.Helper()
	c := e.connect(t)
	cd := &candidate{c: c, e: recipe.NewElection(c.Client, path, id), done: make(chan error, 1)}
	ctx := testCtx(t)
	go func() { cd.done <- cd.e.Campaign(ctx) }()
	return cd
}

// oneLeader waits until exactly one of cs has won, and returns it.
func oneLeader(t *testing.T, cs []*candidate) *candidate {
	t.Helper()
	var won *candidate
	waitFor(t, "a leader", func() bool {
		for _, cd := range cs {
			if len(cd.done) > 0 {
				won = cd
				return true
			}
		}
		return false
	})
	if err := <-won.done; err != nil {
		t.Fatalf("%s's campaign: %v", won.e.ID(), err)
	}
	won.done <- nil // leave it readable for later checks
	for _, cd := range cs {
		if cd != won && len(cd.done) > 0 {
			t.Fatalf("both %s and %s won", won.e.ID(), cd.e.ID())
		}
	}
	return won
}

// queued is a node of a lock or election queue and its owner session.
type queued struct {
	path  string
	owner int64
}

// queueOrder returns the sequential children of dir in sequence order.
func queueOrder(t *testing.T, c *zk, dir string) []queued {
	t.Helper()
	names := children(t, c, dir)
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(a[len(a)-10:], b[len(b)-10:]) })
	var out []queued
	for _, name := range names {
		st, err := c.Exists(testCtx(t), dir+"/"+name)
		if err != nil || st == nil {
			t.Fatalf("exists %s: %v %v", name, st, err)
		}
		out = append(out, queued{dir + "/" + name, st.EphemeralOwner})
	}
	return out
}

func TestElectionHasOneLeaderAtATime(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		const n = 5
		path := e.path("election")
		ctx := testCtx(t)
		oc := e.connect(t)
		observer := recipe.NewElection(oc.Client, path, "observer")
		if _, err := observer.Leader(ctx); !errors.Is(err, recipe.ErrNoLeader) {
			t.Fatalf("Leader with no candidates: %v", err)
		}
		var cs []*candidate
		for i := range n {
			cs = append(cs, campaign(t, e, path, fmt.Sprintf("cand-%d", i)))
		}
		waitFor(t, "every candidate's node", func() bool { return len(children(t, oc, path)) == n })

		// Herd-free: each candidate in line watches only the one before it.
		queue := queueOrder(t, oc, path)
		for k := 1; k < n; k++ {
			var cd *candidate
			for _, x := range cs {
				if x.c.SessionID() == queue[k].owner {
					cd = x
				}
			}
			waitFor(t, "candidate "+queue[k].path+" to watch exactly its predecessor", func() bool {
				return slices.Equal(e.dataWatches(t, cd.c), []string{queue[k-1].path})
			})
		}

		// Each resignation hands leadership to exactly one other candidate.
		seen := map[string]bool{}
		for len(cs) > 0 {
			leader := oneLeader(t, cs)
			if seen[leader.e.ID()] {
				t.Fatalf("%s led twice", leader.e.ID())
			}
			seen[leader.e.ID()] = true
			if got, err := observer.Leader(ctx); err != nil || got != leader.e.ID() {
				t.Fatalf("Leader() = %q, %v; want %s", got, err, leader.e.ID())
			}
			if !isOpen(leader.e.Lost()) {
				t.Fatal("the leader's Lost is closed")
			}
			if err := leader.e.Resign(ctx); err != nil {
				t.Fatal(err)
			}
			closedWithin(t, "Lost after Resign", leader.e.Lost())
			if err := leader.e.Resign(ctx); !errors.Is(err, recipe.ErrNotHeld) {
				t.Errorf("second Resign: %v", err)
			}
			for i, cd := range cs {
				if cd == leader {
					cs = append(cs[:i], cs[i+1:]...)
					break
				}
			}
		}
		if _, err := observer.Leader(ctx); !errors.Is(err, recipe.ErrNoLeader) {
			t.Fatalf("Leader after everyone resigned: %v", err)
		}
	})
}

func TestElectionReplacesALeaderWhoseSessionExpired(t *testing.T) {
	onBothServers(t, func(t *testing.T, e *env) {
		path := e.path("election")
		ctx := testCtx(t)
		first := campaign(t, e, path, "first")
		if err := result(t, "the first candidate to lead", first.done); err != nil {
			t.Fatal(err)
		}
		var others []*candidate
		for i, id := range []string{"second", "third"} {
			others = append(others, campaign(t, e, path, id))
			waitFor(t, id+"'s node", func() bool { return len(children(t, first.c, path)) == i+2 })
		}
		lost := first.e.Lost()

		e.expire(t, first.c)
		closedWithin(t, "the expired leader's Lost", lost)
		leader := oneLeader(t, others)
		if leader.e.ID() != "second" {
			t.Errorf("%s leads, want second, next in line", leader.e.ID())
		}
		got, err := recipe.NewElection(others[1].c.Client, path, "").Leader(ctx)
		if err != nil || got != leader.e.ID() {
			t.Errorf("Leader() = %q, %v; want %s", got, err, leader.e.ID())
		}
		if err := first.e.Campaign(ctx); err == nil {
			t.Error("Campaign on an expired session succeeded")
		}
	})
}

package recipe

import (
	"context"
	"errors"
	"fmt"

	"github.com/zkd/zkd/client"
)

// Election is one candidate in a leader election: the children of a node,
// where each candidate queues an ephemeral sequential node holding its id,
// and the lowest one is the leader. A candidate watches only the candidate
// just before it, so when the leader goes, only its successor wakes up.
//
// An Election campaigns at most once at a time; make one per candidate.
// Its methods are safe for concurrent use.
type Election struct {
	k  contender
	id string
}

// kindCandidate names a candidate's node.
const kindCandidate = "candidate"

// NewElection returns candidate id's handle on the election at path,
// used through c. id is stored as the candidate's node data, which
// Leader returns.
func NewElection(c *client.Client, path, id string, opts ...Option) *Election {
	o := buildOptions(opts)
	return &Election{k: contender{c: c, dir: path, acl: o.acl, what: "election"}, id: id}
}

// ID returns the candidate's id.
func (e *Election) ID() string { return e.id }

// Campaign enters the election and waits until this candidate is the
// leader, or ctx ends; on failure its node is removed. Leadership then
// lasts until Resign or until Lost is closed. It fails with ErrBusy if
// this Election is already campaigning or leading.
func (e *Election) Campaign(ctx context.Context) error {
	return e.k.acquire(ctx, kindCandidate, []byte(e.id), yieldToSameKind, false)
}

// Resign gives up leadership by deleting the candidate's node, which makes
// the next candidate the leader. It returns ErrNotHeld if this candidate is
// not the leader.
func (e *Election) Resign(ctx context.Context) error {
	return e.k.release(ctx, "")
}

// Lost returns a channel that is closed when this candidate stops being
// the leader: after Resign, when its node is deleted, or when its
// Client's session ends. It is a closed channel when it is not the
// leader.
func (e *Election) Lost() <-chan struct{} { return e.k.lostCh() }

// Leader returns the id of the current leader: the data of the lowest
// candidate's node. It fails with ErrNoLeader when nobody campaigns.
func (e *Election) Leader(ctx context.Context) (string, error) {
	for {
		names, err := childrenRetry(ctx, e.k.c, e.k.dir)
		if errors.Is(err, client.ErrNoNode) {
			return "", e.k.errorf(ErrNoLeader)
		}
		if err != nil {
			return "", e.k.errorf(err)
		}
		ms := sortedMembers(names, kindCandidate)
		if len(ms) == 0 {
			return "", e.k.errorf(ErrNoLeader)
		}
		data, _, err := e.k.c.Get(ctx, e.k.dir+"/"+ms[0].name)
		switch {
		case err == nil:
			return string(data), nil
		case errors.Is(err, client.ErrNoNode) || isConnLoss(err):
			// The leader went while we looked, or the answer was lost.
		default:
			return "", e.k.errorf(fmt.Errorf("read leader: %w", err))
		}
	}
}

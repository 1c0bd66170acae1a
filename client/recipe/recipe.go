package recipe

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zkd/zkd/client"
)

// Errors a recipe returns on its own account; errors from the server are
// the client package's, wrapped with the recipe and path.
var (
	// ErrLocked is returned by TryLock and TryRLock when the lock is held
	// by someone else.
	ErrLocked = errors.New("recipe: lock is held by another owner")
	// ErrNotHeld is returned by Unlock, RUnlock and Resign when there is
	// nothing to release.
	ErrNotHeld = errors.New("recipe: not held")
	// ErrBusy is returned by Lock, RLock and Campaign when the same object
	// already holds, or is acquiring, a lock or leadership.
	ErrBusy = errors.New("recipe: already held or being acquired by this object")
	// ErrNodeGone is returned while waiting for a lock or leadership when
	// the waiter's own node was deleted by someone else.
	ErrNodeGone = errors.New("recipe: own node was deleted")
	// ErrNoLeader is returned by Election.Leader when there is no
	// candidate.
	ErrNoLeader = errors.New("recipe: no leader")
)

// Option adjusts how a recipe creates its nodes.
type Option func(*options)

type options struct {
	acl []client.ACL
}

// WithACL sets the ACL list of every node the recipe creates, including
// missing parents (default: client.WorldACL(client.PermAll)).
func WithACL(acl []client.ACL) Option {
	return func(o *options) { o.acl = slices.Clone(acl) }
}

func buildOptions(opts []Option) options {
	o := options{acl: client.WorldACL(client.PermAll)}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// isConnLoss reports whether err says only that the connection broke, so
// a read can be repeated on the next one.
func isConnLoss(err error) bool {
	return errors.Is(err, client.ErrConnectionLoss)
}

// ended reports whether err says the Client can no longer be used: its
// session expired, authentication failed or it was closed.
func ended(err error) bool {
	return errors.Is(err, client.ErrSessionExpired) || errors.Is(err, client.ErrClosed) ||
		errors.Is(err, client.ErrAuthFailed)
}

// watchEnded turns the final EventNone of a watch into an error.
func watchEnded(ev client.Event) error {
	if ev.Err != nil {
		return ev.Err
	}
	return client.ErrClosed
}

// ensurePath creates p and its missing ancestors as persistent nodes.
func ensurePath(ctx context.Context, c *client.Client, p string, acl []client.ACL) error {
	if p == "/" || p == "" {
		return nil
	}
	// Try the node itself first: its parents usually exist.
	for {
		_, _, err := c.Create(ctx, p, nil, client.ModePersistent, acl)
		switch {
		case err == nil || errors.Is(err, client.ErrNodeExists):
			return nil
		case errors.Is(err, client.ErrNoNode):
			if err := ensurePath(ctx, c, path.Dir(p), acl); err != nil {
				return err
			}
		case isConnLoss(err):
			// The create may have taken effect; trying again tells.
		default:
			return err
		}
	}
}

// childrenRetry lists p's children, repeating the read after a connection
// loss.
func childrenRetry(ctx context.Context, c *client.Client, p string) ([]string, error) {
	for {
		names, _, err := c.Children(ctx, p)
		if !isConnLoss(err) {
			return names, err
		}
	}
}

// deleteRetry deletes p, repeating the delete after a connection loss. A
// node that is gone counts as deleted.
func deleteRetry(ctx context.Context, c *client.Client, p string) error {
	for {
		err := c.Delete(ctx, p, client.AnyVersion)
		if err == nil || errors.Is(err, client.ErrNoNode) {
			return nil
		}
		if !isConnLoss(err) {
			return err
		}
	}
}

// cleanupCtx returns a context for removing a node after the caller's
// context ended: it keeps ctx's values, not its cancellation, and lasts a
// session timeout, after which an unreachable session is about to expire
// and take its ephemeral nodes with it anyway.
func cleanupCtx(ctx context.Context, c *client.Client) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), max(c.SessionTimeout(), time.Second))
}

// newGUID returns 32 random hex digits for a protected node name.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b[:])
}

// protectedPrefix is the start of every node name a recipe creates with a
// GUID, so that after a connection loss it can find the node it may have
// created (Curator's "protected" names use the same marker).
const protectedPrefix = "_c_"

// member is a sequential child of a recipe's node:
// "_c_<guid>-<kind>-<sequence>", or "<kind>-<sequence>" without the
// protected prefix.
type member struct {
	name string
	guid string // "" for an unprotected name
	kind string // "lock", "read", "write", "candidate", "qn"
	seq  int64
}

// seqDigits is the width of ZooKeeper's sequence suffix (%010d).
const seqDigits = 10

// parseMember splits a child name; ok is false for names no recipe made.
func parseMember(name string) (m member, ok bool) {
	m.name = name
	rest := name
	if strings.HasPrefix(rest, protectedPrefix) {
		rest = rest[len(protectedPrefix):]
		guid, after, found := strings.Cut(rest, "-")
		if !found || len(guid) != 32 {
			return member{}, false
		}
		m.guid, rest = guid, after
	}
	if len(rest) < seqDigits+2 || rest[len(rest)-seqDigits-1] != '-' {
		return member{}, false
	}
	seq, err := strconv.ParseInt(rest[len(rest)-seqDigits:], 10, 64)
	if err != nil || seq < 0 {
		return member{}, false
	}
	m.seq = seq
	m.kind = rest[:len(rest)-seqDigits-1]
	return m, true
}

// sortedMembers parses names, drops those of other kinds than kinds (all
// recipe names if kinds is empty) and sorts the rest by sequence number.
func sortedMembers(names []string, kinds ...string) []member {
	out := make([]member, 0, len(names))
	for _, n := range names {
		m, ok := parseMember(n)
		if ok && (len(kinds) == 0 || slices.Contains(kinds, m.kind)) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b member) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), strings.Compare(a.name, b.name))
	})
	return out
}

// findGUID returns the child of dir whose protected prefix carries guid.
func findGUID(ctx context.Context, c *client.Client, dir, guid string) (string, bool, error) {
	names, err := childrenRetry(ctx, c, dir)
	if errors.Is(err, client.ErrNoNode) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	want := protectedPrefix + guid + "-"
	for _, n := range names {
		if strings.HasPrefix(n, want) {
			return n, true, nil
		}
	}
	return "", false, nil
}

// createProtected creates a sequential child of dir named
// "_c_<guid>-<kind>-", creating dir if it is missing. When the answer to
// the create is lost with the connection, it looks for the node among
// dir's children before trying again, so it never leaves a second node
// behind. It returns the new node's name (not path).
func createProtected(ctx context.Context, c *client.Client, dir, guid, kind string, data []byte, mode client.CreateMode, acl []client.ACL) (string, error) {
	prefix := dir + "/" + protectedPrefix + guid + "-" + kind + "-"
	for {
		p, _, err := c.Create(ctx, prefix, data, mode, acl)
		switch {
		case err == nil:
			return path.Base(p), nil
		case errors.Is(err, client.ErrNoNode):
			if err := ensurePath(ctx, c, dir, acl); err != nil {
				return "", err
			}
		case isConnLoss(err):
			name, found, err := findGUID(ctx, c, dir, guid)
			if err != nil {
				return "", err
			}
			if found {
				return name, nil
			}
		default:
			return "", err
		}
	}
}

package recipe

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"

	"github.com/zkd/zkd/client"
)

// Counter is a shared 64-bit counter kept in a node's data as a decimal
// number (so zkCli's get shows it). A missing node, or empty data, counts
// as zero. Add is a compare-and-set loop on the node's version, so
// concurrent Adds from any number of clients all count.
type Counter struct {
	c    *client.Client
	path string
	acl  []client.ACL
}

// NewCounter returns a handle on the counter at path. Nothing is created
// until Add.
func NewCounter(c *client.Client, path string, opts ...Option) *Counter {
	o := buildOptions(opts)
	return &Counter{c: c, path: path, acl: o.acl}
}

func (n *Counter) errorf(op string, err error) error {
	return fmt.Errorf("counter %s: %s: %w", n.path, op, err)
}

// Get returns the counter's value.
func (n *Counter) Get(ctx context.Context) (int64, error) {
	for {
		v, _, err := n.read(ctx)
		if isConnLoss(err) {
			continue
		}
		if err != nil {
			return 0, n.errorf("get", err)
		}
		return v, nil
	}
}

// read returns the value and the node's version, or version -1 if the
// node does not exist.
func (n *Counter) read(ctx context.Context) (int64, int32, error) {
	data, st, err := n.c.Get(ctx, n.path)
	if errors.Is(err, client.ErrNoNode) {
		return 0, -1, nil
	}
	if err != nil {
		return 0, 0, err
	}
	if len(data) == 0 {
		return 0, st.Version, nil
	}
	v, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("data %q is not a decimal integer", data)
	}
	return v, st.Version, nil
}

// Add adds delta to the counter, creating its node (and missing parents)
// if needed, and returns the new value. It retries when another client
// changed the counter between its read and its write.
//
// If the connection is lost while the write is in flight, nobody can tell
// whether it took effect: Add then returns an error wrapping
// client.ErrConnectionLoss rather than risk counting delta twice.
func (n *Counter) Add(ctx context.Context, delta int64) (int64, error) {
	for {
		v, version, err := n.read(ctx)
		if isConnLoss(err) {
			continue
		}
		if err != nil {
			return 0, n.errorf("add", err)
		}
		next := v + delta
		data := []byte(strconv.FormatInt(next, 10))
		if version < 0 {
			_, _, err = n.c.Create(ctx, n.path, data, client.ModePersistent, n.acl)
			if errors.Is(err, client.ErrNoNode) {
				if err = ensurePath(ctx, n.c, path.Dir(n.path), n.acl); err == nil {
					continue
				}
			}
			if errors.Is(err, client.ErrNodeExists) {
				continue // created by someone else meanwhile
			}
		} else {
			_, err = n.c.Set(ctx, n.path, data, version)
			if errors.Is(err, client.ErrBadVersion) || errors.Is(err, client.ErrNoNode) {
				continue // changed (or deleted) by someone else meanwhile
			}
		}
		if err != nil {
			return 0, n.errorf("add", err)
		}
		return next, nil
	}
}

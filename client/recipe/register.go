package recipe

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/zkd/zkd/client"
)

// Register registers an instance of the service whose node is servicePath:
// it creates the ephemeral node servicePath/id holding data (and missing
// parents). The instance stays registered as long as c's session; for an
// instance that must come back after a session expiry, use KeepRegistered.
// Registering an id this session already registered replaces its data;
// one registered by another session fails with an error wrapping
// client.ErrNodeExists.
func Register(ctx context.Context, c *client.Client, servicePath, id string, data []byte, opts ...Option) error {
	o := buildOptions(opts)
	if err := register(ctx, c, instancePath(servicePath, id), data, o.acl); err != nil {
		return fmt.Errorf("register %s: %w", instancePath(servicePath, id), err)
	}
	return nil
}

func instancePath(servicePath, id string) string { return servicePath + "/" + id }

// errTaken is register's error when another session holds the node.
type errTaken struct{ owner int64 }

func (e errTaken) Error() string {
	return fmt.Sprintf("registered by session 0x%x", e.owner)
}

func (e errTaken) Unwrap() error { return client.ErrNodeExists }

// register creates the ephemeral node p holding data, or takes over one
// this session created already (after a create whose answer was lost).
func register(ctx context.Context, c *client.Client, p string, data []byte, acl []client.ACL) error {
	for {
		_, _, err := c.Create(ctx, p, data, client.ModeEphemeral, acl)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, client.ErrNoNode):
			if err := ensurePath(ctx, c, path.Dir(p), acl); err != nil {
				return err
			}
			continue
		case isConnLoss(err):
			continue
		case !errors.Is(err, client.ErrNodeExists):
			return err
		}
		old, st, err := c.Get(ctx, p)
		switch {
		case errors.Is(err, client.ErrNoNode) || isConnLoss(err):
			continue
		case err != nil:
			return err
		case st.EphemeralOwner != c.SessionID():
			return errTaken{st.EphemeralOwner}
		case string(old) == string(data):
			return nil
		}
		_, err = c.Set(ctx, p, data, st.Version)
		if err == nil {
			return nil
		}
		if !errors.Is(err, client.ErrBadVersion) && !errors.Is(err, client.ErrNoNode) && !isConnLoss(err) {
			return err
		}
	}
}

// Dialer opens a new Client, for a Registration to use after its previous
// session expired; typically a call to client.Connect with the program's
// servers and options.
type Dialer func(ctx context.Context) (*client.Client, error)

// Registration keeps one instance registered across session expiries: it
// owns the Clients it dials, and when its session expires (or someone
// deletes the instance's node) it registers the instance again, on a new
// session if needed. Close deregisters it.
type Registration struct {
	dial Dialer
	path string
	data []byte
	acl  []client.ACL

	stop context.CancelFunc
	done chan struct{} // closed when the goroutine has returned

	mu sync.Mutex     // guards c
	c  *client.Client // the current Client; owned by the goroutine until done
}

// KeepRegistered dials a Client with dial, registers the instance on it
// as Register does, and returns once it is registered; ctx bounds only
// that. From then on the Registration re-registers the instance whenever it
// disappears: on the same session if the node was deleted, on a new Client
// from dial once the session has expired (retrying dial with backoff while
// it fails), until Close. If by then another session holds the id, it waits
// for that session's node to go.
func KeepRegistered(ctx context.Context, dial Dialer, servicePath, id string, data []byte, opts ...Option) (*Registration, error) {
	o := buildOptions(opts)
	r := &Registration{dial: dial, path: instancePath(servicePath, id), data: data, acl: o.acl, done: make(chan struct{})}
	c, err := dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("register %s: dial: %w", r.path, err)
	}
	if err := register(ctx, c, r.path, data, r.acl); err != nil {
		c.Close(ctx)
		return nil, fmt.Errorf("register %s: %w", r.path, err)
	}
	r.c = c
	rctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	go r.run(rctx, c)
	return r, nil
}

// Path returns the instance's node path.
func (r *Registration) Path() string { return r.path }

// Close stops re-registering, deletes the instance's node and closes the
// Client the Registration dialed.
func (r *Registration) Close(ctx context.Context) error {
	r.stop()
	<-r.done
	r.mu.Lock()
	c := r.c
	r.c = nil
	r.mu.Unlock()
	if c == nil {
		return nil
	}
	err := deleteRetry(ctx, c, r.path)
	if ended(err) {
		err = nil
	}
	return errors.Join(err, c.Close(ctx))
}

// Backoff bounds for Registration's retries.
const (
	minRetry = 50 * time.Millisecond
	maxRetry = 5 * time.Second
)

// run waits for the registered node to go and registers it again.
func (r *Registration) run(ctx context.Context, c *client.Client) {
	defer close(r.done)
	for {
		err := waitGone(ctx, c, r.path)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !ended(err) {
			// Not a loss of the node: look again after a pause.
			if !sleep(ctx, minRetry) {
				return
			}
			continue
		}
		if c = r.reregister(ctx, c, ended(err)); c == nil {
			return
		}
	}
}

// reregister registers the instance again, on a new Client if fresh or if
// c turns out to have ended, and returns the Client it is registered with,
// or nil once ctx ends.
func (r *Registration) reregister(ctx context.Context, c *client.Client, fresh bool) *client.Client {
	delay := minRetry
	for {
		if fresh {
			c = r.redial(ctx, c)
			if c == nil {
				return nil
			}
			fresh = false
		}
		err := register(ctx, c, r.path, r.data, r.acl)
		var taken errTaken
		switch {
		case err == nil:
			return c
		case ctx.Err() != nil:
			return nil
		case ended(err):
			fresh = true
			continue
		case errors.As(err, &taken):
			// Another session holds the id; take over when it goes.
			if err := waitGone(ctx, c, r.path); err != nil && ended(err) {
				fresh = true
			}
			continue
		}
		if !sleep(ctx, delay) {
			return nil
		}
		delay = min(2*delay, maxRetry)
	}
}

// redial closes the ended Client old and dials a new one, retrying with
// backoff; it returns nil once ctx ends.
func (r *Registration) redial(ctx context.Context, old *client.Client) *client.Client {
	cctx, cancel := context.WithTimeout(context.Background(), time.Second)
	old.Close(cctx) // it has ended: this only stops its goroutines
	cancel()
	r.mu.Lock()
	r.c = nil
	r.mu.Unlock()
	delay := minRetry
	for {
		c, err := r.dial(ctx)
		if err == nil {
			r.mu.Lock()
			r.c = c
			r.mu.Unlock()
			return c
		}
		if !sleep(ctx, delay) {
			return nil
		}
		delay = min(2*delay, maxRetry)
	}
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

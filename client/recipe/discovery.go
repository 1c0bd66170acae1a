package recipe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/zkd/zkd/client"
)

// Service registration and discovery. By convention a service's node is
// "/services/<service>" and each instance of it is an ephemeral child
// "/services/<service>/<instance id>" holding the instance's data (an
// address, say); the functions here take the service's node path, so any
// layout works.

// Instance is one registered instance of a service.
type Instance struct {
	ID   string
	Data []byte
}

// Discovery is a cache of a service's instances: it keeps the list of the
// children of the service's node, and their data, up to date through a
// child watch, and says on Changes when it changed. The watch survives
// connection losses, and the cache reads the list again after a reconnect
// if it changed meanwhile. It ends when its Client ends (Err says why) or
// on Close.
//
// An instance's data is read whenever the list changes; a change of an
// instance's data alone, without a change of the list, is not seen (a
// Registration changes it by registering again).
type Discovery struct {
	c       *client.Client
	path    string
	changes chan struct{} // cap 1; closed after done
	stop    context.CancelFunc
	done    chan struct{} // closed when the goroutine has returned
	err     error         // why the cache ended; written before done closes

	mu        sync.Mutex // guards instances
	instances map[string]Instance
}

// NewDiscovery loads the instances of the service whose node is
// servicePath (which need not exist yet) and returns a cache that keeps
// them current; ctx bounds only the first load.
func NewDiscovery(ctx context.Context, c *client.Client, servicePath string) (*Discovery, error) {
	d := &Discovery{
		c: c, path: servicePath,
		changes: make(chan struct{}, 1), done: make(chan struct{}),
		instances: map[string]Instance{},
	}
	changed, err := d.load(ctx)
	for isConnLoss(err) {
		changed, err = d.load(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", servicePath, err)
	}
	select { // the first load is the starting point, not a change
	case <-d.changes:
	default:
	}
	dctx, stop := context.WithCancel(context.Background())
	d.stop = stop
	go d.run(dctx, changed)
	return d, nil
}

// Instances returns the service's instances, sorted by id, as of the last
// load.
func (d *Discovery) Instances() []Instance {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Instance, 0, len(d.instances))
	for _, id := range slices.Sorted(maps.Keys(d.instances)) {
		out = append(out, d.instances[id])
	}
	return out
}

// Changes returns a channel that receives a value after the instance list
// changed (changes that come faster than they are read are coalesced into
// one), and is closed when the cache ends.
func (d *Discovery) Changes() <-chan struct{} { return d.changes }

// Err returns why the cache ended, once Changes is closed: nil after
// Close, or an error wrapping client.ErrSessionExpired or client.ErrClosed
// when the Client ended. Before that it returns nil.
func (d *Discovery) Err() error {
	select {
	case <-d.done:
		return d.err
	default:
		return nil
	}
}

// Close stops the cache and waits for its goroutine to return.
func (d *Discovery) Close() {
	d.stop()
	<-d.done
}

// run reloads the instances each time the watch fires.
func (d *Discovery) run(ctx context.Context, changed <-chan client.Event) {
	// changes closes after done, so whoever sees it closed can read err.
	defer close(d.changes)
	defer close(d.done)
	for {
		select {
		case ev := <-changed:
			if ev.Type == client.EventNone {
				d.err = fmt.Errorf("discover %s: %w", d.path, watchEnded(ev))
				return
			}
		case <-ctx.Done():
			return
		}
		var err error
		for {
			changed, err = d.load(ctx)
			if !isConnLoss(err) {
				break
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				d.err = fmt.Errorf("discover %s: %w", d.path, err)
			}
			return
		}
	}
}

// load reads the instance list and data, stores it, signals a change, and
// returns the watch for the next change: a child watch on the service's
// node, or an exists watch for its creation if it is missing.
func (d *Discovery) load(ctx context.Context) (<-chan client.Event, error) {
	for {
		names, _, changed, err := d.c.ChildrenW(ctx, d.path)
		if errors.Is(err, client.ErrNoNode) {
			st, created, err := d.c.ExistsW(ctx, d.path)
			if err != nil {
				return nil, err
			}
			if st != nil {
				continue // created between the two reads
			}
			d.store(map[string]Instance{})
			return created, nil
		}
		if err != nil {
			return nil, err
		}
		next := make(map[string]Instance, len(names))
		if len(names) > 0 {
			ops := make([]client.ReadOp, len(names))
			for i, n := range names {
				ops[i] = client.GetOp{Path: d.path + "/" + n}
			}
			res, err := d.c.MultiRead(ctx, ops...)
			if err != nil {
				return nil, err
			}
			for i, r := range res {
				if r.Err == nil { // an instance gone since the listing is skipped
					next[names[i]] = Instance{ID: names[i], Data: r.Data}
				}
			}
		}
		d.store(next)
		return changed, nil
	}
}

// store replaces the instances and signals a change if they differ.
func (d *Discovery) store(next map[string]Instance) {
	d.mu.Lock()
	same := maps.EqualFunc(d.instances, next, func(a, b Instance) bool { return string(a.Data) == string(b.Data) })
	d.instances = next
	d.mu.Unlock()
	if !same {
		select {
		case d.changes <- struct{}{}:
		default:
		}
	}
}

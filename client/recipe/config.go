package recipe

import (
	"context"
	"errors"
	"fmt"

	"github.com/zkd/zkd/client"
)

// ConfigValue is one state of a watched node: its data and Stat, or
// Exists false when the node does not exist.
type ConfigValue struct {
	Exists bool
	Data   []byte
	Stat   client.Stat
}

// ConfigWatch follows one node's data: it delivers the current value, then
// each change, in order, on Values. Changes that follow each other faster
// than they are read may be coalesced: every value delivered is newer than
// the one before, and the last change is always delivered.
//
// The watch survives connection losses (the Client re-registers it, and a
// change made while disconnected is delivered on reconnect). It ends, and
// Values is closed, on Stop or when the Client ends; Err then says why.
type ConfigWatch struct {
	c      *client.Client
	path   string
	values chan ConfigValue
	stop   context.CancelFunc
	done   chan struct{} // closed when the goroutine has returned
	err    error         // why the watch ended; written before done closes
}

// WatchConfig starts watching the node at path, which need not exist. ctx
// bounds only the first read: the watch lasts until Stop or the end of the
// Client. The first value on Values is the node's state at the start.
func WatchConfig(ctx context.Context, c *client.Client, path string) (*ConfigWatch, error) {
	w := &ConfigWatch{c: c, path: path, values: make(chan ConfigValue), done: make(chan struct{})}
	first, changed, err := w.read(ctx)
	for isConnLoss(err) {
		first, changed, err = w.read(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("watch config %s: %w", path, err)
	}
	wctx, stop := context.WithCancel(context.Background())
	w.stop = stop
	go w.run(wctx, first, changed)
	return w, nil
}

// Values returns the channel values are delivered on. It is closed when
// the watch ends.
func (w *ConfigWatch) Values() <-chan ConfigValue { return w.values }

// Err returns why the watch ended, once Values is closed: nil after Stop,
// or an error wrapping client.ErrSessionExpired or client.ErrClosed when
// the Client ended. Before that it returns nil.
func (w *ConfigWatch) Err() error {
	select {
	case <-w.done:
		return w.err
	default:
		return nil
	}
}

// Stop ends the watch and waits for its goroutine to return.
func (w *ConfigWatch) Stop() {
	w.stop()
	<-w.done
}

// read reads the node and leaves a watch for its next change: a data watch
// if it exists, an exists watch (for its creation) if not.
func (w *ConfigWatch) read(ctx context.Context) (ConfigValue, <-chan client.Event, error) {
	for {
		data, st, ch, err := w.c.GetW(ctx, w.path)
		if err == nil {
			return ConfigValue{Exists: true, Data: data, Stat: st}, ch, nil
		}
		if !errors.Is(err, client.ErrNoNode) {
			return ConfigValue{}, nil, err
		}
		stp, ch, err := w.c.ExistsW(ctx, w.path)
		if err != nil {
			return ConfigValue{}, nil, err
		}
		if stp == nil {
			return ConfigValue{}, ch, nil
		}
		// Created between the two reads: its watch fires at once; read
		// the data.
	}
}

// run delivers v, then waits for changes and delivers each new value.
func (w *ConfigWatch) run(ctx context.Context, v ConfigValue, changed <-chan client.Event) {
	// values closes after done, so whoever sees it closed can read err.
	defer close(w.values)
	defer close(w.done)
	last, delivered := ConfigValue{}, false
	for {
		if !delivered || newer(v, last) {
			select {
			case w.values <- v:
				last, delivered = v, true
			case <-ctx.Done():
				return
			}
		}
		select {
		case ev := <-changed:
			if ev.Type == client.EventNone {
				w.err = fmt.Errorf("watch config %s: %w", w.path, watchEnded(ev))
				return
			}
		case <-ctx.Done():
			return
		}
		var err error
		for {
			v, changed, err = w.read(ctx)
			if !isConnLoss(err) {
				break
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				w.err = fmt.Errorf("watch config %s: %w", w.path, err)
			}
			return
		}
	}
}

// newer reports whether v is a different state than last, which it
// follows: a node that appeared, disappeared or changed data (or was
// deleted and created again).
func newer(v, last ConfigValue) bool {
	if v.Exists != last.Exists {
		return true
	}
	return v.Exists && v.Stat.Mzxid != last.Stat.Mzxid
}

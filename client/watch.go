package client

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/zkd/zkd/internal/jute"
)

// watchRegistry is the Client's side of its watches: who wants which event
// on which path. The server sends one notification per (event, path) per
// connection; the registry fans it out (client-protocol.md §6.4).
//
// One-shot watches are registered when the reply that set them arrives, in
// the reader goroutine, so they are always in place before any notification
// the server sends after that reply. Persistent watches are registered when
// their addWatch request is queued, under mu together with the queueing, so
// that the order of AddWatch and Remove calls on a path is the order the
// server sees them.
type watchRegistry struct {
	mu         sync.Mutex // guards everything below
	data       map[string][]chan Event
	exist      map[string][]chan Event
	child      map[string][]chan Event
	persistent map[string][]*Watcher
	recursive  map[string][]*Watcher
	// final is set once the Client has stopped; a watch registered later
	// ends at once with it.
	final *Event
}

func newWatchRegistry() *watchRegistry {
	return &watchRegistry{
		data:       make(map[string][]chan Event),
		exist:      make(map[string][]chan Event),
		child:      make(map[string][]chan Event),
		persistent: make(map[string][]*Watcher),
		recursive:  make(map[string][]*Watcher),
	}
}

type oneShotKind uint8

const (
	watchData  oneShotKind = iota // getData, or exists on an existing node
	watchExist                    // exists on a missing node
	watchChild                    // getChildren
)

func (r *watchRegistry) table(k oneShotKind) map[string][]chan Event {
	switch k {
	case watchData:
		return r.data
	case watchExist:
		return r.exist
	}
	return r.child
}

// addOneShot registers a one-shot watch and returns its channel, which
// receives one Event and is then closed.
func (r *watchRegistry) addOneShot(k oneShotKind, path string) <-chan Event {
	ch := make(chan Event, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.final != nil {
		ev := *r.final
		ev.Path = path
		ch <- ev
		close(ch)
		return ch
	}
	t := r.table(k)
	t[path] = append(t[path], ch)
	return ch
}

// addWatcher registers w; the caller holds mu. It reports false if the
// Client has stopped.
func (r *watchRegistry) addWatcher(w *Watcher) bool {
	if r.final != nil {
		return false
	}
	t := r.persistent
	if w.recursive {
		t = r.recursive
	}
	t[w.path] = append(t[w.path], w)
	return true
}

// dropWatcher unregisters w; the caller holds mu. last reports whether no
// watcher of w's mode is left on its path, so the server's registration
// can go too.
func (r *watchRegistry) dropWatcher(w *Watcher) (found, last bool) {
	t := r.persistent
	if w.recursive {
		t = r.recursive
	}
	list := t[w.path]
	for i, x := range list {
		if x == w {
			list = append(list[:i:i], list[i+1:]...)
			if len(list) == 0 {
				delete(t, w.path)
			} else {
				t[w.path] = list
			}
			return true, len(list) == 0
		}
	}
	return false, false
}

// takeWatchers unregisters and returns the persistent watchers on path
// that RemoveWatches of type t removes; the caller holds mu.
func (r *watchRegistry) takeWatchers(t WatcherType, path string) []*Watcher {
	var out []*Watcher
	if t == WatcherPersistent || t == WatcherAny {
		out = append(out, r.persistent[path]...)
		delete(r.persistent, path)
	}
	if t == WatcherPersistentRecursive || t == WatcherAny {
		out = append(out, r.recursive[path]...)
		delete(r.recursive, path)
	}
	return out
}

// takeOneShots unregisters the one-shot watches on path that RemoveWatches
// of type t removes and ends each with its WatchRemoved event.
func (r *watchRegistry) takeOneShots(t WatcherType, path string, st State) bool {
	type removed struct {
		ch  chan Event
		typ EventType
	}
	var out []removed
	r.mu.Lock()
	take := func(k oneShotKind, typ EventType) {
		tab := r.table(k)
		for _, ch := range tab[path] {
			out = append(out, removed{ch, typ})
		}
		delete(tab, path)
	}
	if t == WatcherData || t == WatcherAny {
		take(watchData, EventDataWatchRemoved)
		take(watchExist, EventDataWatchRemoved)
	}
	if t == WatcherChildren || t == WatcherAny {
		take(watchChild, EventChildWatchRemoved)
	}
	r.mu.Unlock()
	for _, x := range out {
		x.ch <- Event{Type: x.typ, State: st, Path: path}
		close(x.ch)
	}
	return len(out) > 0
}

// dispatch delivers a notification to every watch it concerns and
// consumes the one-shot ones (§6.4, §6.5). Only the reader calls it, so
// watchers see events in the order the server sent them.
func (r *watchRegistry) dispatch(ev Event) {
	var shots []chan Event
	var ws []*Watcher
	r.mu.Lock()
	take := func(k oneShotKind) {
		t := r.table(k)
		shots = append(shots, t[ev.Path]...)
		delete(t, ev.Path)
	}
	switch ev.Type {
	case EventNodeCreated, EventNodeDataChanged:
		take(watchData)
		take(watchExist)
	case EventNodeDeleted:
		take(watchData)
		take(watchExist)
		take(watchChild)
	case EventNodeChildrenChanged:
		take(watchChild)
	}
	ws = append(ws, r.persistent[ev.Path]...)
	if ev.Type != EventNodeChildrenChanged { // recursive watches never see it (§6.4)
		for p := ev.Path; ; p = parentPath(p) {
			ws = append(ws, r.recursive[p]...)
			if p == "/" || p == "" {
				break
			}
		}
	}
	r.mu.Unlock()
	for _, ch := range shots {
		ch <- ev
		close(ch)
	}
	for _, w := range ws {
		w.q.push(ev)
	}
}

// finish ends every watch with final (its Path set to the watch's path)
// and makes later registrations end at once.
func (r *watchRegistry) finish(final Event) {
	r.mu.Lock()
	if r.final != nil {
		r.mu.Unlock()
		return
	}
	r.final = &final
	type shot struct {
		ch   chan Event
		path string
	}
	var shots []shot
	var ws []*Watcher
	for _, t := range []map[string][]chan Event{r.data, r.exist, r.child} {
		for p, list := range t {
			for _, ch := range list {
				shots = append(shots, shot{ch, p})
			}
			delete(t, p)
		}
	}
	for _, t := range []map[string][]*Watcher{r.persistent, r.recursive} {
		for p, list := range t {
			ws = append(ws, list...)
			delete(t, p)
		}
	}
	r.mu.Unlock()
	for _, s := range shots {
		ev := final
		ev.Path = s.path
		s.ch <- ev
		close(s.ch)
	}
	for _, w := range ws {
		ev := final
		ev.Path = w.path
		w.q.finish(ev)
	}
}

// setWatchesBatchBytes bounds the path bytes of one setWatches request, as
// the Java client does (~128 KiB), so no frame nears jute.maxbuffer.
const setWatchesBatchBytes = 128 << 10

// setWatches returns the requests that re-register every watch on a new
// connection (§6.6), relative to lastZxid. A batch uses setWatches2 only if
// it holds persistent watches, so servers before 3.6 still understand the
// others.
func (r *watchRegistry) setWatches(lastZxid int64) []*jute.SetWatches {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*jute.SetWatches
	cur := &jute.SetWatches{RelativeZxid: jute.Zxid(lastZxid)}
	size := 0
	flush := func() {
		if size == 0 {
			return
		}
		cur.V2 = len(cur.Persistent)+len(cur.PersistentRecursive) > 0
		out = append(out, cur)
		cur = &jute.SetWatches{RelativeZxid: jute.Zxid(lastZxid)}
		size = 0
	}
	add := func(p string, put func(*jute.SetWatches, string)) {
		if size > 0 && size+len(p) > setWatchesBatchBytes {
			flush()
		}
		put(cur, p)
		size += len(p) + 4
	}
	for p := range r.data {
		add(p, func(s *jute.SetWatches, p string) { s.Data = append(s.Data, p) })
	}
	for p := range r.exist {
		add(p, func(s *jute.SetWatches, p string) { s.Exist = append(s.Exist, p) })
	}
	for p := range r.child {
		add(p, func(s *jute.SetWatches, p string) { s.Child = append(s.Child, p) })
	}
	for p := range r.persistent {
		add(p, func(s *jute.SetWatches, p string) { s.Persistent = append(s.Persistent, p) })
	}
	for p := range r.recursive {
		add(p, func(s *jute.SetWatches, p string) { s.PersistentRecursive = append(s.PersistentRecursive, p) })
	}
	flush()
	// Null vectors are valid on the wire, but empty ones are what every
	// client sends.
	for _, s := range out {
		for _, l := range []*[]string{&s.Data, &s.Exist, &s.Child, &s.Persistent, &s.PersistentRecursive} {
			if *l == nil {
				*l = []string{}
			}
		}
	}
	return out
}

func parentPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// Watcher is a persistent watch left by AddWatch. It receives every event
// on its path (and, if recursive, on every descendant) until Remove or the
// end of the Client.
type Watcher struct {
	c         *Client
	path      string
	recursive bool
	q         *eventQueue[Event]
}

// Events returns the channel the watch's events arrive on, in the order
// the server sent them. Events queue without bound until read. The
// channel is closed after the watch's last event: EventPersistentWatchRemoved
// after Remove, or EventNone when the Client stops.
func (w *Watcher) Events() <-chan Event { return w.q.out }

// Path returns the watched path.
func (w *Watcher) Path() string { return w.path }

// Recursive reports whether the watch covers the path's descendants.
func (w *Watcher) Recursive() bool { return w.recursive }

// Remove ends the watch: no event is queued after its final
// EventPersistentWatchRemoved. If no other Watcher of the same kind is left
// on the path, the server's registration is removed too. Removing a removed
// Watcher does nothing.
func (w *Watcher) Remove(ctx context.Context) error {
	c := w.c
	typ := WatcherPersistent
	if w.recursive {
		typ = WatcherPersistentRecursive
	}
	c.watches.mu.Lock()
	found, last := c.watches.dropWatcher(w)
	var req *request
	if found && last {
		req = newRequest(jute.OpRemoveWatches, &jute.WatchesRequest{Path: w.path, Type: int32(typ)}, nil)
		if c.enqueue(req) != nil {
			req = nil
		}
	}
	c.watches.mu.Unlock()
	if !found {
		return nil
	}
	c.wakeWriter()
	w.q.finish(Event{Type: EventPersistentWatchRemoved, State: c.State(), Path: w.path})
	if req == nil {
		return nil
	}
	err := c.wait(ctx, req)
	if err == nil || serverWatchGone(err) {
		return nil
	}
	return wrap("removeWatches", w.path, err)
}

// serverWatchGone reports whether a failed removeWatches still leaves the
// server without the watch: it had none, it is too old to remove single
// persistent watches (3.8 answers MARSHALLINGERROR; the watch then lapses
// with the connection), or the connection or Client is gone.
func serverWatchGone(err error) bool {
	for _, e := range []error{ErrNoWatcher, ErrMarshallingError, ErrConnectionLoss, ErrClosed, ErrSessionExpired, ErrAuthFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

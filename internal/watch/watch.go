// Package watch keeps the watch registrations of every connection: one-shot
// data and child watches, persistent and persistent-recursive watches, and
// decides which watchers a tree change notifies (client-protocol.md §6).
//
// Watchers are opaque ids (the server uses connection ids). A Registry is
// not safe for concurrent use; the server's apply loop owns it.
package watch

import (
	"slices"
	"strings"

	"github.com/zkd/zkd/internal/jute"
)

// WatcherID identifies a watcher (a client connection).
type WatcherID int64

// Kind is a kind of watch registration.
type Kind uint8

// The four kinds of registration.
const (
	Data       Kind = iota // one-shot data/exist watch (exists, getData)
	Child                  // one-shot child watch (getChildren)
	Persistent             // addWatch mode 0
	Recursive              // addWatch mode 1
	numKinds
)

type set map[WatcherID]struct{}

// Registry holds all watch registrations.
type Registry struct {
	byPath    [numKinds]map[string]set
	byWatcher map[WatcherID]*[numKinds]map[string]struct{}
}

// New returns an empty registry.
func New() *Registry {
	r := &Registry{byWatcher: make(map[WatcherID]*[numKinds]map[string]struct{})}
	for k := range r.byPath {
		r.byPath[k] = make(map[string]set)
	}
	return r
}

// Add registers a watch of kind k on path for w. Adding twice is a no-op.
func (r *Registry) Add(w WatcherID, k Kind, path string) {
	s := r.byPath[k][path]
	if s == nil {
		s = make(set)
		r.byPath[k][path] = s
	}
	s[w] = struct{}{}
	idx := r.byWatcher[w]
	if idx == nil {
		idx = &[numKinds]map[string]struct{}{}
		r.byWatcher[w] = idx
	}
	if idx[k] == nil {
		idx[k] = make(map[string]struct{})
	}
	idx[k][path] = struct{}{}
}

// Has reports whether w holds a watch of kind k on path.
func (r *Registry) Has(w WatcherID, k Kind, path string) bool {
	_, ok := r.byPath[k][path][w]
	return ok
}

func (r *Registry) remove(w WatcherID, k Kind, path string) bool {
	s := r.byPath[k][path]
	if _, ok := s[w]; !ok {
		return false
	}
	delete(s, w)
	if len(s) == 0 {
		delete(r.byPath[k], path)
	}
	if idx := r.byWatcher[w]; idx != nil && idx[k] != nil {
		delete(idx[k], path)
	}
	return true
}

// kindsFor maps a removeWatches/checkWatches watcher type to the kinds it
// covers (3.9 semantics, §6.7). ok is false for an unknown type.
func kindsFor(watcherType int32) (kinds []Kind, ok bool) {
	switch watcherType {
	case jute.WatcherChildren:
		return []Kind{Child}, true
	case jute.WatcherData:
		return []Kind{Data}, true
	case jute.WatcherAny:
		return []Kind{Data, Child, Persistent, Recursive}, true
	case jute.WatcherPersistent:
		return []Kind{Persistent}, true
	case jute.WatcherPersistentRecursive:
		return []Kind{Recursive}, true
	}
	return nil, false
}

// Check reports whether w has a watch of watcherType on path. valid is
// false for an unknown watcher type.
func (r *Registry) Check(w WatcherID, watcherType int32, path string) (found, valid bool) {
	kinds, ok := kindsFor(watcherType)
	if !ok {
		return false, false
	}
	for _, k := range kinds {
		if r.Has(w, k, path) {
			return true, true
		}
	}
	return false, true
}

// Remove removes w's watches of watcherType on path and reports whether
// any existed. valid is false for an unknown watcher type.
func (r *Registry) Remove(w WatcherID, watcherType int32, path string) (removed, valid bool) {
	kinds, ok := kindsFor(watcherType)
	if !ok {
		return false, false
	}
	for _, k := range kinds {
		if r.remove(w, k, path) {
			removed = true
		}
	}
	return removed, true
}

// RemoveWatcher drops every registration of w (its connection closed).
func (r *Registry) RemoveWatcher(w WatcherID) {
	idx := r.byWatcher[w]
	if idx == nil {
		return
	}
	for k, paths := range idx {
		for p := range paths {
			s := r.byPath[k][p]
			delete(s, w)
			if len(s) == 0 {
				delete(r.byPath[k], p)
			}
		}
	}
	delete(r.byWatcher, w)
}

// Trigger returns the watchers to notify of event on path, each once, in
// ascending id order, and consumes the one-shot watches that fired (§6.4).
func (r *Registry) Trigger(event jute.EventType, path string) []WatcherID {
	var seen map[WatcherID]struct{}
	var out []WatcherID
	add := func(s set) {
		for w := range s {
			if seen == nil {
				seen = make(map[WatcherID]struct{}, len(s))
			}
			if _, dup := seen[w]; !dup {
				seen[w] = struct{}{}
				out = append(out, w)
			}
		}
	}
	consume := func(k Kind) {
		s := r.byPath[k][path]
		if s == nil {
			return
		}
		add(s)
		delete(r.byPath[k], path)
		for w := range s {
			if idx := r.byWatcher[w]; idx != nil && idx[k] != nil {
				delete(idx[k], path)
			}
		}
	}
	switch event {
	case jute.EventNodeCreated, jute.EventNodeDataChanged:
		consume(Data)
	case jute.EventNodeDeleted:
		consume(Data)
		consume(Child)
	case jute.EventNodeChildrenChanged:
		consume(Child)
	}
	add(r.byPath[Persistent][path])
	if event != jute.EventNodeChildrenChanged && len(r.byPath[Recursive]) > 0 {
		for p := path; ; p = parent(p) {
			add(r.byPath[Recursive][p])
			if p == "/" {
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// Stats summarises the registry the way ZooKeeper's wchs and mntr count.
type Stats struct {
	// DataWatchers is the number of watchers with a data-table watch.
	DataWatchers int
	// DataPaths is the number of paths with a data-table watch.
	DataPaths int
	// DataWatches is the number of data-table registrations (one-shot data,
	// persistent and recursive).
	DataWatches int
	// TotalWatches counts data-table plus child-table registrations
	// (persistent watches sit in both tables), as zk_watch_count does.
	TotalWatches int
}

// Stats returns the registry's counts.
func (r *Registry) Stats() Stats {
	var s Stats
	paths := make(map[string]struct{})
	for _, k := range []Kind{Data, Persistent, Recursive} {
		for p, ws := range r.byPath[k] {
			paths[p] = struct{}{}
			s.DataWatches += len(ws)
		}
	}
	s.DataPaths = len(paths)
	for _, idx := range r.byWatcher {
		if len(idx[Data])+len(idx[Persistent])+len(idx[Recursive]) > 0 {
			s.DataWatchers++
		}
	}
	s.TotalWatches = s.DataWatches
	for _, k := range []Kind{Child, Persistent} {
		for _, ws := range r.byPath[k] {
			s.TotalWatches += len(ws)
		}
	}
	return s
}

// DataPathsOf returns the sorted paths of w's data-table watches (wchc).
func (r *Registry) DataPathsOf(w WatcherID) []string {
	idx := r.byWatcher[w]
	if idx == nil {
		return nil
	}
	var out []string
	for _, k := range []Kind{Data, Persistent, Recursive} {
		for p := range idx[k] {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// DataWatchersByPath returns, for each path with a data-table watch, its
// watchers in ascending order (wchp).
func (r *Registry) DataWatchersByPath() map[string][]WatcherID {
	out := make(map[string][]WatcherID)
	for _, k := range []Kind{Data, Persistent, Recursive} {
		for p, ws := range r.byPath[k] {
			for w := range ws {
				if !slices.Contains(out[p], w) {
					out[p] = append(out[p], w)
				}
			}
		}
	}
	for p := range out {
		slices.Sort(out[p])
	}
	return out
}

// Watchers returns every watcher with at least one registration.
func (r *Registry) Watchers() []WatcherID {
	out := make([]WatcherID, 0, len(r.byWatcher))
	for w, idx := range r.byWatcher {
		for _, paths := range idx {
			if len(paths) > 0 {
				out = append(out, w)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

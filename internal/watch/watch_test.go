package watch

import (
	"slices"
	"testing"

	"github.com/zkd/zkd/internal/jute"
)

func TestOneShotDataWatchFiresOnceAndIsConsumed(t *testing.T) {
	r := New()
	r.Add(1, Data, "/a")
	if got := r.Trigger(jute.EventNodeDataChanged, "/a"); !slices.Equal(got, []WatcherID{1}) {
		t.Fatal(got)
	}
	if got := r.Trigger(jute.EventNodeDataChanged, "/a"); len(got) != 0 {
		t.Fatal(got)
	}
}

func TestOneNotificationPerWatcherWhateverKindsMatch(t *testing.T) {
	r := New()
	r.Add(1, Data, "/a")
	r.Add(1, Persistent, "/a")
	r.Add(1, Recursive, "/")
	r.Add(2, Data, "/a")
	if got := r.Trigger(jute.EventNodeDataChanged, "/a"); !slices.Equal(got, []WatcherID{1, 2}) {
		t.Fatal(got)
	}
	// The persistent and recursive watches stay.
	if got := r.Trigger(jute.EventNodeDataChanged, "/a"); !slices.Equal(got, []WatcherID{1}) {
		t.Fatal(got)
	}
}

func TestTriggerRules(t *testing.T) {
	cases := []struct {
		name  string
		kind  Kind
		at    string
		event jute.EventType
		path  string
		fires bool
	}{
		{"child watch fires on children changed", Child, "/p", jute.EventNodeChildrenChanged, "/p", true},
		{"child watch fires on delete of its node", Child, "/p", jute.EventNodeDeleted, "/p", true},
		{"child watch ignores data change", Child, "/p", jute.EventNodeDataChanged, "/p", false},
		{"data watch fires on create (exist watch)", Data, "/p", jute.EventNodeCreated, "/p", true},
		{"data watch ignores children changed", Data, "/p", jute.EventNodeChildrenChanged, "/p", false},
		{"persistent sees its own children changed", Persistent, "/p", jute.EventNodeChildrenChanged, "/p", true},
		{"persistent ignores grandchildren", Persistent, "/p", jute.EventNodeCreated, "/p/c", false},
		{"recursive sees descendants", Recursive, "/p", jute.EventNodeCreated, "/p/c/d", true},
		{"recursive at root sees everything", Recursive, "/", jute.EventNodeDeleted, "/x", true},
		{"recursive never sees children changed", Recursive, "/p", jute.EventNodeChildrenChanged, "/p", false},
		{"recursive ignores siblings with a common prefix", Recursive, "/p", jute.EventNodeCreated, "/pq", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := New()
			r.Add(7, c.kind, c.at)
			got := r.Trigger(c.event, c.path)
			if (len(got) == 1) != c.fires {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestRemoveAndCheckByWatcherType(t *testing.T) {
	r := New()
	r.Add(1, Data, "/a")
	r.Add(1, Child, "/a")
	r.Add(2, Data, "/a")
	if found, _ := r.Check(1, jute.WatcherChildren, "/a"); !found {
		t.Fatal("child watch not found")
	}
	if removed, _ := r.Remove(1, jute.WatcherData, "/a"); !removed {
		t.Fatal("nothing removed")
	}
	if removed, _ := r.Remove(1, jute.WatcherData, "/a"); removed {
		t.Fatal("removed twice")
	}
	if _, valid := r.Remove(1, 9, "/a"); valid {
		t.Fatal("bad type accepted")
	}
	// Watcher 2's watch is untouched.
	if got := r.Trigger(jute.EventNodeDataChanged, "/a"); !slices.Equal(got, []WatcherID{2}) {
		t.Fatal(got)
	}
}

func TestRemoveWatcherDropsEverything(t *testing.T) {
	r := New()
	r.Add(1, Data, "/a")
	r.Add(1, Recursive, "/")
	r.RemoveWatcher(1)
	if got := r.Trigger(jute.EventNodeDeleted, "/a"); len(got) != 0 {
		t.Fatal(got)
	}
	if s := r.Stats(); s.TotalWatches != 0 {
		t.Fatal(s)
	}
}

func TestStatsCountLikeZooKeeper(t *testing.T) {
	r := New()
	r.Add(1, Data, "/a")
	r.Add(1, Child, "/a")
	r.Add(2, Persistent, "/b")
	s := r.Stats()
	if s.DataWatchers != 2 || s.DataPaths != 2 || s.DataWatches != 2 || s.TotalWatches != 4 {
		t.Fatalf("%+v", s)
	}
}

func BenchmarkTriggerWithManyWatchers(b *testing.B) {
	r := New()
	for b.Loop() {
		b.StopTimer()
		for w := range WatcherID(10000) {
			r.Add(w, Data, "/lock")
			r.Add(w, Persistent, "/lock")
		}
		b.StartTimer()
		if got := r.Trigger(jute.EventNodeDeleted, "/lock"); len(got) != 10000 {
			b.Fatal(len(got))
		}
	}
}

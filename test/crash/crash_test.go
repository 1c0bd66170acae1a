package crash

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zkd/zkd/internal/testcluster"
)

// ackLog records what the server acknowledged.
type ackLog struct {
	mu       sync.Mutex
	created  map[string]string // path → data
	versions map[string]int32  // counter path → last acknowledged version
}

func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogInfo(false), zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// write runs one writer until stop closes or the server dies.
func write(c *zk.Conn, id, round int, acks *ackLog, stop <-chan struct{}) {
	counter := "/counter-" + strconv.Itoa(id)
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		path := fmt.Sprintf("/w-%d-%d-%d", round, id, n)
		data := strconv.Itoa(n * id)
		if _, err := c.Create(path, []byte(data), 0, zk.WorldACL(zk.PermAll)); err != nil {
			return
		}
		acks.mu.Lock()
		acks.created[path] = data
		acks.mu.Unlock()
		st, err := c.Set(counter, []byte(path), -1)
		if err != nil {
			return
		}
		acks.mu.Lock()
		acks.versions[counter] = max(acks.versions[counter], st.Version)
		acks.mu.Unlock()
	}
}

// TestAcknowledgedWritesSurviveSIGKILL kills the server at random moments
// while eight clients write, restarts it on the same dataDir each time, and
// checks every acknowledged create and setData against the restarted server.
func TestAcknowledgedWritesSurviveSIGKILL(t *testing.T) {
	testcluster.RequireInterop(t) // needs the zkd binary and real processes
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const writers, rounds = 8, 5
	acks := &ackLog{created: map[string]string{}, versions: map[string]int32{}}
	// A small snapCount makes the log roll and background snapshots run
	// all the time, so kills also land mid-snapshot and mid-roll.
	opts := testcluster.ZkdOptions{Flags: []string{"-Dzookeeper.snapCount=200"}}
	z := testcluster.StartZkd(t, opts)
	dataDir := z.DataDir
	setup := connect(t, z.Addr)
	for i := range writers {
		setup.Create("/counter-"+strconv.Itoa(i), nil, 0, zk.WorldACL(zk.PermAll))
	}
	setup.Close()
	for round := range rounds {
		var clients []*zk.Conn
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range writers {
			c := connect(t, z.Addr)
			clients = append(clients, c)
			wg.Go(func() { write(c, i, round, acks, stop) })
		}
		time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond) // the crash moment is the point of the test
		z.Kill()
		close(stop)
		for _, c := range clients {
			c.Close()
		}
		wg.Wait()

		opts.DataDir = dataDir
		z = testcluster.StartZkd(t, opts)
		check := connect(t, z.Addr)
		acks.mu.Lock()
		for path, want := range acks.created {
			data, _, err := check.Get(path)
			if err != nil || string(data) != want {
				t.Fatalf("round %d (seed %d): acknowledged %s=%q lost after SIGKILL: %q %v\n%s", round, seed, path, want, data, err, z.LogTail())
			}
		}
		for counter, v := range acks.versions {
			_, st, err := check.Get(counter)
			if err != nil || st.Version < v {
				t.Fatalf("round %d (seed %d): %s at version %d after restart, acknowledged %d (%v)", round, seed, counter, st.Version, v, err)
			}
		}
		snaps, _ := filepath.Glob(filepath.Join(dataDir, "version-2", "snapshot.*"))
		t.Logf("round %d: %d acknowledged creates verified; %d snapshot files", round, len(acks.created), len(snaps))
		acks.mu.Unlock()
		check.Close()
	}
	if len(acks.created) < rounds {
		t.Fatalf("only %d writes acknowledged in %d rounds: the test did not exercise anything", len(acks.created), rounds)
	}
}

package testcluster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Why tests do not take their ports from the kernel: a port the kernel
// picked for "127.0.0.1:0" and that is closed again goes back to the
// ephemeral range, where any process on the machine may be given it as an
// outgoing connection's source port, or for its own ":0" listener, before
// the server whose zoo.cfg names it binds it. Test packages run as parallel
// processes that open many connections, so that happened (an in-process
// ensemble's election port was taken by another package's server while CI
// ran).
//
// So ports are picked at random below the ephemeral range, where the kernel
// never hands one out unasked, and each is reserved for the rest of the test
// by an exclusive lock on a file named after it. Every test process of this
// module honours those locks, so none picks a port another still means to
// use, even while the server using it is stopped for a restart.

// portLockDir holds one lock file per reserved port. It is read once, before
// any test can change TMPDIR.
var portLockDir = filepath.Join(os.TempDir(), "zkd-test-ports")

// lowestTestPort is where the range of test ports starts; it ends where the
// kernel's ephemeral range begins.
const lowestTestPort = 20000

// testPortRange returns the range [lo, hi) tests pick ports from, or ok
// false when there is no room below the ephemeral range (or it cannot be
// read), in which case ports come from the kernel as before.
var testPortRange = sync.OnceValues(func() (portRange [2]int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return portRange, false
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return portRange, false
	}
	ephemeralLow, err := strconv.Atoi(fields[0])
	if err != nil || ephemeralLow < lowestTestPort+1000 {
		return portRange, false
	}
	return [2]int{lowestTestPort, ephemeralLow}, true
})

// errPortHeld is lockPort's answer when another reservation holds the port.
var errPortHeld = errors.New("port reserved by another test")

// reservePorts returns n distinct loopback ports, each bound on 127.0.0.1
// until release is called and reserved against other test processes until
// the test ends.
func reservePorts(t testing.TB, n int) (ports []int, release func()) {
	t.Helper()
	var listeners []net.Listener
	release = func() {
		for _, l := range listeners {
			l.Close()
		}
	}
	for range n {
		port, l, err := reservePort(t)
		if err != nil {
			release()
			t.Fatalf("pick free ports: %v", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, port)
	}
	return ports, release
}

// reservePort finds one port that no other test has reserved and nothing
// has bound, binds it and reserves it until the test ends. Where the lock
// files cannot be used (a directory another user made, say), it takes a
// port from the kernel, unreserved, as before.
func reservePort(t testing.TB) (int, net.Listener, error) {
	portRange, ok := testPortRange()
	if ok && os.MkdirAll(portLockDir, 0o777) != nil {
		ok = false
	}
	const attempts = 1000
	for i := 0; ok && i < attempts; i++ {
		port := portRange[0] + rand.IntN(portRange[1]-portRange[0])
		unlock, err := lockPort(port)
		if errors.Is(err, errPortHeld) {
			continue
		}
		if err != nil {
			ok = false // the lock files are unusable here
			break
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			unlock()
			continue // bound by something that is not a test
		}
		t.Cleanup(unlock)
		return port, l, nil
	}
	if ok {
		return 0, nil, fmt.Errorf("no free port in %d-%d after %d attempts", portRange[0], portRange[1]-1, attempts)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	return l.Addr().(*net.TCPAddr).Port, l, nil
}

// FreePortRun returns the first of n consecutive free loopback ports, all
// reserved like FreePort's, for commands that take a base port and count
// up from it (`zkd ensemble -client-port`). Where ports are not reserved
// (see testPortRange) it picks a run at random between 20000 and 32000, as
// free as a bind can tell.
func FreePortRun(t testing.TB, n int) int {
	t.Helper()
	portRange, ok := testPortRange()
	if ok && os.MkdirAll(portLockDir, 0o777) != nil {
		ok = false // reserve nothing, as where there is no range
	}
	if !ok {
		portRange = [2]int{lowestTestPort, 32000}
	}
	const attempts = 1000
	for range attempts {
		base := portRange[0] + rand.IntN(portRange[1]-portRange[0]-n)
		if release, ok := takePortRun(base, n, ok); ok {
			t.Cleanup(release)
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports in %d-%d after %d attempts", n, portRange[0], portRange[1]-1, attempts)
	return 0
}

// takePortRun locks (if reserve) and test-binds ports base to base+n-1,
// and returns the function that gives the locks back, or false if one of
// them is reserved or bound.
func takePortRun(base, n int, reserve bool) (release func(), ok bool) {
	var unlocks []func()
	release = func() {
		for _, unlock := range unlocks {
			unlock()
		}
	}
	for port := base; port < base+n; port++ {
		if reserve {
			unlock, err := lockPort(port)
			if err != nil {
				release()
				return nil, false
			}
			unlocks = append(unlocks, unlock)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			release()
			return nil, false
		}
		l.Close()
	}
	return release, true
}

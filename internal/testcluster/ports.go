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

// reservable returns the range to reserve ports in, or ok false where
// ports come from the kernel instead: no room below the ephemeral range,
// or no lock directory.
func reservable() (portRange [2]int, ok bool) {
	portRange, ok = testPortRange()
	if ok && os.MkdirAll(portLockDir, 0o777) != nil {
		ok = false
	}
	return portRange, ok
}

// claimPort reserves port (if reserve) and binds it on 127.0.0.1. It
// returns the listener and the function that gives the reservation back
// (nothing to give without reserve). Its error is errPortHeld if another
// test holds the port, errLocksUnusable if the lock file cannot be used,
// or the bind's.
func claimPort(port int, reserve bool) (net.Listener, func(), error) {
	unlock := func() {}
	if reserve {
		var err error
		if unlock, err = lockPort(port); errors.Is(err, errPortHeld) {
			return nil, nil, err
		} else if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errLocksUnusable, err)
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		unlock()
		return nil, nil, err // bound by something that is not a test
	}
	return l, unlock, nil
}

// errLocksUnusable is claimPort's answer when a port's lock file cannot be
// opened or locked (a directory another user made, say).
var errLocksUnusable = errors.New("port lock files unusable")

// reservePort finds one port that no other test has reserved and nothing
// has bound, binds it and reserves it until the test ends. Where ports
// cannot be reserved (reservable, or lock files another user owns), it
// takes a port from the kernel, unreserved, as before.
func reservePort(t testing.TB) (int, net.Listener, error) {
	portRange, ok := reservable()
	const attempts = 1000
	for i := 0; ok && i < attempts; i++ {
		port := portRange[0] + rand.IntN(portRange[1]-portRange[0])
		l, unlock, err := claimPort(port, true)
		if errors.Is(err, errLocksUnusable) {
			ok = false
			break
		}
		if err != nil {
			continue
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
// up from it (`zkd ensemble -client-port`). Where ports cannot be reserved
// (reservable, or lock files another user owns) it picks a run at random
// between 20000 and 32000, as free as a bind can tell.
func FreePortRun(t testing.TB, n int) int {
	t.Helper()
	portRange, reserve := reservable()
	unreserved := [2]int{lowestTestPort, 32000}
	if !reserve {
		portRange = unreserved
	}
	const attempts = 1000
	for range attempts {
		base := portRange[0] + rand.IntN(portRange[1]-portRange[0]-n)
		release, err := takePortRun(base, n, reserve)
		if err == nil {
			t.Cleanup(release)
			return base
		}
		if errors.Is(err, errLocksUnusable) {
			reserve, portRange = false, unreserved
		}
	}
	t.Fatalf("no %d consecutive free ports in %d-%d after %d attempts", n, portRange[0], portRange[1]-1, attempts)
	return 0
}

// takePortRun claims ports base to base+n-1 and closes their listeners,
// and returns the function that gives the reservations back, or
// claimPort's error for the first port it could not claim.
func takePortRun(base, n int, reserve bool) (release func(), err error) {
	var unlocks []func()
	release = func() {
		for _, unlock := range unlocks {
			unlock()
		}
	}
	for port := base; port < base+n; port++ {
		l, unlock, err := claimPort(port, reserve)
		if err != nil {
			release()
			return nil, err
		}
		l.Close()
		unlocks = append(unlocks, unlock)
	}
	return release, nil
}

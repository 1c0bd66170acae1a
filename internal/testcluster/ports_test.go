package testcluster

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestReservedPortsLieBelowTheEphemeralRange(t *testing.T) {
	portRange, ok := testPortRange()
	if !ok {
		t.Skip("no room below the ephemeral range here: ports come from the kernel")
	}
	for _, p := range FreePorts(t, 20) {
		if p < portRange[0] || p >= portRange[1] {
			t.Errorf("port %d is outside %d-%d", p, portRange[0], portRange[1]-1)
		}
	}
}

func TestAReservedPortCannotBeReservedAgainUntilItsTestEnds(t *testing.T) {
	if _, ok := testPortRange(); !ok {
		t.Skip("no room below the ephemeral range here: ports are not reserved")
	}
	var port int
	t.Run("holder", func(t *testing.T) {
		port = FreePort(t)
		// The lock is per open file, so a second reservation in this
		// process is refused just as another process's would be.
		if unlock, err := lockPort(port); err == nil {
			unlock()
			t.Fatalf("port %d was reserved twice", port)
		}
	})
	unlock, err := lockPort(port)
	if err != nil {
		t.Fatalf("port %d is still reserved after its test ended: %v", port, err)
	}
	unlock()
}

func TestAFreePortRunIsReservedWhole(t *testing.T) {
	if _, ok := testPortRange(); !ok {
		t.Skip("no room below the ephemeral range here: ports are not reserved")
	}
	base := FreePortRun(t, 9)
	for port := base; port < base+9; port++ {
		if unlock, err := lockPort(port); err == nil {
			unlock()
			t.Errorf("port %d of the run %d-%d is not reserved", port, base, base+8)
		}
	}
}

func TestPortsComeFromTheKernelWhereTheLockFilesCannotBeMade(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	saved := portLockDir
	portLockDir = filepath.Join(notADir, "zkd-test-ports") // MkdirAll fails
	t.Cleanup(func() { portLockDir = saved })
	port := FreePort(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on the port FreePort returned without lock files: %v", err)
	}
	l.Close()
	if base := FreePortRun(t, 3); base < lowestTestPort {
		t.Fatalf("FreePortRun without lock files = %d, want a run from %d up", base, lowestTestPort)
	}
}

// A lock file that cannot be opened (here a directory in its place) is
// reported as unusable, which sends FreePortRun to unreserved ports,
// rather than as a port another test holds, which would only make it try
// elsewhere in the same directory.
func TestAnUnusableLockFileIsNotTakenForAHeldPort(t *testing.T) {
	saved := portLockDir
	portLockDir = t.TempDir()
	t.Cleanup(func() { portLockDir = saved })
	portRange, ok := reservable()
	if !ok {
		t.Skip("no room below the ephemeral range to reserve ports in")
	}
	base := portRange[0]
	if err := os.Mkdir(filepath.Join(portLockDir, strconv.Itoa(base)), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := takePortRun(base, 2, true); !errors.Is(err, errLocksUnusable) {
		t.Fatalf("takePortRun over a lock path that is a directory = %v, want errLocksUnusable", err)
	}
}

package testcluster

import (
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

package server

import (
	"testing"
	"unsafe"
)

// A pending is allocated for every request: a field that pushes it past
// the 320-byte size class costs every request 32 bytes (it did once: the
// sasl field made it 328 bytes, +32 B/op on pipelined reads).
func TestPendingFitsThe320ByteSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(pending{}); n > 320 {
		t.Fatalf("pending is %d bytes, more than the 320-byte allocation size class; keep small fields together", n)
	}
}

package server

import (
	"runtime"
	"testing"
)

func TestBorrowProcLendsASecondPOnlyToAProcessOfOne(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0)) // restore the test binary's
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)

	runtime.GOMAXPROCS(1)
	first, second := borrowProc(), borrowProc()
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("GOMAXPROCS while borrowed from 1 = %d, want 2", got)
	}
	first()
	first() // a second call changes nothing
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("GOMAXPROCS with one borrower left = %d, want 2", got)
	}
	second()
	if got := runtime.GOMAXPROCS(0); got != def {
		t.Fatalf("GOMAXPROCS after the last borrower = %d, want the runtime's default %d", got, def)
	}

	runtime.GOMAXPROCS(3)
	done := borrowProc()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("GOMAXPROCS borrowed from 3 = %d, want 3 left alone", got)
	}
	done()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("GOMAXPROCS after borrowing from 3 = %d, want 3 left alone", got)
	}
}

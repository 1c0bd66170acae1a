package procs

import (
	"runtime"
	"testing"
)

// isolate gives the test a fresh process state and restores GOMAXPROCS
// and the state afterwards.
func isolate(t *testing.T) {
	t.Helper()
	procsBefore := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		state.Lock()
		state.managed, state.borrowers, state.raised = false, 0, false
		state.Unlock()
		runtime.GOMAXPROCS(procsBefore)
	})
}

func TestAManagedProcessRunsOnePAndTwoOnlyWhileLent(t *testing.T) {
	isolate(t)
	def, managed := Manage()
	if def != 2 {
		if managed {
			t.Fatalf("Manage with a default of %d Ps manages the process", def)
		}
		if got := runtime.GOMAXPROCS(0); got != def {
			t.Fatalf("GOMAXPROCS after Manage with a default of %d = %d, want it left alone", def, got)
		}
		t.Skipf("the runtime's default here is %d Ps, not the 2 that Manage lowers", def)
	}
	if !managed {
		t.Fatal("Manage with a default of 2 Ps does not manage the process")
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS after Manage = %d, want 1", got)
	}
	if got := borrowTwice(t); got != 1 {
		t.Fatalf("GOMAXPROCS after the last borrower = %d, want 1", got)
	}
}

// borrowTwice takes two loans, checks that GOMAXPROCS is 2 while either
// lasts and that ending one twice ends it once, and returns GOMAXPROCS
// after both have ended.
func borrowTwice(t *testing.T) int {
	t.Helper()
	first, second := Borrow(), Borrow()
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("GOMAXPROCS while borrowed = %d, want 2", got)
	}
	first()
	first() // a second call changes nothing
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("GOMAXPROCS with one borrower left = %d, want 2", got)
	}
	second()
	return runtime.GOMAXPROCS(0)
}

func TestBorrowLendsAnUnmanagedProcessASecondPOnlyIfItHasOne(t *testing.T) {
	isolate(t)
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)

	runtime.GOMAXPROCS(1)
	if got := borrowTwice(t); got != def {
		t.Fatalf("GOMAXPROCS after the last borrower = %d, want the runtime's default %d", got, def)
	}

	runtime.GOMAXPROCS(3)
	done := Borrow()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("GOMAXPROCS borrowed from 3 = %d, want 3 left alone", got)
	}
	done()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("GOMAXPROCS after borrowing from 3 = %d, want 3 left alone", got)
	}
}

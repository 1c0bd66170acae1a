package main

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestServerSetsItsGCTargetUnlessGOGCIsSet(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	defer debug.SetGCPercent(debug.SetGCPercent(100)) // restore whatever the test binary had

	t.Setenv("GOGC", "")
	debug.SetGCPercent(100)
	setGCTarget(log)
	if got := debug.SetGCPercent(100); got != serverGCPercent {
		t.Errorf("GC percent with GOGC unset = %d, want %d", got, serverGCPercent)
	}

	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200)
	setGCTarget(log)
	if got := debug.SetGCPercent(100); got != 200 {
		t.Errorf("GC percent with GOGC=200 = %d, want the operator's 200", got)
	}
}

// setProcs with syncs that block no thread hands the Ps to package procs,
// whose own tests cover that rule (Manage changes process-wide state that
// this test binary's other tests should not inherit).
func TestServerRunsWithTwoProcsWhereSyncsBlockUnlessGOMAXPROCSIsSet(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0)) // restore the test binary's

	t.Setenv("GOMAXPROCS", "")
	runtime.GOMAXPROCS(1)
	setProcs(log, true)
	if got := runtime.GOMAXPROCS(0); got != minServerProcs {
		t.Errorf("GOMAXPROCS from 1 with the variable unset = %d, want %d", got, minServerProcs)
	}
	runtime.GOMAXPROCS(3)
	setProcs(log, true)
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS from 3 with the variable unset = %d, want 3 left alone", got)
	}

	t.Setenv("GOMAXPROCS", "1")
	runtime.GOMAXPROCS(1)
	for _, syncsBlock := range []bool{true, false} {
		setProcs(log, syncsBlock)
		if got := runtime.GOMAXPROCS(0); got != 1 {
			t.Errorf("GOMAXPROCS with GOMAXPROCS=1 (syncsBlock=%v) = %d, want the operator's 1", syncsBlock, got)
		}
	}
}

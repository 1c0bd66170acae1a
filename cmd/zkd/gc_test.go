package main

import (
	"log/slog"
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

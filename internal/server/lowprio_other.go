//go:build !linux

package server

// lowerPriority does nothing where threads have no priority of their own
// that zkd knows how to set.
func lowerPriority() {}

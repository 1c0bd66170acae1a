//go:build !race

package testcluster

// raceEnabled is true when the tests run with the race detector; zkd is then
// built with it too.
const raceEnabled = false

//go:build race

package sim

// defaultSeeds is smaller under the race detector, which slows runs ten
// times; the simulation itself starts no goroutine.
const defaultSeeds = 90

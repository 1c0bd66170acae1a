//go:build !race

package sim

// defaultSeeds is how many runs TestSeeds makes by default.
const defaultSeeds = 1002

//go:build race

package fib

// raceEnabled shrinks the randomized tests under the race detector, which
// slows the naive reference's linear scans fortyfold.
const raceEnabled = true

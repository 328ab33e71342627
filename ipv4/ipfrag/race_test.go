//go:build race

package ipfrag

// raceEnabled skips the allocation guards: under the race detector
// sync.Pool drops items at random, so pooled Bufs are allocated anew.
const raceEnabled = true

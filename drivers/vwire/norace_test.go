//go:build !race

package vwire

const raceEnabled = false

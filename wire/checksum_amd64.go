package wire

import "golang.org/x/sys/cpu"

// haveSumAVX2 says whether sumWordsAVX2 may run on this CPU. It is fixed
// at start-up and never written again.
var haveSumAVX2 = cpu.X86.HasAVX2

// sumWordsAVX2 returns the sum, as a 64-bit integer without end-around
// carry, of b read as little-endian 32-bit words; len(b) must be a
// multiple of 64. Implemented in checksum_amd64.s.
//
//go:noescape
func sumWordsAVX2(b []byte) uint64

// sumWords is sumWordsAVX2 when the CPU has AVX2; ok is false otherwise.
func sumWords(b []byte) (s uint64, ok bool) {
	if !haveSumAVX2 {
		return 0, false
	}
	return sumWordsAVX2(b), true
}

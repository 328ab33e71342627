package wire

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestSumWordsAVX2 checks the vector sum against the plain sum of
// little-endian 32-bit words it promises, on lengths up to the largest
// IP datagram and beyond, with all-ones data that would overflow any
// 32-bit lane, and then that Checksum built on it agrees with the scalar
// loop for every alignment.
func TestSumWordsAVX2(t *testing.T) {
	if !haveSumAVX2 {
		t.Skip("CPU has no AVX2: Checksum uses the scalar loop only")
	}
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 1<<18+128)
	for _, fill := range []string{"random", "ones"} {
		for j := range buf {
			if fill == "ones" {
				buf[j] = 0xff
			} else {
				buf[j] = byte(r.Uint32())
			}
		}
		for _, n := range []int{0, 64, 128, 192, 1472, 9024, 65472, 65536, 1 << 18} {
			for off := range 3 {
				b := buf[off : off+n]
				var want uint64
				for i := 0; i < n; i += 4 {
					want += uint64(binary.LittleEndian.Uint32(b[i:]))
				}
				if got := sumWordsAVX2(b); got != want {
					t.Fatalf("%s: sumWordsAVX2(%d bytes at +%d) = %#x, want %#x", fill, n, off, got, want)
				}
				for _, extra := range []int{0, 1, 2, 7, 63} {
					c := buf[off : off+n+extra]
					if got, want := Fold(Checksum(c, 0x1234)), Fold(checksumScalar(c, 0x1234)); got != want {
						t.Fatalf("%s: Fold(Checksum(%d bytes at +%d)) = %#04x, scalar loop gives %#04x", fill, len(c), off, got, want)
					}
				}
			}
		}
	}
}

// The internet checksum.
//
// Read before editing: RFC 1071 (computing the internet checksum, and why
// word size and byte order do not matter), RFC 1141 and RFC 1624
// (incremental update; RFC 1624 corrects 1141's -0 case), RFC 768 and
// RFC 9293 §3.1 (the pseudo-header), RFC 8200 §8.1 (the IPv6 pseudo-header).
//
// A checksum is built in three steps, as in Linux's csum_partial /
// csum_fold:
//
//	sum := PseudoHeaderSum(src, dst, ProtoUDP, length) // partial sum, uint32
//	sum = Checksum(hdr, sum)                            // add more bytes
//	sum = Checksum(payload, sum)                        // (even-length chunks)
//	field := ^Fold(sum)                                 // value to transmit
//
// A received header or segment is valid when the sum over all of it,
// checksum field included, folds to 0xffff.

package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Checksum adds the bytes of b to the partial sum initial and returns the new
// partial sum. Bytes are taken as big-endian 16-bit words starting at an even
// offset; an odd trailing byte is padded with a zero byte, as RFC 1071
// requires at the end of the data. To continue a sum after an odd-length
// chunk use ChecksumChunks or Combine.
//
// The result is a 32-bit partial sum, not yet folded or complemented: pass
// it back as initial, to Combine, or to Fold. Any uint32 is a valid initial.
//
// Checksum reads 8 bytes per step into a 64-bit accumulator whose carries
// are added back (end-around carry). This is sound because 2^16-1 divides
// 2^64-1, so a one's complement sum of 64-bit words, folded, equals the
// one's complement sum of the 16-bit words (RFC 1071 §2(B)).
func Checksum(b []byte, initial uint32) uint32 {
	// Long runs go to the vector sum where the CPU has one. It sums
	// little-endian words; by RFC 1071 §2(B) the folded result is the
	// big-endian one with its two bytes swapped. Taking a multiple of 64
	// bytes keeps the rest at an even offset.
	if len(b) >= vectorMin {
		n := len(b) &^ 63
		if v, ok := sumWords(b[:n]); ok {
			initial = fold64(uint64(initial) + uint64(bits.ReverseBytes16(Fold(fold64(v)))))
			b = b[n:]
		}
	}
	return checksumScalar(b, initial)
}

// vectorMin is the length from which Checksum tries the vector sum: below
// it, setting up the vector registers costs more than it saves.
const vectorMin = 256

// checksumScalar is Checksum without the vector sum.
func checksumScalar(b []byte, initial uint32) uint32 {
	s := uint64(initial)
	var c uint64
	// 64 bytes a turn: the adds form one add-with-carry chain, and
	// unrolling this far takes the loop overhead off it (about 1.3x over
	// 32 bytes a turn at 1500 bytes).
	for len(b) >= 64 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[0:8]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[8:16]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[16:24]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[24:32]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[32:40]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[40:48]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[48:56]), c)
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b[56:64]), c)
		b = b[64:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		s, c = bits.Add64(s, uint64(binary.BigEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		s, c = bits.Add64(s, uint64(b[0])<<8, c)
	}
	// Add the pending carry back (2^64 ≡ 1). If that carries again, s has
	// wrapped to 0, and adding the second carry cannot overflow.
	s, c = bits.Add64(s, 0, c)
	s += c
	return fold64(s)
}

// fold64 folds a 64-bit one's complement sum to 32 bits.
func fold64(s uint64) uint32 {
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	return uint32(s)
}

// Fold folds a partial sum to 16 bits with end-around carry. The value to
// put in a checksum field is ^Fold(sum); a received block is valid when
// Fold of its sum, checksum field included, is 0xffff.
func Fold(sum uint32) uint16 {
	s := (sum >> 16) + (sum & 0xffff)
	s += s >> 16
	return uint16(s)
}

// Combine adds to sum the partial sum blockSum of a block that starts at
// byte offset off of the data sum covers (cf. Linux csum_block_add). A
// block at an odd offset has its bytes in the other halves of the 16-bit
// words, which is the same as multiplying its sum by 2^8, a rotation.
func Combine(sum, blockSum uint32, off int) uint32 {
	if off&1 != 0 {
		blockSum = bits.RotateLeft32(blockSum, 8)
	}
	return fold64(uint64(sum) + uint64(blockSum))
}

// ChecksumChunks adds to initial the bytes of chunks taken as one
// contiguous run of data starting at an even offset. Chunks may have any
// length, odd ones included.
func ChecksumChunks(initial uint32, chunks ...[]byte) uint32 {
	sum := initial
	off := 0
	for _, c := range chunks {
		if off&1 == 0 {
			sum = Checksum(c, sum)
		} else {
			sum = Combine(sum, Checksum(c, 0), off)
		}
		off += len(c)
	}
	return sum
}

// PseudoHeaderSum returns the partial sum of the pseudo-header that TCP and
// UDP checksums cover: source and destination address, protocol, and the
// transport length (header plus data). For IPv4 addresses this is RFC 768 /
// RFC 9293's 12-byte pseudo-header; for IPv6 ones RFC 8200's, whose sum is
// the same expression. The zero Addr counts as all zeros.
func PseudoHeaderSum(src, dst netip.Addr, proto IPProtocol, length uint16) uint32 {
	s := uint64(proto) + uint64(length)
	s += addrSum(src) + addrSum(dst)
	return fold64(s)
}

func addrSum(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.BigEndian.Uint16(b[0:2])) + uint64(binary.BigEndian.Uint16(b[2:4]))
	}
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[0:8]), binary.BigEndian.Uint64(b[8:16])
	return uint64(fold64(hi)) + uint64(fold64(lo))
}

// UpdateChecksum16 returns checksum field old updated for one 16-bit word of
// the covered data changing from oldField to newField, by RFC 1624 eqn. 3:
// HC' = ~(~HC + ~m + m'). Unlike RFC 1141's form it never yields 0x0000 from
// a non-zero sum, so it agrees with a checksum computed from scratch.
func UpdateChecksum16(old, oldField, newField uint16) uint16 {
	s := uint32(^old) + uint32(^oldField) + uint32(newField)
	return ^Fold(s)
}

// UpdateChecksum32 is UpdateChecksum16 for a 32-bit field at an even offset
// (an IPv4 address, a TCP sequence number).
func UpdateChecksum32(old uint16, oldField, newField uint32) uint16 {
	s := uint64(^old) + uint64(^oldField>>16) + uint64(^oldField&0xffff) +
		uint64(newField>>16) + uint64(newField&0xffff)
	return ^Fold(fold64(s))
}

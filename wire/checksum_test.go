package wire_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"ustack/wire"
)

// naiveSum is the RFC 1071 reference: add big-endian byte pairs one at a
// time into a wide accumulator, pad an odd byte, fold at the end.
func naiveSum(b []byte, initial uint32) uint16 {
	s := uint64(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint64(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 §3: the sum of 0001 f203 f4f5 f6f7 is ddf2.
	b := fromHex("0001 f203 f4f5 f6f7")
	if got := wire.Fold(wire.Checksum(b, 0)); got != 0xddf2 {
		t.Errorf("Fold(Checksum(%x)) = %#04x, want 0xddf2", b, got)
	}
}

func TestChecksumTable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		initial uint32
		want    uint16 // Fold of the sum
	}{
		{"empty", "", 0, 0},
		{"empty with initial", "", 0x1_2345, 0x2346},
		{"one byte is the high half", "ab", 0, 0xab00},
		{"odd tail", "0102 03", 0, 0x0402},
		{"carry wraps around", "ffff 0001", 0, 0x0001},
		{"all ones is negative zero", "ffff ffff ffff ffff ffff ffff ffff ffff ffff", 0, 0xffff},
		{"initial all ones", "0000", 0xffffffff, 0xffff},
		{"exactly one 64-bit word", "8000 0000 0000 8000", 0, 0x0001},
		{"33 bytes", "0101010101010101 0101010101010101 0101010101010101 0101010101010101 01", 0, 0x1110},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fromHex(tt.in)
			if got := wire.Fold(wire.Checksum(b, tt.initial)); got != tt.want {
				t.Errorf("Fold(Checksum(%x, %#x)) = %#04x, want %#04x", b, tt.initial, got, tt.want)
			}
			if got := naiveSum(b, tt.initial); got != tt.want {
				t.Errorf("naiveSum(%x, %#x) = %#04x, want %#04x (fixture wrong?)", b, tt.initial, got, tt.want)
			}
		})
	}
}

func TestChecksumMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4096)
	for i := 0; i < 20000; i++ {
		n := r.IntN(len(buf) + 1)
		if i%4 == 0 {
			n = r.IntN(80) // short ones hit every tail path
		}
		off := r.IntN(8) // unaligned starts
		if off+n > len(buf) {
			n = len(buf) - off
		}
		b := buf[off : off+n]
		switch i % 3 {
		case 0:
			for j := range b {
				b[j] = byte(r.Uint32())
			}
		case 1:
			for j := range b {
				b[j] = 0xff // carries on every word
			}
		case 2:
			for j := range b {
				b[j] = byte(r.Uint32()) | 0xf0
			}
		}
		initial := r.Uint32()
		if i%5 == 0 {
			initial = 0
		}
		got, want := wire.Fold(wire.Checksum(b, initial)), naiveSum(b, initial)
		if got != want {
			t.Fatalf("Fold(Checksum(%d bytes %x…, %#x)) = %#04x, want %#04x", len(b), b[:min(len(b), 16)], initial, got, want)
		}
	}
}

func TestChecksumChunksAndCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 5000; i++ {
		b := make([]byte, r.IntN(300))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		initial := r.Uint32()
		want := naiveSum(b, initial)

		// Split at random points, odd ones included.
		var chunks [][]byte
		for rest := b; len(rest) > 0; {
			k := r.IntN(len(rest) + 1)
			chunks = append(chunks, rest[:k])
			rest = rest[k:]
		}
		if got := wire.Fold(wire.ChecksumChunks(initial, chunks...)); got != want {
			t.Fatalf("ChecksumChunks(%#x, %d chunks of %x) = %#04x, want %#04x", initial, len(chunks), b, got, want)
		}

		// Combine the same way by hand.
		s, off := initial, 0
		for _, c := range chunks {
			s = wire.Combine(s, wire.Checksum(c, 0), off)
			off += len(c)
		}
		if got := wire.Fold(s); got != want {
			t.Fatalf("Combine over %d chunks of %x = %#04x, want %#04x", len(chunks), b, got, want)
		}
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	tests := []struct {
		name     string
		src, dst string
		proto    wire.IPProtocol
		length   uint16
		pseudo   string // the pseudo-header as bytes
	}{
		{"RFC 768 IPv4 UDP", "192.0.2.1", "198.51.100.2", wire.ProtoUDP, 21,
			"c0000201 c6336402 00 11 0015"},
		{"IPv4 TCP", "10.255.255.1", "255.255.255.255", wire.ProtoTCP, 0xffff,
			"0affff01 ffffffff 00 06 ffff"},
		{"IPv6 pseudo-header, RFC 8200 §8.1", "2001:db8::1", "2001:db8::ffff:2", wire.ProtoTCP, 1000,
			"20010db8000000000000000000000001 20010db80000000000000000ffff0002 000003e8 000000 06"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst)
			got := wire.Fold(wire.PseudoHeaderSum(src, dst, tt.proto, tt.length))
			want := naiveSum(fromHex(tt.pseudo), 0)
			if got != want {
				t.Errorf("PseudoHeaderSum(%v, %v, %v, %d) folds to %#04x, want %#04x", src, dst, tt.proto, tt.length, got, want)
			}
		})
	}
	// The zero Addr counts as zeros rather than panicking.
	if got := wire.Fold(wire.PseudoHeaderSum(netip.Addr{}, netip.Addr{}, wire.ProtoUDP, 8)); got != 0x19 {
		t.Errorf("PseudoHeaderSum(zero, zero, UDP, 8) folds to %#x, want 0x19", got)
	}
}

func TestUpdateChecksumRFC1624Example(t *testing.T) {
	// RFC 1624 §4: m 0x5555 -> 0x3285 with HC 0xdd2f gives 0x0000 (RFC
	// 1141's equation wrongly gives 0xffff).
	if got := wire.UpdateChecksum16(0xdd2f, 0x5555, 0x3285); got != 0x0000 {
		t.Errorf("UpdateChecksum16(0xdd2f, 0x5555, 0x3285) = %#04x, want 0x0000", got)
	}
}

func TestUpdateChecksumMatchesRecompute(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	full := func(b []byte) uint16 { return ^wire.Fold(wire.Checksum(b, 0)) }
	for i := 0; i < 20000; i++ {
		b := make([]byte, 2+2*r.IntN(30))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%7 == 0 {
			clear(b[:len(b)/2]) // many zeros: hits the ±0 cases
		}
		// Field 0 holds the checksum of the rest, so the whole sums to -0.
		// (All-zero data is the one case where the incremental form gives
		// +0 for -0, RFC 1624 §3, hence the exception below; it cannot
		// occur in a real header, whose version or ports are non-zero.)
		binary.BigEndian.PutUint16(b, 0)
		binary.BigEndian.PutUint16(b, full(b))
		old := binary.BigEndian.Uint16(b)

		if len(b) >= 6 && i%2 == 0 {
			o := 2 + 2*r.IntN((len(b)-4)/2)
			oldF := binary.BigEndian.Uint32(b[o:])
			newF := r.Uint32()
			binary.BigEndian.PutUint32(b[o:], newF)
			got := wire.UpdateChecksum32(old, oldF, newF)
			binary.BigEndian.PutUint16(b, 0)
			if want := full(b); got != want && !(want == 0xffff && got == 0) {
				t.Fatalf("UpdateChecksum32(%#04x, %#08x, %#08x) = %#04x, want %#04x", old, oldF, newF, got, want)
			}
			continue
		}
		o := 2 + 2*r.IntN((len(b)-2)/2+1)
		if o >= len(b) {
			continue
		}
		oldF := binary.BigEndian.Uint16(b[o:])
		newF := uint16(r.Uint32())
		binary.BigEndian.PutUint16(b[o:], newF)
		got := wire.UpdateChecksum16(old, oldF, newF)
		binary.BigEndian.PutUint16(b, 0)
		if want := full(b); got != want && !(want == 0xffff && got == 0) {
			t.Fatalf("UpdateChecksum16(%#04x, %#04x, %#04x) = %#04x, want %#04x", old, oldF, newF, got, want)
		}
	}
}

func TestChecksumAllocs(t *testing.T) {
	b := make([]byte, 1500)
	n := testing.AllocsPerRun(100, func() {
		s := wire.Checksum(b, 0)
		s = wire.ChecksumChunks(s, b[:7], b[7:])
		_ = wire.Fold(s)
	})
	if n != 0 {
		t.Errorf("Checksum: %v allocs per run, want 0", n)
	}
}

var sink uint32

func BenchmarkChecksum(b *testing.B) {
	for _, size := range []int{20, 64, 1500, 9000, 65536} {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		b.Run(fmt.Sprintf("fast/%d", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				sink += wire.Checksum(buf, 0)
			}
		})
		b.Run(fmt.Sprintf("naive/%d", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				sink += uint32(naiveSum(buf, 0))
			}
		})
	}
}

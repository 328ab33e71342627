package ipfrag

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"ustack/clock"
	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

var updateSeeds = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz/FuzzReassemble")

// The fuzz input is a program of operations, each starting with an
// opcode byte whose low three bits say what it is:
//
//	0-5  a fragment, 5 bytes: op, offset (2, big-endian, in 8-byte
//	     units, 13 bits), payload length (2, modulo 4097). Op bits 3-4
//	     choose one of four datagrams (the IP ID), bit 5 sets MF, bit 6
//	     adds 8 bytes of options, bit 7 sets DF. The payload byte at
//	     datagram offset p is payloadByte(id, p), so fragments of one
//	     datagram agree wherever they overlap.
//	6    a raw packet: a length byte n and n bytes, fed as they are
//	     but for the source address, set to rawSrc when there is one.
//	7    advance the clock by the next byte times 250 ms.
const (
	opRaw     = 6
	opAdvance = 7
	fMF       = 1 << 5
	fOpts     = 1 << 6
	fDF       = 1 << 7
)

var rawSrc = netip.MustParseAddr("203.0.113.9")

func payloadByte(id uint16, p int) byte { return byte(p*31 + p>>8 + int(id)*101) }

// fuzzFrag builds the fragment of datagram id at byte offset off with n
// payload bytes.
func fuzzFrag(id uint16, off, n int, flags wire.IPv4Flags, opts bool) []byte {
	h := wire.IPv4Header{ID: id, TTL: 64, Protocol: wire.ProtoUDP, Src: testSrc, Dst: testDst,
		FragOff: uint16(off), Flags: flags}
	if opts {
		h.Options = []byte{0x83, 7, 4, 10, 0, 0, 1, 1}
	}
	hl := h.Len()
	h.TotalLen = uint16(min(hl+n, 0xffff))
	out := make([]byte, hl+n)
	h.Encode(out)
	for i := range n {
		out[hl+i] = payloadByte(id, off+i)
	}
	v, _ := wire.ParseIPv4HeaderView(out)
	v.SetChecksum(v.CalculateChecksum())
	return out
}

func FuzzReassemble(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.prog)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		runProgram(t, prog)
	})
}

// runProgram runs one fuzz program against a small Reassembler and checks
// that whatever comes out is a consistent datagram, nothing leaks and
// the bookkeeping holds after every step. It returns the number of
// datagrams reassembled.
func runProgram(t testing.TB, prog []byte) int {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	clk := clock.NewManual(epoch)
	st := new(stats.IP)
	var timed []*pkt.Buf
	r := New(Config{
		Clock: clk, Stats: st, Tracer: trace.New(clk),
		HighThresh: 48 << 10, LowThresh: 32 << 10, MaxDatagrams: 3, MaxFragments: 16,
		OnTimeout: func(b *pkt.Buf) { timed = append(timed, b) },
	})
	whole := 0
	for len(prog) > 0 {
		op := prog[0]
		var data []byte
		switch op & 7 {
		case opAdvance:
			if len(prog) < 2 {
				prog = nil
				continue
			}
			clk.Advance(time.Duration(prog[1]) * 250 * time.Millisecond)
			prog = prog[2:]
			checkInvariants(t, r)
			continue
		case opRaw:
			if len(prog) < 2 {
				prog = nil
				continue
			}
			n := min(int(prog[1]), len(prog)-2)
			data = bytes.Clone(prog[2 : 2+n])
			prog = prog[2+n:]
			if len(data) >= 20 {
				a := rawSrc.As4()
				copy(data[12:16], a[:])
			}
		default:
			if len(prog) < 5 {
				prog = nil
				continue
			}
			id := uint16(op >> 3 & 3)
			off := int(binary.BigEndian.Uint16(prog[1:])&0x1fff) * 8
			n := int(binary.BigEndian.Uint16(prog[3:])) % 4097
			var flags wire.IPv4Flags
			if op&fMF != 0 {
				flags |= wire.IPv4MoreFragments
			}
			if op&fDF != 0 {
				flags |= wire.IPv4DontFragment
			}
			data = fuzzFrag(id, off, n, flags, op&fOpts != 0)
			prog = prog[5:]
		}
		isFrag := false
		if v, err := wire.ParseIPv4HeaderView(data); err == nil {
			isFrag = v.IsFragment()
		}
		b := pool.Copy(pkt.MaxHeaderLen, data)
		b.SetNetworkHeader()
		got := r.Process(b)
		if got != nil {
			checkFuzzResult(t, got, got == b && !isFrag)
			got.Free()
			if got != b || isFrag {
				whole++
			}
		}
		checkInvariants(t, r)
	}
	for _, b := range timed {
		if h, err := wire.ParseIPv4HeaderView(b.Peek(min(b.Len(), 60))); err != nil || h.FragmentOffset() != 0 {
			t.Fatalf("OnTimeout got a packet that is not fragment zero: %v", err)
		}
		b.Free()
	}
	r.Close()
	if n := pool.Live(); n != 0 {
		t.Fatalf("pool.Live() = %d after Close, want 0", n)
	}
	if m := st.ReasmMemory.Load(); m != 0 {
		t.Fatalf("ReasmMemory = %d after Close, want 0", m)
	}
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers pending after Close", n)
	}
	if ok := st.ReasmOKs.Load(); int(ok) != whole {
		t.Fatalf("ReasmOKs = %d, %d datagrams returned", ok, whole)
	}
	return whole
}

// checkFuzzResult checks a datagram Process returned; passed is true
// when it is a non-fragment handed back as it came.
func checkFuzzResult(t testing.TB, got *pkt.Buf, passed bool) {
	data := make([]byte, got.Len())
	got.CopyTo(data)
	h, err := wire.ParseIPv4View(data)
	if err != nil {
		t.Fatalf("returned datagram: ParseIPv4View(%x) = %v", data[:min(len(data), 60)], err)
	}
	if int(h.TotalLen()) != len(data) {
		t.Fatalf("returned datagram: total length %d, %d bytes", h.TotalLen(), len(data))
	}
	if h.IsFragment() {
		t.Fatalf("returned datagram is a fragment: flags %v offset %d", h.Flags(), h.FragmentOffset())
	}
	if passed {
		return
	}
	if !h.IsValidChecksum() {
		t.Fatalf("reassembled header checksum is wrong: %x", h.Header())
	}
	if h.Src() == testSrc {
		for p, c := range h.Payload() {
			if want := payloadByte(h.ID(), p); c != want {
				t.Fatalf("reassembled datagram %d: payload byte %d = %#x, want %#x", h.ID(), p, c, want)
			}
		}
	}
}

type fuzzSeed struct {
	name string
	prog []byte
}

// frag returns the opcode bytes of a fragment.
func seedFrag(id int, off, n int, flags byte) []byte {
	return []byte{byte(id<<3) | flags, byte(off / 8 >> 8), byte(off / 8), byte(n >> 8), byte(n)}
}

func fuzzSeeds() []fuzzSeed {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	raw := func(b []byte) []byte { return append([]byte{opRaw, byte(len(b))}, b...) }
	return []fuzzSeed{
		{"in-order", cat(seedFrag(0, 0, 1480, fMF), seedFrag(0, 1480, 1480, fMF), seedFrag(0, 2960, 100, 0))},
		{"reverse", cat(seedFrag(1, 2960, 100, 0), seedFrag(1, 1480, 1480, fMF), seedFrag(1, 0, 1480, fMF|fOpts))},
		{"duplicate", cat(seedFrag(0, 0, 16, fMF), seedFrag(0, 0, 16, fMF), seedFrag(0, 16, 5, 0))},
		{"overlap", cat(seedFrag(0, 0, 32, fMF), seedFrag(0, 24, 16, fMF), seedFrag(0, 40, 8, 0))},
		{"oversize", cat(seedFrag(2, 0, 8, fMF), seedFrag(2, 65528, 16, 0))},
		{"timeout", cat(seedFrag(0, 0, 8, fMF), seedFrag(1, 8, 8, fMF), []byte{opAdvance, 200})},
		{"evict", cat(seedFrag(0, 0, 4000, fMF), seedFrag(1, 0, 4000, fMF), seedFrag(2, 0, 4000, fMF),
			seedFrag(3, 0, 4000, fMF), seedFrag(0, 4000, 8, 0), seedFrag(3, 4000, 8, 0))},
		{"interleaved", cat(seedFrag(0, 0, 64, fMF), seedFrag(1, 64, 3, 0), seedFrag(0, 64, 1, 0), seedFrag(1, 0, 64, fMF))},
		{"raw", cat(raw(fuzzFrag(9, 0, 16, wire.IPv4MoreFragments, false)), raw(fuzzFrag(9, 16, 3, 0, false)),
			raw([]byte{0x45, 0, 0, 10}), raw([]byte{0x4f, 0, 0, 20, 0, 0, 0x20, 0, 64, 17, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}))},
		{"conflicting ends", cat(seedFrag(0, 8, 8, 0), seedFrag(0, 8, 16, 0), seedFrag(0, 16, 16, fMF))},
	}
}

// TestFuzzSeeds runs the seeds as a test, checks that each reassembles
// what it should, and keeps testdata/fuzz/FuzzReassemble in step with
// them (rewrite with -update).
func TestFuzzSeeds(t *testing.T) {
	wantWhole := map[string]int{"in-order": 1, "reverse": 1, "duplicate": 1, "evict": 1, "interleaved": 2, "raw": 1}
	dir := filepath.Join("testdata", "fuzz", "FuzzReassemble")
	for _, s := range fuzzSeeds() {
		t.Run(s.name, func(t *testing.T) {
			if got := runProgram(t, s.prog); got != wantWhole[s.name] {
				t.Errorf("seed %s reassembled %d datagrams, want %d", s.name, got, wantWhole[s.name])
			}
			file := filepath.Join(dir, s.name)
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s.prog)))
			if *updateSeeds {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got, err := os.ReadFile(file); err != nil || string(got) != content {
				t.Errorf("%s is missing or stale (%v): run go test -run TestFuzzSeeds -update", file, err)
			}
		})
	}
}

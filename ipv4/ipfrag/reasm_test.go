package ipfrag

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"ustack/clock"
	"ustack/pkt"
	"ustack/trace"
	"ustack/wire"
)

// orders are the arrival orders of the round-trip tests.
var orders = []struct {
	name    string
	arrange func(rng *rand.Rand, f []*pkt.Buf)
}{
	{"in-order", func(*rand.Rand, []*pkt.Buf) {}},
	{"reverse", func(_ *rand.Rand, f []*pkt.Buf) { slices.Reverse(f) }},
	{"random", func(rng *rand.Rand, f []*pkt.Buf) {
		rng.Shuffle(len(f), func(i, j int) { f[i], f[j] = f[j], f[i] })
	}},
	{"last-first", func(_ *rand.Rand, f []*pkt.Buf) {
		// The last fragment, then the first, then the middle: the
		// datagram's end is known before most of it.
		if n := len(f); n > 2 {
			last := f[n-1]
			copy(f[1:], f[:n-1])
			f[0] = last
		}
	}},
}

// roundTrip fragments d at mtu, arranges the fragments and reassembles
// them, checking every fragment, the result, the counters and that
// reassembly made no new chunk (the payload was never copied).
func roundTrip(t *testing.T, e *env, rng *rand.Rand, d dgram, mtu int, arrange func(*rand.Rand, []*pkt.Buf)) {
	t.Helper()
	want := d.build(rng)
	frags := e.fragment(want, mtu)
	checkFragments(t, frags, want, mtu)
	arrange(rng, frags)
	before := e.pool.Allocated()
	got := e.feed(frags)
	checkSame(t, got, want)
	if n := e.pool.Allocated() - before; n != 0 {
		t.Errorf("reassembly allocated %d chunks, want 0 (a copy)", n)
	}
	got.Free()
	if e.r.held() != 0 {
		t.Errorf("%d datagrams held after reassembly, want 0", e.r.held())
	}
	e.checkHeld()
}

// checkFragments checks what Fragment made of datagram whole: each
// fragment at most mtu, a valid header, offsets multiples of 8 that tile
// the payload, MF on all but the last.
func checkFragments(t testing.TB, frags []*pkt.Buf, whole []byte, mtu int) {
	t.Helper()
	hl0 := int(whole[0]&0xf) * 4
	next := 0
	for i, f := range frags {
		data := make([]byte, f.Len())
		f.CopyTo(data)
		if len(data) > mtu {
			t.Fatalf("fragment %d is %d bytes, over mtu %d", i, len(data), mtu)
		}
		h, err := wire.ParseIPv4View(data)
		if err != nil || int(h.TotalLen()) != len(data) {
			t.Fatalf("fragment %d: ParseIPv4View = %v, total length %d of %d bytes", i, err, h.TotalLen(), len(data))
		}
		if !h.IsValidChecksum() {
			t.Fatalf("fragment %d: bad header checksum", i)
		}
		off := int(h.FragmentOffset())
		if off != next {
			t.Fatalf("fragment %d at offset %d, want %d", i, off, next)
		}
		last := i == len(frags)-1
		if h.MoreFragments() == last {
			t.Fatalf("fragment %d of %d: MF = %v", i, len(frags), h.MoreFragments())
		}
		if !last && len(h.Payload())%8 != 0 {
			t.Fatalf("fragment %d: payload %d bytes, not a multiple of 8", i, len(h.Payload()))
		}
		if string(h.Payload()) != string(whole[hl0+off:hl0+off+len(h.Payload())]) {
			t.Fatalf("fragment %d: payload differs from the datagram's at %d", i, off)
		}
		if off, ok := f.NetworkOffset(); !ok || off != 0 {
			t.Fatalf("fragment %d: NetworkOffset() = %d, %v; want 0, true", i, off, ok)
		}
		next += len(h.Payload())
	}
	if next != len(whole)-hl0 {
		t.Fatalf("fragments cover %d payload bytes, want %d", next, len(whole)-hl0)
	}
}

func TestRoundTripRandom(t *testing.T) {
	const perOrder = 150
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(o.name))))
			e := newEnv(t, Config{MaxFragments: 8192})
			var reqds, frags int64
			for i := range perOrder {
				mtu := 68 + rng.IntN(9000-68+1)
				size := 1 + rng.IntN(65515)
				if i%3 == 0 {
					size = 1 + rng.IntN(3*mtu) // around a few fragments
				}
				d := dgram{id: uint16(i), payload: size}
				if i%5 == 0 {
					d.options = []byte{0x82, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07, 7, 4, 0, 0, 0, 0}
				}
				hl := 20 + (len(d.options)+3)&^3
				if hl+size > 65535 {
					d.payload = 65535 - hl
				}
				before := e.st.FragCreates.Load()
				roundTrip(t, e, rng, d, mtu, o.arrange)
				n := int64(e.st.FragCreates.Load() - before)
				if hl+d.payload > mtu {
					frags += n
					reqds += n
				}
			}
			if got := int64(e.st.ReasmReqds.Load()); got != reqds {
				t.Errorf("ReasmReqds = %d, want %d", got, reqds)
			}
			if got := int64(e.st.ReasmFails.Load()); got != 0 {
				t.Errorf("ReasmFails = %d, want 0", got)
			}
			_ = frags
		})
	}
}

func TestRoundTripEdges(t *testing.T) {
	tests := []struct {
		name    string
		payload int
		mtu     int
		options []byte
	}{
		{"one byte over", 1481, 1500, nil},
		{"exactly two full", 2 * 1480, 1500, nil},
		{"max at 68", 65515, 68, nil},
		{"max at 576", 65515, 576, nil},
		{"max at 1500", 65515, 1500, nil},
		{"max at 9000", 65515, 9000, nil},
		{"tiny last fragment", 1481 + 1480, 1500, nil},
		{"mtu not multiple of 8 plus header", 1000, 101, nil},
		{"full options at 68", 2000, 68, slices.Repeat([]byte{0x82, 10, 1, 2, 3, 4, 5, 6, 7, 8}, 4)},
		{"max with 40 option bytes", 65535 - 60, 1500, slices.Repeat([]byte{0x44, 4, 5, 0}, 10)},
	}
	for _, tt := range tests {
		for _, o := range orders {
			t.Run(tt.name+"/"+o.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(2, 3))
				e := newEnv(t, Config{MaxFragments: 8192})
				roundTrip(t, e, rng, dgram{id: 7, payload: tt.payload, options: tt.options}, tt.mtu, o.arrange)
				n := int64(e.st.FragCreates.Load())
				wantCounters(t, e.st, map[string]int64{"FragOKs": 1, "FragCreates": n, "ReasmReqds": n, "ReasmOKs": 1})
			})
		}
	}
}

// TestRoundTripRefragment fragments a datagram, fragments its fragments
// again at a smaller MTU (as a router on the path would), and reassembles
// the lot.
func TestRoundTripRefragment(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	e := newEnv(t, Config{MaxFragments: 1024})
	want := dgram{id: 9, payload: 30000, options: []byte{0x83, 7, 4, 10, 0, 0, 1, 0x07, 7, 4, 0, 0, 0, 0}}.build(rng)
	var all []*pkt.Buf
	for _, f := range e.fragment(want, 9000) {
		err := Fragment(f, 1500, e.st, nil, func(g *pkt.Buf) error {
			all = append(all, g)
			return nil
		})
		if err != nil {
			t.Fatalf("Fragment(fragment, 1500) = %v", err)
		}
	}
	checkFragments(t, all, want, 1500)
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	got := e.feed(all)
	checkSame(t, got, want)
	got.Free()
}

// TestDuplicates sends fragments more than once: exact copies are dropped
// alone and the datagram still completes; a copy with other bytes is an
// overlap.
func TestDuplicates(t *testing.T) {
	payload := pattern(64)
	tests := []struct {
		name  string
		send  []int // indexes into the fragments below; -1: a bad copy of 1
		whole bool
		want  map[string]int64
	}{
		{"first twice", []int{0, 0, 1, 2}, true, map[string]int64{"ReasmReqds": 4, "ReasmOKs": 1, "ReasmDuplicates": 1}},
		{"middle twice", []int{1, 0, 1, 2}, true, map[string]int64{"ReasmReqds": 4, "ReasmOKs": 1, "ReasmDuplicates": 1}},
		{"last twice", []int{2, 2, 0, 1}, true, map[string]int64{"ReasmReqds": 4, "ReasmOKs": 1, "ReasmDuplicates": 1}},
		{"all twice", []int{0, 1, 0, 1, 2}, true, map[string]int64{"ReasmReqds": 5, "ReasmOKs": 1, "ReasmDuplicates": 2}},
		{"mf-clear copy completes", []int{0, 1, 3}, true, map[string]int64{"ReasmReqds": 3, "ReasmOKs": 1, "ReasmDuplicates": 1}},
		{"different bytes", []int{0, 1, -1}, false, map[string]int64{"ReasmReqds": 3, "ReasmOverlaps": 1, "ReasmFails": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			mk := func(i int) *pkt.Buf {
				switch i {
				case 0:
					return e.frag(1, 0, true, payload[:24])
				case 1:
					return e.frag(1, 24, true, payload[24:48])
				case 2:
					return e.frag(1, 48, false, payload[48:])
				case 3: // fragment 1 again, but saying it is the last
					return e.frag(1, 24, false, payload[24:48])
				}
				bad := slices.Clone(payload[24:48])
				bad[5] ^= 0xff
				return e.frag(1, 24, true, bad)
			}
			var got *pkt.Buf
			for _, i := range tt.send {
				if w := e.r.Process(mk(i)); w != nil {
					got = w
				}
				e.checkHeld()
			}
			if tt.whole {
				want := rawFrag(1, 0, false, 0, payload[:len(payload)])
				if tt.name == "mf-clear copy completes" {
					want = rawFrag(1, 0, false, 0, payload[:48])
				}
				checkSame(t, got, want)
				got.Free()
			} else if got != nil {
				got.Free()
				t.Fatal("Process returned a datagram, want nil")
			}
			wantCounters(t, e.st, tt.want)
		})
	}
}

// TestRejects covers every way a fragment or its datagram is refused.
func TestRejects(t *testing.T) {
	p := pattern(1 << 17)
	type fr struct {
		off  int
		mf   bool
		n    int
		opts int // option bytes in the header (NOPs)
	}
	tests := []struct {
		name string
		cfg  Config
		send []fr
		held int // datagrams left held
		want map[string]int64
	}{
		{"overlap with previous", Config{}, []fr{{0, true, 32, 0}, {24, true, 16, 0}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmOverlaps": 1, "ReasmFails": 1}},
		{"overlap with next", Config{}, []fr{{32, false, 16, 0}, {16, true, 24, 0}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmOverlaps": 1, "ReasmFails": 1}},
		{"contained", Config{}, []fr{{0, true, 64, 0}, {16, true, 16, 0}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmOverlaps": 1, "ReasmFails": 1}},
		{"containing", Config{}, []fr{{16, true, 16, 0}, {0, true, 64, 0}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmOverlaps": 1, "ReasmFails": 1}},
		{"same offset, longer", Config{}, []fr{{8, true, 8, 0}, {8, true, 16, 0}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmOverlaps": 1, "ReasmFails": 1}},
		{"overlap, then the rest starts anew", Config{}, []fr{{0, true, 32, 0}, {24, true, 16, 0}, {40, false, 8, 0}}, 1,
			map[string]int64{"ReasmReqds": 3, "ReasmOverlaps": 1, "ReasmFails": 1, "ReasmMemory": 28}},
		{"oversize: offset 65528", Config{}, []fr{{65528, false, 16, 0}}, 0,
			map[string]int64{"ReasmReqds": 1, "ReasmOversize": 1, "ReasmFails": 1}},
		{"oversize: kills the datagram", Config{}, []fr{{0, true, 8, 0}, {65512, false, 8, 0}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmOversize": 1, "ReasmFails": 1}},
		{"oversize: first fragment's options", Config{}, []fr{{65512, false, 3, 0}, {0, true, 8, 40}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmOversize": 1, "ReasmFails": 1}},
		{"largest datagram fits", Config{MaxFragments: 8192}, []fr{{65512, false, 3, 0}, {0, true, 8, 0}}, 1,
			map[string]int64{"ReasmReqds": 2, "ReasmMemory": 51}},
		{"two different ends", Config{}, []fr{{16, false, 16, 0}, {16, false, 8, 0}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmFails": 1}},
		{"last below data held", Config{}, []fr{{32, true, 16, 0}, {8, false, 8, 0}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmFails": 1}},
		{"fragment beyond the last", Config{}, []fr{{8, false, 8, 0}, {16, true, 16, 0}}, 0,
			map[string]int64{"ReasmReqds": 2, "ReasmFails": 1}},
		{"empty fragment", Config{}, []fr{{8, true, 0, 0}}, 0,
			map[string]int64{"ReasmReqds": 1, "ReasmFails": 1}},
		{"odd length, not last", Config{}, []fr{{0, true, 8, 0}, {8, true, 12, 0}}, 1,
			map[string]int64{"ReasmReqds": 2, "ReasmFails": 1, "ReasmMemory": 28}},
		{"odd length, last", Config{}, []fr{{8, false, 13, 0}}, 1,
			map[string]int64{"ReasmReqds": 1, "ReasmMemory": 33}},
		{"too many fragments", Config{MaxFragments: 4}, []fr{{0, true, 8, 0}, {8, true, 8, 0}, {16, true, 8, 0}, {24, true, 8, 0}, {32, true, 8, 0}}, 0,
			map[string]int64{"ReasmReqds": 5, "ReasmFails": 1}},
		{"as many fragments as allowed", Config{MaxFragments: 4}, []fr{{0, true, 8, 0}, {8, true, 8, 0}, {16, true, 8, 0}, {24, false, 8, 0}}, 0,
			map[string]int64{"ReasmReqds": 4, "ReasmOKs": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.cfg)
			for _, f := range tt.send {
				b := e.buf(rawFrag(3, f.off, f.mf, f.opts, p[f.off:f.off+f.n]))
				if got := e.r.Process(b); got != nil {
					got.Free()
					if tt.want["ReasmOKs"] == 0 {
						t.Fatalf("Process(fragment at %d) returned a datagram, want nil", f.off)
					}
				}
				e.checkHeld()
			}
			if got := e.r.held(); got != tt.held {
				t.Errorf("%d datagrams held, want %d", got, tt.held)
			}
			wantCounters(t, e.st, tt.want)
		})
	}
}

// TestMalformed feeds packets that the IP layer would have refused, and
// one that is not a fragment.
func TestMalformed(t *testing.T) {
	good := rawFrag(5, 0, true, 0, pattern(16))
	whole := rawFrag(5, 0, false, 0, pattern(16))
	tests := []struct {
		name   string
		data   []byte
		passed bool // returned as it is
		want   map[string]int64
	}{
		{"not a fragment", whole, true, map[string]int64{}},
		{"not a fragment, padded", append(slices.Clone(whole), 0, 0, 0), true, map[string]int64{}},
		{"short header", good[:12], false, map[string]int64{"InHdrErrors": 1}},
		{"short options", append([]byte{0x46}, good[1:20]...), false, map[string]int64{"InHdrErrors": 1}},
		{"version 6", append([]byte{0x65}, good[1:]...), false, map[string]int64{"InHdrErrors": 1}},
		{"header length 4", append([]byte{0x41}, good[1:]...), false, map[string]int64{"InHdrErrors": 1}},
		{"total length below header", func() []byte { b := slices.Clone(good); b[2], b[3] = 0, 19; return b }(), false, map[string]int64{"InHdrErrors": 1}},
		{"truncated", good[:30], false, map[string]int64{"InTruncatedPkts": 1}},
		{"padded fragment", append(slices.Clone(good), 9, 9, 9), false, map[string]int64{"ReasmReqds": 1, "ReasmMemory": 36}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			got := e.r.Process(e.buf(tt.data))
			if (got != nil) != tt.passed {
				t.Fatalf("Process(%x) = %v, want returned: %v", tt.data, got != nil, tt.passed)
			}
			if got != nil {
				if got.Len() != len(whole) {
					t.Errorf("returned %d bytes, want %d (trimmed to total length)", got.Len(), len(whole))
				}
				got.Free()
			}
			wantCounters(t, e.st, tt.want)
			e.checkHeld()
		})
	}
}

func TestTimeout(t *testing.T) {
	p := pattern(48)
	tests := []struct {
		name     string
		offsets  []int // fragments of 16 bytes sent; 32 is the last
		advance  time.Duration
		reported bool
		want     map[string]int64
	}{
		{"first fragment held", []int{0}, 30 * time.Second, true,
			map[string]int64{"ReasmReqds": 1, "ReasmTimeout": 1, "ReasmFails": 1}},
		{"first and last held", []int{32, 0}, 30 * time.Second, true,
			map[string]int64{"ReasmReqds": 2, "ReasmTimeout": 1, "ReasmFails": 1}},
		{"no first fragment", []int{16, 32}, 30 * time.Second, false,
			map[string]int64{"ReasmReqds": 2, "ReasmTimeout": 1, "ReasmFails": 1}},
		{"not yet", []int{0}, 30*time.Second - time.Nanosecond, false,
			map[string]int64{"ReasmReqds": 1, "ReasmMemory": 36}},
		{"completed in time", []int{0, 16, 32}, time.Hour, false,
			map[string]int64{"ReasmReqds": 3, "ReasmOKs": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			for _, off := range tt.offsets {
				if got := e.r.Process(e.frag(4, off, off != 32, p[off:off+16])); got != nil {
					got.Free()
				}
			}
			e.clk.Advance(tt.advance)
			if got := len(e.timed) == 1; got != tt.reported {
				t.Fatalf("OnTimeout called %d times, want reported: %v", len(e.timed), tt.reported)
			}
			if tt.reported {
				data := make([]byte, e.timed[0].Len())
				e.timed[0].CopyTo(data)
				if want := rawFrag(4, 0, true, 0, p[:16]); string(data) != string(want) {
					t.Errorf("OnTimeout got %x, want the first fragment %x", data, want)
				}
			}
			wantCounters(t, e.st, tt.want)
			e.checkHeld()
		})
	}
}

// TestTimeoutPerDatagram checks that each datagram has its own timer,
// started by its first fragment to arrive.
func TestTimeoutPerDatagram(t *testing.T) {
	e := newEnv(t, Config{Timeout: 10 * time.Second})
	p := pattern(16)
	e.r.Process(e.frag(1, 0, true, p[:8]))
	e.clk.Advance(5 * time.Second)
	e.r.Process(e.frag(2, 0, true, p[:8]))
	e.r.Process(e.frag(1, 8, true, p[8:])) // does not restart 1's timer
	e.clk.Advance(5 * time.Second)
	if len(e.timed) != 1 || e.r.held() != 1 {
		t.Fatalf("after 10s: %d reported, %d held; want 1, 1", len(e.timed), e.r.held())
	}
	e.clk.Advance(5 * time.Second)
	if len(e.timed) != 2 || e.r.held() != 0 {
		t.Fatalf("after 15s: %d reported, %d held; want 2, 0", len(e.timed), e.r.held())
	}
	if n := e.st.ReasmTimeout.Load(); n != 2 {
		t.Errorf("ReasmTimeout = %d, want 2", n)
	}
}

func TestEvictMemory(t *testing.T) {
	p := pattern(4096)
	// Each datagram here is held as one 1,020-byte fragment.
	tests := []struct {
		name      string
		high, low int
		n         int
		survivors []uint16
		evicted   int64
	}{
		{"under the limit", 4000, 3000, 3, []uint16{0, 1, 2}, 0},
		{"one over", 4000, 3100, 4, []uint16{1, 2, 3}, 1},
		{"down to low", 4000, 1500, 4, []uint16{3}, 3},
		{"one datagram above the limit", 1000, 500, 1, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{HighThresh: tt.high, LowThresh: tt.low})
			for id := range tt.n {
				e.r.Process(e.frag(uint16(id), 0, true, p[:1000]))
				e.checkHeld()
				if m := e.st.ReasmMemory.Load(); m > int64(tt.high) {
					t.Fatalf("ReasmMemory = %d over HighThresh %d", m, tt.high)
				}
			}
			if got := int64(e.st.ReasmEvictions.Load()); got != tt.evicted {
				t.Errorf("ReasmEvictions = %d, want %d", got, tt.evicted)
			}
			if got := int64(e.st.ReasmFails.Load()); got != tt.evicted {
				t.Errorf("ReasmFails = %d, want %d", got, tt.evicted)
			}
			if got := e.r.held(); got != len(tt.survivors) {
				t.Errorf("%d datagrams held, want %d", got, len(tt.survivors))
			}
			for _, id := range tt.survivors {
				got := e.r.Process(e.frag(id, 1000, false, p[1000:1008]))
				if got == nil {
					t.Errorf("datagram %d was evicted, want it kept", id)
					continue
				}
				got.Free()
			}
			if len(e.timed) != 0 {
				t.Errorf("OnTimeout called for an eviction")
			}
		})
	}
}

func TestMaxDatagrams(t *testing.T) {
	e := newEnv(t, Config{MaxDatagrams: 2})
	p := pattern(16)
	for id := range uint16(3) {
		e.r.Process(e.frag(id, 0, true, p[:8]))
	}
	if got := e.r.held(); got != 2 {
		t.Fatalf("%d datagrams held, want 2", got)
	}
	for _, id := range []uint16{1, 2} {
		got := e.r.Process(e.frag(id, 8, false, p[8:]))
		if got == nil {
			t.Fatalf("datagram %d did not complete", id)
		}
		got.Free()
	}
	if got := e.r.Process(e.frag(0, 8, false, p[8:])); got != nil {
		got.Free()
		t.Error("datagram 0 completed, want it evicted as the oldest")
	}
	wantCounters(t, e.st, map[string]int64{"ReasmReqds": 6, "ReasmOKs": 2, "ReasmEvictions": 1, "ReasmFails": 1, "ReasmMemory": 28})
}

// TestKey checks that fragments are told apart by source, destination,
// protocol and identification.
func TestKey(t *testing.T) {
	e := newEnv(t, Config{})
	p := pattern(16)
	first := func(mut func(b []byte)) *pkt.Buf {
		b := rawFrag(1, 0, true, 0, p[:8])
		mut(b)
		v, _ := wire.ParseIPv4View(b)
		v.SetChecksum(v.CalculateChecksum())
		return e.buf(b)
	}
	muts := []func([]byte){
		func(b []byte) { b[15]++ }, // source
		func(b []byte) { b[19]++ }, // destination
		func(b []byte) { b[9]++ },  // protocol
		func(b []byte) { b[5]++ },  // identification
		func(b []byte) {},
	}
	for _, m := range muts {
		e.r.Process(first(m))
	}
	if got := e.r.held(); got != len(muts) {
		t.Fatalf("%d datagrams held, want %d", got, len(muts))
	}
	got := e.r.Process(e.frag(1, 8, false, p[8:]))
	if got == nil {
		t.Fatal("the unmodified datagram did not complete")
	}
	checkSame(t, got, rawFrag(1, 0, false, 0, p))
	got.Free()
}

func TestClose(t *testing.T) {
	e := newEnv(t, Config{})
	p := pattern(16)
	e.r.Process(e.frag(1, 0, true, p[:8]))
	e.r.Process(e.frag(2, 8, false, p[8:]))
	e.r.Close()
	if n := e.clk.Pending(); n != 0 {
		t.Errorf("%d timers pending after Close, want 0", n)
	}
	if n := e.pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d after Close, want 0", n)
	}
	if got := e.r.Process(e.frag(1, 8, false, p[8:])); got != nil {
		got.Free()
		t.Error("Process after Close returned a datagram")
	}
	e.clk.Advance(time.Hour)
	if len(e.timed) != 0 {
		t.Error("OnTimeout called after Close")
	}
	wantCounters(t, e.st, map[string]int64{"ReasmReqds": 3, "ReasmFails": 1})
	e.r.Close() // twice is harmless
}

func TestReassembledProbe(t *testing.T) {
	e := newEnv(t, Config{})
	var events []trace.Event
	cancel := e.tr.Subscribe("ip:::reassembled", func(ev *trace.Event) { events = append(events, *ev) })
	defer cancel()
	var drops []string
	cancelDrop := e.tr.Subscribe("ip:::drop", func(ev *trace.Event) { drops = append(drops, ev.Reason) })
	defer cancelDrop()
	rng := rand.New(rand.NewPCG(6, 7))
	want := dgram{id: 11, payload: 4000}.build(rng)
	got := e.feed(e.fragment(want, 1500))
	checkSame(t, got, want)
	got.Free()
	if len(events) != 1 || events[0].Len != len(want) || events[0].Src != testSrc || events[0].Dst != testDst ||
		events[0].Proto != uint8(wire.ProtoUDP) {
		t.Fatalf("ip:::reassembled events = %+v, want one of %d bytes", events, len(want))
	}
	e.r.Process(e.frag(1, 0, true, pattern(8)))
	e.r.Process(e.frag(1, 0, true, pattern(16)))
	if want := []string{"reassembly: overlapping fragments", "reassembly: overlapping fragments"}; !slices.Equal(drops, want) {
		t.Errorf("ip:::drop reasons = %q, want %q", drops, want)
	}
}

// TestConcurrent runs Process from several goroutines while the clock
// fires timers, for the race detector.
func TestConcurrent(t *testing.T) {
	e := newEnv(t, Config{Timeout: time.Second, HighThresh: 64 << 10, LowThresh: 32 << 10})
	const workers, perWorker = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for w := range workers {
		// Fragment on this goroutine: the pool is shared, a testing.T
		// is not safe for Fatal here, so build with Fragment directly.
		rng := rand.New(rand.NewPCG(uint64(w), 8))
		var sets [][]*pkt.Buf
		var wants [][]byte
		for i := range perWorker {
			want := dgram{id: uint16(w*perWorker + i), payload: 1 + rng.IntN(6000)}.build(rng)
			sets = append(sets, e.fragment(want, 576+rng.IntN(1000)))
			wants = append(wants, want)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, frags := range sets {
				n := len(frags)
				rng.Shuffle(len(frags), func(a, b int) { frags[a], frags[b] = frags[b], frags[a] })
				for _, f := range frags {
					if got := e.r.Process(f); got != nil {
						if got.Len() != len(wants[i]) {
							t.Errorf("datagram of %d bytes, want %d", got.Len(), len(wants[i]))
						}
						got.Free()
						if n > 1 { // else not a fragment, passed through
							mu.Lock()
							done++
							mu.Unlock()
						}
					}
				}
			}
		}()
	}
	stop := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Add(1)
	go func() {
		defer ticker.Done()
		for {
			select {
			case <-stop:
				return
			default:
				e.clk.Advance(10 * time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(stop)
	ticker.Wait()
	checkInvariants(t, e.r)
	// Timeouts and evictions may drop some datagrams (and the rest of
	// their fragments start new ones), but what completed was counted.
	if ok := e.st.ReasmOKs.Load(); int(ok) != done || ok == 0 {
		t.Errorf("ReasmOKs %d, returned %d of %d datagrams", ok, done, workers*perWorker)
	}
}

// TestReusedDatagram checks that a datagram record reused after a
// completion keeps a working timer and forgets its past.
func TestReusedDatagram(t *testing.T) {
	e := newEnv(t, Config{Timeout: 10 * time.Second})
	p := pattern(32)
	for range 3 {
		e.r.Process(e.frag(1, 0, true, p[:16]))
		got := e.r.Process(e.frag(1, 16, false, p[16:]))
		if got == nil {
			t.Fatal("datagram did not complete")
		}
		got.Free()
	}
	e.r.Process(e.frag(2, 24, false, p[24:]))
	e.r.Process(e.frag(2, 0, true, p[:16])) // 16-23 missing
	e.checkHeld()
	e.clk.Advance(10 * time.Second)
	if len(e.timed) != 1 || e.r.held() != 0 {
		t.Fatalf("after the timeout: %d reported, %d held; want 1, 0", len(e.timed), e.r.held())
	}
	wantCounters(t, e.st, map[string]int64{"ReasmReqds": 8, "ReasmOKs": 3, "ReasmTimeout": 1, "ReasmFails": 1})
}

// TestReassembleAllocs guards the fast path: once warm, reassembling a
// small datagram allocates nothing.
func TestReassembleAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	pool := pkt.NewPool(pkt.Options{})
	clk := clock.NewManual(epoch)
	r := New(Config{Clock: clk})
	defer r.Close()
	p := pattern(48)
	var frags []*pkt.Buf
	for off := 0; off < 48; off += 16 {
		b := pool.Copy(pkt.MaxHeaderLen, rawFrag(1, off, off < 32, 0, p[off:off+16]))
		b.SetNetworkHeader()
		frags = append(frags, b)
	}
	allocs := testing.AllocsPerRun(200, func() {
		var got *pkt.Buf
		for _, f := range frags {
			got = r.Process(f.Clone())
		}
		if got == nil {
			t.Fatal("datagram did not complete")
		}
		got.Free()
	})
	if allocs != 0 {
		t.Errorf("reassembly of 3 fragments: %v allocations, want 0", allocs)
	}
	for _, f := range frags {
		f.Free()
	}
	if n := pool.Live(); n != 0 {
		t.Errorf("pool.Live() = %d, want 0", n)
	}
}

package ipfrag

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"ustack/clock"
	"ustack/pkt"
	"ustack/stats"
	"ustack/trace"
	"ustack/wire"
)

var (
	testSrc = netip.MustParseAddr("192.0.2.1")
	testDst = netip.MustParseAddr("198.51.100.7")
	epoch   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// env is one test's world: a checked pool, a manual clock, counters, a
// tracer and a Reassembler built from them.
type env struct {
	t     testing.TB
	pool  *pkt.Pool
	clk   *clock.Manual
	st    *stats.IP
	tr    *trace.Tracer
	r     *Reassembler
	timed []*pkt.Buf // what OnTimeout received
}

// newEnv returns an env whose Reassembler has cfg with the clock, stats,
// tracer and OnTimeout filled in. At cleanup it closes the Reassembler,
// frees what OnTimeout got and checks that no Buf is left.
func newEnv(t testing.TB, cfg Config) *env {
	e := &env{t: t, pool: pkt.NewPool(pkt.Options{Checked: true}), clk: clock.NewManual(epoch), st: new(stats.IP)}
	e.tr = trace.New(e.clk)
	cfg.Clock, cfg.Stats, cfg.Tracer = e.clk, e.st, e.tr
	cfg.OnTimeout = func(first *pkt.Buf) { e.timed = append(e.timed, first) }
	e.r = New(cfg)
	t.Cleanup(func() {
		e.r.Close()
		for _, b := range e.timed {
			b.Free()
		}
		if n := e.clk.Pending(); n != 0 {
			t.Errorf("%d timers pending after Close, want 0", n)
		}
		if m := e.st.ReasmMemory.Load(); m != 0 {
			t.Errorf("ReasmMemory after Close = %d, want 0", m)
		}
		if n := e.pool.Live(); n != 0 {
			t.Errorf("pool.Live() = %d after the test, want 0 (leak)", n)
		}
	})
	return e
}

// checkHeld checks the Reassembler's bookkeeping against its contents:
// the memory charged, the gauge, the table and the eviction list agree,
// and each datagram's fragments are sorted and disjoint.
func (e *env) checkHeld() {
	e.t.Helper()
	checkInvariants(e.t, e.r)
}

func checkInvariants(t testing.TB, r *Reassembler) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	mem, n := 0, 0
	for q := r.oldest; q != nil; q = q.newer {
		n++
		if r.queues[q.key] != q {
			t.Fatalf("datagram %+v on the list is not in the table", q.key)
		}
		qm, meat := 0, 0
		for i, f := range q.frags {
			if i > 0 && q.frags[i-1].end > f.off {
				t.Fatalf("datagram %+v: fragments %d and %d overlap or are unsorted", q.key, i-1, i)
			}
			if got := f.b.Len() - int(f.skip); got != int(f.end-f.off) {
				t.Fatalf("datagram %+v: fragment %d holds %d bytes, want %d", q.key, i, got, f.end-f.off)
			}
			qm += int(f.charged)
			meat += int(f.end - f.off)
		}
		if qm != q.mem || meat != q.meat {
			t.Fatalf("datagram %+v: mem %d meat %d, want %d %d", q.key, q.mem, q.meat, qm, meat)
		}
		mem += qm
	}
	if n != len(r.queues) {
		t.Fatalf("%d datagrams on the list, %d in the table", n, len(r.queues))
	}
	if mem != r.mem {
		t.Fatalf("memory charged %d, fragments held %d", r.mem, mem)
	}
	if g := r.st.ReasmMemory.Load(); g != int64(mem) {
		t.Fatalf("ReasmMemory = %d, want %d", g, mem)
	}
}

// held returns the number of incomplete datagrams.
func (r *Reassembler) held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queues)
}

// dgram describes a datagram to build.
type dgram struct {
	id      uint16
	proto   wire.IPProtocol
	payload int
	options []byte
	df      bool
	src     netip.Addr // zero: testSrc
}

// build returns the datagram's bytes: a checksummed header and payload
// filled from rng.
func (d dgram) build(rng *rand.Rand) []byte {
	src := d.src
	if !src.IsValid() {
		src = testSrc
	}
	h := wire.IPv4Header{TOS: 0x10, ID: d.id, TTL: 64, Protocol: d.proto, Src: src, Dst: testDst, Options: d.options}
	if h.Protocol == 0 {
		h.Protocol = wire.ProtoUDP
	}
	if d.df {
		h.Flags = wire.IPv4DontFragment
	}
	hl := h.Len()
	h.TotalLen = uint16(hl + d.payload)
	out := make([]byte, hl+d.payload)
	h.Encode(out)
	v, _ := wire.ParseIPv4View(out)
	v.SetChecksum(v.CalculateChecksum())
	for i := hl; i < len(out); i++ {
		out[i] = byte(rng.Uint32())
	}
	return out
}

// buf copies data into a Buf from e's pool, network header marked.
func (e *env) buf(data []byte) *pkt.Buf {
	b := e.pool.Copy(pkt.MaxHeaderLen, data)
	b.SetNetworkHeader()
	return b
}

// fragment runs Fragment on a copy of data and returns the fragments.
func (e *env) fragment(data []byte, mtu int) []*pkt.Buf {
	e.t.Helper()
	var out []*pkt.Buf
	err := Fragment(e.buf(data), mtu, e.st, nil, func(f *pkt.Buf) error {
		out = append(out, f)
		return nil
	})
	if err != nil {
		e.t.Fatalf("Fragment(%d bytes, mtu %d) = %v, want nil", len(data), mtu, err)
	}
	return out
}

// frag builds one fragment by hand: header of hl bytes (options zero
// padded), given offset (bytes) and MF, payload taken from whole[off:off+n].
func (e *env) frag(id uint16, off int, mf bool, payload []byte) *pkt.Buf {
	return e.buf(rawFrag(id, off, mf, 0, payload))
}

func rawFrag(id uint16, off int, mf bool, optLen int, payload []byte) []byte {
	h := wire.IPv4Header{ID: id, TTL: 64, Protocol: wire.ProtoUDP, Src: testSrc, Dst: testDst, FragOff: uint16(off)}
	if optLen > 0 {
		h.Options = make([]byte, optLen)
		for i := range h.Options {
			h.Options[i] = optNOP
		}
	}
	if mf {
		h.Flags = wire.IPv4MoreFragments
	}
	hl := h.Len()
	h.TotalLen = uint16(hl + len(payload))
	out := make([]byte, hl+len(payload))
	h.Encode(out)
	copy(out[hl:], payload)
	v, _ := wire.ParseIPv4HeaderView(out)
	v.SetChecksum(v.CalculateChecksum())
	return out
}

// pattern returns n bytes that depend on their position, so that any
// fragment of it is a consistent part of the same datagram.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return p
}

// checkSame checks that got is the datagram want, byte for byte, and
// that its header says so.
func checkSame(t testing.TB, got *pkt.Buf, want []byte) {
	t.Helper()
	if got == nil {
		t.Fatalf("Process returned nil, want the %d-byte datagram", len(want))
	}
	data := make([]byte, got.Len())
	got.CopyTo(data)
	h, err := wire.ParseIPv4View(data)
	if err != nil {
		t.Fatalf("reassembled header: ParseIPv4View = %v", err)
	}
	if !h.IsValidChecksum() {
		t.Errorf("reassembled header checksum %#04x is wrong", h.Checksum())
	}
	if h.IsFragment() {
		t.Errorf("reassembled datagram is still a fragment: flags %v offset %d", h.Flags(), h.FragmentOffset())
	}
	if int(h.TotalLen()) != got.Len() {
		t.Errorf("reassembled total length %d, Buf length %d", h.TotalLen(), got.Len())
	}
	if !bytes.Equal(data, want) {
		i := 0
		for i < len(data) && i < len(want) && data[i] == want[i] {
			i++
		}
		t.Fatalf("reassembled datagram (%d bytes) differs from the original (%d bytes) from byte %d", len(data), len(want), i)
	}
	if off, ok := got.NetworkOffset(); !ok || off != 0 {
		t.Errorf("NetworkOffset() = %d, %v; want 0, true", off, ok)
	}
}

// feed gives every fragment to Process and returns what came out; at most
// one datagram is expected.
func (e *env) feed(frags []*pkt.Buf) *pkt.Buf {
	e.t.Helper()
	var whole *pkt.Buf
	for i, f := range frags {
		if got := e.r.Process(f); got != nil {
			if whole != nil {
				e.t.Fatalf("Process returned a second datagram at fragment %d", i)
			}
			whole = got
		}
	}
	return whole
}

// counters returns the named counters of st that are not zero.
func counters(st *stats.IP) map[string]int64 {
	m := stats.Snapshot(st)
	for k, v := range m {
		if v == 0 {
			delete(m, k)
		}
	}
	return m
}

// wantCounters checks that exactly the counters in want moved, by those
// amounts (those not named must be zero).
func wantCounters(t testing.TB, st *stats.IP, want map[string]int64) {
	t.Helper()
	got := counters(st)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("counter %s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("counter %s = %d, want 0 (all: %v)", k, v, got)
		}
	}
}

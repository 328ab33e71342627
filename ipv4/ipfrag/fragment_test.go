package ipfrag

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"ustack/pkt"
	"ustack/trace"
	"ustack/wire"
)

func TestFragmentDF(t *testing.T) {
	tests := []struct {
		name    string
		payload int
		mtu     int
		err     error
		emitted int
		want    map[string]int64
	}{
		{"too big", 1481, 1500, ErrDontFragment, 0, map[string]int64{"FragFails": 1}},
		{"fits", 1480, 1500, nil, 1, map[string]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			data := dgram{id: 1, payload: tt.payload, df: true}.build(rand.New(rand.NewPCG(1, 1)))
			var out []*pkt.Buf
			err := Fragment(e.buf(data), tt.mtu, e.st, nil, func(f *pkt.Buf) error {
				out = append(out, f)
				return nil
			})
			if !errors.Is(err, tt.err) {
				t.Fatalf("Fragment(DF, %d bytes, mtu %d) = %v, want %v", len(data), tt.mtu, err, tt.err)
			}
			if len(out) != tt.emitted {
				t.Fatalf("emitted %d packets, want %d", len(out), tt.emitted)
			}
			for _, f := range out {
				if f.Len() != len(data) {
					t.Errorf("emitted %d bytes, want the datagram unchanged (%d)", f.Len(), len(data))
				}
				f.Free()
			}
			wantCounters(t, e.st, tt.want)
		})
	}
}

func TestFragmentErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	good := dgram{id: 1, payload: 3000}.build(rng)
	withOpts := dgram{id: 1, payload: 3000, options: make([]byte, 40)}.build(rng)
	errEmit := errors.New("device gone")
	tests := []struct {
		name      string
		data      []byte
		mtu       int
		failAfter int // emit fails on this call (1-based); 0: never
		err       error
		emitted   int
		want      map[string]int64
	}{
		{"mtu 27", good, 27, 0, ErrMTUTooSmall, 0, map[string]int64{"FragFails": 1}},
		{"mtu 28", good, 28, 0, nil, 375, map[string]int64{"FragOKs": 1, "FragCreates": 375}},
		{"options, mtu 67", withOpts, 67, 0, ErrMTUTooSmall, 0, map[string]int64{"FragFails": 1}},
		{"options, mtu 68", withOpts, 68, 0, nil, 64, map[string]int64{"FragOKs": 1, "FragCreates": 64}},
		{"short header", good[:10], 8, 0, ErrBadHeader, 0, map[string]int64{"FragFails": 1}},
		{"version 6", append([]byte{0x65}, good[1:]...), 1500, 0, ErrBadHeader, 0, map[string]int64{"FragFails": 1}},
		{"shorter than total length", good[:2000], 1500, 0, ErrBadHeader, 0, map[string]int64{"FragFails": 1}},
		{"emit fails first", good, 1500, 1, errEmit, 1, map[string]int64{"FragFails": 1}},
		{"emit fails second", good, 1500, 2, errEmit, 2, map[string]int64{"FragFails": 1, "FragCreates": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			calls := 0
			err := Fragment(e.buf(tt.data), tt.mtu, e.st, nil, func(f *pkt.Buf) error {
				calls++
				f.Free() // emit takes ownership, even when it fails
				if calls == tt.failAfter {
					return errEmit
				}
				return nil
			})
			if !errors.Is(err, tt.err) {
				t.Fatalf("Fragment(%d bytes, mtu %d) = %v, want %v", len(tt.data), tt.mtu, err, tt.err)
			}
			if calls != tt.emitted {
				t.Errorf("emit called %d times, want %d", calls, tt.emitted)
			}
			wantCounters(t, e.st, tt.want)
		})
	}
}

// TestFragmentPadded checks that link padding beyond the total length is
// not sent.
func TestFragmentPadded(t *testing.T) {
	e := newEnv(t, Config{})
	want := dgram{id: 2, payload: 3000}.build(rand.New(rand.NewPCG(5, 5)))
	frags := e.fragment(append(slices.Clone(want), 1, 2, 3, 4), 1500)
	checkFragments(t, frags, want, 1500)
	got := e.feed(frags)
	checkSame(t, got, want)
	got.Free()
}

// TestFragmentOptions checks RFC 791's rule: the first fragment keeps
// every option, the others only those with the copied flag set.
func TestFragmentOptions(t *testing.T) {
	lsrr := []byte{0x83, 7, 4, 10, 0, 0, 1}                 // loose source route, copied
	security := []byte{0x82, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0} // security, copied
	rr := []byte{0x07, 7, 4, 0, 0, 0, 0}                    // record route, not copied
	ts := []byte{0x44, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}    // timestamp, not copied
	tests := []struct {
		name string
		opts []byte // as sent, before padding
		rest []byte // options of the other fragments, padded
	}{
		{"none", nil, nil},
		{"copied only", lsrr, []byte{0x83, 7, 4, 10, 0, 0, 1, 0}},
		{"not copied only", rr, nil},
		{"mixed", slices.Concat(rr, lsrr, ts, security), slices.Concat(lsrr, security, []byte{0, 0})},
		{"nops dropped", slices.Concat([]byte{1, 1, 1}, lsrr), []byte{0x83, 7, 4, 10, 0, 0, 1, 0}},
		{"end of list stops", slices.Concat(lsrr, []byte{0}, security), []byte{0x83, 7, 4, 10, 0, 0, 1, 0}},
		{"bad length stops", slices.Concat(lsrr, []byte{0x82, 1, 0, 0}), []byte{0x83, 7, 4, 10, 0, 0, 1, 0}},
		{"length past the end stops", slices.Concat(lsrr, []byte{0x82, 30, 0, 0}), []byte{0x83, 7, 4, 10, 0, 0, 1, 0}},
		{"type without length", slices.Concat(security, []byte{0x83}), slices.Concat(security, []byte{0})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			want := dgram{id: 3, payload: 4000, options: tt.opts}.build(rand.New(rand.NewPCG(6, 6)))
			hl0 := int(want[0]&0xf) * 4
			frags := e.fragment(want, 1000)
			checkFragments(t, frags, want, 1000)
			for i, f := range frags {
				h, _ := wire.ParseIPv4HeaderView(f.Bytes())
				wantOpts := tt.rest
				if i == 0 {
					wantOpts = want[20:hl0]
				}
				if got := h.Options(); string(got) != string(wantOpts) {
					t.Errorf("fragment %d options = %x, want %x", i, got, wantOpts)
				}
				// The fixed header is the datagram's but for length,
				// flags, offset and checksum.
				fixed := slices.Clone(h.Header()[:20])
				ref := slices.Clone(want[:20])
				for _, b := range [][]byte{fixed, ref} {
					b[0] = 0
					clear(b[2:4])
					clear(b[6:8])
					clear(b[10:12])
				}
				if string(fixed) != string(ref) {
					t.Errorf("fragment %d fixed header %x, want %x", i, fixed, ref)
				}
			}
			got := e.feed(frags)
			checkSame(t, got, want)
			got.Free()
		})
	}
}

// TestFragmentNoCopy checks that fragments share the datagram's payload:
// Fragment makes one chunk per fragment, for its header, and nothing else.
func TestFragmentNoCopy(t *testing.T) {
	e := newEnv(t, Config{})
	data := dgram{id: 4, payload: 60000}.build(rand.New(rand.NewPCG(7, 7)))
	b := e.buf(data)
	before := e.pool.Allocated()
	var frags []*pkt.Buf
	if err := Fragment(b, 1500, e.st, nil, func(f *pkt.Buf) error {
		frags = append(frags, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.pool.Allocated() - before; got != int64(len(frags)) {
		t.Errorf("Fragment allocated %d chunks for %d fragments, want one each", got, len(frags))
	}
	for _, f := range frags {
		if f.NumViews() != 2 {
			t.Errorf("fragment has %d views, want 2 (header, shared payload)", f.NumViews())
		}
		f.Free()
	}
}

func TestFragmentProbe(t *testing.T) {
	e := newEnv(t, Config{})
	var got []string
	cancel := e.tr.Subscribe("ip:::fragment", func(ev *trace.Event) {
		got = append(got, fmt.Sprintf("%d id %d offset %d len %d mf %t", ev.Len, ev.IPID, ev.FragOffset, ev.Len, ev.MoreFrags))
	})
	defer cancel()
	data := dgram{id: 5, payload: 3000}.build(rand.New(rand.NewPCG(8, 8)))
	probe := e.tr.Probe("ip", "fragment")
	var frags []*pkt.Buf
	if err := Fragment(e.buf(data), 1500, e.st, probe, func(f *pkt.Buf) error {
		frags = append(frags, f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1500 id 5 offset 0 len 1500 mf true",
		"1500 id 5 offset 1480 len 1500 mf true",
		"60 id 5 offset 2960 len 60 mf false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ip:::fragment events = %q, want %q", got, want)
	}
	for _, f := range frags {
		f.Free()
	}
}

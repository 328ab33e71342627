package pkt

import (
	"bytes"
	"testing"
)

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s did not panic", name)
		}
	}()
	f()
}

func TestPushPullAndMarks(t *testing.T) {
	p := NewPool(Options{Checked: true})
	b := p.Copy(MaxHeaderLen, []byte("payload"))
	copy(b.Push(8), "UDPHDR!!")
	b.SetTransportHeader()
	copy(b.Push(20), bytes.Repeat([]byte{'I'}, 20))
	b.SetNetworkHeader()
	copy(b.Push(14), bytes.Repeat([]byte{'E'}, 14))
	b.SetLinkHeader()
	if b.Len() != 14+20+8+7 {
		t.Fatalf("Len = %d, want 49", b.Len())
	}
	if got := string(b.Bytes()[42:]); got != "payload" {
		t.Fatalf("payload = %q", got)
	}
	// Receive side: pull the headers again; marks stay readable.
	if h := b.Pull(14); string(h) != "EEEEEEEEEEEEEE" {
		t.Fatalf("Pull(14) = %q", h)
	}
	b.Pull(20)
	if got := string(b.NetworkHeader()[:20]); got != string(bytes.Repeat([]byte{'I'}, 20)) {
		t.Fatalf("NetworkHeader after pull = %q", got)
	}
	if off, ok := b.NetworkOffset(); !ok || off != -20 {
		t.Fatalf("NetworkOffset = %d,%v want -20,true", off, ok)
	}
	if got := string(b.TransportHeader()[:8]); got != "UDPHDR!!" {
		t.Fatalf("TransportHeader = %q", got)
	}
	if b.Pull(100) != nil {
		t.Fatal("Pull beyond the end returned data")
	}
	b.Free()
	if p.Live() != 0 {
		t.Fatalf("Live = %d after Free, want 0", p.Live())
	}
}

func TestPushWithoutHeadroomPrependsChunk(t *testing.T) {
	p := NewPool(Options{Checked: true})
	b := p.Copy(0, []byte("data"))
	copy(b.Push(3), "hdr")
	if b.NumViews() != 2 {
		t.Fatalf("NumViews = %d, want 2", b.NumViews())
	}
	if got := string(b.Bytes()); got != "hdrdata" {
		t.Fatalf("Bytes = %q", got)
	}
	b.Free()
}

func TestCloneSharesPayloadAndCopiesOnWrite(t *testing.T) {
	p := NewPool(Options{Checked: true})
	b := p.Copy(MaxHeaderLen, []byte("0123456789"))
	before := p.Allocated()
	c := b.Clone()
	if p.Allocated() != before {
		t.Fatal("Clone allocated a chunk")
	}
	// A push on one handle must not touch the other's headroom or data.
	copy(c.Push(2), "XY")
	copy(b.Push(2), "ab")
	w := b.Writable(4)
	w[2] = '!'
	if got := string(b.Bytes()); got != "ab!123456789" {
		t.Fatalf("original = %q", got)
	}
	if got := string(c.Bytes()); got != "XY0123456789" {
		t.Fatalf("clone = %q", got)
	}
	b.Free()
	if got := string(c.Bytes()); got != "XY0123456789" {
		t.Fatalf("clone after original freed = %q", got)
	}
	c.Free()
	if p.Live() != 0 {
		t.Fatalf("Live = %d", p.Live())
	}
}

func TestSliceAppendTrim(t *testing.T) {
	p := NewPool(Options{Checked: true})
	b := p.Copy(MaxHeaderLen, []byte("abcdefghij"))
	x := b.Slice(2, 3)
	y := b.Slice(7, 3)
	b.Free()
	x.Append(y)
	x.AppendBytes([]byte("ZZ"))
	if got := string(x.Bytes()); got != "cdehijZZ" {
		t.Fatalf("Slice+Append = %q", got)
	}
	x.Trim(4)
	var dst [10]byte
	if n := x.CopyTo(dst[:]); string(dst[:n]) != "cdeh" {
		t.Fatalf("after Trim(4) = %q", dst[:n])
	}
	n := x.CopyRange(1, dst[:2])
	if string(dst[:n]) != "de" {
		t.Fatalf("CopyRange(1) = %q", dst[:n])
	}
	x.Free()
	if p.Live() != 0 {
		t.Fatalf("Live = %d", p.Live())
	}
}

func TestPeekAcrossViews(t *testing.T) {
	p := NewPool(Options{Checked: true})
	b := p.Copy(MaxHeaderLen, []byte("ab"))
	b.Append(p.Copy(0, []byte("cd")))
	b.Append(p.Copy(0, []byte("ef")))
	b.SetNetworkHeader()
	if got := string(b.Peek(5)); got != "abcde" {
		t.Fatalf("Peek(5) = %q", got)
	}
	if got := string(b.NetworkHeader()); got != "abcde" {
		t.Fatalf("NetworkHeader after pull-up = %q", got)
	}
	if got := string(b.Bytes()); got != "abcdef" {
		t.Fatalf("Bytes = %q", got)
	}
	b.Free()
}

func TestMisuseIsCaught(t *testing.T) {
	p := NewPool(Options{Checked: true})
	b := p.Get(MaxHeaderLen, 10)
	b.Free()
	mustPanic(t, "double Free", b.Free)
	mustPanic(t, "Push after Free", func() { b.Push(1) })
	mustPanic(t, "Len-changing use after Free", func() { b.Pull(1) })
	var zero Buf
	mustPanic(t, "Free of a zero Buf", zero.Free)
	// An unchecked pool still catches an immediate double free.
	q := NewPool(Options{})
	c := q.Get(0, 1)
	c.Free()
	mustPanic(t, "double Free (unchecked)", c.Free)
}

func TestQueueBounds(t *testing.T) {
	p := NewPool(Options{Checked: true})
	q := Queue{Limit: 3, LimitBytes: 25}
	for i := 0; i < 3; i++ {
		b := p.Get(0, 10)
		ok := q.Push(b)
		if want := i < 2; ok != want {
			t.Fatalf("Push #%d = %v, want %v (bytes limit 25)", i, ok, want)
		}
		if !ok {
			b.Free()
		}
	}
	if q.Len() != 2 || q.Bytes() != 20 {
		t.Fatalf("Len, Bytes = %d, %d", q.Len(), q.Bytes())
	}
	if n := q.Flush(); n != 2 || p.Live() != 0 {
		t.Fatalf("Flush = %d, Live = %d", n, p.Live())
	}
	q2 := Queue{Limit: 100}
	for i := 0; i < 100; i++ {
		if !q2.Push(p.Copy(0, []byte{byte(i)})) {
			t.Fatalf("Push %d refused below the limit", i)
		}
	}
	for i := 0; i < 100; i++ {
		b := q2.Pop()
		if b.Bytes()[0] != byte(i) {
			t.Fatalf("Pop order broken at %d", i)
		}
		b.Free()
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items on purpose")
	}
	p := NewPool(Options{})
	payload := make([]byte, 64)
	// Warm the pool.
	for i := 0; i < 10; i++ {
		p.Copy(MaxHeaderLen, payload).Free()
	}
	allocs := testing.AllocsPerRun(1000, func() {
		b := p.Copy(MaxHeaderLen, payload)
		b.Push(8)
		b.Push(20)
		b.Push(14)
		c := b.Clone()
		c.Pull(14)
		c.Free()
		b.Pull(42)
		b.Free()
	})
	if allocs != 0 {
		t.Fatalf("allocs per packet = %v, want 0", allocs)
	}
}

func BenchmarkGetPushFree(b *testing.B) {
	p := NewPool(Options{})
	payload := make([]byte, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		x := p.Copy(MaxHeaderLen, payload)
		x.Push(42)
		x.Free()
	}
}

// Pulling a header that fills the first view exactly keeps that view
// (emptied) while others follow, so the header's mark still reads it; the
// next Peek carries it on into the pulled-up chunk.
func TestPulledHeaderAloneInFirstViewStaysReadable(t *testing.T) {
	p := NewPool(Options{Checked: true})
	b := p.Copy(MaxHeaderLen, []byte("IPHDR"))
	b.Append(p.Copy(0, []byte("UDPH")))
	b.Append(p.Copy(0, []byte("payload")))
	b.SetNetworkHeader()
	b.Pull(5)
	if got := string(b.NetworkHeader()[:5]); got != "IPHDR" {
		t.Fatalf("NetworkHeader after pulling the whole first view = %q, want IPHDR", got)
	}
	b.SetTransportHeader()
	if h := b.Pull(4); string(h) != "UDPH" {
		t.Fatalf("Pull(4) = %q", h)
	}
	if got := string(b.NetworkHeader()[:9]); got != "IPHDRUDPH" {
		t.Fatalf("NetworkHeader after the next pull = %q, want IPHDRUDPH", got)
	}
	if got := string(b.TransportHeader()[:4]); got != "UDPH" {
		t.Fatalf("TransportHeader = %q", got)
	}
	var out [16]byte
	if n := b.CopyTo(out[:]); string(out[:n]) != "payload" {
		t.Fatalf("data = %q", out[:n])
	}
	b.Free()
	if p.Live() != 0 {
		t.Fatal("leak")
	}
}

// TestSkip drops bytes across views without copying: the views it
// empties go, the rest of the data is intact, and marks that named
// dropped bytes are cleared rather than left naming other bytes.
func TestSkip(t *testing.T) {
	p := NewPool(Options{Checked: true})
	b := p.Copy(MaxHeaderLen, []byte("HDR"))
	b.SetTransportHeader()
	b.Pull(3)
	for _, s := range []string{"abc", "defgh", "ij"} {
		x := p.Copy(0, []byte(s))
		b.Append(x)
	}
	if b.NumViews() != 4 {
		t.Fatalf("NumViews = %d, want 4", b.NumViews())
	}
	b.Skip(2) // inside "abc": the emptied header view goes
	if got := string(b.Bytes()[:1]); got != "c" {
		t.Fatalf("after Skip(2) data starts %q, want c", got)
	}
	b.Free()

	b = p.Copy(MaxHeaderLen, []byte("HDR"))
	b.SetTransportHeader()
	b.Pull(3)
	for _, s := range []string{"abc", "defgh", "ij"} {
		b.Append(p.Copy(0, []byte(s)))
	}
	b.Skip(4)
	if b.NumViews() != 2 {
		t.Fatalf("after Skip(4) NumViews = %d, want 2 (efgh, ij)", b.NumViews())
	}
	if b.TransportHeader() != nil {
		t.Fatalf("TransportHeader = %q after its view was dropped, want nil", b.TransportHeader())
	}
	dst := make([]byte, 10)
	if n := b.CopyTo(dst); string(dst[:n]) != "efghij" {
		t.Fatalf("CopyTo after Skip(4) = %q, want efghij", dst[:n])
	}
	b.Skip(6)
	if b.Len() != 0 {
		t.Fatalf("Len = %d after skipping everything", b.Len())
	}
	mustPanic(t, "Skip(1) of an empty Buf", func() { b.Skip(1) })
	b.Free()
	if p.Live() != 0 {
		t.Fatalf("Live = %d", p.Live())
	}
}

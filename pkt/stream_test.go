package pkt

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestStreamModel writes, takes ranges of and consumes a Stream at random,
// checking every range against a plain byte slice model, and that ranges
// taken before their bytes were consumed still read right afterwards (a
// checked pool poisons a chunk the moment its last reference goes).
func TestStreamModel(t *testing.T) {
	pool := NewPool(Options{Checked: true})
	r := rand.New(rand.NewPCG(5, 6))
	s := &Stream{Pool: pool}
	var model []byte // bytes held, model[0] at the head
	next := byte(0)
	type taken struct {
		b    *Buf
		want []byte
	}
	var held []taken
	for step := range 4000 {
		switch op := r.IntN(10); {
		case op < 4: // write
			n := r.IntN(5000)
			if r.IntN(10) == 0 {
				n = r.IntN(200000)
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = next
				next++
			}
			if got := s.Write(p); got != n {
				t.Fatalf("step %d: Write(%d bytes) = %d", step, n, got)
			}
			model = append(model, p...)
		case op < 7: // take a range
			if len(model) == 0 {
				continue
			}
			off := r.IntN(len(model))
			n := r.IntN(len(model) - off + 1)
			b := pool.Get(MaxHeaderLen, 20)
			copy(b.View(0), "headerheaderheaderhe")
			s.AppendTo(b, off, n)
			want := append([]byte("headerheaderheaderhe"), model[off:off+n]...)
			if got := b.Bytes(); !bytes.Equal(got, want) {
				t.Fatalf("step %d: AppendTo(%d, %d) gave %d bytes, want %d (first difference at %d)", step, off, n, len(got), len(want), firstDiff(got, want))
			}
			held = append(held, taken{b, want})
		case op < 9: // consume
			n := r.IntN(len(model) + 1)
			s.Consume(n)
			model = model[n:]
		default: // free some taken ranges, checking them first
			for len(held) > 0 && r.IntN(2) == 0 {
				h := held[0]
				held = held[1:]
				if got := h.b.Bytes(); !bytes.Equal(got, h.want) {
					t.Fatalf("step %d: a range read %d bytes differing at %d after its stream moved on", step, len(got), firstDiff(got, h.want))
				}
				h.b.Free()
			}
		}
		if s.Len() != len(model) {
			t.Fatalf("step %d: Len = %d, want %d", step, s.Len(), len(model))
		}
		if s.Len() == 0 && s.Chunks() != 0 {
			t.Fatalf("step %d: an empty stream holds %d chunks", step, s.Chunks())
		}
	}
	for _, h := range held {
		if got := h.b.Bytes(); !bytes.Equal(got, h.want) {
			t.Fatalf("a range differs at %d after its stream moved on", firstDiff(got, h.want))
		}
		h.b.Free()
	}
	s.Release()
	if pool.Live() != 0 {
		t.Fatalf("pool Live = %d after freeing everything", pool.Live())
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestStreamConsumeRange checks the bounds.
func TestStreamConsumeRange(t *testing.T) {
	pool := NewPool(Options{Checked: true})
	s := &Stream{Pool: pool}
	s.Write([]byte("abc"))
	mustPanic(t, "Consume(4)", func() { s.Consume(4) })
	b := pool.Get(0, 0)
	mustPanic(t, "AppendTo(2, 2)", func() { s.AppendTo(b, 2, 2) })
	b.Free()
	s.Consume(3)
	if s.Chunks() != 0 {
		t.Fatalf("Chunks = %d after consuming everything", s.Chunks())
	}
}

// TestStreamConcurrentReaders has other goroutines read and free ranges
// while the owner keeps writing into the same chunks' tailroom and
// consuming: under the race detector this shows that the writer never
// touches bytes a range holds.
func TestStreamConcurrentReaders(t *testing.T) {
	pool := NewPool(Options{Checked: true})
	s := &Stream{Pool: pool}
	ch := make(chan *Buf, 64)
	var wg sync.WaitGroup
	var bad sync.Once
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ch {
				d := b.Bytes()
				for i := 1; i < len(d); i++ {
					if d[i] != d[i-1]+1 {
						bad.Do(func() { t.Errorf("range byte %d = %d after %d", i, d[i], d[i-1]) })
						break
					}
				}
				b.Free()
			}
		}()
	}
	var v byte
	p := make([]byte, 700)
	for range 3000 {
		for i := range p {
			p[i] = v
			v++
		}
		s.Write(p)
		b := pool.Get(0, 0)
		s.AppendTo(b, s.Len()-len(p), len(p))
		ch <- b
		if s.Len() > 10000 {
			s.Consume(s.Len() - 1000)
		}
	}
	close(ch)
	wg.Wait()
	s.Release()
}

func BenchmarkStreamWriteAppendConsume(b *testing.B) {
	pool := NewPool(Options{})
	s := &Stream{Pool: pool}
	p := make([]byte, 64<<10)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for range b.N {
		s.Write(p)
		for off := 0; off < len(p); off += 1448 {
			x := pool.Get(MaxHeaderLen, 52)
			s.AppendTo(x, off, min(1448, len(p)-off))
			x.Free()
		}
		s.Consume(len(p))
	}
}

package pkt

import (
	"testing"
	"unsafe"
)

// bufBudget is the size of a Buf: every packet in flight has one, and
// fields added for one feature (GSOSize) go in padding, not at its cost.
const bufBudget = 208

// TestBufSize guards the Buf's size.
func TestBufSize(t *testing.T) {
	if n := unsafe.Sizeof(Buf{}); n > bufBudget {
		t.Errorf("Buf is %d bytes, over its budget of %d: put small fields in the padding after Proto, or raise the budget knowingly", n, bufBudget)
	}
}

// TestCloneCopiesGSOSize: a clone of a GSO super-packet is one too (cf.
// skb_clone sharing skb_shinfo); Slice copies it as other metadata, and
// whoever slices a super-packet into segments clears it.
func TestCloneCopiesGSOSize(t *testing.T) {
	p := NewPool(Options{Checked: true})
	b := p.Copy(MaxHeaderLen, make([]byte, 100))
	b.GSOSize = 40
	c := b.Clone()
	if c.GSOSize != 40 {
		t.Errorf("Clone().GSOSize = %d, want 40", c.GSOSize)
	}
	c.Free()
	b.Free()
	// A recycled Buf starts clean (an unchecked pool reuses handles).
	q := NewPool(Options{})
	for range 10 {
		d := q.Get(0, 1)
		if d.GSOSize != 0 {
			t.Fatalf("a Buf from the pool has GSOSize %d, want 0", d.GSOSize)
		}
		d.GSOSize = 1448
		d.Free()
	}
}

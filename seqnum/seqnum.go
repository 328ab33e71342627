// Package seqnum is TCP sequence-number arithmetic: 32-bit numbers that
// wrap around, compared within half the space (RFC 9293 §3.4; the serial
// number arithmetic of RFC 1982), as Linux's before() and after() do.
//
// Read before editing: RFC 9293 §3.4 and §3.10.7.4 (acceptability tests).
package seqnum

// Value is a sequence number.
type Value uint32

// Size is a length in sequence space (a window, a segment length).
type Size uint32

// LessThan reports whether v comes before w (cf. before(v, w)).
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports whether v is w or comes before it.
func (v Value) LessThanEq(w Value) bool { return int32(v-w) <= 0 }

// GreaterThan reports whether v comes after w (cf. after(v, w)).
func (v Value) GreaterThan(w Value) bool { return int32(v-w) > 0 }

// GreaterThanEq reports whether v is w or comes after it.
func (v Value) GreaterThanEq(w Value) bool { return int32(v-w) >= 0 }

// InRange reports whether a <= v < b.
func (v Value) InRange(a, b Value) bool { return v-a < b-a }

// InWindow reports whether v lies in the window of size s starting at
// first: first <= v < first+s.
func (v Value) InWindow(first Value, s Size) bool { return v.InRange(first, first.Add(s)) }

// Add returns v advanced by s.
func (v Value) Add(s Size) Value { return v + Value(s) }

// Sub returns the distance from w to v (v must not be before w).
func (v Value) Sub(w Value) Size { return Size(v - w) }

// Max returns the later of v and w.
func Max(v, w Value) Value {
	if v.LessThan(w) {
		return w
	}
	return v
}

// Min returns the earlier of v and w.
func Min(v, w Value) Value {
	if v.LessThan(w) {
		return v
	}
	return w
}

// Overlap reports whether the segment [a, a+as) shares any sequence
// number with [b, b+bs).
func Overlap(a Value, as Size, b Value, bs Size) bool {
	return a.LessThan(b.Add(bs)) && b.LessThan(a.Add(as))
}

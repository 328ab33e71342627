package seqnum

import (
	"math/rand/v2"
	"testing"
)

func TestCompareAcrossWrap(t *testing.T) {
	cases := []struct {
		v, w          Value
		less, greater bool
	}{
		{1, 2, true, false},
		{2, 1, false, true},
		{5, 5, false, false},
		{0xffffffff, 0, true, false}, // wraps: max comes just before 0
		{0, 0xffffffff, false, true},
		{0xfffffff0, 0x10, true, false},
		{0x7fffffff, 0, false, true},
		{0x80000001, 0, true, false}, // beyond half the space: "before"
	}
	for _, tc := range cases {
		if got := tc.v.LessThan(tc.w); got != tc.less {
			t.Errorf("%#x.LessThan(%#x) = %v, want %v", tc.v, tc.w, got, tc.less)
		}
		if got := tc.v.GreaterThan(tc.w); got != tc.greater {
			t.Errorf("%#x.GreaterThan(%#x) = %v, want %v", tc.v, tc.w, got, tc.greater)
		}
		if got := tc.v.LessThanEq(tc.w); got != (tc.less || tc.v == tc.w) {
			t.Errorf("%#x.LessThanEq(%#x) = %v", tc.v, tc.w, got)
		}
		if got := tc.v.GreaterThanEq(tc.w); got != (tc.greater || tc.v == tc.w) {
			t.Errorf("%#x.GreaterThanEq(%#x) = %v", tc.v, tc.w, got)
		}
	}
}

func TestWindowAndArithmetic(t *testing.T) {
	cases := []struct {
		v, first Value
		size     Size
		in       bool
	}{
		{10, 10, 5, true},
		{14, 10, 5, true},
		{15, 10, 5, false},
		{9, 10, 5, false},
		{2, 0xfffffffe, 8, true}, // window spanning the wrap
		{6, 0xfffffffe, 8, false},
		{10, 10, 0, false}, // an empty window holds nothing
	}
	for _, tc := range cases {
		if got := tc.v.InWindow(tc.first, tc.size); got != tc.in {
			t.Errorf("%#x.InWindow(%#x, %d) = %v, want %v", tc.v, tc.first, tc.size, got, tc.in)
		}
	}
	if got := Value(0xfffffffe).Add(5); got != 3 {
		t.Errorf("Add across the wrap = %#x, want 3", got)
	}
	if got := Value(3).Sub(0xfffffffe); got != 5 {
		t.Errorf("Sub across the wrap = %d, want 5", got)
	}
	if Max(0xffffffff, 1) != 1 || Min(0xffffffff, 1) != 0xffffffff {
		t.Error("Max/Min across the wrap")
	}
	if !Overlap(0xfffffff0, 0x20, 5, 1) || Overlap(0, 10, 10, 5) {
		t.Error("Overlap")
	}
}

// TestAgreesWithSignedDistance checks the comparisons against their
// definition on random pairs less than half the space apart.
func TestAgreesWithSignedDistance(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		v := Value(r.Uint32())
		d := int64(r.Int32N(1<<31-1)) * int64(1-2*r.IntN(2))
		w := Value(int64(v) + d)
		if got, want := v.LessThan(w), d > 0; got != want {
			t.Fatalf("%#x.LessThan(%#x) = %v, want %v (distance %d)", v, w, got, want, d)
		}
		if d >= 0 && w.Sub(v) != Size(d) {
			t.Fatalf("%#x.Sub(%#x) = %d, want %d", w, v, w.Sub(v), d)
		}
	}
}

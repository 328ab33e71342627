package wire

import "testing"

func TestNextIPv4Option(t *testing.T) {
	cases := []struct {
		name  string
		opts  []byte
		types []IPv4OptionType
		err   bool
		errAt int
	}{
		{"nop nop rr", []byte{1, 1, 7, 7, 4, 0, 0, 0, 0}, []IPv4OptionType{1, 1, 7}, false, 0},
		{"eol ends", []byte{7, 3, 4, 0, 9, 9}, []IPv4OptionType{7, 0}, false, 0},
		{"length 0", []byte{1, 68, 0, 5, 0}, []IPv4OptionType{1}, true, 2},
		{"length 1", []byte{68, 1}, nil, true, 1},
		{"past the end", []byte{7, 39, 4}, nil, true, 1},
		{"type without length", []byte{1, 1, 1, 7}, []IPv4OptionType{1, 1, 1}, true, 3},
		{"empty", nil, nil, false, 0},
	}
	for _, tc := range cases {
		var got []IPv4OptionType
		off := 0
		var err error
		var errAt int
		for steps := 0; steps < 50; steps++ {
			opt, next, done, e := NextIPv4Option(tc.opts, off)
			if e != nil {
				err, errAt = e, opt.Offset
				break
			}
			if opt.Bytes != nil {
				got = append(got, opt.Type)
			}
			if done {
				break
			}
			if next <= off {
				t.Fatalf("%s: NextIPv4Option(%x, %d) did not advance", tc.name, tc.opts, off)
			}
			off = next
		}
		if (err != nil) != tc.err || (tc.err && errAt != tc.errAt) {
			t.Errorf("%s: NextIPv4Option(%x) error %v at %d, want error %v at %d", tc.name, tc.opts, err, errAt, tc.err, tc.errAt)
		}
		if len(got) != len(tc.types) {
			t.Errorf("%s: NextIPv4Option(%x) types %v, want %v", tc.name, tc.opts, got, tc.types)
			continue
		}
		for i := range got {
			if got[i] != tc.types[i] {
				t.Errorf("%s: NextIPv4Option(%x) types %v, want %v", tc.name, tc.opts, got, tc.types)
			}
		}
	}
	if !IPv4OptLSRR.Copied() || IPv4OptRecordRoute.Copied() {
		t.Error("copied flag wrong")
	}
}

func FuzzIPv4Options(f *testing.F) {
	f.Add([]byte{1, 7, 7, 4, 0, 0, 0, 0, 0})
	f.Add([]byte{68, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, opts []byte) {
		off := 0
		for steps := 0; ; steps++ {
			if steps > len(opts)+1 {
				t.Fatalf("option walk over %x did not end", opts)
			}
			_, next, done, err := NextIPv4Option(opts, off)
			if err != nil || done {
				return
			}
			if next <= off || next > len(opts) {
				t.Fatalf("next %d after %d in %x", next, off, opts)
			}
			off = next
		}
	})
}

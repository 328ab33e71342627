package wire_test

import (
	"bytes"
	"testing"

	"ustack/wire"
)

func TestTCPOptionsParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    wire.TCPOptions
		wantErr error
	}{
		{"empty", "", wire.TCPOptions{}, nil},
		{"Linux SYN", "020405b4 0402 080a 00000001 00000000 01 030307",
			wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, TSVal: 1, HasTimestamps: true,
				WindowScale: 7, HasWindowScale: true}, nil},
		{"NOPs only", "01010101", wire.TCPOptions{}, nil},
		{"EOL ends the list, garbage after ignored", "020405b4 00 ff00ff", wire.TCPOptions{MSS: 1460, HasMSS: true}, nil},
		{"EOL first", "00 020405b4", wire.TCPOptions{}, nil},
		{"window scale above 14 is kept as sent", "010303 0f", wire.TCPOptions{WindowScale: 15, HasWindowScale: true}, nil},
		{"SACK, 1 block", "0101 050a 00000001 00000002", wire.TCPOptions{NumSACKBlocks: 1,
			SACKBlocks: [4]wire.SACKBlock{{1, 2}}}, nil},
		{"SACK, 3 blocks with timestamps", "0101080a 0000000a 0000000b 0101 051a 00000001 00000002 00000003 00000004 00000005 00000006",
			wire.TCPOptions{TSVal: 10, TSEcr: 11, HasTimestamps: true, NumSACKBlocks: 3,
				SACKBlocks: [4]wire.SACKBlock{{1, 2}, {3, 4}, {5, 6}}}, nil},
		{"SACK, 4 blocks", "0101 0522 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008",
			wire.TCPOptions{NumSACKBlocks: 4, SACKBlocks: [4]wire.SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}, nil},
		{"SACK, 5 blocks: the fifth is dropped", "052a" + "0000000100000002 0000000300000004 0000000500000006 0000000700000008 000000090000000a",
			wire.TCPOptions{NumSACKBlocks: 4, SACKBlocks: [4]wire.SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}, nil},
		{"unknown kinds are skipped", "1e04abcd fe02 020405b4 220a0102030405060708", wire.TCPOptions{MSS: 1460, HasMSS: true}, nil},
		{"the last of two MSS wins", "02040218 020405b4", wire.TCPOptions{MSS: 1460, HasMSS: true}, nil},

		{"kind without length byte", "02", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"unknown kind without length byte", "0101 fe", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"length 0", "0200 05b4", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"length 1", "0201 05b4", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"unknown kind, length 0", "fe00 0000", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"unknown kind, length 1", "fe01", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"length past the end", "0204 05", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"unknown kind past the end", "fe08 000000", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"MSS length 3", "020305", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"window scale length 4", "0304 0700", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"SACK-permitted length 3", "040300", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"timestamps length 8", "0808 000000010000", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"SACK with no block", "0502", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"SACK length 9", "0509 0000000100000002", wire.TCPOptions{}, wire.ErrBadOptionLen},
		{"error keeps what came before", "020405b4 0402 0300", wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true}, wire.ErrBadOptionLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fromHex(tt.in)
			var o wire.TCPOptions
			if err := o.Parse(in); o != tt.want || err != tt.wantErr {
				t.Errorf("Parse(%x) = %+v, %v, want %+v, %v", in, o, err, tt.want, tt.wantErr)
			}
			if err := checkIterates(in); err != tt.wantErr {
				t.Errorf("iterating %x: %v, want %v", in, err, tt.wantErr)
			}
		})
	}
}

// checkIterates walks b with NextTCPOption and TCPOptionIter side by side,
// checking that each step consumes bytes and that what is consumed is the
// option returned.
func checkIterates(b []byte) error {
	it := wire.NewTCPOptionIter(b)
	rest := b
	for steps := 0; len(rest) > 0; steps++ {
		if steps > len(b) {
			panic("NextTCPOption did not consume")
		}
		o, next, err := wire.NextTCPOption(rest)
		if it.Next() != (err == nil) {
			panic("TCPOptionIter and NextTCPOption disagree")
		}
		if err != nil {
			if next != nil || it.Err() != err {
				panic("error with non-nil rest")
			}
			return err
		}
		if got := it.Option(); got.Kind != o.Kind || !bytes.Equal(got.Data, o.Data) {
			panic("TCPOptionIter and NextTCPOption disagree")
		}
		if o.Kind != wire.TCPOptEOL && len(rest)-len(next) != o.Len() {
			panic("consumed bytes differ from the option's length")
		}
		rest = next
	}
	if it.Next() || it.Err() != nil {
		panic("TCPOptionIter goes on past the end")
	}
	return nil
}

func TestNextTCPOption(t *testing.T) {
	in := fromHex("01 020405b4 fe03ab 00 dead")
	want := []struct {
		kind wire.TCPOptionKind
		data string
		rest string
	}{
		{wire.TCPOptNOP, "", "020405b4fe03ab00dead"},
		{wire.TCPOptMSS, "05b4", "fe03ab00dead"},
		{wire.TCPOptExperiment2, "ab", "00dead"},
		{wire.TCPOptEOL, "", ""},
	}
	rest := in
	for i, w := range want {
		o, next, err := wire.NextTCPOption(rest)
		if err != nil || o.Kind != w.kind || !bytes.Equal(o.Data, fromHex(w.data)) || !bytes.Equal(next, fromHex(w.rest)) {
			t.Fatalf("step %d: NextTCPOption(%x) = %v %x, %x, %v, want %v %s, %s, nil", i, rest, o.Kind, o.Data, next, err, w.kind, w.data, w.rest)
		}
		rest = next
	}
	if rest != nil {
		t.Errorf("rest after EOL = %x, want nil", rest)
	}
	if o, next, err := wire.NextTCPOption(nil); o.Kind != wire.TCPOptEOL || next != nil || err != nil {
		t.Errorf("NextTCPOption(nil) = %v, %x, %v, want EOL, nil, nil", o.Kind, next, err)
	}
	var kinds []wire.TCPOptionKind
	for it := wire.NewTCPOptionIter(in); it.Next(); {
		kinds = append(kinds, it.Option().Kind)
	}
	if want := []wire.TCPOptionKind{1, 2, 254, 0}; !bytes.Equal(kindsBytes(kinds), kindsBytes(want)) {
		t.Errorf("TCPOptionIter over %x yields %v, want %v", in, kinds, want)
	}
}

func kindsBytes(ks []wire.TCPOptionKind) []byte {
	b := make([]byte, len(ks))
	for i, k := range ks {
		b[i] = byte(k)
	}
	return b
}

// Every 1-, 2- and 3-byte option list ends, whatever its bytes: the
// parser can never spin on a zero length.
func TestTCPOptionsAlwaysTerminate(t *testing.T) {
	b := make([]byte, 3)
	for i := 0; i < 1<<24; i += 7 { // a stride keeps it fast; all lengths and kinds are hit
		b[0], b[1], b[2] = byte(i>>16), byte(i>>8), byte(i)
		for n := 1; n <= 3; n++ {
			checkIterates(b[:n])
			var o wire.TCPOptions
			o.Parse(b[:n])
		}
	}
}

func TestTCPOptionsEncode(t *testing.T) {
	tests := []struct {
		name string
		o    wire.TCPOptions
		want string
	}{
		{"none", wire.TCPOptions{}, ""},
		{"Linux SYN", wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true, TSVal: 1, HasTimestamps: true,
			WindowScale: 7, HasWindowScale: true}, "020405b4 0402080a 00000001 00000000 01030307"},
		{"SYN without timestamps", wire.TCPOptions{MSS: 1460, HasMSS: true, SACKPermitted: true,
			WindowScale: 7, HasWindowScale: true}, "020405b4 01030307 01010402"},
		{"SYN, MSS only", wire.TCPOptions{MSS: 536, HasMSS: true}, "02040218"},
		{"data segment", wire.TCPOptions{TSVal: 0x693fdf68, TSEcr: 0x9541f22c, HasTimestamps: true}, "0101080a 693fdf68 9541f22c"},
		{"SACK with timestamps", wire.TCPOptions{TSVal: 0x693fdf68, TSEcr: 0x9541f22c, HasTimestamps: true,
			NumSACKBlocks: 1, SACKBlocks: [4]wire.SACKBlock{{0xd13e7d88, 0xd13e9584}}},
			"0101080a 693fdf68 9541f22c 0101050a d13e7d88 d13e9584"},
		{"4 SACK blocks", wire.TCPOptions{NumSACKBlocks: 4, SACKBlocks: [4]wire.SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
			"01010522 0000000100000002 0000000300000004 0000000500000006 0000000700000008"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := fromHex(tt.want)
			out := make([]byte, tt.o.Len())
			if n := tt.o.Encode(out); n != len(want) || !bytes.Equal(out, want) || n%4 != 0 {
				t.Errorf("Encode(%+v) = %d, %x, want %d, %x", tt.o, n, out, len(want), want)
			}
			var back wire.TCPOptions
			if err := back.Parse(out); back != tt.o || err != nil {
				t.Errorf("Parse(%x) = %+v, %v, want %+v, nil", out, back, err, tt.o)
			}
			if len(back.SACK()) != tt.o.NumSACKBlocks {
				t.Errorf("SACK() has %d blocks, want %d", len(back.SACK()), tt.o.NumSACKBlocks)
			}
		})
	}
	// NumSACKBlocks out of range is clamped, never a panic.
	o := wire.TCPOptions{NumSACKBlocks: 9}
	if len(o.SACK()) != 4 {
		t.Errorf("SACK() with NumSACKBlocks 9 has %d blocks, want 4", len(o.SACK()))
	}
	o.NumSACKBlocks = -1
	if len(o.SACK()) != 0 || o.Len() != 0 {
		t.Errorf("SACK() with NumSACKBlocks -1 has %d blocks, want 0", len(o.SACK()))
	}
}

func TestTCPOptionKindString(t *testing.T) {
	tests := []struct {
		k    wire.TCPOptionKind
		want string
	}{
		{wire.TCPOptEOL, "EOL"}, {wire.TCPOptNOP, "NOP"}, {wire.TCPOptMSS, "MSS"},
		{wire.TCPOptWindowScale, "WindowScale"}, {wire.TCPOptSACKPermitted, "SACKPermitted"},
		{wire.TCPOptSACK, "SACK"}, {wire.TCPOptTimestamps, "Timestamps"}, {wire.TCPOptMD5, "MD5"},
		{wire.TCPOptUserTimeout, "UserTimeout"}, {wire.TCPOptAuth, "TCP-AO"}, {wire.TCPOptMPTCP, "MPTCP"},
		{wire.TCPOptFastOpen, "FastOpen"}, {wire.TCPOptExperiment1, "Experimental(253)"},
		{99, "TCPOptionKind(99)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("TCPOptionKind(%d).String() = %q, want %q", uint8(tt.k), got, tt.want)
		}
	}
}

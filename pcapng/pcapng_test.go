package pcapng

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// unhex reads a fixture: hex digits, with spaces, newlines and comments
// (from # to the end of the line) ignored.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var b strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		b.WriteString(strings.Join(strings.Fields(line), ""))
	}
	out, err := hex.DecodeString(b.String())
	if err != nil {
		t.Fatalf("bad fixture: %v", err)
	}
	return out
}

// golden is the file TestWriterGolden writes, block by block and field by
// field, little-endian.
const golden = `
# Section Header Block
0a0d0d0a          # block type
2c000000          # block total length 44
4d3c2b1a          # byte-order magic 0x1A2B3C4D
0100 0000         # version 1.0
ffffffffffffffff  # section length: not given
0400 0600 757374 61636b 0000  # shb_userappl "ustack", padded
0000 0000         # opt_endofopt
2c000000          # block total length again

# Interface Description Block
01000000          # block type
34000000          # length 52
0100 0000         # LINKTYPE_ETHERNET, reserved
00000400          # snaplen 262144
0200 0400 65746830            # if_name "eth0"
0600 0600 020000000001 0000   # if_MACaddr, padded
0900 0100 09 000000           # if_tsresol 9: nanoseconds
0000 0000         # opt_endofopt
34000000

# Enhanced Packet Block
06000000          # block type
40000000          # length 64
00000000          # interface 0
00000000          # timestamp high
02ca9a3b          # timestamp low: 1,000,000,002 ns
05000000          # captured length
05000000          # original length
68656c6c6f 000000 # "hello", padded to 32 bits
0200 0400 02000000            # epb_flags: outbound
0500 0800 0700000000000000    # epb_packetid 7
0000 0000
40000000

# Interface Statistics Block
05000000
34000000          # length 52
00000000          # interface 0
00000000 00943577 # timestamp 2 s
0400 0800 0300000000000000    # isb_ifrecv 3
0500 0800 0100000000000000    # isb_ifdrop 1
0000 0000
34000000
`

func TestWriterGolden(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Section{UserAppl: "ustack"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.AddInterface(Interface{LinkType: LinkEthernet, Name: "eth0", MAC: [6]byte{2, 0, 0, 0, 0, 1}})
	if err != nil || id != 0 {
		t.Fatalf("AddInterface = %d, %v, want 0, nil", id, err)
	}
	if err := w.WritePacket(Packet{Interface: 0, Time: time.Unix(1, 2), Data: []byte("hello"), Direction: DirOutbound, PacketID: 7}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStats(Stats{Interface: 0, Time: time.Unix(2, 0), Received: 3, Dropped: 1}); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, golden)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("file =\n%x\nwant\n%x", buf.Bytes(), want)
	}
	checkBlocks(t, buf.Bytes())
}

// checkBlocks walks a little-endian file block by block, independently of
// the Reader: the first block is a section header with the byte-order
// magic; every block's two length fields agree, are multiples of 4 and
// fit the file; options are padded with zeros.
func checkBlocks(t *testing.T, b []byte) (types []uint32) {
	t.Helper()
	le := binary.LittleEndian
	if len(b) < 28 || le.Uint32(b) != BlockSHB || le.Uint32(b[8:]) != ByteOrderMagic {
		t.Fatalf("file does not start with a little-endian section header: %x", b[:min(len(b), 12)])
	}
	for off := 0; off < len(b); {
		if len(b)-off < 12 {
			t.Fatalf("at %d: %d bytes left, less than a block", off, len(b)-off)
		}
		typ, n := le.Uint32(b[off:]), int(le.Uint32(b[off+4:]))
		if n%4 != 0 || n < 12 || off+n > len(b) {
			t.Fatalf("at %d: block %#x length %d (file %d bytes)", off, typ, n, len(b))
		}
		if tail := int(le.Uint32(b[off+n-4:])); tail != n {
			t.Fatalf("at %d: block %#x lengths %d and %d", off, typ, n, tail)
		}
		types = append(types, typ)
		off += n
	}
	return types
}

// TestPadding writes packets of every length modulo 4 and reads them back:
// block lengths are multiples of 4 and the data comes back unpadded.
func TestPadding(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Section{Comment: "odd"})
	w.AddInterface(Interface{LinkType: LinkRaw, Name: "tun0x"})
	var want [][]byte
	for n := range 9 {
		d := bytes.Repeat([]byte{byte(n + 1)}, n)
		want = append(want, d)
		if err := w.WritePacket(Packet{Data: d, Length: n + 100, Time: time.Unix(0, int64(n)), Comment: strings.Repeat("c", n)}); err != nil {
			t.Fatal(err)
		}
	}
	types := checkBlocks(t, buf.Bytes())
	if len(types) != 11 {
		t.Errorf("%d blocks, want 11", len(types))
	}
	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.Section().Comment != "odd" {
		t.Errorf("section comment %q, want %q", r.Section().Comment, "odd")
	}
	for n := range 9 {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		if !bytes.Equal(p.Data, want[n]) || p.Length != n+100 || !p.Time.Equal(time.Unix(0, int64(n))) || p.Comment != strings.Repeat("c", n) {
			t.Errorf("packet %d = %x len %d at %v %q, want %x len %d", n, p.Data, p.Length, p.Time, p.Comment, want[n], n+100)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last packet: %v, want io.EOF", err)
	}
	if ifs := r.Interfaces(); len(ifs) != 1 || ifs[0].Name != "tun0x" || ifs[0].LinkType != LinkRaw || ifs[0].TSResol != 9 || ifs[0].SnapLen != DefaultSnapLen {
		t.Errorf("interfaces %+v", ifs)
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, Section{Hardware: "hw", OS: "os", UserAppl: "app"})
	w.AddInterface(Interface{LinkType: LinkEthernet, Name: "eth0", Description: "first", SnapLen: 4})
	w.AddInterface(Interface{LinkType: LinkIPv4, Name: "tun0"})
	at := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	in := []Packet{
		{Interface: 0, Time: at, Data: []byte("0123456789"), Direction: DirInbound, Reception: RxBroadcast, PacketID: 1 << 40},
		{Interface: 1, Time: at.Add(time.Nanosecond), Data: []byte{0x45}, Direction: DirOutbound},
		{Interface: 1, Time: at.Add(time.Second), Data: nil},
	}
	for _, p := range in {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	w.WriteStats(Stats{Interface: 1, Time: at, Start: at.Add(-time.Hour), End: at, Received: 10, Dropped: 2})

	r, err := NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Section(); s != (Section{Hardware: "hw", OS: "os", UserAppl: "app"}) {
		t.Errorf("section %+v", s)
	}
	wantData := [][]byte{[]byte("0123"), {0x45}, {}}
	wantLen := []int{10, 1, 0}
	for i, w := range in {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if p.Interface != w.Interface || !p.Time.Equal(w.Time) || !bytes.Equal(p.Data, wantData[i]) || p.Length != wantLen[i] ||
			p.Direction != w.Direction || p.Reception != w.Reception || p.PacketID != w.PacketID {
			t.Errorf("packet %d = %+v, want %+v cut to %x", i, p, w, wantData[i])
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("end: %v, want io.EOF", err)
	}
	st := r.Stats()
	if len(st) != 1 || st[0].Interface != 1 || st[0].Received != 10 || st[0].Dropped != 2 || !st[0].Start.Equal(at.Add(-time.Hour)) || !st[0].End.Equal(at) {
		t.Errorf("stats %+v", st)
	}
	ifs := r.Interfaces()
	if len(ifs) != 2 || ifs[0].Description != "first" || ifs[0].SnapLen != 4 || ifs[1].LinkType != LinkIPv4 {
		t.Errorf("interfaces %+v", ifs)
	}
}

// A big-endian file, as a SPARC or a PowerPC writes it, with microsecond
// timestamps (no if_tsresol) and an unknown block to skip.
const bigEndian = `
0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c  # SHB, no options
00000001 00000014 0065 0000 0000ffff 00000014                   # IDB: LINKTYPE_RAW, snaplen 65535
00000bad 00000010 deadbeef 00000010                             # a custom block
00000006 00000024 00000000 00000000 00000001 00000004 00000004 45000004 00000024  # EPB: 1 µs
`

func TestReaderBigEndian(t *testing.T) {
	r, err := NewReader(bytes.NewReader(unhex(t, bigEndian)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Data, []byte{0x45, 0, 0, 4}) || !p.Time.Equal(time.Unix(0, 1000)) || r.Interfaces()[0].LinkType != LinkRaw || r.Interfaces()[0].TSResol != 6 {
		t.Errorf("packet %+v, interface %+v", p, r.Interfaces()[0])
	}
}

func TestReaderTimeResolution(t *testing.T) {
	for _, tc := range []struct {
		res  uint8
		ts   uint64
		want time.Time
	}{
		{6, 1_500_000, time.Unix(1, 500_000_000)},
		{9, 1_000_000_001, time.Unix(1, 1)},
		{3, 2_001, time.Unix(2, 1_000_000)},
		{0x80 | 10, 3<<10 | 512, time.Unix(3, 500_000_000)}, // 2^-10 s
		{12, 1_000_000_000_123_000, time.Unix(1000, 123)},
	} {
		r := &Reader{ifaces: []Interface{{TSResol: tc.res}}}
		if got := r.time(0, tc.ts); !got.Equal(tc.want) {
			t.Errorf("time(res %#x, %d) = %v, want %v", tc.res, tc.ts, got, tc.want)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	good := unhex(t, golden)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrNotPcapng},
		{"classic pcap", unhex(t, "d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000"), ErrNotPcapng},
		{"bad magic", append(unhex(t, "0a0d0d0a 1c000000 11223344"), make([]byte, 16)...), ErrNotPcapng},
		{"truncated header", good[:20], ErrBadBlock},
		{"lengths disagree", func() []byte { b := bytes.Clone(good); b[43] = 1; return b }(), ErrBadBlock},
		{"length not a multiple of 4", func() []byte { b := bytes.Clone(good); b[4] = 0x2d; return b }(), ErrBadBlock},
		{"version 2", func() []byte { b := bytes.Clone(good); b[12] = 2; return b }(), ErrUnsupported},
	} {
		_, err := NewReader(bytes.NewReader(tc.b))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: NewReader = %v, want %v", tc.name, err, tc.want)
		}
	}

	// Past the section header: a packet block cut short, and one naming
	// an interface never described.
	r, _ := NewReader(bytes.NewReader(good[:44+52+30]))
	if _, err := r.Next(); !errors.Is(err, ErrBadBlock) {
		t.Errorf("truncated packet: %v, want ErrBadBlock", err)
	}
	noIDB := append(bytes.Clone(good[:44]), good[44+52:44+52+64]...)
	r, _ = NewReader(bytes.NewReader(noIDB))
	if _, err := r.Next(); !errors.Is(err, ErrNoInterface) {
		t.Errorf("packet before any interface: %v, want ErrNoInterface", err)
	}
}

func TestWriterErrors(t *testing.T) {
	w, _ := NewWriter(io.Discard, Section{})
	if err := w.WritePacket(Packet{Interface: 0, Data: []byte{1}}); err != ErrNoInterface {
		t.Errorf("no interface: %v, want ErrNoInterface", err)
	}
	w.AddInterface(Interface{LinkType: LinkEthernet})
	if err := w.WritePacket(Packet{Data: []byte{1, 2}, Length: 1}); err != ErrBadLength {
		t.Errorf("length below data: %v, want ErrBadLength", err)
	}
	if err := w.WriteStats(Stats{Interface: 3}); err != ErrNoInterface {
		t.Errorf("stats for interface 3: %v, want ErrNoInterface", err)
	}

	fail := &failWriter{after: 1}
	w, err := NewWriter(fail, Section{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(Interface{}); err == nil {
		t.Fatal("AddInterface on a failing writer succeeded")
	}
	if _, err := w.AddInterface(Interface{}); err != ErrWriterFailed {
		t.Errorf("after a failed write: %v, want ErrWriterFailed", err)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after == 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestWritePacketAllocs(t *testing.T) {
	w, _ := NewWriter(io.Discard, Section{})
	w.AddInterface(Interface{LinkType: LinkEthernet})
	p := Packet{Data: make([]byte, 1514), Time: time.Unix(1, 0), Direction: DirInbound, PacketID: 9}
	w.WritePacket(p)
	if n := testing.AllocsPerRun(100, func() { w.WritePacket(p) }); n > 0 {
		t.Errorf("WritePacket: %v allocations, want 0", n)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(unhex(f, golden))
	f.Add(unhex(f, bigEndian))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		for range 1000 {
			p, err := r.Next()
			if err != nil {
				return
			}
			if p.Interface < 0 || p.Interface >= max(len(r.Interfaces()), 1) || len(p.Data) > len(b) {
				t.Fatalf("packet %+v out of bounds", p)
			}
		}
	})
}

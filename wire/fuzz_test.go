package wire_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"ustack/wire"
)

// One fuzz target per parser. Each asserts that nothing panics, that the
// view and the struct form agree, and, where the format allows, that
// Encode(Parse(b)) gives back the header bytes. Seed corpora are in
// testdata/fuzz/<FuzzName>/ (regenerate with WIRE_WRITE_SEEDS=1 go test
// -run TestWriteFuzzSeeds), so the seeds run with every go test.

func FuzzEthernet(f *testing.F) {
	f.Add(ethARPRequest)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := wire.ParseEthernetView(b)
		var h wire.EthernetHeader
		n, herr := h.Parse(b)
		if err != herr || (err == nil) != (len(b) >= 14) {
			t.Fatalf("Parse(%x) = %v, view %v", b, herr, err)
		}
		if err != nil {
			return
		}
		if h.Dst != v.Dst() || h.Src != v.Src() || h.EtherType != v.EtherType() || n != 14 || len(v.Payload()) != len(b)-14 {
			t.Fatalf("Parse(%x) = %+v, view disagrees", b, h)
		}
		out := make([]byte, h.Len())
		if h.Encode(out); !bytes.Equal(out, b[:14]) {
			t.Fatalf("Encode(Parse(%x)) = %x", b, out)
		}
	})
}

func FuzzARP(f *testing.F) {
	f.Add(arpRequest)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := wire.ParseARPView(b)
		var h wire.ARPHeader
		n, herr := h.Parse(b)
		if err != herr {
			t.Fatalf("Parse(%x) = %v, view %v", b, herr, err)
		}
		if err != nil {
			return
		}
		if h.Op != v.Op() || h.SenderMAC != v.SenderMAC() || h.SenderIP != v.SenderIP() ||
			h.TargetMAC != v.TargetMAC() || h.TargetIP != v.TargetIP() || n != 28 {
			t.Fatalf("Parse(%x) = %+v, view disagrees", b, h)
		}
		out := make([]byte, h.Len())
		if h.Encode(out); !bytes.Equal(out, b[:28]) {
			t.Fatalf("Encode(Parse(%x)) = %x", b, out)
		}
	})
}

func FuzzIPv4(f *testing.F) {
	f.Add(ipv4Packet(ipv4EchoHdr, 64))
	f.Add(ipv4Packet(ipv4OptHdr, 24))
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.Clone(b) // the setters below write
		hv, herr := wire.ParseIPv4HeaderView(b)
		v, err := wire.ParseIPv4View(b)
		if err == nil && herr != nil {
			t.Fatalf("ParseIPv4View(%x) ok but ParseIPv4HeaderView = %v", b, herr)
		}
		if herr == nil {
			hv, _ = wire.ParseIPv4HeaderView(bytes.Clone(hv.Bytes()))
			touchIPv4(hv) // on a copy: it scribbles
		}
		if err != nil {
			return
		}
		var h wire.IPv4Header
		n, perr := h.Parse(b)
		if perr != nil || n != v.HeaderLen() || h.TotalLen != v.TotalLen() || h.Src != v.Src() || h.Dst != v.Dst() ||
			h.FragOff != v.FragmentOffset() || h.Flags != v.Flags() || !bytes.Equal(h.Options, v.Options()) {
			t.Fatalf("Parse(%x) = %+v, %v; view disagrees", b, h, perr)
		}
		if len(v.Payload()) != int(v.TotalLen())-v.HeaderLen() || len(v.Bytes()) != int(v.TotalLen()) {
			t.Fatalf("ParseIPv4View(%x): payload %d bytes, total length %d", b, len(v.Payload()), v.TotalLen())
		}
		out := make([]byte, h.Len())
		if h.Encode(out); !bytes.Equal(out, v.Header()) {
			t.Fatalf("Encode(Parse(%x)) = %x, want %x", b, out, v.Header())
		}
		v.SetChecksum(v.CalculateChecksum())
		if !v.IsValidChecksum() {
			t.Fatalf("IsValidChecksum after SetChecksum(CalculateChecksum()) = false for %x", v.Header())
		}
		if v.TTL() > 0 {
			v.DecrementTTL()
			if !v.IsValidChecksum() {
				t.Fatalf("DecrementTTL broke the checksum of %x", v.Header())
			}
		}
		touchIPv4(v)
	})
}

// touchIPv4 calls every accessor, then overwrites the length fields with
// nonsense and calls them again: none may panic.
func touchIPv4(v wire.IPv4View) {
	for _, tl := range []uint16{v.TotalLen(), 0, 19, 65535} {
		v.SetTotalLen(tl)
		_, _, _, _ = v.Version(), v.IHL(), v.TOS(), v.ID()
		_, _, _, _ = v.Flags(), v.DontFragment(), v.MoreFragments(), v.IsFragment()
		_, _, _, _ = v.FragmentOffset(), v.TTL(), v.Protocol(), v.Checksum()
		_, _, _, _ = v.Src(), v.Dst(), v.Options(), v.Payload()
		_, _, _ = v.Header(), v.IsValidChecksum(), v.CalculateChecksum()
	}
	v.Bytes()[0] = 0x4f
	_, _, _ = v.Options(), v.Payload(), v.IsValidChecksum()
	v.Bytes()[0] = 0x40
	_, _, _ = v.Options(), v.Payload(), v.IsValidChecksum()
}

func FuzzICMPv4(f *testing.F) {
	f.Add(icmpEchoRequest)
	f.Add(icmpFragNeeded)
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.Clone(b)
		v, err := wire.ParseICMPv4View(b)
		var h wire.ICMPv4Header
		_, herr := h.Parse(b)
		if err != herr || (err == nil) != (len(b) >= 8) {
			t.Fatalf("Parse(%x) = %v, view %v", b, herr, err)
		}
		if err != nil {
			return
		}
		if h.TypeCode() != v.TypeCode() || h.Rest != v.Rest() || h.ID() != v.ID() || h.Seq() != v.Seq() || h.NextHopMTU() != v.NextHopMTU() {
			t.Fatalf("Parse(%x) = %+v, view disagrees", b, h)
		}
		out := make([]byte, h.Len())
		if h.Encode(out); !bytes.Equal(out, b[:8]) {
			t.Fatalf("Encode(Parse(%x)) = %x", b, out)
		}
		if q, tr, err := v.Quoted(); err == nil {
			touchIPv4(q)
			_ = tr
		}
		_, _ = v.Gateway(), v.Pointer()
		_ = v.TypeCode().String()
		v.SetChecksum(v.CalculateChecksum())
		if !v.IsValidChecksum() {
			t.Fatalf("IsValidChecksum after SetChecksum(CalculateChecksum()) = false for %x", b)
		}
	})
}

var fuzzPseudo = wire.PseudoHeaderSum(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2"), wire.ProtoUDP, 0)

func FuzzUDP(f *testing.F) {
	f.Add(udpHello)
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.Clone(b)
		v, err := wire.ParseUDPView(b)
		var h wire.UDPHeader
		_, herr := h.Parse(b)
		if err != herr {
			t.Fatalf("Parse(%x) = %v, view %v", b, herr, err)
		}
		if err != nil {
			return
		}
		if h.SrcPort != v.SrcPort() || h.DstPort != v.DstPort() || h.Length != v.Length() || h.Checksum != v.Checksum() ||
			len(v.Bytes()) != int(h.Length) {
			t.Fatalf("Parse(%x) = %+v, view disagrees", b, h)
		}
		out := make([]byte, h.Len())
		if h.Encode(out); !bytes.Equal(out, b[:8]) {
			t.Fatalf("Encode(Parse(%x)) = %x", b, out)
		}
		ps := fuzzPseudo + uint32(v.Length())
		want := v.CalculateChecksum(ps)
		v.SetChecksum(0)
		d := v.Bytes()
		split := int(d[0]) % len(d)
		if got := wire.UDPChecksum(ps, d[:split], d[split:]); got != want || want == 0 {
			t.Fatalf("UDPChecksum(split at %d) = %#04x, CalculateChecksum %#04x", split, got, want)
		}
		v.SetChecksum(want)
		if !v.IsValidChecksum(ps) || !wire.VerifyChecksum(ps, d[:split], d[split:]) {
			t.Fatalf("IsValidChecksum after SetChecksum(CalculateChecksum()) = false for %x", d)
		}
	})
}

func FuzzTCP(f *testing.F) {
	f.Add(tcpSYN)
	f.Add(tcpSACK)
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.Clone(b)
		v, err := wire.ParseTCPView(b)
		var h wire.TCPHeader
		n, herr := h.Parse(b)
		if err != herr {
			t.Fatalf("Parse(%x) = %v, view %v", b, herr, err)
		}
		if err != nil {
			return
		}
		if n != v.HeaderLen() || h.Seq != v.Seq() || h.Ack != v.Ack() || h.Flags != v.Flags() || h.Window != v.Window() ||
			!bytes.Equal(h.Options, v.Options()) || n+len(v.Payload()) != len(b) {
			t.Fatalf("Parse(%x) = %+v, view disagrees", b, h)
		}
		out := make([]byte, h.Len())
		if h.Encode(out); !bytes.Equal(out, v.Header()) {
			t.Fatalf("Encode(Parse(%x)) = %x, want %x", b, out, v.Header())
		}
		var o wire.TCPOptions
		_ = v.ParseOptions(&o)
		ps := fuzzPseudo + uint32(len(b))
		want := v.CalculateChecksum(ps)
		v.SetChecksum(0)
		split := int(b[len(b)-1]) % len(b)
		if got := wire.TCPChecksum(ps, b[:split], b[split:]); got != want {
			t.Fatalf("TCPChecksum(split at %d) = %#04x, CalculateChecksum %#04x", split, got, want)
		}
		v.SetChecksum(want)
		if !v.IsValidChecksum(ps) {
			t.Fatalf("IsValidChecksum after SetChecksum(CalculateChecksum()) = false for %x", b)
		}
		_ = v.Flags().String()
	})
}

func FuzzTCPOptions(f *testing.F) {
	f.Add(tcpSYN[20:])
	f.Add(tcpSACK[20:])
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := checkIterates(b); err != nil && err != wire.ErrBadOptionLen {
			t.Fatalf("iterating %x: %v", b, err)
		}
		var o wire.TCPOptions
		if err := o.Parse(b); err != nil {
			return
		}
		out := make([]byte, o.Len())
		if n := o.Encode(out); n != len(out) || n%4 != 0 {
			t.Fatalf("Encode(%+v) = %d bytes, Len %d", o, n, len(out))
		}
		var back wire.TCPOptions
		if err := back.Parse(out); err != nil || back != o {
			t.Fatalf("Parse(Encode(Parse(%x))) = %+v, %v, want %+v", b, back, err, o)
		}
	})
}

// FuzzChecksum checks the word-at-a-time sum against the byte-pair one,
// whole and split in two at any point.
func FuzzChecksum(f *testing.F) {
	f.Add([]byte("hello, wire!!"), uint32(0), uint16(5))
	f.Fuzz(func(t *testing.T, b []byte, initial uint32, split uint16) {
		want := naiveSum(b, initial)
		if got := wire.Fold(wire.Checksum(b, initial)); got != want {
			t.Fatalf("Fold(Checksum(%x, %#x)) = %#04x, want %#04x", b, initial, got, want)
		}
		k := int(split) % (len(b) + 1)
		if got := wire.Fold(wire.ChecksumChunks(initial, b[:k], b[k:])); got != want {
			t.Fatalf("Fold(ChecksumChunks(%#x, %x, %x)) = %#04x, want %#04x", initial, b[:k], b[k:], got, want)
		}
	})
}

// TestWriteFuzzSeeds writes the seed corpora from the golden frames and
// the fixtures. It runs only with WIRE_WRITE_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("WIRE_WRITE_SEEDS") != "1" {
		t.Skip("set WIRE_WRITE_SEEDS=1 to rewrite testdata/fuzz")
	}
	seeds := map[string][][]byte{}
	add := func(name string, b []byte) { seeds[name] = append(seeds[name], bytes.Clone(b)) }
	_, frames := readPcap(t, "testdata/golden.pcap")
	for _, f := range frames {
		add("FuzzEthernet", f)
		eth, _ := wire.ParseEthernetView(f)
		if eth.EtherType() == wire.EtherTypeARP {
			add("FuzzARP", eth.Payload())
			continue
		}
		add("FuzzIPv4", eth.Payload())
		ip, err := wire.ParseIPv4View(eth.Payload())
		if err != nil || ip.FragmentOffset() != 0 {
			continue
		}
		switch ip.Protocol() {
		case wire.ProtoICMP:
			add("FuzzICMPv4", ip.Payload())
		case wire.ProtoUDP:
			add("FuzzUDP", ip.Payload())
		case wire.ProtoTCP:
			add("FuzzTCP", ip.Payload())
			tcp, _ := wire.ParseTCPView(ip.Payload())
			add("FuzzTCPOptions", tcp.Options())
		}
	}
	// Malformed ones, so that the error paths are in the corpus too.
	add("FuzzEthernet", ethARPRequest[:13])
	add("FuzzARP", append([]byte{0, 6}, arpRequest[2:]...))
	add("FuzzARP", arpRequest[:27])
	for _, first := range []byte{0x44, 0x65, 0x4f, 0x40} {
		add("FuzzIPv4", append([]byte{first}, ipv4Packet(ipv4EchoHdr, 64)[1:]...))
	}
	add("FuzzIPv4", ipv4Packet(ipv4OptHdr, 24))
	add("FuzzIPv4", ipv4EchoHdr)
	add("FuzzICMPv4", icmpFragNeeded)
	add("FuzzICMPv4", icmpEchoRequest[:7])
	add("FuzzUDP", append(bytes.Clone(udpHello[:4]), 0, 7, 0, 0))
	add("FuzzUDP", append(bytes.Clone(udpHello[:4]), 0, 99, 0, 0))
	add("FuzzTCP", append(bytes.Clone(tcpRST[:12]), 0x40, 0x10, 0, 0, 0, 0, 0, 0))
	add("FuzzTCP", tcpSYN[:39])
	for _, s := range []string{"02", "0200", "0201", "020405", "0502", "0509000000010000000201", "fe01", "00ffff", "0101050a0000000100000002"} {
		add("FuzzTCPOptions", fromHex(s))
	}

	for name, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// Keep one seed per shape (length, bytes 0, 1, 5 and 13: version
		// and IHL, the TCP flags, the EtherType, ...): the golden
		// capture repeats itself, the fixtures do not.
		seen := map[[5]int]bool{}
		kept := 0
		for _, b := range list {
			shape := [5]int{len(b), -1, -1, -1, -1}
			for i, off := range []int{0, 1, 5, 13} {
				if off < len(b) {
					shape[1+i] = int(b[off])
				}
			}
			if seen[shape] || kept >= 40 {
				continue
			}
			seen[shape] = true
			kept++
			sum := sha256.Sum256(b)
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%x", sum[:8])), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %d seeds", name, kept)
	}
	// FuzzChecksum takes three arguments.
	dir := filepath.Join("testdata", "fuzz", "FuzzChecksum")
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o755)
	for i, f := range frames[:8] {
		var sp [2]byte
		binary.BigEndian.PutUint16(sp[:], uint16(i*7+1))
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint32(%d)\nuint16(%d)\n", f, uint32(i)*0x9e3779b9, binary.BigEndian.Uint16(sp[:]))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("golden%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

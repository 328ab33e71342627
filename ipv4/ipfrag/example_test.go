package ipfrag_test

import (
	"fmt"
	"net/netip"
	"time"

	"ustack/clock"
	"ustack/ipv4/ipfrag"
	"ustack/pkt"
	"ustack/stats"
	"ustack/wire"
)

// A 4,000-byte UDP datagram leaves over a 1,500-byte MTU in three
// fragments and arrives out of order; the reassembler gives it back whole.
func Example() {
	pool := pkt.NewPool(pkt.Options{})
	var st stats.IP
	clk := clock.NewManual(time.Unix(0, 0))
	r := ipfrag.New(ipfrag.Config{Clock: clk, Stats: &st})
	defer r.Close()

	h := wire.IPv4Header{
		TotalLen: 4000, ID: 42, TTL: 64, Protocol: wire.ProtoUDP,
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"),
	}
	b := pool.Get(pkt.MaxHeaderLen, 4000)
	h.Encode(b.View(0))
	v, _ := wire.ParseIPv4View(b.View(0))
	v.SetChecksum(v.CalculateChecksum())
	b.SetNetworkHeader()

	var frags []*pkt.Buf
	err := ipfrag.Fragment(b, 1500, &st, nil, func(f *pkt.Buf) error {
		v, _ := wire.ParseIPv4HeaderView(f.Peek(wire.IPv4MinHeaderLen))
		fmt.Printf("fragment: offset %4d, %4d bytes, MF %v\n", v.FragmentOffset(), f.Len(), v.MoreFragments())
		frags = append(frags, f)
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	for _, i := range []int{2, 0, 1} {
		if whole := r.Process(frags[i]); whole != nil {
			v, _ := wire.ParseIPv4HeaderView(whole.Peek(wire.IPv4MinHeaderLen))
			fmt.Printf("reassembled: %d bytes, total length %d, checksum ok %v\n", whole.Len(), v.TotalLen(), v.IsValidChecksum())
			whole.Free()
		}
	}
	fmt.Printf("FragCreates %d, ReasmReqds %d, ReasmOKs %d\n", st.FragCreates.Load(), st.ReasmReqds.Load(), st.ReasmOKs.Load())
	// Output:
	// fragment: offset    0, 1500 bytes, MF true
	// fragment: offset 1480, 1500 bytes, MF true
	// fragment: offset 2960, 1040 bytes, MF false
	// reassembled: 4000 bytes, total length 4000, checksum ok true
	// FragCreates 3, ReasmReqds 3, ReasmOKs 1
}

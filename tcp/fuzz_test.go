package tcp

import (
	"fmt"
	"testing"
	"time"

	"ustack/ipv4"
	"ustack/pkt"
	"ustack/wire"
)

// FuzzSegment feeds arbitrary segments (checksum vouched for, so that
// they reach the state machine) to a stack holding a listener and an
// established connection, with timers run in between: nothing may panic,
// leak a buffer or loop.
func FuzzSegment(f *testing.F) {
	mk := func(seq, ack uint32, flags wire.TCPFlags, opts []byte, data string) []byte {
		h := wire.TCPHeader{SrcPort: 5000, DstPort: 80, Seq: seq, Ack: ack, Flags: flags, Window: 1000, Options: opts}
		b := make([]byte, h.Len()+len(data))
		h.Encode(b)
		copy(b[h.Len():], data)
		return b
	}
	f.Add(mk(1001, 0, fACK|fPSH, nil, "hello"))
	f.Add(mk(1001, 0, fFIN|fACK, nil, ""))
	f.Add(mk(1001, 0, fRST, nil, ""))
	f.Add(mk(7, 0, fSYN, []byte{2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0}, ""))
	f.Add(mk(1001, 0, fACK, []byte{5, 10, 0, 0, 3, 0xe9, 0, 0, 3, 0xf0}, ""))
	f.Add(mk(1001, 0, fACK, []byte{2, 0}, "x"))
	f.Fuzz(func(t *testing.T, seg []byte) {
		watchdog := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("FuzzSegment hung on %x", seg)) })
		t.Cleanup(func() { watchdog.Stop() }) // after the harness's cleanup
		h := newHarness(t, func(c *Config) { c.NoTimestamps, c.NoSACK, c.NoWindowScale = false, false, false })
		listenOn(t, h, 81)
		c := h.established()
		c.ep.Write([]byte("some data to send"))
		for i := 0; i < 3; i++ {
			b := h.pool.Get(pkt.MaxHeaderLen, len(seg))
			copy(b.View(0), seg)
			if len(seg) >= 20 && i == 1 {
				// Aim the second copy at the connection's sequence space.
				v := b.View(0)
				v[4], v[5], v[6], v[7] = byte(c.peerNxt>>24), byte(c.peerNxt>>16), byte(c.peerNxt>>8), byte(c.peerNxt)
				v[8], v[9], v[10], v[11] = byte(c.ourNxt>>24), byte(c.ourNxt>>16), byte(c.ourNxt>>8), byte(c.ourNxt)
			}
			h.p.Deliver(b, ipv4.RxInfo{Src: hPeer, Dst: hLocal, Offload: true})
			h.clk.Advance(150 * 1e6)
		}
		h.sent()
	})
}

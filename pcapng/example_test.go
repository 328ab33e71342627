package pcapng_test

import (
	"bytes"
	"fmt"
	"time"

	"ustack/pcapng"
)

func Example() {
	var file bytes.Buffer
	w, _ := pcapng.NewWriter(&file, pcapng.Section{UserAppl: "example"})
	eth0, _ := w.AddInterface(pcapng.Interface{LinkType: pcapng.LinkEthernet, Name: "eth0"})
	w.WritePacket(pcapng.Packet{
		Interface: eth0,
		Time:      time.Unix(1700000000, 5),
		Data:      []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // the start of a broadcast frame
		Length:    60,
		Direction: pcapng.DirInbound,
		Reception: pcapng.RxBroadcast,
	})

	r, _ := pcapng.NewReader(&file)
	p, _ := r.Next()
	fmt.Printf("%s on %s: %d of %d bytes, %v, at %d ns\n",
		r.Section().UserAppl, r.Interfaces()[p.Interface].Name, len(p.Data), p.Length, p.Direction, p.Time.UnixNano())
	// Output:
	// example on eth0: 6 of 60 bytes, in, at 1700000000000000005 ns
}

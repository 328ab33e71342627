package tcpplot_test

import (
	"fmt"
	"strings"

	"ustack/tcpplot"
)

// A trace of two segments sent and one ACK received, read and reduced
// to the points the time-sequence graph draws: offsets from the ISN
// (the SYN's sequence number, 1000), at times since the trace began.
func Example() {
	const trace = `{"elapsed_ns":0,"probe":"tcp:::send","len":0,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":1000,"ack":0,"flags":"SYN","window":65535,"wscale":0}
{"elapsed_ns":2000000,"probe":"tcp:::send","len":1448,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":1001,"ack":1,"flags":"ACK","window":65536,"wscale":7}
{"elapsed_ns":2000100,"probe":"tcp:::send","len":1448,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":2449,"ack":1,"flags":"PSH|ACK","window":65536,"wscale":7}
{"elapsed_ns":3000000,"probe":"tcp:::receive","len":0,"src":"10.0.0.2","dst":"10.0.0.1","sport":80,"dport":40000,"seq":1,"ack":3897,"flags":"ACK","window":64000,"wscale":7}
`
	tr, err := tcpplot.Read(strings.NewReader(trace))
	if err != nil {
		panic(err)
	}
	f, _ := tr.Busiest()
	s := tcpplot.Extract(tr, f, tcpplot.Options{})
	fmt.Printf("%v, traced at the %v: %d bytes, ISN %d\n", f, f.At, f.Bytes, s.ISN)
	for _, seg := range s.Segments {
		fmt.Printf("segment at %v: [%d, %d)\n", seg.T, seg.Seq, seg.End)
	}
	for i, a := range s.Acks {
		fmt.Printf("ACK at %v: %d, window up to %d\n", a.T, a.V, s.Window[i].V)
	}
	// Render(w, s, tcpplot.RenderOptions{Format: "svg"}) draws them.

	// Output:
	// 10.0.0.1:40000 -> 10.0.0.2:80, traced at the sender: 2896 bytes, ISN 1000
	// segment at 2ms: [1, 1449)
	// segment at 2.0001ms: [1449, 2897)
	// ACK at 3ms: 2897, window up to 66897
}

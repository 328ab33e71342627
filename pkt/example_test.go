package pkt_test

import (
	"fmt"

	"ustack/pkt"
)

// Each layer pushes its header into the headroom on the way down and
// pulls it on the way up; a clone shares the payload without copying.
func ExampleBuf() {
	pool := pkt.NewPool(pkt.Options{Checked: true})
	b := pool.Copy(pkt.MaxHeaderLen, []byte("payload"))
	copy(b.Push(4), "UDP:")
	b.SetTransportHeader()
	copy(b.Push(3), "IP:")
	b.SetNetworkHeader()
	fmt.Printf("%s\n", b.Bytes())

	capture := b.Clone() // a second owner, no copy
	b.Pull(3)
	fmt.Printf("%s | network header %s\n", b.Bytes(), b.NetworkHeader()[:3])
	fmt.Printf("capture still sees %s\n", capture.Bytes())
	b.Free()
	capture.Free()
	fmt.Println("held:", pool.Live())
	// Output:
	// IP:UDP:payload
	// UDP:payload | network header IP:
	// capture still sees IP:UDP:payload
	// held: 0
}

//go:build linux

package tap_test

import (
	"fmt"
	"log"

	"ustack/drivers/tap"
)

// Open a TAP interface for ustack, with the kernel side up and a 1400-byte
// MTU. The Device is a netdev.Driver: hand it to the device layer, which
// calls Start. (Not run: it needs root.)
func ExampleOpen() {
	d, err := tap.Open("ustap0", tap.Options{Create: true, MTU: 1400, SetUp: true})
	if err != nil {
		log.Fatal(err) // e.g. tap: open ustap0: operation not permitted (needs CAP_NET_ADMIN)
	}
	defer d.Close()
	c := d.Caps()
	fmt.Println(d.Name(), c.Link, c.MTU, c.MAC)
}

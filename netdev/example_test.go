package netdev_test

import (
	"fmt"

	"ustack/drivers/loopback"
	"ustack/netdev"
)

// Devices get an ifindex and a name, and start down.
func ExampleRegistry_Register() {
	r := netdev.NewRegistry(netdev.Config{})
	defer r.Close()
	lo, _ := r.Register("", loopback.New())
	fmt.Println(lo.Index(), lo.Name(), lo.Flags(), lo.MTU())
	r.SetUp(lo, true)
	fmt.Println(lo.Flags())
	// Output:
	// 1 lo <LOOPBACK> 65536
	// <UP,LOOPBACK,RUNNING>
}

package ifaddr_test

import (
	"fmt"
	"net/netip"

	"ustack/ifaddr"
)

// The directed broadcast of an address's subnet.
func ExampleAddr_Broadcast() {
	a := ifaddr.Addr{Dev: 2, Prefix: netip.MustParsePrefix("10.0.1.7/24")}
	fmt.Println(a.Broadcast())
	// Output:
	// 10.0.1.255
}

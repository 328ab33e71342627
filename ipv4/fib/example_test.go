package fib_test

import (
	"fmt"
	"net/netip"

	"ustack/ipv4/fib"
)

func Example() {
	var t fib.Table
	for _, r := range []fib.Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), Dev: 1, Proto: fib.ProtoDHCP, Metric: 100},
		{Dst: netip.MustParsePrefix("192.168.1.0/24"), Dev: 1, Proto: fib.ProtoKernel, Scope: fib.ScopeLink, Src: netip.MustParseAddr("192.168.1.10")},
		{Dst: netip.MustParsePrefix("10.0.0.0/8"), Gateway: netip.MustParseAddr("192.168.1.2"), Dev: 1, Proto: fib.ProtoStatic},
		{Dst: netip.MustParsePrefix("10.1.0.0/16"), Dev: 2, Proto: fib.ProtoStatic},
	} {
		if err := t.Add(r); err != nil {
			fmt.Println(err)
		}
	}
	names := func(ifindex int) string { return map[int]string{1: "eth0", 2: "wg0"}[ifindex] }
	for _, r := range t.Routes() {
		fmt.Println(r.Format(names))
	}

	for _, dst := range []string{"10.1.2.3", "10.2.3.4", "192.168.1.77", "8.8.8.8"} {
		r, _ := t.Lookup(netip.MustParseAddr(dst))
		fmt.Printf("%s: %v\n", dst, r)
	}

	fmt.Println(t.Add(fib.Route{Dst: netip.MustParsePrefix("10.1.0.0/16"), Dev: 2}))
	fmt.Println(t.DeleteDev(2), "route(s) removed with device 2")
	r, _ := t.Lookup(netip.MustParseAddr("10.1.2.3"))
	fmt.Println(r)
	// Output:
	// default via 192.168.1.1 dev eth0 proto dhcp metric 100
	// 10.0.0.0/8 via 192.168.1.2 dev eth0 proto static metric 0
	// 10.1.0.0/16 dev wg0 proto static metric 0
	// 192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.10 metric 0
	// 10.1.2.3: 10.1.0.0/16 dev 2 proto static metric 0
	// 10.2.3.4: 10.0.0.0/8 via 192.168.1.2 dev 1 proto static metric 0
	// 192.168.1.77: 192.168.1.0/24 dev 1 proto kernel scope link src 192.168.1.10 metric 0
	// 8.8.8.8: default via 192.168.1.1 dev 1 proto dhcp metric 100
	// fib: route exists
	// 1 route(s) removed with device 2
	// 10.0.0.0/8 via 192.168.1.2 dev 1 proto static metric 0
}

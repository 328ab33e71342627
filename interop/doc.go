// Package interop holds ustack's interoperability tests against the Linux
// kernel's own TCP/IP stack. It has no code of its own: only tests.
//
// Each test builds a small real network out of TAP interfaces and network
// namespaces: ustack holds one end of a TAP (through drivers/tap), the
// kernel side is moved into a namespace the test made, and the kernel's
// own tools (ping, tracepath, traceroute, python3 sockets) talk to ustack
// across it. A wire format that ustack and its own tests agree on but
// Linux rejects shows up here: a checksum over the wrong bytes, an ICMP
// error quoting too little, a fragment offset in the wrong unit.
//
// The tests need root, /dev/net/tun, iproute2 and the tools they call.
// On an ordinary machine they skip; with USTACK_REQUIRE_PRIVILEGED=1 (CI
// as root) a missing requirement fails them instead:
//
//	sudo USTACK_REQUIRE_PRIVILEGED=1 go test -count=1 -v ./interop/
//
// Every name (namespace, interface) and subnet is unique to the test and
// process, so several runs can share a machine; all traffic stays inside
// namespaces the tests made, and everything is removed when a test ends,
// also when it fails. A failing test keeps a pcap of what the kernel side
// saw (taken with tcpdump in the namespace) and logs its path and a
// decode.
package interop

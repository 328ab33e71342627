// Package gvisor cross-checks ustack against gVisor's netstack, an
// independent TCP/IP implementation in Go, inside one process: a ustack
// stack and a gVisor stack are cabled together with a vwire pair, and each
// speaks to the other through its own sockets (ustack's net.Conn and
// net.PacketConn; gVisor's gonet adapters). A wire format both ustack and
// its own tests agree on but gVisor rejects shows up here, as it would
// against Linux in ../ (the TAP tests), but with no privileges, no
// namespaces and no kernel: it runs anywhere `go test` runs.
//
// The package is its own module (ustack/interop/gvisor) so that the ustack
// module never depends on gVisor. Its one piece of code is Link, a gVisor
// stack.LinkEndpoint over any ustack netdev.Driver; the rest is tests and
// benchmarks that set ustack↔ustack beside gVisor↔gVisor on the same
// in-memory link.
//
// Read before editing: gVisor's pkg/tcpip/stack/registration.go
// (LinkEndpoint, NetworkDispatcher) and pkg/tcpip/link/ethernet, which
// Link mirrors; ustack's netdev/driver.go and drivers/vwire.
package gvisor

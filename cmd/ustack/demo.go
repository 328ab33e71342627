package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"ustack/ipv4"
	"ustack/netsim"
	"ustack/stats"
	"ustack/tcp"
	"ustack/trace"
)

const demoUsage = `usage: ustack demo [-pings N] [-frag BYTES]

Builds, in this process and with no privileges, a client host, a router
and a server host joined by virtual wires on two subnets, and shows a
packet walking through the layers, from the stack's own probes:

  1. ARP resolution and a ping routed through the router, every layer
  2. more pings, with round-trip times
  3. a UDP exchange with the server's echo service
  4. a datagram larger than the MTU, fragmented and reassembled
  5. a TCP connection's whole life around an HTTP GET, as DTrace's tcp
     provider shows it: connect request, every state change on both hosts
     (the client closing first, through TIME_WAIT), every segment with
     relative seq and ack, and the request's bytes at the TCP and IP layers

and ends with each host's counters, layer by layer.
`

func runDemo(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	pings := fs.Int("pings", 3, "pings after the first")
	frag := fs.Int("frag", 4000, "size of the fragmented UDP datagram in bytes")
	rest, err := parseFlags(fs, demoUsage, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if *frag < 1 || *frag > 65507 {
		return usageErrorf("-frag %d: must be 1..65507", *frag)
	}
	return demo(os.Stdout, *pings, *frag)
}

// demo runs the demonstration, writing to w.
func demo(w io.Writer, pings, fragSize int) error {
	n := netsim.New(netsim.Options{Seed: 1, TCP: tcp.Config{MSL: demoMSL}})
	defer n.Close()
	client, router, server := n.Host("client"), n.Router("router"), n.Host("server")
	tap := &wireTap{}
	left, err := n.TapLink(client, "10.0.1.2/24", router, "10.0.1.1/24", netsim.LinkOptions{}, tap.record)
	if err != nil {
		return err
	}
	right, err := n.Link(router, "10.0.2.1/24", server, "10.0.2.2/24", netsim.LinkOptions{})
	if err != nil {
		return err
	}
	if err := client.DefaultRoute("10.0.1.1"); err != nil {
		return err
	}
	if err := server.DefaultRoute("10.0.2.1"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	fmt.Fprintf(w, "ustack demo: three stacks in one process, joined by virtual wires\n\n")
	fmt.Fprintf(w, "  client %s ── %s router %s ── %s server\n", "10.0.1.2", "10.0.1.1", "10.0.2.1", "10.0.2.2")
	fmt.Fprintf(w, "  client eth0 %v   router eth0 %v, eth1 %v   server eth0 %v\n\n",
		left.DevA.MAC(), left.DevB.MAC(), right.DevA.MAC(), right.DevB.MAC())

	settle(n)
	nr := n.Narrate(w, "*:::*")
	defer nr.Close()
	serverIP := netip.MustParseAddr("10.0.2.2")

	// 1. The first ping: ARP on both subnets, routing, ICMP, every layer.
	section(w, "1. ARP resolution and the first ping through the router, layer by layer")
	fmt.Fprintf(w, "   (ms since start, host, layer, probe, device, what it saw)\n\n")
	nr.Start(time.Now(), nil)
	sum, err := client.Ping(ctx, serverIP, ipv4.PingOptions{Count: 1, Size: 56, Timeout: 3 * time.Second}, func(r ipv4.EchoReply) {
		fmt.Fprintf(w, "                  client  app      %s\n", r)
	})
	nr.Stop()
	if err != nil {
		return err
	}
	if sum.Received != 1 {
		return fmt.Errorf("demo: the first ping got no reply (%v)", sum)
	}

	// 2. More pings: the caches are warm now.
	if pings > 0 {
		section(w, fmt.Sprintf("2. %d more pings: the neighbours are in the ARP caches now", pings))
		fmt.Fprintf(w, "PING %v 56(84) bytes of data.\n", serverIP)
		sum, err = client.Ping(ctx, serverIP, ipv4.PingOptions{Count: pings, Size: 56, Interval: 200 * time.Millisecond}, func(r ipv4.EchoReply) {
			fmt.Fprintf(w, "%s\n", r)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "--- %v ping statistics ---\n%s\n", serverIP, sum)
	}

	// 3. UDP: a request to the server's echo service and its reply.
	section(w, "3. UDP: the client sends a datagram to the server's echo service (port 7)")
	echo, err := server.ListenPacket("udp", ":7")
	if err != nil {
		return err
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			k, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:k], from)
		}
	}()
	conn, err := client.DialContext(ctx, "udp", "10.0.2.2:7")
	if err != nil {
		return err
	}
	defer conn.Close()
	nr.Start(time.Now(), nil)
	msg := []byte("hello, server")
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 65536)
	k, err := conn.Read(buf)
	nr.Stop()
	if err != nil {
		return fmt.Errorf("demo: UDP echo: %w", err)
	}
	fmt.Fprintf(w, "                  client  app      read %q from %v\n", buf[:k], conn.RemoteAddr())

	// 4. A datagram bigger than the MTU: fragments out, reassembly in.
	section(w, fmt.Sprintf("4. a %d-byte UDP datagram, over a 1500-byte MTU", fragSize))
	fmt.Fprintf(w, "   fragmented by the sender, forwarded fragment by fragment, reassembled at the\n")
	fmt.Fprintf(w, "   receiver (device and Ethernet events left out)\n\n")
	big := make([]byte, fragSize)
	for i := range big {
		big[i] = byte(i % 251)
	}
	nr.Start(time.Now(), func(host string, e *trace.Event) bool {
		return e.Probe.Provider != "netdev" && e.Probe.Provider != "ether"
	})
	if _, err := conn.Write(big); err != nil {
		return err
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	k, err = conn.Read(buf)
	nr.Stop()
	if err != nil {
		return fmt.Errorf("demo: fragmented echo: %w", err)
	}
	same := k == len(big)
	for i := 0; same && i < k; i++ {
		same = buf[i] == big[i]
	}
	fmt.Fprintf(w, "                  client  app      read %d bytes back, identical: %v\n", k, same)
	if !same {
		return fmt.Errorf("demo: the reassembled datagram differs from the one sent")
	}

	// 5. TCP: an HTTP GET, the connection's life from open to close.
	if err := tcpAct(ctx, w, nr, tap, client, server); err != nil {
		return err
	}

	// 6. Counters.
	section(w, "6. counters, layer by layer (non-zero only)")
	for _, h := range []*netsim.Host{client, router, server} {
		fmt.Fprintf(w, "%s\n", h.Name)
		for _, d := range h.Devices().Devices() {
			if line := counterLine(&d.Stats); line != "" {
				fmt.Fprintf(w, "  device %-5s %s\n", d.Name(), line)
			}
		}
		st := h.Stats()
		for _, l := range []struct {
			name string
			mib  any
		}{{"ethernet", &st.Ether}, {"arp", &st.ARP}, {"ip", &st.IP}, {"icmp", &st.ICMP}, {"udp", &st.UDP}, {"tcp", &st.TCP}} {
			if line := counterLine(l.mib); line != "" {
				fmt.Fprintf(w, "  %-12s %s\n", l.name, line)
			}
		}
	}
	return nil
}

// settle waits until no device has received a frame for 20ms (the
// gratuitous ARP announcements of the new addresses), at most a second,
// so the narration starts on a quiet network.
func settle(n *netsim.Network) {
	total := func() uint64 {
		var t uint64
		for _, h := range n.Hosts() {
			for _, d := range h.Devices().Devices() {
				t += d.Stats.RxPackets.Load() + d.Stats.TxPackets.Load()
			}
		}
		return t
	}
	deadline := time.Now().Add(time.Second)
	last := total()
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		now := total()
		if now == last {
			return
		}
		last = now
	}
}

func section(w io.Writer, title string) {
	fmt.Fprintf(w, "\n%s\n%s\n", title, strings.Repeat("─", min(len(title), 78)))
}

// counterLine lists the non-zero counters of a MIB as name=value.
func counterLine(mib any) string {
	var parts []string
	stats.Walk(mib, func(name string, v int64) {
		if v != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", name, v))
		}
	})
	return wrap(strings.Join(parts, " "), 64, "               ")
}

func wrap(s string, width int, indent string) string {
	var out strings.Builder
	col := 0
	for i, word := range strings.Fields(s) {
		if i > 0 {
			if col+1+len(word) > width {
				out.WriteString("\n" + indent)
				col = 0
			} else {
				out.WriteByte(' ')
				col++
			}
		}
		out.WriteString(word)
		col += len(word)
	}
	return out.String()
}

package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDemo runs the demo and checks that every part of the story is told:
// each layer appears, ARP resolves on both subnets, the router forwards,
// pings come back, UDP is echoed, and the fragmented datagram is
// reassembled byte for byte.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := demo(&out, 2, 3000); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"arp:::request", "who-has 10.0.1.1 tell 10.0.1.2", "arp:::reply", "arp:::resolved",
		"who-has 10.0.2.2 tell 10.0.2.1",
		"netdev:::receive", "ether:::receive", "ip:::route", "ip:::forward", "eth0 -> eth1",
		"icmp:::receive", "echo reply",
		"icmp_seq=1 ttl=63", "icmp_seq=2 ttl=63", "2 packets transmitted, 2 received, 0% packet loss",
		"udp:::receive", "socket:::enqueue", "socket:::dequeue", `read "hello, server" from 10.0.2.2:7`,
		"ip:::fragment", "ip:::reassembled", "from 3 fragments", "read 3000 bytes back, identical: true",
		"ForwDatagrams=", "ReasmOKs=1", "FragCreates=3",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// Nothing went wrong on the way that the story does not tell: no
	// frame refused by a wire (a gratuitous ARP sent before the far end
	// was plugged in once was), no drop.
	for _, bad := range []string{"TxErrors", "TxDropped", "RxDropped", "InDiscards"} {
		if strings.Contains(text, bad) {
			t.Errorf("demo counters show %s", bad)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", text)
	}
}

// TestDemoTCP checks act 5 tells a TCP connection's whole life from the
// probes: each host's state changes in order (the client closing first),
// the handshake with relative sequence numbers, and the GET request's
// bytes at the TCP layer and, after the IP and TCP headers, at the IP
// layer.
func TestDemoTCP(t *testing.T) {
	var out bytes.Buffer
	if err := demo(&out, 0, 2000); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	defer func() {
		if t.Failed() {
			t.Logf("demo output:\n%s", text)
		}
	}()
	start := strings.Index(text, "\n5. TCP")
	end := strings.Index(text, "\n6. counters")
	if start < 0 || end < start {
		t.Fatalf("demo output has no act 5 before act 6")
	}
	act := strings.Split(text[start:end], "\n")

	// Each host's state changes, in the order printed.
	states := map[string][]string{}
	for _, l := range act {
		f := strings.Fields(l)
		if len(f) >= 4 && f[3] == "tcp:::state-change" {
			states[f[1]] = append(states[f[1]], l[strings.LastIndex(l, "  ")+2:])
		}
	}
	for host, want := range map[string][]string{
		"client": {"CLOSED -> SYN_SENT", "SYN_SENT -> ESTABLISHED", "ESTABLISHED -> FIN_WAIT_1",
			"FIN_WAIT_1 -> FIN_WAIT_2", "FIN_WAIT_2 -> TIME_WAIT", "TIME_WAIT -> CLOSED"},
		"server": {"CLOSED -> LISTEN", "LISTEN -> SYN_RCVD", "SYN_RCVD -> ESTABLISHED",
			"ESTABLISHED -> CLOSE_WAIT", "CLOSE_WAIT -> LAST_ACK", "LAST_ACK -> CLOSED"},
	} {
		if got := states[host]; !slices.Equal(got, want) {
			t.Errorf("%s state changes = %q, want %q", host, got, want)
		}
	}

	// The handshake and the request, in order. The hosts run
	// concurrently, so each host's lines are in order, and across hosts
	// only what causes what: the SYN, then the SYN|ACK, then the client
	// established.
	for _, seq := range [][]struct{ host, probe, has string }{
		{
			{"client", "tcp:::connect-request", "10.0.2.2:80"},
			{"client", "tcp:::send", "seq 0 flags SYN win"},
			{"client", "tcp:::connect-established", ""},
			{"client", "tcp:::send", "seq 1 ack 1 flags PSH|ACK"},
			{"client", "ip:::send", "10.0.1.2 > 10.0.2.2"},
		},
		{
			{"server", "tcp:::receive", "seq 0 flags SYN win"},
			{"server", "tcp:::send", "seq 0 ack 1 flags SYN|ACK win"},
			{"server", "tcp:::accept-established", ""},
			{"server", "tcp:::receive", "seq 1 ack 1 flags PSH|ACK"},
		},
		{
			{"client", "tcp:::send", "seq 0 flags SYN win"},
			{"server", "tcp:::send", "seq 0 ack 1 flags SYN|ACK win"},
			{"client", "tcp:::connect-established", ""},
		},
	} {
		next := 0
		for _, l := range act {
			f := strings.Fields(l)
			if next < len(seq) && len(f) >= 4 && f[1] == seq[next].host && f[3] == seq[next].probe && strings.Contains(l, seq[next].has) {
				next++
			}
		}
		if next < len(seq) {
			t.Errorf("act 5 lacks, in order, a %s %s line with %q", seq[next].host, seq[next].probe, seq[next].has)
		}
	}

	// The dumps: rebuilt from their offset columns, the TCP layer's
	// starts with the request; the IP layer's holds it after its own IP
	// and TCP headers.
	tcpBytes := parseDump(t, act, "at the TCP layer")
	ipBytes := parseDump(t, act, "at the IP layer")
	const get = "GET / HTTP/1.1\r\n"
	if !bytes.HasPrefix(tcpBytes, []byte(get)) {
		t.Fatalf("TCP-layer dump = %q..., want it to start with %q", tcpBytes[:min(len(tcpBytes), 16)], get)
	}
	if len(ipBytes) < 20 || ipBytes[0]>>4 != 4 {
		t.Fatalf("IP-layer dump = % x, want an IPv4 datagram", ipBytes)
	}
	ihl := int(ipBytes[0]&0xf) * 4
	if ihl != 20 || len(ipBytes) < ihl+20 {
		t.Fatalf("IP-layer dump: header length %d (of %d bytes), want 20", ihl, len(ipBytes))
	}
	thl := int(ipBytes[ihl+12]>>4) * 4
	if off := bytes.Index(ipBytes, []byte(get)); off != ihl+thl {
		t.Errorf("request at offset %d of the IP-layer dump, want %d (20 + %d-byte TCP header)", off, ihl+thl, thl)
	}
	if !bytes.Equal(ipBytes[min(ihl+thl, len(ipBytes)):], tcpBytes) {
		t.Errorf("IP-layer dump after the headers differs from the TCP-layer dump")
	}
	req := regexp.MustCompile(fmt.Sprintf(`client +tcp +tcp:::send .* seq 1 ack 1 flags PSH\|ACK win \d+ len %d\n`, len(tcpBytes)))
	if !req.MatchString(text) {
		t.Errorf("no client segment matches %q (the TCP-layer dump's length)", req)
	}
}

// parseDump rebuilds the bytes of the `hexdump -C` lines that follow the
// line containing title, placing each line at its offset.
func parseDump(t *testing.T, lines []string, title string) []byte {
	t.Helper()
	i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, title) })
	if i < 0 {
		t.Fatalf("no %q in act 5", title)
	}
	var b []byte
	found := false
	for _, l := range lines[i+1:] {
		l = strings.TrimSpace(l)
		bar := strings.Index(l, "|")
		if len(l) < 10 || l[8] != ' ' || bar < 0 {
			if found {
				break
			}
			continue // the title's second line
		}
		off, err := strconv.ParseUint(l[:8], 16, 32)
		if err != nil {
			if found {
				break
			}
			continue
		}
		found = true
		row, err := hex.DecodeString(strings.ReplaceAll(l[8:bar], " ", ""))
		if err != nil {
			t.Fatalf("dump line %q: %v", l, err)
		}
		if int(off) != len(b) {
			t.Fatalf("dump line %q at offset %d, want %d", l, off, len(b))
		}
		b = append(b, row...)
	}
	if !found {
		t.Fatalf("no dump after %q", title)
	}
	return b
}

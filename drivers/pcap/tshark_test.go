package pcap_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ustack/drivers/pcap"
	"ustack/drivers/vwire"
	"ustack/internal/testenv"
	"ustack/ipv4"
	"ustack/pcapng"
	"ustack/stack"
)

// bigBody is the size of the HTTP response: several GSO super-packets.
const bigBody = 200_000

// mixedWorkload runs, from a (10.0.0.1) to b (10.0.0.2), the traffic a
// capture must render faithfully: ARP resolution, two pings, a UDP
// datagram, a UDP datagram of 4000 bytes (three IP fragments at MTU
// 1500), and an HTTP exchange over one TCP connection, closed at the end,
// whose response travels in GSO super-packets where the link allows.
func mixedWorkload(t *testing.T, a, b *stack.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bAddr := netip.MustParseAddr("10.0.0.2")

	sum, err := a.Ping(ctx, bAddr, ipv4.PingOptions{Count: 2, Interval: 10 * time.Millisecond}, nil)
	if err != nil || sum.Received != 2 {
		t.Fatalf("ping: %v, %v", sum, err)
	}

	pc, err := b.ListenPacket("udp", ":9000")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := a.DialContext(ctx, "udp", "10.0.0.2:9000")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 8192)
	for _, n := range []int{5, 4000} {
		msg := []byte(strings.Repeat("u", n))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if got, _, err := pc.ReadFrom(buf); err != nil || got != n {
			t.Fatalf("UDP datagram of %d bytes: read %d, %v", n, got, err)
		}
	}

	l, err := b.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write([]byte(strings.Repeat("x", bigBody)))
	})}
	go srv.Serve(l)
	defer srv.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return a.DialContext(ctx, network, addr)
	}}
	resp, err := (&http.Client{Transport: tr}).Get("http://10.0.0.2/big")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != bigBody {
		t.Fatalf("GET /big: %d bytes, %v", n, err)
	}
	tr.CloseIdleConnections() // the client's FIN
}

// keepOnFailure saves the files of dir, when the test fails, to a
// directory that outlives it, and logs where.
func keepOnFailure(t *testing.T, dir string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		keep, err := os.MkdirTemp("", "ustack-capture-")
		if err != nil {
			return
		}
		names, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, n := range names {
			if b, err := os.ReadFile(n); err == nil {
				os.WriteFile(filepath.Join(keep, filepath.Base(n)), b, 0o644)
			}
		}
		t.Logf("captures saved in %s", keep)
	})
}

// waitQuiet waits until a capture has seen no frame for a while: the
// connections' last segments are in.
func waitQuiet(c *pcap.Capture) {
	last, since := c.Stats(), time.Now()
	for time.Since(since) < 300*time.Millisecond {
		time.Sleep(50 * time.Millisecond)
		if s := c.Stats(); s != last {
			last, since = s, time.Now()
		}
	}
}

// TestTsharkMixedWorkload captures the mixed workload twice — on a's side
// through the driver wrapper, on b's side through a tap attached to the
// running device — and has tshark check both files with its checksum
// validation on: no malformed frame, no bad checksum, no error, and the
// protocols and frame counts the workload makes.
func TestTsharkMixedWorkload(t *testing.T) {
	for _, gso := range []bool{true, false} {
		t.Run(fmt.Sprintf("gso=%v", gso), func(t *testing.T) { testTsharkMixed(t, gso) })
	}
}

func testTsharkMixed(t *testing.T, gso bool) {
	tshark := testenv.RequireCommand(t, "tshark")
	dir := t.TempDir()
	keepOnFailure(t, dir)
	a := stack.New(stack.Options{Seed: 1, CheckedBuffers: true})
	b := stack.New(stack.Options{Seed: 2, CheckedBuffers: true})
	defer a.Close()
	defer b.Close()
	ea, eb := vwire.NewPair(
		vwire.Config{Name: "a", MAC: vwire.SeededMAC(1, 1), GSO: gso},
		vwire.Config{Name: "b", MAC: vwire.SeededMAC(1, 2), GSO: gso})

	capA := pcap.New(pcap.Options{})
	wa, err := pcap.Create(filepath.Join(dir, "a.pcapng"), capA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddNIC("eth0", pcap.Wrap(ea, capA, "eth0")); err != nil {
		t.Fatal(err)
	}
	devB, err := b.AddNIC("eth0", eb)
	if err != nil {
		t.Fatal(err)
	}
	capB := pcap.New(pcap.Options{})
	wb, err := pcap.Create(filepath.Join(dir, "b.pcapng"), capB)
	if err != nil {
		t.Fatal(err)
	}
	capB.Attach(devB)
	if err := a.AddAddress("eth0", netip.MustParsePrefix("10.0.0.1/24")); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAddress("eth0", netip.MustParsePrefix("10.0.0.2/24")); err != nil {
		t.Fatal(err)
	}
	// Each side has taken the other's announcement before the workload
	// begins: one that arrived while a's first ping waited for ARP would
	// resolve it (the entry exists), and then b, whose cache a's
	// announcement could not fill, would have to ask too: six ARP frames
	// where the count below wants four.
	for deadline := time.Now().Add(10 * time.Second); a.Stats().ARP.InRequests.Load() < 1 || b.Stats().ARP.InRequests.Load() < 1; {
		if time.Now().After(deadline) {
			t.Fatal("the announcements did not arrive")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // past the cache update that follows the count

	mixedWorkload(t, a, b)
	waitQuiet(capA)
	waitQuiet(capB)
	if err := wa.Close(); err != nil {
		t.Fatalf("closing a's capture: %v", err)
	}
	if err := wb.Close(); err != nil {
		t.Fatalf("closing b's capture: %v", err)
	}
	sa, sb := capA.Stats(), capB.Stats()
	if sa.Dropped != 0 || sb.Dropped != 0 || sa.Captured != sb.Captured {
		t.Errorf("a captured %+v, b %+v: want the same frames, none dropped", sa, sb)
	}

	for _, side := range []string{"a", "b"} {
		path := filepath.Join(dir, side+".pcapng")
		rep := testenv.Tshark(t, tshark, path)
		t.Logf("%s: %d frames, protocols %v", side, rep.Frames, rep.Protocols)
		for _, p := range rep.Problems {
			t.Errorf("%s: %s", side, p)
		}
		for _, w := range rep.Warnings {
			t.Logf("%s: tshark warns: %s", side, w)
		}
		if uint64(rep.Frames) != sa.Captured {
			t.Errorf("%s: tshark read %d frames, the capture wrote %d", side, rep.Frames, sa.Captured)
		}
		// Two ARP announcements (the addresses added), a request and a
		// reply; two echo requests and replies; the small datagram and
		// the big one, reassembled from three fragments; an HTTP
		// request and response.
		for proto, want := range map[string]int{"arp": 4, "icmp": 4, "udp": 2, "http": 2} {
			if got := rep.Protocols[proto]; got != want {
				t.Errorf("%s: %d %s frames, want %d", side, got, proto, want)
			}
		}
		if got := rep.Count("ip.flags.mf == 1 || ip.frag_offset > 0"); got != 3 {
			t.Errorf("%s: %d IP fragments, want 3", side, got)
		}
		if got := rep.Count("tcp.flags.syn == 1"); got != 2 {
			t.Errorf("%s: %d SYN segments, want 2 (SYN, SYN-ACK)", side, got)
		}
		if got := rep.Count("tcp.flags.fin == 1"); got != 2 {
			t.Errorf("%s: %d FIN segments, want 2", side, got)
		}
		if gso && rep.Count("frame.len > 1514") == 0 {
			t.Errorf("%s: no GSO super-packet in the capture of a GSO link", side)
		}
		if !gso && rep.Count("frame.len > 1514") != 0 {
			t.Errorf("%s: frames above the MTU on a link without GSO", side)
		}

		// The file itself: interface, directions, ISB counts.
		f, _ := os.Open(path)
		r, err := pcapng.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		var in, out int
		for {
			p, err := r.Next()
			if err != nil {
				break
			}
			switch p.Direction {
			case pcapng.DirInbound:
				in++
			case pcapng.DirOutbound:
				out++
			}
		}
		f.Close()
		if ifs := r.Interfaces(); len(ifs) != 1 || ifs[0].Name != "eth0" || ifs[0].LinkType != pcapng.LinkEthernet {
			t.Errorf("%s: interfaces %+v, want eth0 on Ethernet", side, ifs)
		}
		if in == 0 || out == 0 || in+out != rep.Frames {
			t.Errorf("%s: %d inbound, %d outbound of %d frames", side, in, out, rep.Frames)
		}
		if st := r.Stats(); len(st) != 1 || st[0].Received != sa.Captured || st[0].Dropped != 0 {
			t.Errorf("%s: statistics %+v, want %d received, 0 dropped", side, st, sa.Captured)
		}
	}
}

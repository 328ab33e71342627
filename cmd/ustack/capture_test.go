package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ustack/internal/testenv"
	"ustack/pcapng"
)

// readCapture reads a pcapng file: its interfaces' names, its packets and
// its statistics.
func readCapture(t *testing.T, r io.Reader) (names []string, packets []pcapng.Packet, stats []pcapng.Stats) {
	t.Helper()
	pr, err := pcapng.NewReader(r)
	if err != nil {
		t.Fatalf("reading the capture: %v", err)
	}
	for {
		p, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the capture: %v", err)
		}
		p.Data = bytes.Clone(p.Data)
		packets = append(packets, p)
	}
	for _, i := range pr.Interfaces() {
		names = append(names, i.Name)
	}
	return names, packets, pr.Stats()
}

// checkTshark has tshark read the file with its checksum checks on:
// no malformed frame, no bad checksum, and want frames (-1: any). Without
// tshark it returns nil, and the rest of the test goes on, unless
// USTACK_REQUIRE_PRIVILEGED=1 (CI), which makes that a failure.
func checkTshark(t *testing.T, path string, want int) *testenv.TsharkReport {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if testenv.Required() {
			t.Fatalf("tshark not installed (and %s=1): %v", testenv.EnvRequirePrivileged, err)
		}
		t.Logf("tshark not installed: %s not validated", path)
		return nil
	}
	rep := testenv.Tshark(t, tshark, path)
	for _, p := range rep.Problems {
		t.Errorf("tshark: %s", p)
	}
	if want >= 0 && rep.Frames != want {
		t.Errorf("tshark read %d frames, want %d", rep.Frames, want)
	}
	return rep
}

func TestCaptureCommand(t *testing.T) {
	sock := traceNet(t) // b sends a datagram to a every 10ms
	file := filepath.Join(t.TempDir(), "all.pcapng")

	r := ustack(t, "capture", "--ctl", sock, "-w", file, "-c", "5")
	if r.code != 0 || !strings.Contains(r.stderr, "listening on lo, link-type RAW, snapshot length 262144 bytes\n") ||
		!strings.Contains(r.stderr, "listening on eth0, link-type EN10MB, snapshot length 262144 bytes\n") ||
		!strings.Contains(r.stderr, "\n5 packets captured\n") || !strings.Contains(r.stderr, "\n0 packets dropped by stack\n") || r.stdout != "" {
		t.Fatalf("capture -c 5: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	names, packets, stats := readCapture(t, f)
	f.Close()
	if strings.Join(names, ",") != "lo,eth0" || len(packets) != 5 || len(stats) != 2 || stats[1].Received < 5 {
		t.Errorf("file: interfaces %q, %d packets, stats %+v; want lo and eth0, 5 packets", names, len(packets), stats)
	}
	for _, p := range packets {
		if p.Interface != 1 || p.Direction != pcapng.DirOutbound || p.PacketID == 0 {
			t.Errorf("packet on interface %d, %v, id %d: want b's datagrams going out of eth0", p.Interface, p.Direction, p.PacketID)
		}
	}
	if rep := checkTshark(t, file, 5); rep != nil && rep.Protocols["udp"] != 5 {
		t.Errorf("tshark protocols %v, want 5 UDP datagrams", rep.Protocols)
	}

	// One interface, for a while.
	file = filepath.Join(t.TempDir(), "eth0.pcapng")
	r = ustack(t, "capture", "--ctl", sock, "-w", file, "-i", "eth0", "--duration", "300ms")
	if r.code != 0 || strings.Contains(r.stderr, "listening on lo") || !strings.Contains(r.stderr, " packets captured\n") {
		t.Fatalf("capture -i eth0 --duration 300ms: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	f, _ = os.Open(file)
	names, packets, _ = readCapture(t, f)
	f.Close()
	if len(names) != 1 || names[0] != "eth0" || len(packets) < 5 || len(packets) > 100 {
		t.Errorf("300ms on eth0: interfaces %q, %d packets; want eth0 and some 30 datagrams", names, len(packets))
	}
	checkTshark(t, file, len(packets))

	// To standard output, for a pipe.
	r = ustack(t, "capture", "--ctl", sock, "-w", "-", "-c", "3", "-s", "40")
	if r.code != 0 {
		t.Fatalf("capture -w -: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	_, packets, _ = readCapture(t, strings.NewReader(r.stdout))
	if len(packets) != 3 || len(packets[0].Data) != 40 || packets[0].Length != 14+20+8+5 {
		t.Errorf("capture -w - -s 40: %d packets, the first %d of %d bytes", len(packets), len(packets[0].Data), packets[0].Length)
	}
}

func TestCaptureCommandErrors(t *testing.T) {
	sock := traceNet(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-c", "1"}, 2, "missing -w FILE"},
		{[]string{"-w", "x", "-c", "-1"}, 2, "bad count"},
		{[]string{"-w", "x", "-s", "300000"}, 2, "snapshot length 300000 out of range"},
		{[]string{"-w", "x", "tcp"}, 2, "filters are not supported"},
		{[]string{"-w", filepath.Join(dir, "eth9.pcapng"), "-i", "eth9"}, 1, `no interface "eth9"`},
		{[]string{"-w", filepath.Join(dir, "nodir", "f.pcapng"), "-c", "1"}, 1, "no such file or directory"},
	} {
		r := ustack(t, append([]string{"capture", "--ctl", sock}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("capture %q: exit %d, want %d", tc.args, r.code, tc.code)
		}
		checkOneLine(t, "capture "+strings.Join(tc.args, " "), r, tc.want)
	}
	if _, err := os.Stat(filepath.Join(dir, "eth9.pcapng")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a capture the stack refused left a file: %v", err)
	}
	r := ustack(t, "help", "capture")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: ustack capture") {
		t.Errorf("help capture: exit %d, stdout %.40q", r.code, r.stdout)
	}
}

// ^C ends a capture with status 0, a complete file and the counts.
func TestCaptureInterrupt(t *testing.T) {
	sock := traceNet(t)
	file := filepath.Join(t.TempDir(), "int.pcapng")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ustackBin(t), "capture", "--ctl", sock, "-w", file)
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(stderr.String(), "listening on eth0") {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("capture after SIGINT: %v, want exit 0; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), " packets captured\n") {
		t.Errorf("stderr after SIGINT:\n%s", stderr.String())
	}
	f, _ := os.Open(file)
	_, packets, stats := readCapture(t, f)
	f.Close()
	if len(packets) == 0 || len(stats) != 2 {
		t.Errorf("%d packets, stats %+v; want some, and statistics for both interfaces", len(packets), stats)
	}
	checkTshark(t, file, len(packets))
}

// `ustack up --pcap` captures a stack on a TAP device from its start to
// its shutdown; tshark finds the kernel's pings and ustack's replies, and
// nothing wrong.
func TestUpPcap(t *testing.T) {
	testenv.RequirePrivileged(t)
	testenv.RequireCommand(t, "ping")
	tshark := testenv.RequireCommand(t, "tshark")
	ns := testenv.NewNetns(t)
	dev := testenv.UniqueName(t, "ustc")
	subnet := testenv.Subnet(t)
	peer := subnet.Addr().Next()
	ours := peer.Next()
	ctlPath := filepath.Join(t.TempDir(), "ustack.sock")
	file := filepath.Join(t.TempDir(), "up.pcapng")

	up := startUp(t, "--if", dev+"="+netip.PrefixFrom(ours, 24).String(), "--ctl", ctlPath, "--pcap", file+","+dev)
	up.waitReady(t, ctlPath)
	testenv.Run(t, "ip", "link", "set", dev, "netns", ns)
	testenv.NetnsRun(t, ns, "ip", "addr", "add", netip.PrefixFrom(peer, 24).String(), "dev", dev)
	testenv.NetnsRun(t, ns, "ip", "link", "set", dev, "up")
	testenv.NetnsRun(t, ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", ours.String())
	if r := ustack(t, "ping", "--ctl", ctlPath, "-c", "2", "-i", "0.2", peer.String()); r.code != 0 {
		t.Errorf("ustack ping: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	if err := up.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up.done:
	case <-time.After(10 * time.Second):
		t.Fatal("ustack up still running 10s after SIGTERM")
	}
	if up.waitErr != nil || !strings.Contains(up.out.String(), " packets captured on "+dev+" to "+file+", 0 dropped") {
		t.Fatalf("ustack up: %v\nstdout:\n%s\nstderr:\n%s", up.waitErr, up.out.String(), up.err.String())
	}
	rep := testenv.Tshark(t, tshark, file)
	for _, p := range rep.Problems {
		t.Errorf("tshark: %s", p)
	}
	if got := rep.Count("icmp.type == 8"); got < 5 {
		t.Errorf("%d echo requests in the capture, want at least 5 (3 from the kernel, 2 from ustack)", got)
	}
	if got := rep.Count("icmp.type == 0"); got < 5 {
		t.Errorf("%d echo replies in the capture, want at least 5", got)
	}
	f, _ := os.Open(file)
	names, _, _ := readCapture(t, f)
	f.Close()
	if len(names) != 1 || names[0] != dev {
		t.Errorf("interfaces %q, want only %s", names, dev)
	}
}

func TestPcapFlag(t *testing.T) {
	for _, tc := range []struct {
		in, path, iface, err string
	}{
		{in: "f.pcapng", path: "f.pcapng"},
		{in: "/tmp/x.pcapng,tap0", path: "/tmp/x.pcapng", iface: "tap0"},
		{in: "a,b,lo", path: "a,b", iface: "lo"},
		{in: "f,", err: "missing interface"},
		{in: ",tap0", err: "missing file name"},
		{in: "", err: "missing file name"},
	} {
		var p pcapFlag
		err := p.Set(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Set(%q) = %v, want an error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || p.path != tc.path || p.iface != tc.iface || p.String() != tc.in {
			t.Errorf("Set(%q) = %v: path %q iface %q (String %q), want %q %q", tc.in, err, p.path, p.iface, p.String(), tc.path, tc.iface)
		}
	}
	// An interface that is not one of the stack's is refused before any
	// device is touched (so this runs without privileges).
	dir := t.TempDir()
	r := ustack(t, "up", "--if", "tapx=10.0.0.1/24", "--ctl", filepath.Join(dir, "s.sock"), "--pcap", filepath.Join(dir, "f.pcapng")+",eth9")
	if r.code != 2 {
		t.Errorf("up --pcap FILE,eth9: exit %d, want 2", r.code)
	}
	checkOneLine(t, "up --pcap FILE,eth9", r, "no interface eth9 (want one given with --if, or lo)")
	if _, err := os.Stat(filepath.Join(dir, "f.pcapng")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused --pcap created its file: %v", err)
	}
}

package main

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"ustack/internal/promcheck"
	"ustack/internal/testenv"
)

// TestUpMetricsEndToEnd runs `ustack up --metrics` on a TAP device whose
// kernel side is in a namespace of its own, scrapes /metrics from there
// with curl, and reads the tables with the table commands.
func TestUpMetricsEndToEnd(t *testing.T) {
	testenv.RequirePrivileged(t)
	curl := testenv.RequireCommand(t, "curl")
	ns := testenv.NewNetns(t)
	dev := testenv.UniqueName(t, "usm")
	subnet := testenv.Subnet(t)
	peer := subnet.Addr().Next()
	ours := peer.Next()
	ctlPath := filepath.Join(t.TempDir(), "ustack.sock")

	up := startUp(t, "--if", dev+"="+netip.PrefixFrom(ours, 24).String(), "--serve", "echo/tcp", "--metrics", ":9100", "--ctl", ctlPath)
	up.waitReady(t, ctlPath)
	if !strings.Contains(up.out.String(), "metrics: http://0.0.0.0:9100/metrics") {
		t.Errorf("startup summary lacks the metrics address:\n%s", up.out.String())
	}
	testenv.Run(t, "ip", "link", "set", dev, "netns", ns)
	testenv.NetnsRun(t, ns, "ip", "addr", "add", netip.PrefixFrom(peer, 24).String(), "dev", dev)
	testenv.NetnsRun(t, ns, "ip", "link", "set", dev, "up")

	// The content type follows the body as a comment line, which the
	// format allows.
	out := testenv.NetnsRun(t, ns, curl, "-sS", "--max-time", "20", "-w", "# content-type: %{content_type}\n", "http://"+ours.String()+":9100/metrics")
	if !strings.HasSuffix(out, "\n# content-type: text/plain; version=0.0.4; charset=utf-8\n") {
		t.Errorf("/metrics does not end with the right content type:\n%s", out[max(len(out)-200, 0):])
	}
	x, err := promcheck.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ustack_link_up", []string{"interface", dev}, 1},
		{"ustack_tcp_connections", []string{"state", "LISTEN"}, 2}, // echo and metrics
		{"ustack_tcp_passive_opens_total", nil, 1},
		{"ustack_tcp_curr_estab", nil, 1}, // this scrape
	} {
		if v, ok := x.Value(c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present: %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if v, ok := x.Value("ustack_arp_in_requests_total"); !ok || v < 1 {
		t.Errorf("ustack_arp_in_requests_total = %v, %v; want the kernel's request counted", v, ok)
	}

	// The table commands on the same stack.
	r := ustack(t, "ss", "-ta", "--ctl", ctlPath)
	if r.code != 0 || !strings.Contains(r.stdout, "LISTEN") || !strings.Contains(r.stdout, "*:9100") {
		t.Errorf("ustack ss -ta: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = ustack(t, "arp", "--ctl", ctlPath)
	if r.code != 0 || !strings.Contains(r.stdout, peer.String()) {
		t.Errorf("ustack arp: exit %d, want %v listed\n%s%s", r.code, peer, r.stdout, r.stderr)
	}
	r = ustack(t, "ifconfig", dev, "--ctl", ctlPath)
	if r.code != 0 || !strings.Contains(r.stdout, "inet "+ours.String()+"  netmask 255.255.255.0") {
		t.Errorf("ustack ifconfig %s: exit %d\n%s%s", dev, r.code, r.stdout, r.stderr)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"ustack/ctl"
	"ustack/internal/promcheck"
	"ustack/ipv4"
	"ustack/netsim"
)

func TestExpandShort(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{[]string{"-tani"}, []string{"-t", "-a", "-n", "-i"}},
		{[]string{"-s"}, []string{"-s"}},
		{[]string{"-ti", "--json"}, []string{"-t", "-i", "--json"}},
		{[]string{"--ctl", "-tan", "-an"}, []string{"--ctl", "-tan", "-a", "-n"}},
		{[]string{"-ctl=/x", "-tx"}, []string{"-ctl=/x", "-tx"}}, // x is no flag: left for the parser to refuse
		{[]string{"--", "-ta"}, []string{"--", "-ta"}},
	} {
		if got := expandShort(tc.in, "tanil"); !slices.Equal(got, tc.want) {
			t.Errorf("expandShort(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// netstat -s shows every counter once, in netstat's groups.
func TestNetstatGroups(t *testing.T) {
	h := netsim.New(netsim.Options{}).Host("h")
	defer h.Close()
	st, err := ctl.Snapshot(h.Stack, "counters")
	if err != nil {
		t.Fatal(err)
	}
	want := 1 // Forwarding
	for _, g := range st.Counters {
		want += len(g.Counters)
	}
	groups := netstatGroups(st)
	var names []string
	got := 0
	for _, g := range groups {
		names = append(names, g.Name)
		got += len(g.Counters)
	}
	if got != want {
		t.Errorf("netstat groups hold %d counters, want all %d", got, want)
	}
	if !slices.Equal(names, []string{"Ether", "Arp", "Ip", "Icmp", "Tcp", "Udp", "IpExt", "TcpExt"}) {
		t.Errorf("netstat groups = %v", names)
	}
	var b bytes.Buffer
	printNetstatS(&b, groups)
	out := b.String()
	for _, want := range []string{"Ip:\n    Forwarding: 2\n", "    0 segments retransmitted (RetransSegs)\n", "TcpExt:\n", "    0 fast retransmits (FastRetrans)\n", "    InNoRoutes: 0\n"} {
		if !strings.Contains(out, want) && !(want == "    InNoRoutes: 0\n" && strings.Contains(out, "packets with no route (InNoRoutes)")) {
			t.Errorf("netstat -s output lacks %q:\n%s", want, out)
		}
	}
}

func TestSSFormat(t *testing.T) {
	socks := []ctl.Socket{
		{Proto: "tcp", State: "LISTEN", Local: netip.MustParseAddrPort("0.0.0.0:80"), SendQ: 128,
			TCP: &ctl.TCPInfo{Congestion: "cubic", Backlog: 128, SndWScale: -1, RcvWScale: -1}},
		{Proto: "tcp", State: "ESTABLISHED", Local: netip.MustParseAddrPort("10.0.0.1:80"), Remote: netip.MustParseAddrPort("10.0.0.2:40000"),
			RecvQ: 3, SendQ: 1448,
			TCP: &ctl.TCPInfo{Congestion: "cubic", Timestamps: true, SACK: true, SndWScale: 7, RcvWScale: 9,
				RTO: ctl.Duration(204 * time.Millisecond), SRTT: ctl.Duration(1500 * time.Microsecond), RTTVar: ctl.Duration(750 * time.Microsecond),
				MSS: 1448, AdvMSS: 1460, RcvMSS: 536, Cwnd: 14480, Ssthresh: 7240, InFlight: 1448, Retransmits: 1, TotalRetrans: 2, Backoff: 1,
				SndWnd: 65535, RcvWnd: 262144}},
		{Proto: "udp", State: "UNCONN", Local: netip.MustParseAddrPort("0.0.0.0:7")},
	}
	var b bytes.Buffer
	printSS(&b, socks, true, true)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("ss -tuai printed %d lines, want header, 3 sockets and 2 detail lines:\n%s", len(lines), b.String())
	}
	if !regexp.MustCompile(`^Netid +State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port$`).MatchString(lines[0]) {
		t.Errorf("header = %q", lines[0])
	}
	if !regexp.MustCompile(`^tcp +LISTEN +0 +128 +\*:80 +\*:\*$`).MatchString(lines[1]) {
		t.Errorf("listener = %q", lines[1])
	}
	if lines[2] != "\t syn_queue:0 backlog:128" {
		t.Errorf("listener detail = %q", lines[2])
	}
	if !regexp.MustCompile(`^tcp +ESTAB +3 +1448 +10\.0\.0\.1:80 +10\.0\.0\.2:40000$`).MatchString(lines[3]) {
		t.Errorf("connection = %q", lines[3])
	}
	want := "\t ts sack cubic wscale:7,9 rto:204 rtt:1.500/0.750 mss:1448 advmss:1460 rcvmss:536 cwnd:10 ssthresh:5 inflight:1448 retrans:1/2 backoff:1 send 77.2Mbps snd_wnd:65535 rcv_wnd:262144"
	if lines[4] != want {
		t.Errorf("connection detail =\n%q, want\n%q", lines[4], want)
	}
	if !regexp.MustCompile(`^udp +UNCONN +0 +0 +\*:7 +\*:\*$`).MatchString(lines[5]) {
		t.Errorf("udp socket = %q", lines[5])
	}
	// Columns line up across rows, detail lines notwithstanding.
	if strings.Index(lines[1], "0 ") != strings.Index(lines[5], "0 ") {
		t.Errorf("columns misaligned:\n%s", b.String())
	}
}

// hostsWith starts --serve list on host a (10.0.0.1) of a two-host
// network, as servicesOnNet does, and returns both hosts.
func hostsWith(t *testing.T, list string) (a, b *netsim.Host) {
	t.Helper()
	n := netsim.New(netsim.Options{Seed: 1})
	a, b = n.Host("a"), n.Host("b")
	n.MustLink(a, "10.0.0.1/24", b, "10.0.0.2/24", netsim.LinkOptions{})
	var l serveList
	if err := l.Set(list); err != nil {
		t.Fatalf("serveList.Set(%q) = %v", list, err)
	}
	svcs := &serviceSet{}
	t.Cleanup(func() {
		svcs.stop()
		n.Close()
	})
	if err := svcs.start(a.Stack, l); err != nil {
		t.Fatalf("starting %s: %v", list, err)
	}
	return a, b
}

// TestTableCommands runs netstat, ss, ifconfig, route and arp against a
// stack served in this process, as text and as JSON.
func TestTableCommands(t *testing.T) {
	a, b := hostsWith(t, "echo")
	sock := ctlOnHost(t, a)
	if sum, err := a.Ping(testCtx(t), netip.MustParseAddr("10.0.0.2"), ipv4.PingOptions{Count: 2, Interval: time.Millisecond}, nil); err != nil || sum.Received != 2 {
		t.Fatalf("ping: %+v, %v", sum, err)
	}
	conn, err := b.DialContext(testCtx(t), "tcp", "10.0.0.1:7")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write([]byte("hi"))
	io.ReadFull(conn, make([]byte, 2))

	for _, tc := range []struct {
		args []string
		want []string // regexps, each matching some line of stdout
	}{
		{[]string{"netstat", "-s"}, []string{`^Ip:$`, `^    Forwarding: 2$`, `^Icmp:$`, `^    2 echo requests sent \(OutEchos\)$`, `^Tcp:$`, `^    1 passive connection openings \(PassiveOpens\)$`, `^TcpExt:$`, `^Udp:$`}},
		{[]string{"netstat", "-an"}, []string{`^Active Internet connections \(servers and established\)$`, `^Proto +Recv-Q +Send-Q +Local Address +Foreign Address +State$`,
			`^tcp +0 +0 +0\.0\.0\.0:7 +0\.0\.0\.0:\* +LISTEN$`, `^tcp +0 +0 +10\.0\.0\.1:7 +10\.0\.0\.2:\d+ +ESTABLISHED$`, `^udp +0 +0 +0\.0\.0\.0:7 +0\.0\.0\.0:\* *$`}},
		{[]string{"netstat", "-tln"}, []string{`^Active Internet connections \(only servers\)$`, `^tcp +0 +0 +0\.0\.0\.0:7 +0\.0\.0\.0:\* +LISTEN$`}},
		{[]string{"ss", "-tani"}, []string{`^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port$`, `^LISTEN +0 +\d+ +\*:7 +\*:\*$`,
			`^ESTAB +0 +0 +10\.0\.0\.1:7 +10\.0\.0\.2:\d+$`, `^\t ts sack cubic wscale:\d+,\d+ rto:\d+ rtt:[0-9.]+/[0-9.]+ mss:\d+ advmss:\d+ rcvmss:\d+ cwnd:\d+ .*snd_wnd:\d+ rcv_wnd:\d+$`}},
		{[]string{"ifconfig"}, []string{`^eth0: flags=<UP,BROADCAST,RUNNING[^>]*>  mtu 1500$`, `^        inet 10\.0\.0\.1  netmask 255\.255\.255\.0  broadcast 10\.0\.0\.255$`,
			`^        ether [0-9a-f:]{17}  \(Ethernet\)$`, `^        RX packets [1-9]\d*  bytes [1-9]\d* \(.*\)$`, `^        TX errors \d+  dropped 0  queued 0$`, `^lo: flags=<UP,LOOPBACK`}},
		{[]string{"ifconfig", "lo"}, []string{`^lo: `, `^        inet 127\.0\.0\.1  netmask 255\.0\.0\.0$`}},
		{[]string{"route"}, []string{`^10\.0\.0\.0/24 dev eth0 .*src 10\.0\.0\.1`}},
		{[]string{"arp"}, []string{`^Address +HWaddress +State +Iface +Age +Queue$`, `^10\.0\.0\.2 +[0-9a-f:]{17} +(REACHABLE|STALE|DELAY) +eth0 +\S+ +0$`}},
	} {
		r := ustack(t, append(tc.args, "--ctl", sock)...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("ustack %s: exit %d, stderr %q", strings.Join(tc.args, " "), r.code, r.stderr)
			continue
		}
		lines := strings.Split(r.stdout, "\n")
		for _, w := range tc.want {
			re := regexp.MustCompile(w)
			if !slices.ContainsFunc(lines, re.MatchString) {
				t.Errorf("ustack %s: no line matches %s:\n%s", strings.Join(tc.args, " "), w, r.stdout)
			}
		}
	}

	// --json: what the control socket answered, for scripts.
	var socks []ctl.Socket
	jsonOf(t, &socks, "ss", "-ta", "--json", "--ctl", sock)
	if len(socks) != 2 || socks[0].TCP == nil {
		t.Errorf("ss -ta --json = %+v, want the listener and the connection with TCP info", socks)
	}
	var groups []ctl.CounterGroup
	jsonOf(t, &groups, "netstat", "-s", "--json", "--ctl", sock)
	if len(groups) == 0 || groups[0].Name != "Ether" {
		t.Errorf("netstat -s --json = %+v", groups)
	}
	var ifs []ctl.Interface
	jsonOf(t, &ifs, "ifconfig", "--json", "--ctl", sock)
	var routes []ctl.Route
	jsonOf(t, &routes, "route", "--json", "--ctl", sock)
	var neigh []ctl.Neighbor
	jsonOf(t, &neigh, "arp", "--json", "--ctl", sock)
	if len(ifs) != 2 || len(routes) == 0 || len(neigh) != 1 {
		t.Errorf("--json: %d interfaces, %d routes, %d neighbours; want 2, some, 1", len(ifs), len(routes), len(neigh))
	}

	// Usage errors and help.
	for _, cmd := range []string{"netstat", "ss", "ifconfig", "route", "arp"} {
		if r := ustack(t, cmd, "-h"); r.code != 0 || !strings.HasPrefix(r.stdout, "usage: ustack "+cmd) {
			t.Errorf("ustack %s -h: exit %d, stdout %q", cmd, r.code, r.stdout)
		}
	}
	if r := ustack(t, "ss", "-x", "--ctl", sock); r.code != 2 {
		t.Errorf("ustack ss -x: exit %d, want 2", r.code)
	}
	if r := ustack(t, "route", "extra", "--ctl", sock); r.code != 2 {
		t.Errorf("ustack route extra: exit %d, want 2", r.code)
	}
	if r := ustack(t, "ifconfig", "eth9", "--ctl", sock); r.code != 1 || !strings.Contains(r.stderr, "eth9: no such interface") {
		t.Errorf("ustack ifconfig eth9: exit %d, stderr %q", r.code, r.stderr)
	}
}

func jsonOf(t *testing.T, v any, args ...string) {
	t.Helper()
	r := ustack(t, args...)
	if r.code != 0 {
		t.Fatalf("ustack %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("ustack %s: %v:\n%s", strings.Join(args, " "), err, r.stdout)
	}
}

// TestMetrics serves /metrics on host a's own TCP, as `ustack up
// --metrics` does, and scrapes it from host b.
func TestMetrics(t *testing.T) {
	a, b := hostsWith(t, "echo")
	m, err := startMetrics(a.Stack, ":9100")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const pings = 3
	if sum, err := b.Ping(testCtx(t), netip.MustParseAddr("10.0.0.1"), ipv4.PingOptions{Count: pings, Interval: time.Millisecond}, nil); err != nil || sum.Received != pings {
		t.Fatalf("ping: %+v, %v", sum, err)
	}
	hc := httpClient(b)
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://10.0.0.1:9100/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	x, err := promcheck.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ustack_icmp_in_echos_total", nil, pings},
		{"ustack_icmp_out_echo_reps_total", nil, pings},
		{"ustack_tcp_passive_opens_total", nil, 1},                 // this scrape
		{"ustack_tcp_connections", []string{"state", "LISTEN"}, 2}, // echo and metrics
		{"ustack_tcp_connections", []string{"state", "ESTABLISHED"}, 1},
		{"ustack_tcp_curr_estab", nil, 1},
		{"ustack_udp_sockets", nil, 1},
		{"ustack_link_up", []string{"interface", "eth0"}, 1},
		{"ustack_link_mtu", []string{"interface", "eth0"}, 1500},
	} {
		if v, ok := x.Value(c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (present: %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if v, ok := x.Value("ustack_link_rx_packets_total", "interface", "eth0"); !ok || v < pings {
		t.Errorf("ustack_link_rx_packets_total{eth0} = %v, %v; want at least %d", v, ok, pings)
	}
	for _, f := range x.Families {
		if f.Type == "counter" && !strings.HasSuffix(f.Name, "_total") {
			t.Errorf("counter %s does not end in _total", f.Name)
		}
		if f.Help == "" {
			t.Errorf("%s has no HELP", f.Name)
		}
	}
}

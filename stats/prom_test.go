package stats

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"ustack/internal/promcheck"
)

func TestSnakeCase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"RetransSegs", "retrans_segs"},
		{"InCsumErrors", "in_csum_errors"},
		{"OFOQueue", "ofo_queue"},
		{"SACKsSent", "sacks_sent"},
		{"ChallengeACKs", "challenge_acks"},
		{"ChallengeACKLimit", "challenge_ack_limit"},
		{"DSACKOfoSent", "dsack_ofo_sent"},
		{"PAWSDrops", "paws_drops"},
		{"ReasmOKs", "reasm_oks"},
		{"PMTUUpdates", "pmtu_updates"},
		{"OOWRateLimited", "oow_rate_limited"},
		{"InEchoReps", "in_echo_reps"},
		{"RxPackets", "rx_packets"},
		{"CurrEstab", "curr_estab"},
		{"IP", "ip"},
	} {
		if got := SnakeCase(tc.in); got != tc.want {
			t.Errorf("SnakeCase(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Every MIB's metric names are distinct and valid: no two fields of a
// group fold onto one name.
func TestMIBNamesDistinct(t *testing.T) {
	var st Stack
	var e Exposition
	e.MIB("ustack_ether", "Ether", &st.Ether)
	e.MIB("ustack_arp", "ARP", &st.ARP)
	e.MIB("ustack_ip", "IP", &st.IP)
	e.MIB("ustack_icmp", "ICMP", &st.ICMP)
	e.MIB("ustack_udp", "UDP", &st.UDP)
	e.MIB("ustack_tcp", "TCP", &st.TCP)
	var l Link
	e.MIB("ustack_link", "Link", &l, Label{"interface", "eth0"})
	for _, f := range e.families {
		if len(f.samples) != 1 {
			t.Errorf("%s has %d samples: two fields fold onto one name", f.name, len(f.samples))
		}
	}
	var b bytes.Buffer
	if _, err := e.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := promcheck.Parse(&b); err != nil {
		t.Fatalf("exposition of every MIB does not parse: %v", err)
	}
}

func TestExpositionFormat(t *testing.T) {
	var tcp TCP
	tcp.RetransSegs.Add(7)
	tcp.CurrEstab.Set(3)
	var eth0, eth1 Link
	eth0.RxPackets.Add(10)
	eth1.RxPackets.Add(20)
	var e Exposition
	e.MIB("ustack_tcp", "TCP", &tcp)
	e.MIB("ustack_link", "Link", &eth0, Label{"interface", "eth0"})
	e.MIB("ustack_link", "Link", &eth1, Label{"interface", `we"ird\name` + "\n"})
	e.Gauge("ustack_odd", "Odd values:\nNaN and \\ infinities.", math.Inf(1), Label{"k", "inf"})
	e.Gauge("ustack_odd", "", math.NaN(), Label{"k", "nan"})
	e.Gauge("ustack_odd", "", 0.25, Label{"k", "quarter"})
	var b bytes.Buffer
	n, err := e.WriteTo(&b)
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d", n, err, b.Len())
	}
	out := b.String()
	for _, want := range []string{
		"# HELP ustack_tcp_retrans_segs_total TCP counter RetransSegs.\n# TYPE ustack_tcp_retrans_segs_total counter\nustack_tcp_retrans_segs_total 7\n",
		"# TYPE ustack_tcp_curr_estab gauge\nustack_tcp_curr_estab 3\n",
		"ustack_link_rx_packets_total{interface=\"eth0\"} 10\nustack_link_rx_packets_total{interface=\"we\\\"ird\\\\name\\n\"} 20\n",
		"# HELP ustack_odd Odd values:\\nNaN and \\\\ infinities.\n",
		"ustack_odd{k=\"inf\"} +Inf\nustack_odd{k=\"nan\"} NaN\nustack_odd{k=\"quarter\"} 0.25\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q:\n%s", want, out)
		}
	}
	x, err := promcheck.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, out)
	}
	if v, ok := x.Value("ustack_link_rx_packets_total", "interface", "we\"ird\\name\n"); !ok || v != 20 {
		t.Errorf("parsed eth1 rx packets = %v, %v; want 20 (label escaping round trip)", v, ok)
	}
	if f := x.Family("ustack_tcp_in_segs_total"); f == nil || f.Type != "counter" || len(f.Samples) != 1 {
		t.Errorf("family ustack_tcp_in_segs_total = %+v, want one counter sample", f)
	}
}

func TestExpositionPanicsOnMisuse(t *testing.T) {
	for name, fn := range map[string]func(e *Exposition){
		"bad name":       func(e *Exposition) { e.Gauge("9lives", "", 1) },
		"bad label":      func(e *Exposition) { e.Gauge("ok", "", 1, Label{"a-b", "x"}) },
		"reserved label": func(e *Exposition) { e.Gauge("ok", "", 1, Label{"__name__", "x"}) },
		"type clash":     func(e *Exposition) { e.Gauge("x_total", "", 1); e.Counter("x_total", "", 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn(new(Exposition))
		}()
	}
}

// The checker itself refuses what the format forbids.
func TestPromcheckRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no type":      "x 1\n",
		"split family": "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{l=\"2\"} 2\n",
		"dup series":   "# TYPE a gauge\na{l=\"1\"} 1\na{l=\"1\"} 2\n",
		"bad value":    "# TYPE a gauge\na one\n",
		"unquoted":     "# TYPE a gauge\na{l=1} 1\n",
		"bad escape":   "# TYPE a gauge\na{l=\"\\t\"} 1\n",
		"type late":    "# TYPE a gauge\na 1\n# TYPE a gauge\n",
	} {
		if _, err := promcheck.Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: Parse(%q) = nil error", name, in)
		}
	}
}

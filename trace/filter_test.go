package trace

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"ustack/wire"
)

// synTo80 is a SYN from 10.0.0.2:5000 to 10.0.0.1:80, as tcp:::receive
// reports it.
func synTo80() *Event {
	return &Event{
		Probe: &Probe{Provider: "tcp", Name: "receive"}, PktID: 7, Dev: "eth0", Len: 0, Proto: 6,
		Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1"), SrcPort: 5000, DstPort: 80,
		Segment: true, Seq: 1000, Flags: wire.TCPFlagSYN, Window: 64240,
	}
}

func TestFilterMatch(t *testing.T) {
	syn := synTo80()
	data := synTo80()
	data.Flags, data.Len, data.Seq, data.Ack = wire.TCPFlagACK|wire.TCPFlagPSH, 1448, 1001, 99
	state := &Event{Probe: &Probe{Provider: "tcp", Name: "state-change"}, OldState: "SYN_RCVD", NewState: "ESTABLISHED"}
	cwnd := &Event{Probe: &Probe{Provider: "tcp", Name: "cwnd"}, CWnd: 14480, SRTT: 12 * time.Millisecond}
	drop := &Event{Probe: &Probe{Provider: "ip", Name: "drop"}, Reason: "bad header checksum", Dev: "eth1"}
	for _, tc := range []struct {
		filter string
		e      *Event
		want   bool
	}{
		{"port == 80 && flags & SYN", syn, true},
		{"port == 80 && flags & SYN", data, false},
		{"port == 5000", syn, true},
		{"port != 80", syn, false},
		{"port != 81", syn, true},
		{"80 == port", syn, true},
		{"dport == 80 && sport == 5000", syn, true},
		{"flags == SYN", syn, true},
		{"flags & SYN|ACK", data, true},
		{"flags & SYN|ACK == SYN|ACK", data, false},
		{"flags & (PSH|ACK) == PSH|ACK", data, true},
		{"!(flags & RST)", syn, true},
		{"!flags", syn, false},
		{"src == 10.0.0.2", syn, true},
		{"src == 10.0.0.0/24 && dst != 10.0.0.0/24", syn, false},
		{"host == 10.0.0.1", syn, true},
		{"host != 10.0.0.1", syn, false},
		{"host == 192.168.0.0/16", syn, false},
		{"len > 1000", data, true},
		{"len >= 1448 && len <= 1448 && len < 1449", data, true},
		{"seq == 1001 && ack == 99", data, true},
		{"window > 0xffff", syn, false},
		{"win == 64240", syn, true},
		{"proto == tcp", syn, true},
		{"proto == udp || proto == 17", syn, false},
		{"probe == \"tcp:::receive\"", syn, true},
		{"probe == \"tcp:::*\"", syn, true},
		{"provider == \"tcp\" && name == \"rec?ive\"", syn, true},
		{"probe == \"ip:::*\"", syn, false},
		{"dev == \"eth0\"", syn, true},
		{"state == ESTABLISHED", state, true},
		{"ESTABLISHED == state", state, true},
		{"oldstate == \"SYN_*\" && newstate != CLOSED", state, true},
		{"srtt > 10ms && cwnd >= 14480", cwnd, true},
		{"srtt > 0", cwnd, true},
		{"srtt < 1.5ms", cwnd, false},
		{"10ms < srtt", cwnd, true},
		{"reason == \"*checksum*\"", drop, true},
		{"reason == \"*checksum\"", drop, true},
		{"reason == \"checksum*\"", drop, false},
		{"pkt == 7 || pktid == 8", syn, true},
		{"packet == 8", syn, false},
		{"(port == 80 || port == 443) && !(flags & ACK)", syn, true},
		{"port == 80 || port == 443 && flags & ACK", syn, true},
		{"(port == 80) == (flags & SYN == SYN)", syn, true},
	} {
		f, err := ParseFilter(tc.filter)
		if err != nil {
			t.Errorf("ParseFilter(%q) = %v", tc.filter, err)
			continue
		}
		if got := f.Match(tc.e); got != tc.want {
			t.Errorf("ParseFilter(%q).Match(%v) = %v, want %v", tc.filter, tc.e, got, tc.want)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	for _, tc := range []struct {
		filter string
		col    int
		msg    string
	}{
		{"port = 80", 6, "use =="},
		{"port == ", 9, "found end of filter"},
		{"prot == 80", 1, `unknown field "prot"`},
		{"flags & syn", 9, "the TCP flag is written SYN"},
		{"port", 1, "port stands for sport or dport"},
		{"port & 1", 1, "port stands for"},
		{"src", 1, "src is an address, not a condition"},
		{"dev", 1, "dev is a string, not a condition"},
		{"srtt > 10", 8, "give the number a unit"},
		{"src == 80", 5, "cannot compare src (an address) with 80 (a number)"},
		{"src < 10.0.0.0/8", 5, "use == or !="},
		{"dev < \"eth0\"", 5, "only with == and !="},
		{"a == b", 1, `unknown field "a"`},
		{"proto == sctp", 10, "proto takes a number or one of icmp, tcp, udp"},
		{"(port == 80", 12, "expected ) to close the ( at column 1"},
		{"port == 80)", 11, "unexpected \")\""},
		{"1 < len < 5", 9, "comparisons do not chain"},
		{"src == 10.0.0.256", 8, "not an IPv4 address"},
		{"src == 10.0.0.0/33", 8, "not an IPv4 prefix"},
		{"len == 12abc", 8, "not a number"},
		{"dev == \"eth0", 8, "unterminated string"},
		{"dev == 'eth0'", 8, "double quotes"},
		{"port == 80 && # x", 15, "unexpected character '#'"},
		{"!dev", 2, "not a condition"},
		{"port == host", 1, "compare host with a value, not with port"},
	} {
		_, err := ParseFilter(tc.filter)
		var fe *FilterError
		if !errors.As(err, &fe) || !errors.Is(err, ErrFilter) {
			t.Errorf("ParseFilter(%q) = %v, want a *FilterError", tc.filter, err)
			continue
		}
		if fe.Pos+1 != tc.col || !strings.Contains(fe.Msg, tc.msg) {
			t.Errorf("ParseFilter(%q) = %v, want column %d and %q", tc.filter, err, tc.col, tc.msg)
		}
	}
}

func TestFilterEmpty(t *testing.T) {
	for _, s := range []string{"", "  \t"} {
		f, err := ParseFilter(s)
		if f != nil || err != nil {
			t.Errorf("ParseFilter(%q) = %v, %v; want nil, nil", s, f, err)
		}
		if !f.Match(synTo80()) || f.String() != "" {
			t.Errorf("nil filter: Match false or String %q", f.String())
		}
	}
}

func TestFilterString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"port==80&&flags&SYN", "port == 80 && flags & SYN"},
		{"(a_b_c == 1)", ""}, // an error: checked below to stay an error
		{"flags & (SYN|ACK)", "flags & SYN|ACK"},
		{"(flags & SYN)|ACK", "(flags & SYN)|ACK"},
		{"a || (b && c)", ""},
		{"len > 1 || (len < 5 && seq == 0x10)", "len > 1 || len < 5 && seq == 16"},
		{"(len > 1 || len < 5) && seq == 1", "(len > 1 || len < 5) && seq == 1"},
		{"!(!(flags & RST))", "!!(flags & RST)"},
		{"state == ESTABLISHED", `state == "ESTABLISHED"`},
		{"src == 10.0.0.0/8 && proto == tcp", "src == 10.0.0.0/8 && proto == tcp"},
		{"srtt > 1500us", "srtt > 1.5ms"},
		{"srtt > 0", "srtt > 0s"},
		{"10ms < srtt", "srtt > 10ms"},
		{"80 == port", "port == 80"},
	} {
		f, err := ParseFilter(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseFilter(%q) = %v, want an error", tc.in, f)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFilter(%q) = %v", tc.in, err)
			continue
		}
		if got := f.String(); got != tc.want {
			t.Errorf("ParseFilter(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Matching allocates nothing, whatever the filter uses.
func TestFilterMatchAllocs(t *testing.T) {
	f := MustParseFilter(`(port == 80 || host == 10.0.0.0/8) && flags & SYN|ACK && probe == "tcp:::*" && srtt < 1s && dev != "lo"`)
	e := synTo80()
	e.Probe = New(nil).Probe("tcp", "receive")
	if n := testing.AllocsPerRun(1000, func() { f.Match(e) }); n != 0 {
		t.Errorf("Match allocates %v times, want 0", n)
	}
}

func BenchmarkFilterMatch(b *testing.B) {
	f := MustParseFilter("port == 80 && flags & SYN")
	e := synTo80()
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match(e) {
			b.Fatal("no match")
		}
	}
}

// FuzzFilter checks that no filter makes the parser or the matcher panic,
// and that a filter's canonical form parses back to itself.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"port == 80 && flags & SYN",
		"src == 10.0.0.0/8 || dst == 192.168.1.1",
		`probe == "tcp:::*" && !(flags & RST)`,
		"srtt > 1.5ms && cwnd < 0x10000",
		"state == TIME_WAIT",
		"(len > 1 || len < 5) && seq == 1",
		"flags & SYN|ACK == SYN|ACK",
		"proto == udp && host != 10.0.0.1",
		`reason == "*sum*"`,
		"1 < len < 5",
		"port = 80",
		`dev == "eth0`,
	} {
		f.Add(s)
	}
	events := []*Event{synTo80(), {}, {Probe: &Probe{Provider: "tcp", Name: "cwnd"}, CWnd: 1, SRTT: time.Millisecond}}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Pos < 0 || fe.Pos > len(s) {
				t.Fatalf("ParseFilter(%q) = %v, want a *FilterError within the filter", s, err)
			}
			return
		}
		for _, e := range events {
			flt.Match(e)
		}
		p1 := flt.String()
		again, err := ParseFilter(p1)
		if err != nil {
			t.Fatalf("ParseFilter(%q) ok, but its canonical form %q fails: %v", s, p1, err)
		}
		if p2 := again.String(); p2 != p1 {
			t.Fatalf("ParseFilter(%q): canonical form %q reparses as %q", s, p1, p2)
		}
		for _, e := range events {
			if flt.Match(e) != again.Match(e) {
				t.Fatalf("ParseFilter(%q) and its canonical form %q disagree on %v", s, p1, e)
			}
		}
	})
}

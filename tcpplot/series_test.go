package tcpplot

import (
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// handTrace is a short connection seen at its client, 10.0.0.1:40000,
// which sends 3,000 bytes to 10.0.0.2:80 (ISN 1000; the server's 5000):
// the handshake, three segments of which the first is lost, two
// duplicate ACKs, the retransmission, the ACK of all, and the FINs.
// Around it: an ip:::send event, a walk, a lost-events notice, a blank
// line, and 300 bytes received on another connection.
const handTrace = `{"time":"2025-01-01T00:00:00Z","elapsed_ns":0,"probe":"tcp:::send","pkt_id":1,"len":0,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":1000,"ack":0,"flags":"SYN","window":65535,"wscale":0}
{"elapsed_ns":5000,"probe":"ip:::send","pkt_id":1,"len":60,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2"}
{"elapsed_ns":1000000,"probe":"tcp:::receive","pkt_id":2,"len":0,"proto":6,"src":"10.0.0.2","dst":"10.0.0.1","sport":80,"dport":40000,"seq":5000,"ack":1001,"flags":"SYN|ACK","window":29200,"wscale":0}
{"elapsed_ns":1000100,"probe":"tcp:::send","pkt_id":3,"len":0,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":1001,"ack":5001,"flags":"ACK","window":65536,"wscale":7}
{"elapsed_ns":2000000,"probe":"tcp:::send","pkt_id":4,"len":1000,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":1001,"ack":5001,"flags":"PSH|ACK","window":65536,"wscale":7}
{"elapsed_ns":2000100,"probe":"tcp:::send","pkt_id":5,"len":1000,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":2001,"ack":5001,"flags":"ACK","window":65536,"wscale":7}
{"elapsed_ns":2200000,"probe":"tcp:::cwnd","len":0,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"cwnd":14600,"ssthresh":2147483647,"srtt_ns":1000000,"rttvar_ns":500000,"reason":"ack"}
{"elapsed_ns":2500000,"probe":"tcp:::send","pkt_id":6,"len":1000,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":3001,"ack":5001,"flags":"PSH|ACK","window":65536,"wscale":7}

{"pkt_id":4,"steps":[{"elapsed_ns":2000000,"probe":"tcp:::send","len":1000}]}
{"elapsed_ns":3000000,"probe":"tcp:::receive","pkt_id":7,"len":0,"proto":6,"src":"10.0.0.2","dst":"10.0.0.1","sport":80,"dport":40000,"seq":5001,"ack":1001,"flags":"ACK","window":30000,"wscale":7}
{"elapsed_ns":3500000,"probe":"tcp:::receive","pkt_id":8,"len":0,"proto":6,"src":"10.0.0.2","dst":"10.0.0.1","sport":80,"dport":40000,"seq":5001,"ack":1001,"flags":"ACK","window":30000,"wscale":7}
{"lost":5,"total":5}
{"elapsed_ns":4000000,"probe":"tcp:::retransmit","pkt_id":9,"len":1000,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":1001,"ack":5001,"flags":"PSH|ACK","window":65536,"wscale":7}
{"elapsed_ns":4000000,"probe":"tcp:::send","pkt_id":9,"len":1000,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":1001,"ack":5001,"flags":"PSH|ACK","window":65536,"wscale":7}
{"elapsed_ns":4000500,"probe":"tcp:::cwnd","len":0,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"cwnd":7300,"ssthresh":7300,"srtt_ns":1100000,"rttvar_ns":400000,"reason":"fast retransmit"}
{"elapsed_ns":5000000,"probe":"tcp:::receive","pkt_id":10,"len":0,"proto":6,"src":"10.0.0.2","dst":"10.0.0.1","sport":80,"dport":40000,"seq":5001,"ack":4001,"flags":"ACK","window":31000,"wscale":7}
{"elapsed_ns":5500000,"probe":"tcp:::receive","pkt_id":11,"len":300,"proto":6,"src":"10.0.0.3","dst":"10.0.0.1","sport":5000,"dport":22,"seq":77,"ack":1,"flags":"PSH|ACK","window":1000,"wscale":0}
{"elapsed_ns":6000000,"probe":"tcp:::send","pkt_id":12,"len":0,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"seq":4001,"ack":5001,"flags":"FIN|ACK","window":65536,"wscale":7}
{"elapsed_ns":7000000,"probe":"tcp:::receive","pkt_id":13,"len":0,"proto":6,"src":"10.0.0.2","dst":"10.0.0.1","sport":80,"dport":40000,"seq":5001,"ack":4002,"flags":"FIN|ACK","window":31000,"wscale":7}
{"elapsed_ns":8000000,"probe":"tcp:::state-change","len":0,"proto":6,"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":80,"old_state":"FIN_WAIT_2","new_state":"TIME_WAIT"}
`

func ms(f float64) time.Duration { return time.Duration(math.Round(f * 1e6)) }

func readHand(t *testing.T) *Trace {
	t.Helper()
	tr, err := Read(strings.NewReader(handTrace))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return tr
}

var (
	client = netip.MustParseAddrPort("10.0.0.1:40000")
	server = netip.MustParseAddrPort("10.0.0.2:80")
	other  = netip.MustParseAddrPort("10.0.0.3:5000")
	sshd   = netip.MustParseAddrPort("10.0.0.1:22")
)

func TestRead(t *testing.T) {
	tr := readHand(t)
	if len(tr.Events) != 17 || tr.Others != 1 || tr.Walks != 1 || tr.Lost != 5 {
		t.Errorf("Read: %d tcp events, %d others, %d walks, %d lost; want 17, 1, 1, 5", len(tr.Events), tr.Others, tr.Walks, tr.Lost)
	}
	if e := tr.Events[1]; e.Probe != "tcp:::receive" || *e.Flags != "SYN|ACK" || *e.Ack != 1001 || *e.Window != 29200 || e.ElapsedNS != 1e6 {
		t.Errorf("event 1: %+v, want the SYN-ACK", e)
	}
	for _, in := range []string{"", "\n\n", "not json\n", "ustack trace: 3 events lost\n"} {
		if _, err := Read(strings.NewReader(in)); !errors.Is(err, ErrNotTrace) {
			t.Errorf("Read(%q) = %v, want ErrNotTrace", in, err)
		}
	}
	if _, err := Read(strings.NewReader(handTrace + "{broken\n")); err == nil || !strings.Contains(err.Error(), "line 22") {
		t.Errorf("Read(trace + broken line) = %v, want an error naming line 22", err)
	}
}

func TestFlows(t *testing.T) {
	tr := readHand(t)
	want := []Flow{
		{Src: client, Dst: server, At: AtSender, Segments: 4, Bytes: 4000},
		{Src: server, Dst: client, At: AtReceiver},
		{Src: other, Dst: sshd, At: AtReceiver, Segments: 1, Bytes: 300},
	}
	if got := tr.Flows(); !reflect.DeepEqual(got, want) {
		t.Errorf("Flows() = %+v, want %+v", got, want)
	}
	if f, ok := tr.Busiest(); !ok || f != want[0] {
		t.Errorf("Busiest() = %+v, %v; want %+v", f, ok, want[0])
	}
	for _, tc := range []struct {
		spec string
		want Flow
		err  string
	}{
		{"1", want[0], ""},
		{"3", want[2], ""},
		{"10.0.0.1:40000-10.0.0.2:80", want[0], ""},
		{"10.0.0.1:40000->10.0.0.2:80", want[0], ""},
		{"10.0.0.2:80-10.0.0.1:40000", want[0], ""}, // the direction with data
		{"10.0.0.1:22-10.0.0.3:5000", want[2], ""},
		{"0", Flow{}, "no flow 0"},
		{"4", Flow{}, "no flow 4"},
		{"10.0.0.1:1-10.0.0.2:80", Flow{}, "no segment between"},
		{"10.0.0.1-10.0.0.2", Flow{}, "bad flow"},
	} {
		got, err := tr.Find(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Find(%q) = %v, %v; want an error with %q", tc.spec, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Find(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}

func TestExtractAtSender(t *testing.T) {
	tr := readHand(t)
	f, _ := tr.Busiest()
	s := Extract(tr, f, Options{})
	want := &Series{
		Flow: f, ISN: 1000,
		Segments: []Segment{
			{T: ms(2), Seq: 1, End: 1001},
			{T: ms(2.0001), Seq: 1001, End: 2001},
			{T: ms(2.5), Seq: 2001, End: 3001},
			{T: ms(4), Seq: 1, End: 1001, Retrans: true},
		},
		Retransmits: 1,
		SYN:         []Point{{0, 0}},
		FIN:         []Point{{ms(6), 3001}},
		Acks:        []Point{{ms(1), 1}, {ms(3), 1}, {ms(3.5), 1}, {ms(5), 3001}, {ms(7), 3002}},
		Window:      []Point{{ms(1), 29201}, {ms(3), 30001}, {ms(3.5), 30001}, {ms(5), 34001}, {ms(7), 34002}},
		CWnd:        []Point{{ms(2.2), 14600}, {ms(4.0005), 7300}},
		Ssthresh:    []Point{{ms(4.0005), 7300}}, // not the "infinite" one
		SRTT:        []Point{{ms(2.2), 1e6}, {ms(4.0005), 1.1e6}},
		RTTVar:      []Point{{ms(2.2), 5e5}, {ms(4.0005), 4e5}},
		Start:       0, End: ms(7),
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Extract:\n got %+v\nwant %+v", s, want)
	}

	abs := Extract(tr, f, Options{Absolute: true})
	if !abs.Absolute || abs.Segments[0].Seq != 1001 || abs.Segments[3].End != 2001 || abs.Acks[4].V != 4002 || abs.SYN[0].V != 1000 {
		t.Errorf("Extract(Absolute): segments %v, acks %v, SYN %v; want wire numbers", abs.Segments, abs.Acks, abs.SYN)
	}
}

// A flow seen at its receiver: the data are tcp:::receive's, the ACKs
// tcp:::send's; a segment below the highest byte received is taken for
// a retransmission; no cwnd (the sender's).
func TestExtractAtReceiver(t *testing.T) {
	const trace = `{"elapsed_ns":1000,"probe":"tcp:::receive","len":100,"src":"10.0.0.3","dst":"10.0.0.1","sport":5000,"dport":22,"seq":500,"ack":1,"flags":"ACK","window":1000,"wscale":0}
{"elapsed_ns":2000,"probe":"tcp:::receive","len":100,"src":"10.0.0.3","dst":"10.0.0.1","sport":5000,"dport":22,"seq":700,"ack":1,"flags":"ACK","window":1000,"wscale":0}
{"elapsed_ns":2500,"probe":"tcp:::send","len":0,"src":"10.0.0.1","dst":"10.0.0.3","sport":22,"dport":5000,"seq":1,"ack":600,"flags":"ACK","window":8192,"wscale":0}
{"elapsed_ns":3000,"probe":"tcp:::receive","len":100,"src":"10.0.0.3","dst":"10.0.0.1","sport":5000,"dport":22,"seq":600,"ack":1,"flags":"ACK","window":1000,"wscale":0}
{"elapsed_ns":3500,"probe":"tcp:::send","len":0,"src":"10.0.0.1","dst":"10.0.0.3","sport":22,"dport":5000,"seq":1,"ack":800,"flags":"ACK","window":8192,"wscale":0}
{"elapsed_ns":4000,"probe":"tcp:::cwnd","len":0,"src":"10.0.0.1","dst":"10.0.0.3","sport":22,"dport":5000,"cwnd":100,"ssthresh":100,"srtt_ns":1,"rttvar_ns":1}
`
	tr, err := Read(strings.NewReader(trace))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := tr.Busiest()
	if f.Src != other || f.At != AtReceiver || f.Bytes != 300 {
		t.Fatalf("Busiest() = %+v, want 10.0.0.3:5000 -> 10.0.0.1:22 at the receiver, 300 bytes", f)
	}
	s := Extract(tr, f, Options{})
	wantSegs := []Segment{{T: 1000, Seq: 0, End: 100}, {T: 2000, Seq: 200, End: 300}, {T: 3000, Seq: 100, End: 200, Retrans: true}}
	wantAcks := []Point{{2500, 100}, {3500, 300}}
	if s.ISN != 500 || !reflect.DeepEqual(s.Segments, wantSegs) || !reflect.DeepEqual(s.Acks, wantAcks) || s.Retransmits != 1 || len(s.CWnd) != 0 {
		t.Errorf("Extract at the receiver: ISN %d segments %v acks %v retransmits %d cwnd %v; want 500, %v, %v, 1, none",
			s.ISN, s.Segments, s.Acks, s.Retransmits, s.CWnd, wantSegs, wantAcks)
	}
	if want := []Point{{2500, 8292}, {3500, 8492}}; !reflect.DeepEqual(s.Window, want) {
		t.Errorf("Window = %v, want %v", s.Window, want)
	}
}

// Offsets keep growing across the 2^32 wrap of sequence numbers.
func TestExtractWraps(t *testing.T) {
	const trace = `{"elapsed_ns":1,"probe":"tcp:::send","len":0,"src":"10.0.0.1","dst":"10.0.0.2","sport":1,"dport":2,"seq":4294967000,"ack":0,"flags":"SYN","window":1000,"wscale":0}
{"elapsed_ns":2,"probe":"tcp:::send","len":1000,"src":"10.0.0.1","dst":"10.0.0.2","sport":1,"dport":2,"seq":4294967001,"ack":1,"flags":"ACK","window":1000,"wscale":0}
{"elapsed_ns":3,"probe":"tcp:::receive","len":0,"src":"10.0.0.2","dst":"10.0.0.1","sport":2,"dport":1,"seq":1,"ack":705,"flags":"ACK","window":1000,"wscale":0}
`
	tr, err := Read(strings.NewReader(trace))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := tr.Busiest()
	s := Extract(tr, f, Options{})
	if want := []Segment{{T: 2, Seq: 1, End: 1001}}; !reflect.DeepEqual(s.Segments, want) {
		t.Errorf("segments %v, want %v", s.Segments, want)
	}
	if want := []Point{{3, 1001}}; !reflect.DeepEqual(s.Acks, want) {
		t.Errorf("acks %v, want %v", s.Acks, want)
	}
}

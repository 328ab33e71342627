package trace

import (
	"testing"
	"time"

	"ustack/clock"
)

func TestSubscribeMatchesNowAndLater(t *testing.T) {
	clk := clock.NewManual(time.Unix(100, 0))
	tr := New(clk)
	recv := tr.Probe("ip", "receive")
	drop := tr.Probe("ip", "drop")
	if recv.Enabled() || drop.Enabled() {
		t.Fatal("probes enabled before any subscription")
	}
	var got []string
	var stamped time.Time
	cancel := tr.Subscribe("ip:::drop", func(e *Event) {
		got = append(got, e.Probe.FullName()+" "+e.Reason)
		stamped = e.Time
	})
	if recv.Enabled() || !drop.Enabled() {
		t.Fatalf("after subscribing ip:::drop: receive enabled=%v drop enabled=%v", recv.Enabled(), drop.Enabled())
	}
	var all []string
	cancelAll := tr.Subscribe("*:::*", func(e *Event) { all = append(all, e.Probe.FullName()) })
	udp := tr.Probe("udp", "send") // registered after the subscription
	drop.Fire(&Event{Reason: "bad checksum"})
	if stamped != clk.Now() {
		t.Fatalf("event time = %v, want clock time %v", stamped, clk.Now())
	}
	udp.Fire(&Event{})
	recv.Fire(&Event{})
	if len(got) != 1 || got[0] != "ip:::drop bad checksum" {
		t.Fatalf("ip:::drop listener got %v", got)
	}
	if len(all) != 3 {
		t.Fatalf("*:::* listener got %v, want 3 events", all)
	}
	cancel()
	cancelAll()
	cancelAll()
	for _, p := range tr.Probes() {
		if p.Enabled() {
			t.Fatalf("%s still enabled after every cancel", p.FullName())
		}
	}
}

func TestMatch(t *testing.T) {
	p := &Probe{Provider: "tcp", Name: "state-change"}
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{"tcp:::state-change", true},
		{"tcp:::*", true},
		{"tcp", true},
		{"*:::state-*", true},
		{"tcp::state-change", true},
		{"udp:::*", false},
		{"tcp:::send", false},
		{":::state-change", true},
	} {
		if got := Match(tc.pattern, p); got != tc.want {
			t.Errorf("Match(%q, tcp:::state-change) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
}

func BenchmarkDisabledProbe(b *testing.B) {
	tr := New(nil)
	p := tr.Probe("ip", "receive")
	n := 0
	for i := 0; i < b.N; i++ {
		if p.Enabled() {
			n++
		}
	}
	if n != 0 {
		b.Fatal("disabled probe reported enabled")
	}
}

package stats

import "testing"

func TestWalkVisitsCountersInOrder(t *testing.T) {
	var ip IP
	ip.InReceives.Add(3)
	ip.InHdrErrors.Inc()
	ip.ReasmMemory.Set(-1)
	var names []string
	got := map[string]int64{}
	Walk(&ip, func(n string, v int64) { names = append(names, n); got[n] = v })
	if names[0] != "InReceives" || names[1] != "InHdrErrors" {
		t.Fatalf("Walk order starts %v, want InReceives, InHdrErrors", names[:2])
	}
	if got["InReceives"] != 3 || got["InHdrErrors"] != 1 || got["ReasmMemory"] != -1 {
		t.Fatalf("Walk values = %v", got)
	}
	if got := Snapshot(&ip)["InReceives"]; got != 3 {
		t.Fatalf("Snapshot InReceives = %d, want 3", got)
	}
	Walk(42, func(string, int64) { t.Fatal("Walk of a non-struct visited a field") })
	Walk(&names, func(string, int64) { t.Fatal("Walk of a pointer to a non-struct visited a field") })
}

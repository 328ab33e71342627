package tcp

import (
	"testing"
	"unsafe"
)

// endpointBudget is the largest Endpoint that fits the 1280-byte size
// class: Go puts an 8-byte header before every object over 512 bytes
// that holds pointers, and rounds the sum up to a class (…, 1152, 1280,
// 1408, …). One byte more costs every socket 128.
const endpointBudget = 1280 - 8

// TestEndpointSize guards the memory of an idle connection (the Endpoint
// is most of it; see netsim's BenchmarkIdleConnMemory).
func TestEndpointSize(t *testing.T) {
	if n := unsafe.Sizeof(Endpoint{}); n > endpointBudget {
		t.Errorf("Endpoint is %d bytes, over its budget of %d: each socket now takes the next size class. "+
			"Make room first — the struct has padding between small fields (fieldalignment shows it), "+
			"time.Time fields that could be durations from the epoch, ints that could be int32 — or raise the budget knowingly.",
			n, endpointBudget)
	}
}

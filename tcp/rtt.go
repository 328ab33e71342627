package tcp

// Round-trip time estimation and the retransmission timeout.
//
// Read before editing: RFC 6298 (SRTT, RTTVAR, RTO; Karn's algorithm;
// backoff), RFC 7323 §4 (RTTM with timestamps). Linux: tcp_rtt_estimator,
// tcp_set_rto, with TCP_RTO_MIN 200ms and TCP_RTO_MAX 120s.

import "time"

const (
	initialRTO = time.Second       // RFC 6298 §2.1
	maxRTO     = 120 * time.Second // TCP_RTO_MAX
	clockG     = time.Millisecond  // clock granularity G
)

// rttState is RFC 6298's estimator.
type rttState struct {
	srtt, rttvar time.Duration
	measured     bool
	rto          time.Duration // current RTO, before backoff
	minRTO       time.Duration
}

func (r *rttState) init(minRTO time.Duration) {
	r.minRTO = minRTO
	r.rto = initialRTO
}

// sample feeds one RTT measurement R (RFC 6298 §2.2, §2.3).
func (r *rttState) sample(R time.Duration) {
	if R <= 0 {
		R = time.Microsecond
	}
	if !r.measured {
		r.srtt, r.rttvar, r.measured = R, R/2, true
	} else {
		d := r.srtt - R
		if d < 0 {
			d = -d
		}
		r.rttvar = (3*r.rttvar + d) / 4 // beta = 1/4
		r.srtt = (7*r.srtt + R) / 8     // alpha = 1/8
	}
	r.rto = r.srtt + max(clockG, 4*r.rttvar)
	r.rto = min(max(r.rto, r.minRTO), maxRTO)
}

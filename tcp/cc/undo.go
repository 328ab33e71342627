package cc

// Undo: taking back a window reduction that proved spurious.
//
// Read before editing: RFC 3708 §3 (D-SACK shows a retransmission was
// unnecessary), RFC 4015 §3 (the Eifel response: restore the window),
// RFC 9438 §4.9 (CUBIC after a spurious congestion event: restore cwnd,
// ssthresh, W_max, K, the epoch and the Reno-friendly estimate as they
// were). cf. Linux tcp_undo_cwnd_reduction and the undo_cwnd hook of
// tcp_congestion_ops.
//
// The connection decides when a reduction was spurious; the algorithm
// only saves its state before OnCongestion or OnTimeout and restores it.
// Restoring the whole state is RFC 9438 §4.9's choice for CUBIC and, for
// NewReno, Linux's (cwnd and ssthresh as before the reduction).

// Undoer is implemented by algorithms that can restore the state they
// had before a reduction. The connection calls SaveUndo before
// OnCongestion or OnTimeout; later, if the reduction proves spurious and
// Restorable says the saved window is the larger, Undo, then SetMSS with
// the current MSS.
type Undoer interface {
	// SaveUndo returns the algorithm's state.
	SaveUndo() any
	// Restorable reports whether saved (from SaveUndo on this instance)
	// would give a larger window than the current one: an undo never
	// shrinks the window.
	Restorable(saved any) bool
	// Undo restores saved.
	Undo(saved any)
}

var (
	_ Undoer = (*CUBIC)(nil)
	_ Undoer = (*NewReno)(nil)
)

// SaveUndo implements Undoer.
func (c *CUBIC) SaveUndo() any { s := *c; return &s }

// Restorable implements Undoer.
func (c *CUBIC) Restorable(saved any) bool {
	s, ok := saved.(*CUBIC)
	return ok && s.Cwnd() > c.Cwnd()
}

// Undo implements Undoer. The restored epoch, if one was running, goes
// on; the gap in its ACKs is left out of t as after any pause (OnAck).
func (c *CUBIC) Undo(saved any) {
	if s, ok := saved.(*CUBIC); ok {
		*c = *s
	}
}

// SaveUndo implements Undoer.
func (r *NewReno) SaveUndo() any { s := *r; return &s }

// Restorable implements Undoer.
func (r *NewReno) Restorable(saved any) bool {
	s, ok := saved.(*NewReno)
	return ok && s.cwnd > r.cwnd
}

// Undo implements Undoer.
func (r *NewReno) Undo(saved any) {
	if s, ok := saved.(*NewReno); ok {
		*r = *s
	}
}

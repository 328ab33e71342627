package tcp

// The SACK scoreboard: what the peer reported holding above SND.UNA, so
// that recovery resends only the holes, one per arriving ACK, instead of
// one per round trip as NewReno alone does, and an RTO's go-back-N skips
// what the peer already has.
//
// Read before editing: RFC 2018 §5 (the sender's use of SACK; blocks are
// advisory until cumulatively acknowledged), RFC 6675 (the scoreboard,
// IsLost, NextSeg; this is its first rule — resend a hole below SACKed
// data — without the pipe estimate, cwnd staying NewReno's), RFC 5961 §5
// (validate what a peer reports). Linux: tcp_sacktag_write_queue,
// tcp_mark_head_lost.

import (
	"ustack/seqnum"
	"ustack/wire"
)

type seqRange struct{ start, end seqnum.Value }

// scoreboard is the SACKed ranges above SND.UNA, sorted and disjoint.
type scoreboard struct {
	r       []seqRange
	highRxt seqnum.Value // end of the highest hole resent in this recovery
}

// add merges the blocks of an arriving ACK, ignoring any not within
// (una, max].
func (sb *scoreboard) add(blocks []wire.SACKBlock, una, maxSeq seqnum.Value) {
	for _, b := range blocks {
		l, r := seqnum.Value(b.Left), seqnum.Value(b.Right)
		if !l.LessThan(r) || !una.LessThan(r) || maxSeq.LessThan(r) {
			continue
		}
		if l.LessThan(una) {
			l = una
		}
		sb.insert(l, r)
	}
}

func (sb *scoreboard) insert(l, r seqnum.Value) {
	out := sb.r[:0]
	i := 0
	for ; i < len(sb.r) && sb.r[i].end.LessThan(l); i++ {
		out = append(out, sb.r[i])
	}
	for ; i < len(sb.r) && sb.r[i].start.LessThanEq(r); i++ {
		l, r = seqnum.Min(l, sb.r[i].start), seqnum.Max(r, sb.r[i].end)
	}
	rest := append([]seqRange(nil), sb.r[i:]...)
	out = append(out, seqRange{l, r})
	sb.r = append(out, rest...)
}

// ack forgets ranges now below SND.UNA.
func (sb *scoreboard) ack(una seqnum.Value) {
	k := 0
	for k < len(sb.r) && sb.r[k].end.LessThanEq(una) {
		k++
	}
	if k > 0 {
		sb.r = append(sb.r[:0], sb.r[k:]...)
	}
	if len(sb.r) > 0 && sb.r[0].start.LessThan(una) {
		sb.r[0].start = una
	}
}

func (sb *scoreboard) clear() { sb.r = sb.r[:0] }

// sacked returns the range holding seq, if any.
func (sb *scoreboard) sacked(seq seqnum.Value) (seqRange, bool) {
	for _, x := range sb.r {
		if x.start.LessThanEq(seq) && seq.LessThan(x.end) {
			return x, true
		}
		if seq.LessThan(x.start) {
			break
		}
	}
	return seqRange{}, false
}

// nextSacked returns the start of the first SACKed range above seq.
func (sb *scoreboard) nextSacked(seq seqnum.Value) (seqnum.Value, bool) {
	for _, x := range sb.r {
		if seq.LessThan(x.start) {
			return x.start, true
		}
	}
	return 0, false
}

// nextHole returns the first unSACKed sequence number at or above from
// that lies below some SACKed data (RFC 6675 NextSeg rule 1, with any
// SACKed data above counting as evidence of loss).
func (sb *scoreboard) nextHole(from seqnum.Value) (seqnum.Value, bool) {
	for _, x := range sb.r {
		if from.LessThan(x.start) {
			return from, true
		}
		if from.LessThan(x.end) {
			from = x.end
		}
	}
	return 0, false
}

// retransmitHoleLocked resends the next hole of the scoreboard, if any,
// and reports whether it did.
func (ep *Endpoint) retransmitHoleLocked() bool {
	from := seqnum.Max(ep.snd.UNA, ep.sb.highRxt)
	seq, ok := ep.sb.nextHole(from)
	if !ok || !seq.LessThan(ep.snd.MAX) {
		return false
	}
	n := ep.retransmitAtLocked(seq)
	if n == 0 {
		return false
	}
	ep.sb.highRxt = seq.Add(seqnum.Size(n))
	ep.p.stats.FastRetrans.Inc()
	return true
}

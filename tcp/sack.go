package tcp

// The SACK scoreboard: what the peer reported holding above SND.UNA, and
// the sender-side variables of RFC 6675 that are derived from it. The
// loss recovery that uses them is in recovery.go.
//
// Read before editing: RFC 2018 §5 (the sender's use of SACK; blocks are
// advisory until cumulatively acknowledged) and §8 (reneging), RFC 2883
// §5 (recognising a D-SACK block), RFC 6675 §2 (DupThresh, HighACK,
// HighData, HighRxt, RescueRxt, Pipe) and §4 (Update, IsLost, SetPipe,
// NextSeg), RFC 5961 §5 (validate what a peer reports). Linux:
// tcp_sacktag_write_queue, tcp_is_sackblock_valid, tcp_check_dsack,
// tcp_mark_head_lost, tcp_packets_in_flight.
//
// Representation and cost. The scoreboard is a sorted slice of disjoint
// SACKed byte ranges above SND.UNA, not a per-segment list: every query
// and update costs O(B) or O(log B) in the number B of ranges (at most
// the number of holes the peer reported, a handful in practice), never
// O(segments in flight), and none allocates once the slice has grown:
//
//	update (merge the blocks of one ACK)   O(k·(log B + B)) for k ≤ 4 blocks (the B: slices.Replace)
//	ack (forget what SND.UNA passed)       O(B)
//	IsLost                                 O(log B), against lostEnd
//	lostEnd (recomputed by update and ack) O(B)
//	SetPipe                                O(B)
//	NextSeg (nextUnsacked)                 O(log B)
//	sacked / nextSacked (output.go)        O(log B)
//
// IsLost is monotone: if an unSACKed sequence number is lost, so is every
// unSACKed one below it (it has at least as much SACKed data above). So
// the scoreboard keeps one boundary, lostEnd, the start of the lowest
// range such that the ranges from it upwards satisfy RFC 6675's test;
// IsLost(s) is then "s is not SACKed and s < lostEnd", and SetPipe is
// arithmetic on three prefix sums of SACKed bytes (below lostEnd, below
// HighRxt, below HighData).

import (
	"slices"
	"sort"

	"ustack/seqnum"
	"ustack/wire"
)

// seqRange is [start, end) in sequence space. In the scoreboard, segs
// counts the ACKs whose SACK blocks grew the range: an estimate of how
// many segments it holds, for IsLost's "DupThresh discontiguous SACKed
// sequences" when segments are shorter than SMSS.
type seqRange struct {
	start, end seqnum.Value
	segs       int
}

func (r seqRange) len() seqnum.Size { return r.end.Sub(r.start) }

// scoreboard is the SACKed ranges above SND.UNA, sorted and disjoint, with
// RFC 6675's recovery variables. HighACK is SND.UNA, HighData SND.MAX
// and RecoveryPoint Endpoint.recover; the ranges here are byte ranges,
// and HighRxt and RescueRxt are kept as the end (one past the highest
// octet) of what they name.
type scoreboard struct {
	r     []seqRange
	bytes seqnum.Size // SACKed bytes in r

	// lostEnd: every unSACKed sequence number below it is lost by RFC
	// 6675's IsLost (valid when hasLost).
	lostEnd seqnum.Value
	hasLost bool
	// ptoArmed: the RTO timer is set for a tail loss probe (tlp.go).
	ptoArmed bool

	// HighRxt is the end of the highest octet retransmitted in this
	// recovery (RFC 6675 §2), by NextSeg rules 1 and 3.
	HighRxt seqnum.Value
	// RescueRxt is the end of the highest octet retransmitted by rule 4
	// (or at the start of recovery, step 4.3); rule 4 waits until
	// SND.UNA is above it.
	RescueRxt seqnum.Value
	// headRxtMax is HighData when the segment at SND.UNA was last
	// retransmitted (valid while headRxt): once SACKs cover data sent
	// DupThresh segments after it, that retransmission was lost too.
	headRxtMax seqnum.Value
	// Pipe is the bytes RFC 6675's SetPipe counts in flight: unSACKed
	// and not lost, plus unSACKed and retransmitted. Recomputed per ACK,
	// incremented per segment sent (§5 step C.4).
	Pipe int

	// rtoLoss: after a retransmission timeout every unSACKed sequence
	// number below Endpoint.recover is lost (RFC 6675 §5.1, "retransmit
	// all not-SACKed"; cf. tcp_timeout_mark_lost) until SND.UNA reaches it.
	rtoLoss bool
	headRxt bool
	// A tail loss probe is out until SND.UNA reaches tlpHigh (RFC
	// 8985's TLPRxtOut and TLPHighSeq); tlpDSACK: the peer reported the
	// probe as a duplicate, so nothing was lost (tlp.go).
	tlpOut   bool
	tlpDSACK bool
	tlpHigh  seqnum.Value

	undo undoState // the spurious-retransmission undo episode (recovery.go)
}

// validBlock reports whether a SACK block b may enter the scoreboard: it
// lies above SND.UNA and within what was sent (RFC 2018 §3, RFC 5961 §5;
// cf. tcp_is_sackblock_valid, which also refuses a block starting at
// SND.UNA: the peer cannot hold it without acknowledging it).
func validBlock(b wire.SACKBlock, una, maxSeq seqnum.Value) bool {
	l, r := seqnum.Value(b.Left), seqnum.Value(b.Right)
	return una.LessThan(l) && l.LessThan(r) && r.LessThanEq(maxSeq)
}

// isDSACK reports whether the first of blocks, those of an ACK whose
// cumulative acknowledgment is ack, reports duplicate data (RFC 2883 §5):
// it lies below the cumulative ACK, or within the second block.
func isDSACK(blocks []wire.SACKBlock, ack seqnum.Value) bool {
	if len(blocks) == 0 {
		return false
	}
	l, r := seqnum.Value(blocks[0].Left), seqnum.Value(blocks[0].Right)
	if l.LessThan(ack) {
		return true
	}
	if len(blocks) > 1 {
		l2, r2 := seqnum.Value(blocks[1].Left), seqnum.Value(blocks[1].Right)
		return l2.LessThanEq(l) && r.LessThanEq(r2)
	}
	return false
}

// update is RFC 6675's Update(): it merges the SACK blocks of one ACK
// (the D-SACK block already taken off) and returns the bytes newly
// SACKed (the ACK is a "duplicate acknowledgment" in RFC 6675 §2's sense
// when this is positive) and the number of blocks refused as invalid.
// Blocks wholly below SND.UNA, from an ACK the network reordered, are
// old news, ignored without counting (as tcp_sacktag_write_queue does).
func (sb *scoreboard) update(blocks []wire.SACKBlock, una, maxSeq seqnum.Value, smss int) (newly seqnum.Size, invalid int) {
	for _, b := range blocks {
		if !validBlock(b, una, maxSeq) {
			if r := seqnum.Value(b.Right); !r.LessThanEq(una) || !seqnum.Value(b.Left).LessThan(r) {
				invalid++
			}
			continue
		}
		newly += sb.insert(seqnum.Value(b.Left), seqnum.Value(b.Right))
	}
	if newly > 0 {
		sb.setLostEnd(smss)
	}
	return newly, invalid
}

// search returns the index of the first range whose end is at or above
// seq: the range holding seq, touching it from below, or the first above.
func (sb *scoreboard) search(seq seqnum.Value) int {
	return sort.Search(len(sb.r), func(i int) bool { return seq.LessThanEq(sb.r[i].end) })
}

// insert merges [l, r) and returns the bytes it added.
func (sb *scoreboard) insert(l, r seqnum.Value) seqnum.Size {
	i := sb.search(l) // first range that ends at or above l
	j := i            // first range that starts beyond r
	var old seqnum.Size
	segs := 1
	for ; j < len(sb.r) && sb.r[j].start.LessThanEq(r); j++ {
		old += sb.r[j].len()
		segs += sb.r[j].segs
	}
	nr := seqRange{l, r, segs}
	if i < j {
		nr.start = seqnum.Min(l, sb.r[i].start)
		nr.end = seqnum.Max(r, sb.r[j-1].end)
	}
	added := nr.len() - old
	if added == 0 {
		return 0 // nothing new: within one range already held
	}
	sb.r = slices.Replace(sb.r, i, j, nr)
	sb.bytes += added
	return added
}

// ack forgets what SND.UNA has passed. It reports reneging: SND.UNA
// landing at or inside a range the peer had SACKed, so that the peer
// does not hold data it reported (RFC 2018 §8; cf. the head-SACKed test
// of tcp_check_sack_reneging and tcp_timeout_mark_lost).
func (sb *scoreboard) ack(una seqnum.Value, smss int) (reneged bool) {
	k := 0
	var gone seqnum.Size
	for k < len(sb.r) && sb.r[k].end.LessThanEq(una) {
		gone += sb.r[k].len()
		k++
	}
	if k > 0 {
		sb.r = slices.Delete(sb.r, 0, k)
		sb.bytes -= gone
	}
	if len(sb.r) > 0 && sb.r[0].start.LessThanEq(una) {
		return true
	}
	sb.setLostEnd(smss)
	return false
}

// clear forgets all SACK information (RFC 2018 §8 after reneging).
func (sb *scoreboard) clear() {
	sb.r = sb.r[:0]
	sb.bytes = 0
	sb.hasLost = false
	sb.headRxt = false
}

// setLostEnd recomputes lostEnd: walking down from the highest range,
// the first range at which the SACKed data from it upwards passes RFC
// 6675's IsLost test — DupThresh discontiguous SACKed sequences (here:
// ranges, or ACKs that grew them) or more than (DupThresh−1)·SMSS bytes.
func (sb *scoreboard) setLostEnd(smss int) {
	sb.hasLost = false
	var bytes seqnum.Size
	segs := 0
	for i := len(sb.r) - 1; i >= 0; i-- {
		bytes += sb.r[i].len()
		segs += max(sb.r[i].segs, 1)
		if len(sb.r)-i >= dupThresh || segs >= dupThresh || int(bytes) > (dupThresh-1)*smss {
			sb.lostEnd, sb.hasLost = sb.r[i].start, true
			return
		}
	}
}

// sackedBelow returns the SACKed bytes below seq.
func (sb *scoreboard) sackedBelow(seq seqnum.Value) seqnum.Size {
	var n seqnum.Size
	for _, x := range sb.r {
		if seq.LessThanEq(x.start) {
			break
		}
		if x.end.LessThanEq(seq) {
			n += x.len()
		} else {
			n += seq.Sub(x.start)
		}
	}
	return n
}

// unsacked returns the unSACKed bytes in [una, seq), seq ≥ una.
func (sb *scoreboard) unsacked(una, seq seqnum.Value) int {
	if seq.LessThanEq(una) {
		return 0
	}
	return int(seq.Sub(una)) - int(sb.sackedBelow(seq))
}

// highestSacked returns the end of the highest SACKed range.
func (sb *scoreboard) highestSacked() (seqnum.Value, bool) {
	if len(sb.r) == 0 {
		return 0, false
	}
	return sb.r[len(sb.r)-1].end, true
}

// sacked returns the range holding seq, if any.
func (sb *scoreboard) sacked(seq seqnum.Value) (seqRange, bool) {
	i := sort.Search(len(sb.r), func(i int) bool { return seq.LessThan(sb.r[i].end) })
	if i < len(sb.r) && sb.r[i].start.LessThanEq(seq) {
		return sb.r[i], true
	}
	return seqRange{}, false
}

// nextSacked returns the start of the first SACKed range above seq.
func (sb *scoreboard) nextSacked(seq seqnum.Value) (seqnum.Value, bool) {
	i := sort.Search(len(sb.r), func(i int) bool { return seq.LessThan(sb.r[i].start) })
	if i < len(sb.r) {
		return sb.r[i].start, true
	}
	return 0, false
}

// nextUnsacked returns the first unSACKed sequence number at or above
// from and below limit (NextSeg's search for a hole).
func (sb *scoreboard) nextUnsacked(from, limit seqnum.Value) (seqnum.Value, bool) {
	if r, ok := sb.sacked(from); ok {
		from = r.end
	}
	return from, from.LessThan(limit)
}

package tcp

import (
	"fmt"
	"testing"

	"ustack/seqnum"
	"ustack/wire"
)

// Scoreboard tests work in units of one 1000-byte segment above a base
// near the wrap of sequence space, so the arithmetic is checked across it.
const (
	sbBase = seqnum.Value(0xffffffff - 2500)
	sbSeg  = 1000
)

func sq(i int) seqnum.Value { return sbBase.Add(seqnum.Size(i * sbSeg)) }

func blk(from, to int) wire.SACKBlock {
	return wire.SACKBlock{Left: uint32(sq(from)), Right: uint32(sq(to))}
}

// sbOf builds a scoreboard from ranges given in segments, each with the
// number of ACKs that grew it (segs); lostEnd is computed.
func sbOf(rs ...[3]int) *scoreboard {
	sb := &scoreboard{}
	for _, r := range rs {
		sb.r = append(sb.r, seqRange{sq(r[0]), sq(r[1]), r[2]})
		sb.bytes += sq(r[1]).Sub(sq(r[0]))
	}
	sb.setLostEnd(sbSeg)
	return sb
}

func rangesOf(sb *scoreboard) string {
	s := ""
	for _, r := range sb.r {
		s += fmt.Sprintf("[%d,%d)x%d", int(r.start.Sub(sbBase))/sbSeg, int(r.end.Sub(sbBase))/sbSeg, r.segs)
	}
	return s
}

// TestScoreboardUpdate: RFC 6675's Update() merges valid blocks, reports
// the bytes newly SACKed (what makes an ACK a duplicate acknowledgment)
// and refuses blocks not within (SND.UNA, SND.MAX].
func TestScoreboardUpdate(t *testing.T) {
	cases := []struct {
		name        string
		have        [][3]int
		blocks      []wire.SACKBlock
		want        string
		newly, bad  int
		wantSacked  int
		wantHasLost bool
	}{
		{"first block", nil, []wire.SACKBlock{blk(2, 3)}, "[2,3)x1", 1, 0, 1, false},
		{"extends upwards", [][3]int{{2, 3, 1}}, []wire.SACKBlock{blk(2, 4)}, "[2,4)x2", 1, 0, 2, false},
		{"repeated: nothing new", [][3]int{{2, 4, 2}}, []wire.SACKBlock{blk(2, 4)}, "[2,4)x2", 0, 0, 2, false},
		{"inside: nothing new", [][3]int{{2, 5, 3}}, []wire.SACKBlock{blk(3, 4)}, "[2,5)x3", 0, 0, 3, true},
		{"second range", [][3]int{{2, 3, 1}}, []wire.SACKBlock{blk(5, 6)}, "[2,3)x1[5,6)x1", 1, 0, 2, false},
		{"below", [][3]int{{5, 6, 1}}, []wire.SACKBlock{blk(2, 3)}, "[2,3)x1[5,6)x1", 1, 0, 2, false},
		{"bridges two", [][3]int{{2, 3, 1}, {5, 6, 1}}, []wire.SACKBlock{blk(3, 5)}, "[2,6)x3", 2, 0, 4, true},
		{"covers several", [][3]int{{2, 3, 1}, {4, 5, 1}, {6, 7, 1}}, []wire.SACKBlock{blk(1, 8)}, "[1,8)x4", 4, 0, 7, true},
		{"touching merges", [][3]int{{2, 3, 1}}, []wire.SACKBlock{blk(3, 4)}, "[2,4)x2", 1, 0, 2, false},
		{"four blocks", nil, []wire.SACKBlock{blk(8, 9), blk(2, 3), blk(4, 5), blk(6, 7)}, "[2,3)x1[4,5)x1[6,7)x1[8,9)x1", 4, 0, 4, true},
		{"at SND.UNA: invalid", nil, []wire.SACKBlock{blk(0, 2)}, "", 0, 1, 0, false},
		{"below SND.UNA: invalid", nil, []wire.SACKBlock{blk(-2, 2)}, "", 0, 1, 0, false},
		{"wholly below SND.UNA: old, not counted", nil, []wire.SACKBlock{blk(-3, -1)}, "", 0, 0, 0, false},
		{"ending at SND.UNA: old, not counted", nil, []wire.SACKBlock{blk(-3, 0)}, "", 0, 0, 0, false},
		{"beyond SND.MAX: invalid", nil, []wire.SACKBlock{blk(9, 11)}, "", 0, 1, 0, false},
		{"reversed: invalid", nil, []wire.SACKBlock{blk(4, 3)}, "", 0, 1, 0, false},
		{"empty: invalid", nil, []wire.SACKBlock{blk(4, 4)}, "", 0, 1, 0, false},
		{"one of two invalid", nil, []wire.SACKBlock{blk(4, 5), blk(9, 12)}, "[4,5)x1", 1, 1, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sb := sbOf(c.have...)
			newly, bad := sb.update(c.blocks, sq(0), sq(10), sbSeg)
			if got := rangesOf(sb); got != c.want || int(newly) != c.newly*sbSeg || bad != c.bad {
				t.Errorf("update(%v) = %s, newly %d, invalid %d; want %s, %d, %d", c.blocks, got, newly, bad, c.want, c.newly*sbSeg, c.bad)
			}
			if int(sb.bytes) != c.wantSacked*sbSeg || int(sb.sackedBelow(sq(100))) != c.wantSacked*sbSeg {
				t.Errorf("SACKed bytes %d (sum %d), want %d", sb.bytes, sb.sackedBelow(sq(100)), c.wantSacked*sbSeg)
			}
			if sb.hasLost != c.wantHasLost {
				t.Errorf("hasLost = %v, want %v", sb.hasLost, c.wantHasLost)
			}
		})
	}
}

// TestIsLost: RFC 6675's IsLost(seq) — DupThresh discontiguous SACKed
// sequences above seq, or more than (DupThresh−1)·SMSS bytes SACKed
// above it — through the lostEnd boundary.
func TestIsLost(t *testing.T) {
	cases := []struct {
		name string
		have [][3]int
		seq  int
		want bool
	}{
		{"nothing SACKed", nil, 0, false},
		{"one segment above", [][3]int{{1, 2, 1}}, 0, false},
		{"two segments above", [][3]int{{1, 3, 2}}, 0, false},
		{"three segments above", [][3]int{{1, 4, 3}}, 0, true},
		{"2·SMSS bytes in one ACK: not more than", [][3]int{{1, 3, 1}}, 0, false},
		{"3·SMSS bytes in one ACK", [][3]int{{1, 4, 1}}, 0, true},
		{"three small segments (ACKs)", [][3]int{{1, 2, 3}}, 0, true},
		{"three discontiguous ranges", [][3]int{{1, 2, 1}, {3, 4, 1}, {5, 6, 1}}, 0, true},
		{"hole between: two ranges above", [][3]int{{1, 2, 1}, {3, 4, 1}, {5, 6, 1}}, 2, false},
		{"hole between: one range above", [][3]int{{1, 2, 1}, {3, 4, 1}, {5, 6, 1}}, 4, false},
		{"lower hole lost, upper not", [][3]int{{1, 4, 3}, {5, 6, 1}}, 0, true},
		{"upper hole of those", [][3]int{{1, 4, 3}, {5, 6, 1}}, 4, false},
		{"SACKed itself: never lost", [][3]int{{1, 4, 3}, {5, 8, 3}}, 2, false},
		{"above all SACKed", [][3]int{{1, 4, 3}}, 5, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ep := &Endpoint{}
			ep.sb = *sbOf(c.have...)
			ep.snd.UNA, ep.snd.MAX = sq(0), sq(10)
			if got := ep.isLostLocked(sq(c.seq)); got != c.want {
				t.Errorf("IsLost(%d) with %s = %v, want %v", c.seq, rangesOf(&ep.sb), got, c.want)
			}
		})
	}
}

// TestSetPipe: RFC 6675's SetPipe() over [HighACK, HighData): unSACKed
// and not lost, plus unSACKed at or below HighRxt; after a timeout all
// unSACKed data below RecoveryPoint is lost (RFC 6675 §5.1).
func TestSetPipe(t *testing.T) {
	cases := []struct {
		name    string
		have    [][3]int
		una     int
		max     int
		highRxt int
		rto     int // RecoveryPoint of a timeout (0: none)
		want    int // segments
	}{
		{"nothing SACKed", nil, 0, 10, 0, 0, 10},
		{"SACKed not counted", [][3]int{{2, 4, 2}}, 0, 10, 0, 0, 8},
		{"lost hole not counted", [][3]int{{1, 4, 3}}, 0, 10, 0, 0, 6},
		{"lost hole retransmitted", [][3]int{{1, 4, 3}}, 0, 10, 1, 0, 7},
		{"two lost holes, one retransmitted", [][3]int{{1, 4, 3}, {5, 8, 3}}, 0, 10, 1, 0, 3},
		{"not-lost hole retransmitted counts twice", [][3]int{{1, 4, 3}, {5, 6, 1}}, 0, 10, 5, 0, 7},
		{"HighRxt below SND.UNA", [][3]int{{4, 7, 3}}, 3, 10, 1, 0, 3},
		{"after RTO: everything lost", [][3]int{{2, 4, 2}}, 0, 10, 0, 10, 0},
		{"after RTO: two resent", [][3]int{{2, 4, 2}}, 0, 10, 2, 10, 2},
		{"after RTO: new data above RecoveryPoint", [][3]int{{2, 4, 2}}, 0, 12, 0, 10, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ep := &Endpoint{}
			ep.sb = *sbOf(c.have...)
			ep.snd.UNA, ep.snd.MAX, ep.sb.HighRxt = sq(c.una), sq(c.max), sq(c.highRxt)
			if c.rto != 0 {
				ep.sb.rtoLoss, ep.recover = true, sq(c.rto)
			}
			ep.setPipeLocked()
			if ep.sb.Pipe != c.want*sbSeg {
				t.Errorf("SetPipe() with %s, HighACK %d HighData %d HighRxt %d = %d, want %d",
					rangesOf(&ep.sb), c.una, c.max, c.highRxt, ep.sb.Pipe, c.want*sbSeg)
			}
		})
	}
}

// TestIsDSACK: RFC 2883 §5: the first block is a D-SACK when below the
// cumulative ACK or within the second block.
func TestIsDSACK(t *testing.T) {
	cases := []struct {
		name   string
		blocks []wire.SACKBlock
		ack    int
		want   bool
	}{
		{"none", nil, 0, false},
		{"ordinary", []wire.SACKBlock{blk(2, 3)}, 0, false},
		{"below the ACK", []wire.SACKBlock{blk(0, 1)}, 3, true},
		{"straddling the ACK", []wire.SACKBlock{blk(2, 4)}, 3, true},
		{"at the ACK", []wire.SACKBlock{blk(3, 4)}, 3, false},
		{"within the second", []wire.SACKBlock{blk(5, 6), blk(4, 8)}, 3, true},
		{"equal to the second", []wire.SACKBlock{blk(5, 6), blk(5, 6)}, 3, true},
		{"overlapping the second", []wire.SACKBlock{blk(5, 9), blk(4, 8)}, 3, false},
		{"ordinary, two blocks", []wire.SACKBlock{blk(9, 10), blk(4, 8)}, 3, false},
		{"below the ACK, second above", []wire.SACKBlock{blk(1, 2), blk(4, 8)}, 3, true},
	}
	for _, c := range cases {
		if got := isDSACK(c.blocks, sq(c.ack)); got != c.want {
			t.Errorf("%s: isDSACK(%v, %d) = %v, want %v", c.name, c.blocks, c.ack, got, c.want)
		}
	}
}

// TestScoreboardAck: SND.UNA passing ranges forgets them; landing at or
// inside one is reneging (RFC 2018 §8).
func TestScoreboardAck(t *testing.T) {
	cases := []struct {
		name    string
		have    [][3]int
		una     int
		want    string
		reneged bool
	}{
		{"below all", [][3]int{{2, 4, 2}}, 1, "[2,4)x2", false},
		{"through one", [][3]int{{2, 4, 2}, {6, 7, 1}}, 5, "[6,7)x1", false},
		{"to a range's end", [][3]int{{2, 4, 2}, {6, 7, 1}}, 4, "[6,7)x1", false},
		{"through all", [][3]int{{2, 4, 2}, {6, 7, 1}}, 9, "", false},
		{"to a range's start: reneged", [][3]int{{2, 4, 2}}, 2, "[2,4)x2", true},
		{"inside a range: reneged", [][3]int{{2, 4, 2}, {6, 7, 1}}, 3, "[2,4)x2[6,7)x1", true},
	}
	for _, c := range cases {
		sb := sbOf(c.have...)
		reneged := sb.ack(sq(c.una), sbSeg)
		if got := rangesOf(sb); got != c.want || reneged != c.reneged {
			t.Errorf("%s: ack(%d) = %s, reneged %v; want %s, %v", c.name, c.una, got, reneged, c.want, c.reneged)
		}
	}
}

// TestNextUnsacked: NextSeg's hole search.
func TestNextUnsacked(t *testing.T) {
	sb := sbOf([3]int{2, 4, 2}, [3]int{6, 7, 1})
	cases := []struct {
		from, limit, want int
		ok                bool
	}{
		{0, 7, 0, true},
		{2, 7, 4, true},
		{3, 7, 4, true},
		{5, 7, 5, true},
		{6, 7, 7, false},
		{6, 9, 7, true},
		{2, 4, 4, false},
	}
	for _, c := range cases {
		got, ok := sb.nextUnsacked(sq(c.from), sq(c.limit))
		if ok != c.ok || ok && got != sq(c.want) {
			t.Errorf("nextUnsacked(%d, %d) = %d, %v; want %d, %v", c.from, c.limit, int(got.Sub(sbBase))/sbSeg, ok, c.want, c.ok)
		}
	}
}

// TestScoreboardNoAllocs: the per-ACK scoreboard work allocates nothing
// once the slice has grown.
func TestScoreboardNoAllocs(t *testing.T) {
	sb := sbOf([3]int{2, 4, 2}, [3]int{6, 7, 1}, [3]int{9, 10, 1})
	sb.r = append(make([]seqRange, 0, 16), sb.r...)
	ep := &Endpoint{}
	ep.snd.UNA, ep.snd.MAX = sq(0), sq(40)
	blocks := []wire.SACKBlock{blk(11, 12), blk(9, 10), blk(6, 7)}
	allocs := testing.AllocsPerRun(100, func() {
		sb.update(blocks, sq(0), sq(40), sbSeg)
		sb.insert(sq(20), sq(21))
		ep.sb = *sb
		ep.setPipeLocked()
		ep.isLostLocked(sq(5))
		sb.nextUnsacked(sq(0), sq(30))
		sb.sacked(sq(9))
		sb.nextSacked(sq(4))
		sb.r = sb.r[:3] // back to the three ranges
	})
	if allocs != 0 {
		t.Errorf("scoreboard per-ACK work: %v allocations, want 0", allocs)
	}
}

// BenchmarkSACKUpdate measures one ACK's scoreboard work with a hole
// every tenth segment of 1000 in flight: its cost depends on the ranges
// (holes), not on the segments in flight.
func BenchmarkSACKUpdate(b *testing.B) {
	for _, holes := range []int{4, 32} {
		b.Run(fmt.Sprintf("holes%d", holes), func(b *testing.B) {
			ep := &Endpoint{}
			ep.snd.UNA, ep.snd.MAX = sq(0), sq(1000)
			for i := 0; i < holes; i++ {
				ep.sb.insert(sq(i*10+1), sq(i*10+10))
			}
			ep.sb.setLostEnd(sbSeg)
			blocks := []wire.SACKBlock{blk(holes*10+1, holes*10+2)}
			b.ReportAllocs()
			for b.Loop() {
				ep.sb.update(blocks, ep.snd.UNA, ep.snd.MAX, sbSeg)
				ep.setPipeLocked()
				ep.sb.r = ep.sb.r[:holes]
			}
		})
	}
}

// A Pipe is one direction of an impaired link: Linux's netem qdisc, or a
// FreeBSD dummynet pipe. Read sch_netem.c (netem_enqueue, tfifo_enqueue,
// netem_dequeue) and the dummynet paper (Rizzo, "Dummynet: a simple approach
// to the evaluation of network protocols", CCR 1997) before editing.
//
// A frame goes through these stages, in order:
//
//	Send ─▶ loss ─▶ duplicate ─▶ corrupt ─▶ reorder ─▶ rate ─▶ delay ─▶ out
//	         │        (Clone)     (COW)     (hold)    (queue)  (line)
//	         ▼                                           ▼
//	       Lost                                     RateDropped
//
// Loss, duplication, corruption and the reorder decision are drawn from one
// PCG stream at Send, a fixed number of draws per frame, so a seed and a
// frame sequence always give the same decisions, whatever the timing.
// Jitter is drawn from a second stream in the order frames enter the delay
// line (the rate queue's FIFO order), which is as deterministic.
//
// A held-back frame (reorder) leaves after ReorderGap later frames have
// passed it, or after ReorderTimeout if they do not come. The rate stage
// serializes frames one at a time at Rate bits per second behind a queue of
// QueueLimit frames, the frame on the link included; more are dropped. The
// delay line releases each frame Delay±Jitter after it left the rate stage,
// in time order, so jitter reorders frames and a fixed delay does not.
//
// Frames ready to leave go onto an output queue drained by one goroutine at
// a time, outside the pipe's lock (cf. qdisc_run): out may re-enter Send
// without deadlock, and frames leave in the order they became ready.
package fault

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"ustack/clock"
	"ustack/pkt"
	"ustack/stats"
)

// Defaults.
const (
	// DefaultQueueLimit bounds the rate queue and the reorder hold, like
	// netem's default limit of 1000 packets.
	DefaultQueueLimit = 1000
	// DefaultReorderTimeout is how long a held-back frame waits for later
	// frames to overtake it.
	DefaultReorderTimeout = 10 * time.Millisecond
)

// ErrClosed is returned by Send on a closed pipe and Transmit on a closed
// Driver.
var ErrClosed = errors.New("fault: closed")

// Impair says how to impair one direction of a link. The zero value passes
// frames through untouched. Probabilities are in [0, 1].
type Impair struct {
	// Loss is the probability that a frame is dropped.
	Loss float64
	// Duplicate is the probability that a frame is sent twice; the second
	// copy is a Clone (the payload is shared, not copied).
	Duplicate float64
	// Corrupt is the probability that one random bit of a frame is
	// flipped. The frame is made private first (copy on write), so no
	// other handle to the payload sees the change. Receivers must verify
	// checksums: a Driver whose Corrupt is set reports no checksum
	// offload.
	Corrupt float64
	// Reorder is the probability that a frame is held back and sent after
	// the ReorderGap frames that follow it.
	Reorder float64
	// ReorderGap is how many later frames overtake a held-back one (0: 1).
	ReorderGap int
	// ReorderTimeout is how long a held-back frame waits for them before
	// it is sent anyway (0: DefaultReorderTimeout).
	ReorderTimeout time.Duration
	// Delay is added to every frame's journey.
	Delay time.Duration
	// Jitter varies each frame's delay uniformly within ±Jitter (the
	// result never below zero). Jittered frames may overtake each other.
	Jitter time.Duration
	// Rate is the link's speed in bits per second (0: unlimited). Frames
	// are serialized one at a time, each taking 8*Len/Rate seconds.
	Rate uint64
	// QueueLimit bounds the frames queued for the rate stage, the one
	// being serialized included, and the frames held back for reordering
	// (0: DefaultQueueLimit). Frames beyond it are dropped.
	QueueLimit int
}

// IsZero reports whether im impairs nothing.
func (im Impair) IsZero() bool { return im == Impair{} }

func (im *Impair) queueLimit() int {
	if im.QueueLimit > 0 {
		return im.QueueLimit
	}
	return DefaultQueueLimit
}

// Counts is a snapshot of a pipe's counters.
type Counts struct {
	Frames      uint64 // frames offered to Send
	Lost        uint64 // dropped by Loss
	Duplicated  uint64 // extra copies made by Duplicate
	Corrupted   uint64 // frames with a bit flipped
	Reordered   uint64 // frames held back
	Delayed     uint64 // frames that spent time in the delay line
	RateDropped uint64 // dropped because the rate queue was full
	Delivered   uint64 // frames handed to out
	OutErrors   uint64 // of which out returned an error
	Flushed     uint64 // frames freed by Close or sent after it
}

// counters are the live counters behind Counts.
type counters struct {
	Frames, Lost, Duplicated, Corrupted, Reordered stats.Counter
	Delayed, RateDropped, Delivered, OutErrors     stats.Counter
	Flushed                                        stats.Counter
}

// PipeConfig configures a Pipe.
type PipeConfig struct {
	Impair Impair
	// Seed and Stream seed the pipe's random sources (PCG). Pipes that
	// share a Seed should differ in Stream (one per direction, per end).
	Seed   int64
	Stream uint64
	// Clock drives delay, rate and reorder timeouts (nil: clock.Real()).
	Clock clock.Clock
}

// Pipe impairs the frames passed to Send and hands the survivors to its
// output function. It is safe for concurrent use.
//
// Lock order: Pipe.mu, then the clock's lock (timers are armed under
// Pipe.mu). out is never called with Pipe.mu held.
type Pipe struct {
	clk clock.Clock
	out func(*pkt.Buf) error
	c   counters

	mu       sync.Mutex
	idle     sync.Cond // broadcast when the drainer stops, for Close
	im       Impair
	closed   bool
	rng      *rand.Rand // per-frame decisions, in Send order
	jrng     *rand.Rand // jitter, in delay-line entry order
	draining bool
	outq     pkt.Queue // ready to leave, drained outside mu

	held      []heldFrame // reorder: frames waiting to be overtaken
	holdDue   time.Time   // when holdTimer is armed for; zero when not
	holdTimer clock.Timer

	rateq     pkt.Queue // rate: head is on the link until txEnd
	busy      bool
	txEnd     time.Time
	rateTimer clock.Timer

	line      delayLine // delay: a min-heap by due time
	seq       uint64
	lineDue   time.Time // when lineTimer is armed for; zero when not
	lineTimer clock.Timer
}

type heldFrame struct {
	b        *pkt.Buf
	left     int       // later frames still to overtake it
	deadline time.Time // when it is sent anyway
}

// Streams mixed into the second PCG seed, so that a pipe's two sources
// differ.
const (
	streamDecide = 0x6465636964650000 // "decide"
	streamJitter = 0x6a69747465720000 // "jitter"
)

// NewPipe returns a pipe that impairs frames as cfg says and hands the
// survivors to out, which takes ownership of each. out runs in the
// goroutine of Send or of a clock timer, never two at once, and must not
// call Close.
func NewPipe(cfg PipeConfig, out func(*pkt.Buf) error) *Pipe {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	p := &Pipe{
		clk:  cfg.Clock,
		out:  out,
		im:   cfg.Impair,
		rng:  rand.New(rand.NewPCG(uint64(cfg.Seed), cfg.Stream^streamDecide)),
		jrng: rand.New(rand.NewPCG(uint64(cfg.Seed), cfg.Stream^streamJitter)),
		outq: pkt.Queue{Limit: math.MaxInt32},
	}
	p.idle.L = &p.mu
	p.rateq.Limit = p.im.queueLimit()
	return p
}

// Impair returns the current impairment.
func (p *Pipe) Impair() Impair {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.im
}

// SetImpair changes the impairment; frames already inside the pipe finish
// their journey as they were scheduled. A Driver's checksum offload, fixed
// at Wrap, does not follow a later change of Corrupt. Context: any.
func (p *Pipe) SetImpair(im Impair) {
	p.mu.Lock()
	p.im = im
	p.rateq.Limit = im.queueLimit()
	p.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (p *Pipe) Stats() Counts {
	c := &p.c
	return Counts{
		Frames: c.Frames.Load(), Lost: c.Lost.Load(), Duplicated: c.Duplicated.Load(),
		Corrupted: c.Corrupted.Load(), Reordered: c.Reordered.Load(), Delayed: c.Delayed.Load(),
		RateDropped: c.RateDropped.Load(), Delivered: c.Delivered.Load(), OutErrors: c.OutErrors.Load(),
		Flushed: c.Flushed.Load(),
	}
}

// Send impairs b, taking ownership (cf. netem_enqueue). Frames that are
// neither held, queued nor delayed reach out before Send returns.
// Context: any.
func (p *Pipe) Send(b *pkt.Buf) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.c.Flushed.Inc()
		b.Free()
		return ErrClosed
	}
	p.c.Frames.Inc()
	im := &p.im
	if im.Loss > 0 && p.rng.Float64() < im.Loss {
		p.mu.Unlock()
		p.c.Lost.Inc()
		b.Free()
		return nil
	}
	var dup *pkt.Buf
	if im.Duplicate > 0 && p.rng.Float64() < im.Duplicate {
		dup = b.Clone()
		p.c.Duplicated.Inc()
	}
	p.admitLocked(b)
	if dup != nil {
		p.admitLocked(dup)
	}
	p.drainLocked()
	return nil
}

// admitLocked corrupts and perhaps holds back b, then passes it on to the
// rate stage, followed by any held frame it was the last to overtake.
func (p *Pipe) admitLocked(b *pkt.Buf) {
	im := &p.im
	if im.Corrupt > 0 && p.rng.Float64() < im.Corrupt && b.Len() > 0 {
		i := p.rng.IntN(b.Len())
		bit := p.rng.IntN(8)
		w := b.Writable(i + 1) // private: a clone's bytes are never touched
		w[i] ^= 1 << bit
		p.c.Corrupted.Inc()
	}
	if im.Reorder > 0 && p.rng.Float64() < im.Reorder && len(p.held) < im.queueLimit() {
		timeout := im.ReorderTimeout
		if timeout <= 0 {
			timeout = DefaultReorderTimeout
		}
		deadline := p.clk.Now().Add(timeout)
		p.held = append(p.held, heldFrame{b: b, left: max(im.ReorderGap, 1), deadline: deadline})
		p.c.Reordered.Inc()
		if p.holdDue.IsZero() || deadline.Before(p.holdDue) {
			p.armHoldLocked(deadline, timeout)
		}
		return
	}
	p.rateLocked(b)
	if len(p.held) == 0 {
		return
	}
	for i := range p.held {
		p.held[i].left--
	}
	p.releaseHeldLocked(func(h *heldFrame) bool { return h.left <= 0 })
}

// releaseHeldLocked passes on, in order, the held frames for which due
// reports true.
func (p *Pipe) releaseHeldLocked(due func(*heldFrame) bool) {
	kept := p.held[:0]
	for i := range p.held {
		if due(&p.held[i]) {
			p.rateLocked(p.held[i].b)
		} else {
			kept = append(kept, p.held[i])
		}
	}
	clear(p.held[len(kept):])
	p.held = kept
}

func (p *Pipe) armHoldLocked(due time.Time, d time.Duration) {
	p.holdDue = due
	if p.holdTimer == nil {
		p.holdTimer = p.clk.AfterFunc(d, p.onHold)
	} else {
		p.holdTimer.Reset(d)
	}
}

// onHold sends the held frames whose timeout has passed. Context: timer.
func (p *Pipe) onHold() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	now := p.clk.Now()
	p.holdDue = time.Time{}
	p.releaseHeldLocked(func(h *heldFrame) bool { return !h.deadline.After(now) })
	if len(p.held) > 0 {
		next := p.held[0].deadline
		for _, h := range p.held[1:] {
			if h.deadline.Before(next) {
				next = h.deadline
			}
		}
		p.armHoldLocked(next, next.Sub(now))
	}
	p.drainLocked()
}

// serialize returns how long n bytes occupy the link.
func (p *Pipe) serialize(n int) time.Duration {
	if p.im.Rate == 0 {
		return 0
	}
	return time.Duration(uint64(n) * 8 * uint64(time.Second) / p.im.Rate)
}

// rateLocked queues b for the link (cf. netem's rate model and dummynet's
// pipe bandwidth), or passes it straight on when the rate is unlimited.
func (p *Pipe) rateLocked(b *pkt.Buf) {
	if p.im.Rate == 0 && !p.busy {
		p.delayLocked(b)
		return
	}
	if !p.rateq.Push(b) {
		p.c.RateDropped.Inc()
		b.Free()
		return
	}
	if p.busy {
		return
	}
	p.busy = true
	d := p.serialize(b.Len())
	p.txEnd = p.clk.Now().Add(d)
	if p.rateTimer == nil {
		p.rateTimer = p.clk.AfterFunc(d, p.onRate)
	} else {
		p.rateTimer.Reset(d)
	}
}

// onRate moves the frames that have finished serializing on to the delay
// stage and starts the next. Back-to-back frames start when the previous
// one ended, not when the timer ran, so a late timer does not lower the
// rate. Context: timer.
func (p *Pipe) onRate() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	now := p.clk.Now()
	for p.busy && !p.txEnd.After(now) {
		p.delayLocked(p.rateq.Pop())
		if next := p.rateq.Peek(); next != nil {
			p.txEnd = p.txEnd.Add(p.serialize(next.Len()))
		} else {
			p.busy = false
		}
	}
	if p.busy {
		p.rateTimer.Reset(p.txEnd.Sub(now))
	}
	p.drainLocked()
}

// delayLocked puts b on the delay line, or on the output queue when its
// delay is zero (cf. tfifo_enqueue).
func (p *Pipe) delayLocked(b *pkt.Buf) {
	d := p.im.Delay
	if j := int64(p.im.Jitter); j > 0 {
		d += time.Duration(p.jrng.Int64N(2*j+1) - j)
	}
	if d <= 0 {
		p.outq.Push(b)
		return
	}
	p.c.Delayed.Inc()
	due := p.clk.Now().Add(d)
	p.seq++
	p.line.push(lineEntry{due: due, seq: p.seq, b: b})
	if p.lineDue.IsZero() || due.Before(p.lineDue) {
		p.armLineLocked(due, d)
	}
}

func (p *Pipe) armLineLocked(due time.Time, d time.Duration) {
	p.lineDue = due
	if p.lineTimer == nil {
		p.lineTimer = p.clk.AfterFunc(d, p.onLine)
	} else {
		p.lineTimer.Reset(d)
	}
}

// onLine sends the frames whose delay has passed. Context: timer.
func (p *Pipe) onLine() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	now := p.clk.Now()
	p.lineDue = time.Time{}
	for len(p.line) > 0 && !p.line[0].due.After(now) {
		p.outq.Push(p.line.pop())
	}
	if len(p.line) > 0 {
		p.armLineLocked(p.line[0].due, p.line[0].due.Sub(now))
	}
	p.drainLocked()
}

// drainLocked hands the output queue to out, outside the lock, unless
// another goroutine is already doing so (cf. qdisc_run). It is called with
// p.mu held and returns with it released.
func (p *Pipe) drainLocked() {
	if p.draining {
		p.mu.Unlock()
		return
	}
	p.draining = true
	for !p.closed {
		b := p.outq.Pop()
		if b == nil {
			break
		}
		p.mu.Unlock()
		p.c.Delivered.Inc()
		if err := p.out(b); err != nil {
			p.c.OutErrors.Inc()
		}
		p.mu.Lock()
	}
	p.draining = false
	if p.closed {
		p.idle.Broadcast()
	}
	p.mu.Unlock()
}

// Close stops the pipe's timers and frees every frame inside it. When it
// returns, out is not running and will not be called again. It must not be
// called from out. Context: process.
func (p *Pipe) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		for _, t := range []clock.Timer{p.holdTimer, p.rateTimer, p.lineTimer} {
			if t != nil {
				t.Stop()
			}
		}
		n := 0
		for i := range p.held {
			p.held[i].b.Free()
			n++
		}
		clear(p.held)
		p.held = p.held[:0]
		for _, q := range []*pkt.Queue{&p.rateq, &p.outq} {
			for b := q.Pop(); b != nil; b = q.Pop() {
				b.Free()
				n++
			}
		}
		for len(p.line) > 0 {
			p.line.pop().Free()
			n++
		}
		p.busy = false
		p.c.Flushed.Add(uint64(n))
	}
	for p.draining {
		p.idle.Wait()
	}
}

// lineEntry is a frame on the delay line; seq keeps equal due times FIFO.
type lineEntry struct {
	due time.Time
	seq uint64
	b   *pkt.Buf
}

// delayLine is a binary min-heap of lineEntry by (due, seq), kept by hand
// so that pushing and popping allocate nothing once it has grown.
type delayLine []lineEntry

func (l delayLine) less(i, j int) bool {
	if l[i].due.Equal(l[j].due) {
		return l[i].seq < l[j].seq
	}
	return l[i].due.Before(l[j].due)
}

func (l *delayLine) push(e lineEntry) {
	*l = append(*l, e)
	h := *l
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (l *delayLine) pop() *pkt.Buf {
	h := *l
	b := h[0].b
	last := len(h) - 1
	h[0] = h[last]
	h[last] = lineEntry{}
	h = h[:last]
	for i := 0; ; {
		small, left, right := i, 2*i+1, 2*i+2
		if left < len(h) && h.less(left, small) {
			small = left
		}
		if right < len(h) && h.less(right, small) {
			small = right
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	*l = h
	return b
}

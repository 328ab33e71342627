package netdev

import (
	"runtime"
	"sync"
)

// softnet is the poll loop (cf. net_rx_action and softnet_data): devices
// with frames in their receive ring are put on a poll list; one goroutine
// takes each in turn, delivers up to Weight frames from it, and gives the
// processor up after Budget frames in a round.
type softnet struct {
	r    *Registry
	mu   sync.Mutex
	list []*Device
	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

func (s *softnet) start(r *Registry) {
	s.r = r
	s.wake = make(chan struct{}, 1)
	s.quit = make(chan struct{})
	s.done = make(chan struct{})
	go s.loop()
}

func (s *softnet) stop() {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.done
}

// schedule puts d on the poll list unless it is already there
// (cf. napi_schedule).
func (r *Registry) schedule(d *Device) {
	if d.scheduled.Swap(true) {
		return
	}
	s := &r.sn
	s.mu.Lock()
	s.list = append(s.list, d)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *softnet) loop() {
	defer close(s.done)
	var work []*Device
	for {
		select {
		case <-s.quit:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			work = append(work[:0], s.list...)
			clear(s.list)
			s.list = s.list[:0]
			s.mu.Unlock()
			if len(work) == 0 {
				break
			}
			budget := s.r.cfg.Budget
			for i, d := range work {
				budget -= s.poll(d, min(s.r.cfg.Weight, max(budget, 1)))
				work[i] = nil
			}
			if budget <= 0 {
				runtime.Gosched()
			}
		}
	}
}

// poll delivers up to weight frames from d's ring and reports how many it
// delivered; if frames remain, d goes back on the list (cf. napi_poll).
func (s *softnet) poll(d *Device, weight int) int {
	n := 0
	for n < weight {
		select {
		case b := <-d.rx:
			n++
			s.r.input(d, b)
			continue
		default:
		}
		break
	}
	if n == weight && len(d.rx) > 0 {
		d.scheduled.Store(false)
		s.r.schedule(d)
		return n
	}
	d.scheduled.Store(false)
	// A frame may have arrived after the ring looked empty and before the
	// flag cleared: its Receive saw scheduled==true and did not schedule.
	if len(d.rx) > 0 {
		s.r.schedule(d)
	}
	return n
}

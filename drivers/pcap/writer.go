package pcap

import (
	"bufio"
	"errors"
	"io"
	"os"
	"runtime"

	"ustack/pcapng"
)

// Writer writes a Capture's frames to a pcapng file as they come: an
// Interface Description Block for each interface, an Enhanced Packet
// Block for each frame (with its direction, reception type and ustack
// packet id), and, on Close, an Interface Statistics Block for each
// interface with the frames it saw and dropped. The file is flushed
// whenever the queue runs empty, so that it can be read while the capture
// goes on.
type Writer struct {
	c      *Capture
	bw     *bufio.Writer
	pw     *pcapng.Writer
	closer io.Closer // the file Create opened
	idbs   int       // interfaces described so far

	quit chan struct{}
	done chan struct{}
	err  error // the first write error; read after done
}

// NewWriter writes the section header to w and starts writing c's frames
// to it, until Close. It does not close w.
func NewWriter(w io.Writer, c *Capture) (*Writer, error) {
	wr := &Writer{c: c, bw: bufio.NewWriterSize(w, 64<<10), quit: make(chan struct{}), done: make(chan struct{})}
	pw, err := pcapng.NewWriter(wr.bw, Section())
	if err != nil {
		return nil, err
	}
	wr.pw = pw
	if err := wr.describe(len(c.Interfaces()) - 1); err != nil {
		return nil, err
	}
	if err := wr.bw.Flush(); err != nil {
		return nil, err
	}
	go wr.run()
	return wr, nil
}

// Create creates (or truncates) the file at path and writes c's frames
// to it; Close closes it.
func Create(path string, c *Capture) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w, err := NewWriter(f, c)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.closer = f
	return w, nil
}

// Section is the section header ustack writes.
func Section() pcapng.Section {
	return pcapng.Section{UserAppl: "ustack", OS: runtime.GOOS + "/" + runtime.GOARCH}
}

// Capture returns the capture the writer writes.
func (w *Writer) Capture() *Capture { return w.c }

// Close stops the capture, writes the frames still queued and the
// statistics, flushes, and closes the file if Create opened it. It
// returns the first error met in writing. Context: process.
func (w *Writer) Close() error {
	select {
	case <-w.quit:
	default:
		w.c.Stop()
		close(w.quit)
	}
	<-w.done
	return w.err
}

// run writes frames until Close, then drains the queue and writes the
// statistics.
func (w *Writer) run() {
	defer close(w.done)
	q := w.c.Frames()
	for {
		select {
		case f := <-q:
			w.write(f)
			if len(q) == 0 {
				w.keep(w.bw.Flush())
			}
			continue
		case <-w.quit:
		}
		break
	}
	for {
		select {
		case f := <-q:
			w.write(f)
			continue
		default:
		}
		break
	}
	w.keep(w.describe(len(w.c.Interfaces()) - 1))
	now := w.c.Clock().Now()
	for _, i := range w.c.Interfaces() {
		s := i.Stats()
		w.keep(w.pw.WriteStats(pcapng.Stats{Interface: i.ID(), Time: now, Start: w.c.Start(), End: now,
			Received: s.Captured + s.Dropped, Dropped: s.Dropped}))
	}
	w.keep(w.bw.Flush())
	if w.closer != nil {
		w.keep(w.closer.Close())
	}
}

// write writes one frame and releases it.
func (w *Writer) write(f *Frame) {
	defer f.Release()
	if w.err != nil {
		return
	}
	if err := w.describe(f.Iface); err != nil {
		w.keep(err)
		return
	}
	w.keep(w.pw.WritePacket(pcapng.Packet{
		Interface: f.Iface, Time: f.Time, Data: f.Data, Length: f.Len,
		Direction: direction(f.Dir), Reception: f.Reception, PacketID: f.PktID,
	}))
}

// describe writes the Interface Description Blocks of the interfaces up
// to id not yet described. Interface ids are given in order, and a frame
// is queued only after its interface exists, so ids and IDB indexes
// agree.
func (w *Writer) describe(id int) error {
	if id < w.idbs {
		return nil
	}
	ifs := w.c.Interfaces()
	for ; w.idbs <= id && w.idbs < len(ifs); w.idbs++ {
		if _, err := w.pw.AddInterface(ifs[w.idbs].Description()); err != nil {
			return err
		}
	}
	if id >= w.idbs {
		return errors.New("pcap: frame from an unknown interface")
	}
	return nil
}

func (w *Writer) keep(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

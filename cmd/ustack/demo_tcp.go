package main

// Act 5 of `ustack demo`: a TCP connection's whole life, told by the tcp
// provider's probes the way DTrace's tcp provider tells it
// (tcp:::connect-request, tcp:::state-change, tcp:::send...), around an
// HTTP GET made with net/http over the client's stack.

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"ustack/netsim"
	"ustack/tcp"
	"ustack/trace"
	"ustack/wire"
)

// demoMSL is the stacks' MSL in the demo, so that TIME_WAIT (2·MSL, a
// minute on Linux) ends while the demo watches.
const demoMSL = 100 * time.Millisecond

// demoPage is what the server serves.
const demoPage = "<html><body>hello from ustack</body></html>\n"

// wireTap keeps the frames a tapped link carries while it is on.
type wireTap struct {
	mu     sync.Mutex
	on     bool
	frames []netsim.Frame
}

func (t *wireTap) record(f netsim.Frame) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.on {
		t.frames = append(t.frames, f)
	}
}

func (t *wireTap) set(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on = on
}

// find returns the frame host sent as packet id.
func (t *wireTap) find(host string, id uint64) (netsim.Frame, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range t.frames {
		if f.Host == host && f.PktID == id {
			return f, true
		}
	}
	return netsim.Frame{}, false
}

// dataSends pairs each tcp:::send of a segment that carries data with the
// ip:::send of its datagram. tcp:::send reports no packet id (the id is
// given in ip.Output, after the probe), but both probes fire in the
// sender's context with the connection locked, so the next ip:::send of a
// TCP datagram between the same addresses on the same host carries that
// segment.
type dataSends struct {
	pending map[string]*trace.Event // host → its data segment sent last
}

// see follows e, an event of host; for an ip:::send it returns the length
// of the TCP payload the datagram carries (0: none, or not a datagram of a
// data segment).
func (d *dataSends) see(host string, e *trace.Event) int {
	switch e.Probe.FullName() {
	case "tcp:::send":
		if e.Len > 0 {
			c := *e // the event is lent for the listener's call only
			d.pending[host] = &c
		} else {
			delete(d.pending, host)
		}
	case "ip:::send":
		seg := d.pending[host]
		if seg != nil && e.Proto == tcp.ProtoNumber && e.Src == seg.Src && e.Dst == seg.Dst && (seg.PktID == 0 || seg.PktID == e.PktID) {
			delete(d.pending, host)
			return seg.Len
		}
	}
	return 0
}

// segWatch follows, from the probes, what the act must wait for or point
// at: the packet that carried the request, and the end of both sides of
// the connection.
type segWatch struct {
	mu       sync.Mutex
	data     dataSends
	reqID    uint64 // the client's first data segment
	reqLen   int    // its payload, as tcp:::send says
	reqData  []byte // the client's first data segment's payload, from tcp:::send
	ipLen    int    // its datagram, as ip:::send says
	closed   map[string]bool
	finished chan struct{} // closed when both sides are CLOSED
}

func (s *segWatch) event(host string, e *trace.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if host == "client" && s.reqData == nil && e.Segment && e.Len > 0 && e.Probe.Name == "send" {
		s.reqData = bytes.Clone(e.Payload) // lent for this call only
	}
	if n := s.data.see(host, e); n > 0 && host == "client" && s.reqID == 0 {
		s.reqID, s.reqLen, s.ipLen = e.PktID, n, e.Len
	}
	switch e.Probe.FullName() {
	case "tcp:::state-change":
		// The client ends in TIME_WAIT, the server in LAST_ACK.
		if e.Dst.IsValid() && (e.OldState == "TIME_WAIT" || e.OldState == "LAST_ACK") && !s.closed[host] {
			s.closed[host] = true
			if len(s.closed) == 2 {
				close(s.finished)
			}
		}
	}
}

// tcpAct runs act 5: the server listens on port 80 and serves a page; the
// client GETs it with net/http, reads it, and hangs up first.
func tcpAct(ctx context.Context, w io.Writer, nr *netsim.Narrator, tap *wireTap, client, server *netsim.Host) error {
	section(w, "5. TCP: the client fetches http://10.0.2.2/ with net/http, then hangs up")
	fmt.Fprintf(w, "   the connection's life from the tcp provider's probes: the connect request,\n")
	fmt.Fprintf(w, "   every state change and every segment, per host (and ip:::send for the\n")
	fmt.Fprintf(w, "   segments that carry data). seq and ack are relative to each side's initial\n")
	fmt.Fprintf(w, "   sequence number, as tcpdump prints them; win is the window field as sent\n")
	fmt.Fprintf(w, "   (scaled after the SYNs). MSL is %v here, so TIME_WAIT lasts %v.\n\n", demoMSL, 2*demoMSL)

	sw := &segWatch{data: dataSends{map[string]*trace.Event{}}, closed: make(map[string]bool), finished: make(chan struct{})}
	for _, h := range []*netsim.Host{client, server} {
		name := h.Name
		for _, p := range []string{"tcp:::send", "ip:::send", "tcp:::state-change"} {
			// Segments' payloads too, as `ustack trace --payload` asks.
			cancel := h.Tracer().Subscribe(p, func(e *trace.Event) { sw.event(name, e) }, trace.WithPayload())
			defer cancel()
		}
	}
	// Which ip:::send events to show: those of data segments. The filter
	// runs under the narrator's lock, one event at a time.
	data := dataSends{map[string]*trace.Event{}}
	filter := func(host string, e *trace.Event) bool {
		isData := data.see(host, e) > 0
		switch {
		case e.Probe.Provider == "tcp":
			return e.Probe.Name != "cwnd"
		case e.Probe.FullName() == "ip:::send":
			return isData
		}
		return false
	}

	tap.set(true)
	defer tap.set(false)
	nr.Start(time.Now(), filter)
	defer nr.Stop()

	ln, err := server.Listen("tcp", ":80")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			nr.Say("server", fmt.Sprintf("%s %s %s from %s: 200 OK, %d bytes", r.Method, r.URL, r.Proto, r.RemoteAddr, len(demoPage)))
			rw.Header().Set("Content-Type", "text/html")
			io.WriteString(rw, demoPage)
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(ln)
	defer srv.Close()

	// Keep-alive stays on: with "Connection: close" (req.Close, or
	// DisableKeepAlives) net/http's server would close right after its
	// response, taking the active close. Instead the client reads the
	// page, then closes the idle connection itself; the server, reading
	// EOF where the next request would be, closes in turn.
	tr := &http.Transport{DialContext: client.DialContext}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://10.0.2.2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("demo: GET: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("demo: reading the page: %w", err)
	}
	nr.Say("client", fmt.Sprintf("%s %s, %d bytes: %q; closing", resp.Proto, resp.Status, len(body), body))
	tr.CloseIdleConnections()

	select {
	case <-sw.finished:
	case <-time.After(5*time.Second + 2*demoMSL):
		return fmt.Errorf("demo: the connection did not close on both sides")
	case <-ctx.Done():
		return ctx.Err()
	}
	nr.Stop()
	tap.set(false)
	if string(body) != demoPage {
		return fmt.Errorf("demo: the page read differs from the one served")
	}

	sw.mu.Lock()
	id, plen, ipLen, reqBytes := sw.reqID, sw.reqLen, sw.ipLen, sw.reqData
	sw.mu.Unlock()
	if len(reqBytes) != plen {
		return fmt.Errorf("demo: tcp:::send reported %d bytes of payload for a %d-byte segment", len(reqBytes), plen)
	}
	return dumpRequest(w, tap, id, reqBytes, ipLen)
}

// dumpRequest shows the request's bytes at the TCP and the IP layer: the
// payload tcp:::send reported (its subscriber asked for payloads), and
// the datagram from the tap's copy of the frame the client sent, found by
// the packet id the probes reported; the two must agree.
func dumpRequest(w io.Writer, tap *wireTap, id uint64, data []byte, ipLen int) error {
	f, ok := tap.find("client", id)
	if !ok {
		return fmt.Errorf("demo: no frame on the wire for packet %d", id)
	}
	ip, err := wire.ParseIPv4View(f.Data[wire.EthernetHeaderLen:])
	if err != nil {
		return fmt.Errorf("demo: the request's frame: %w", err)
	}
	seg, err := wire.ParseTCPView(ip.Payload())
	if err != nil {
		return fmt.Errorf("demo: the request's segment: %w", err)
	}
	payload := seg.Payload()
	if !bytes.Equal(payload, data) || len(ip.Bytes()) != ipLen {
		return fmt.Errorf("demo: the tapped request (%d bytes, in a %d-byte datagram) is not the one the probes saw (%d, %d)",
			len(payload), len(ip.Bytes()), len(data), ipLen)
	}
	off := ip.HeaderLen() + seg.HeaderLen()
	fmt.Fprintf(w, "\n   the request's bytes: tcp:::send reports a segment's payload to a subscriber\n")
	fmt.Fprintf(w, "   that asks for it (ustack trace --payload), and a tap on the client's wire\n")
	fmt.Fprintf(w, "   kept a copy of the frame of packet %d (%s %s), as a capture would\n\n", id, f.Host, f.Dev)
	fmt.Fprintf(w, "   at the TCP layer: the %d bytes of payload tcp:::send reported\n", len(data))
	writeDump(w, data)
	fmt.Fprintf(w, "\n   at the IP layer, from the tap: the %d-byte datagram of ip:::send, the same\n", len(ip.Bytes()))
	fmt.Fprintf(w, "   bytes from offset %d (%#x), after the %d-byte IP and %d-byte TCP headers\n", off, off, ip.HeaderLen(), seg.HeaderLen())
	writeDump(w, ip.Bytes())
	return nil
}

// writeDump writes b as `hexdump -C` does, indented.
func writeDump(w io.Writer, b []byte) {
	for _, line := range strings.SplitAfter(strings.TrimSuffix(hex.Dump(b), "\n"), "\n") {
		fmt.Fprintf(w, "     %s", line)
	}
	fmt.Fprintln(w)
}

package ctl

// Method "capture": the frames of a running stack's interfaces, streamed
// to the client, which writes them to a pcapng file (`ustack capture -w`),
// as tcpdump reads a kernel's frames through a packet socket.
//
// The frames are copied in the packet path by a tap on each device
// (package drivers/pcap) into a bounded queue; this handler sends them on
// as fast as the client takes them. When the queue is full the packet
// path drops the frame and counts it, never waiting — as a packet
// socket's full ring drops and counts (tp_drops) — and the count is
// reported in "dropped" events and in the result, for the client to print
// as tcpdump prints "packets dropped by kernel".

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"

	"ustack/drivers/pcap"
	"ustack/netdev"
	"ustack/pcapng"
	"ustack/wire"
)

// CaptureQueue is how many frames wait for a slow client before more are
// dropped.
const CaptureQueue = 4096

// captureTick is how often the server reports drops.
const captureTick = 100 * time.Millisecond

// CaptureArgs are the arguments of method "capture".
type CaptureArgs struct {
	// Interfaces are the names of the interfaces to capture on; none:
	// every interface.
	Interfaces []string `json:"interfaces,omitempty"`
	// SnapLen is the most bytes kept of each frame (0:
	// pcapng.DefaultSnapLen, which keeps every frame whole).
	SnapLen int `json:"snaplen,omitempty"`
	// Count stops the capture after this many frames; 0 captures until
	// cancelled (or Duration).
	Count int `json:"count,omitempty"`
	// Duration stops the capture after this long; 0: no limit.
	Duration Duration `json:"duration,omitempty"`
}

// CaptureInterface is an "interface" event: one of the interfaces
// captured on, as a pcapng Interface Description Block describes it. The
// server sends one per interface, before any frame.
type CaptureInterface struct {
	// ID is the interface's number in "frame" events, counting from 0 in
	// the order of the "interface" events.
	ID          int    `json:"id"`
	Name        string `json:"name"`
	LinkType    uint16 `json:"linktype"` // pcapng LINKTYPE_ value: 1 Ethernet, 101 raw IP
	SnapLen     int    `json:"snaplen"`
	MAC         string `json:"mac,omitempty"`
	Description string `json:"description,omitempty"`
}

// PcapngInterface returns i as a pcapng Interface Description Block.
func (i CaptureInterface) PcapngInterface() pcapng.Interface {
	p := pcapng.Interface{LinkType: pcapng.LinkType(i.LinkType), SnapLen: uint32(i.SnapLen), Name: i.Name, Description: i.Description}
	if m, err := wire.ParseMAC(i.MAC); err == nil {
		p.MAC = m
	}
	return p
}

// CaptureFrame is a "frame" event: one frame, as the interface received
// or transmitted it (link header first), its checksums filled in on
// links that leave them to offload (see package drivers/pcap).
type CaptureFrame struct {
	Iface     int       `json:"if"`           // CaptureInterface.ID
	Time      time.Time `json:"time"`         // by the stack's clock
	Dir       string    `json:"dir"`          // "in" or "out"
	Reception uint8     `json:"rx,omitempty"` // pcapng reception type of an inbound Ethernet frame
	PktID     uint64    `json:"pkt_id,omitempty"`
	Len       int       `json:"len"`  // the frame's length
	Data      []byte    `json:"data"` // its first SnapLen bytes (base64 in JSON)
}

// PcapngPacket returns f as a pcapng Enhanced Packet Block.
func (f *CaptureFrame) PcapngPacket() pcapng.Packet {
	p := pcapng.Packet{Interface: f.Iface, Time: f.Time, Data: f.Data, Length: f.Len, Reception: pcapng.Reception(f.Reception), PacketID: f.PktID}
	switch f.Dir {
	case "in":
		p.Direction = pcapng.DirInbound
	case "out":
		p.Direction = pcapng.DirOutbound
	}
	return p
}

// CaptureDropped is a "dropped" event: frames the stack dropped because
// the client read too slowly.
type CaptureDropped struct {
	Dropped uint64 `json:"dropped"` // since the last report
	Total   uint64 `json:"total"`   // since the capture started
}

// CaptureCounts are one interface's counts in a CaptureResult.
type CaptureCounts struct {
	Name     string `json:"name"`
	Received uint64 `json:"received"` // frames the tap saw
	Dropped  uint64 `json:"dropped"`  // of which dropped for a slow client
}

// CaptureResult is the result of method "capture", with tcpdump's three
// counts.
type CaptureResult struct {
	// Captured is how many frames were sent.
	Captured uint64 `json:"captured"`
	// Received is how many the taps saw: those sent, those dropped, and
	// those still queued when the capture stopped (at Count).
	Received uint64 `json:"received"`
	// Dropped is how many were dropped because the client read too
	// slowly.
	Dropped    uint64          `json:"dropped"`
	Start      time.Time       `json:"start"`
	End        time.Time       `json:"end"`
	Interfaces []CaptureCounts `json:"interfaces"`
}

// capture serves method "capture": it runs until Count frames, Duration,
// or the client cancels (then the result is the counts so far).
func (s *Server) capture(ctx context.Context, raw json.RawMessage, st *Stream) (any, error) {
	var a CaptureArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.Count < 0 || a.Duration < 0 || a.SnapLen < 0 {
		return nil, argsError("capture: negative count, duration or snapshot length")
	}
	devs := s.st.Devices().Devices()
	if len(a.Interfaces) > 0 {
		var sel []*netdev.Device
		for _, name := range a.Interfaces {
			i := slices.IndexFunc(devs, func(d *netdev.Device) bool { return d.Name() == name })
			if i < 0 {
				return nil, fmt.Errorf("capture: no interface %q: %w", name, syscall.ENODEV)
			}
			if !slices.Contains(sel, devs[i]) {
				sel = append(sel, devs[i])
			}
		}
		devs = sel
	}

	c := pcap.New(pcap.Options{SnapLen: a.SnapLen, Queue: CaptureQueue, Clock: s.st.Clock()})
	for _, d := range devs {
		c.Attach(d)
	}
	defer c.Stop()
	for _, i := range c.Interfaces() {
		d := i.Description()
		ci := CaptureInterface{ID: i.ID(), Name: d.Name, LinkType: uint16(d.LinkType), SnapLen: int(d.SnapLen), Description: d.Description}
		if d.LinkType == pcapng.LinkEthernet {
			ci.MAC = i.Caps().MAC.String()
		}
		st.Send("interface", ci)
	}

	var res CaptureResult
	res.Start = c.Start()
	finish := func() CaptureResult {
		c.Stop()
		res.End = s.st.Clock().Now()
		for _, i := range c.Interfaces() {
			is := i.Stats()
			res.Received += is.Captured + is.Dropped
			res.Dropped += is.Dropped
			res.Interfaces = append(res.Interfaces, CaptureCounts{Name: i.Name(), Received: is.Captured + is.Dropped, Dropped: is.Dropped})
		}
		return res
	}
	var expire <-chan time.Time
	if a.Duration > 0 {
		t := time.NewTimer(a.Duration.D())
		defer t.Stop()
		expire = t.C
	}
	tick := time.NewTicker(captureTick)
	defer tick.Stop()
	reported := uint64(0)
	frames := c.Frames()
	// Send fails only when the client has gone, and then ctx ends too:
	// its errors are left to ctx.
	for a.Count == 0 || res.Captured < uint64(a.Count) {
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errCancelled) {
				return finish(), nil
			}
			return nil, context.Cause(ctx)
		case f := <-frames:
			cf := CaptureFrame{Iface: f.Iface, Time: f.Time, Dir: f.Dir.String(), Reception: uint8(f.Reception), PktID: f.PktID, Len: f.Len, Data: f.Data}
			st.Send("frame", cf)
			f.Release()
			res.Captured++
		case <-tick.C:
			if n := c.Stats().Dropped; n > reported {
				st.Send("dropped", CaptureDropped{Dropped: n - reported, Total: n})
				reported = n
			}
		case <-expire:
			return finish(), nil
		}
	}
	return finish(), nil
}

// CaptureHandler receives what Client.Capture streams; nil fields ignore
// their events.
type CaptureHandler struct {
	Interface func(CaptureInterface)
	Frame     func(*CaptureFrame)
	Dropped   func(CaptureDropped)
}

// Capture streams frames of the stack's interfaces (see CaptureArgs) to h
// until a.Count frames, a.Duration, or until ctx ends; then it returns the
// counts, with ctx's error in the last case. The frame passed to
// h.Frame is valid only during the call.
func (c *Client) Capture(ctx context.Context, a CaptureArgs, h CaptureHandler) (CaptureResult, error) {
	var (
		res CaptureResult
		f   CaptureFrame
	)
	err := c.Call(ctx, "capture", a, func(ev string, data json.RawMessage) error {
		var err error
		switch ev {
		case "interface":
			var i CaptureInterface
			if err = json.Unmarshal(data, &i); err == nil && h.Interface != nil {
				h.Interface(i)
			}
		case "frame":
			f.Data = f.Data[:0]
			f.Reception, f.PktID = 0, 0
			if err = json.Unmarshal(data, &f); err == nil && h.Frame != nil {
				h.Frame(&f)
			}
		case "dropped":
			var d CaptureDropped
			if err = json.Unmarshal(data, &d); err == nil && h.Dropped != nil {
				h.Dropped(d)
			}
		}
		if err != nil {
			return fmt.Errorf("ctl: capture: malformed %s: %w", ev, err)
		}
		return nil
	}, &res)
	return res, err
}

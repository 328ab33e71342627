package ctl_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ustack/ctl"
	"ustack/pcapng"
	"ustack/wire"
)

func TestCaptureFrames(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	stop := make(chan struct{})
	n.sendUDP(t, 10*time.Millisecond, stop)
	defer close(stop)

	var ifs []ctl.CaptureInterface
	var frames []ctl.CaptureFrame
	res, err := c.Capture(testContext(t), ctl.CaptureArgs{Interfaces: []string{"eth0"}, Count: 6}, ctl.CaptureHandler{
		Interface: func(i ctl.CaptureInterface) { ifs = append(ifs, i) },
		Frame: func(f *ctl.CaptureFrame) {
			g := *f
			g.Data = append([]byte(nil), f.Data...)
			frames = append(frames, g)
		},
	})
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if len(ifs) != 1 || ifs[0].Name != "eth0" || ifs[0].ID != 0 || ifs[0].LinkType != uint16(pcapng.LinkEthernet) || ifs[0].SnapLen != pcapng.DefaultSnapLen || ifs[0].MAC == "" {
		t.Errorf("interfaces %+v, want eth0 on Ethernet", ifs)
	}
	if res.Captured != 6 || len(frames) != 6 || res.Received < 6 || res.Dropped != 0 || len(res.Interfaces) != 1 || res.End.Before(res.Start) {
		t.Fatalf("Capture = %+v with %d frames, want 6 frames, none dropped", res, len(frames))
	}
	dirs := map[string]int{}
	for _, f := range frames {
		dirs[f.Dir]++
		if f.Iface != 0 || f.Len != len(f.Data) || f.Len < wire.EthernetHeaderLen || f.Time.IsZero() {
			t.Errorf("frame %+v", f)
			continue
		}
		if et := binary.BigEndian.Uint16(f.Data[12:]); et != uint16(wire.EtherTypeIPv4) && et != uint16(wire.EtherTypeARP) {
			t.Errorf("frame of EtherType %#04x", et)
		}
		if p := f.PcapngPacket(); p.Interface != 0 || p.Direction == pcapng.DirUnknown || p.Length != f.Len {
			t.Errorf("as pcapng: %+v", p)
		}
	}
	if dirs["in"] == 0 || dirs["out"] == 0 {
		t.Errorf("directions %v, want both (datagrams out, echoes in)", dirs)
	}
}

// Without interfaces named, every interface is captured; Duration ends
// the capture with its counts.
func TestCaptureAllForAWhile(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	var names []string
	start := time.Now()
	res, err := c.Capture(testContext(t), ctl.CaptureArgs{Duration: ctl.Duration(200 * time.Millisecond)}, ctl.CaptureHandler{
		Interface: func(i ctl.CaptureInterface) { names = append(names, i.Name) },
	})
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 10*time.Second {
		t.Errorf("a 200ms capture took %v", d)
	}
	if len(names) != 2 || names[0] != "lo" || names[1] != "eth0" || len(res.Interfaces) != 2 {
		t.Errorf("interfaces %q, result %+v; want lo and eth0", names, res)
	}
}

func TestCaptureBadArgs(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	_, err := c.Capture(testContext(t), ctl.CaptureArgs{Interfaces: []string{"eth9"}}, ctl.CaptureHandler{})
	if !errors.Is(err, syscall.ENODEV) {
		t.Errorf("capture on eth9: %v, want ENODEV", err)
	}
	_, err = c.Capture(testContext(t), ctl.CaptureArgs{Count: -1}, ctl.CaptureHandler{})
	var ce *ctl.Error
	if !errors.As(err, &ce) || ce.Code != ctl.CodeBadArgs {
		t.Errorf("count -1: %v, want bad_args", err)
	}
}

// A client that stops reading never holds the stack up: frames are
// dropped and counted.
func TestCaptureSlowClientDrops(t *testing.T) {
	n := newTestNet(t)
	c := n.dial(t)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	first := make(chan struct{})
	var once atomic.Bool
	type out struct {
		res ctl.CaptureResult
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := c.Capture(ctx, ctl.CaptureArgs{}, ctl.CaptureHandler{
			Frame: func(*ctl.CaptureFrame) {
				if once.CompareAndSwap(false, true) {
					close(first)
					<-ctx.Done() // a reader that stops reading
				}
			},
		})
		done <- out{res, err}
	}()
	conn, err := n.a.DialContext(context.Background(), "udp", "10.0.0.2:7")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for {
		conn.Write([]byte("x"))
		select {
		case <-first:
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	// Each datagram and its echo make two frames of 1042 bytes: far more
	// than the queue and the socket hold.
	start := time.Now()
	payload := make([]byte, 1000)
	for range 5000 {
		if _, err := conn.Write(payload); err != nil && !errors.Is(err, syscall.ENOBUFS) {
			t.Fatalf("Write: %v", err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("5000 datagrams took %v with a stalled capture", d)
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	r := <-done
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("Capture = %v, want context.Canceled", r.err)
	}
	if r.res.Dropped == 0 || r.res.Received < r.res.Captured+r.res.Dropped {
		t.Errorf("Capture result %+v, want frames dropped", r.res)
	}
}

package gvisor

import (
	"net/netip"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"

	"ustack/drivers/fault"
	"ustack/drivers/vwire"
	ustack "ustack/stack"
)

// Addresses of the two sides of every test link.
var (
	usPrefix = netip.MustParsePrefix("10.0.0.1/24")
	gvPrefix = netip.MustParsePrefix("10.0.0.2/24")
	usAddr   = usPrefix.Addr()
	gvAddr   = gvPrefix.Addr()
)

// pair is a ustack stack and a gVisor stack on the two ends of one vwire.
type pair struct {
	us  *ustack.Stack
	gv  *Host
	end *vwire.End // ustack's end
}

// wireOptions shape the vwire between the two stacks of a test.
type wireOptions struct {
	MTU    int          // 0: 1500
	Impair fault.Impair // applied in both directions
	Seed   int64        // seeds the impairment

	// FastBuffers gives the ustack stacks unchecked packet pools (for
	// benchmarks; tests keep the checks).
	FastBuffers bool
}

// newPair cables a fresh ustack stack (10.0.0.1, checked buffers) to a
// fresh gVisor stack (10.0.0.2) with a vwire, both verifying checksums.
// Cleanup closes both and checks that every packet buffer on either side
// came back to its pool, and that neither side saw a checksum or header
// error (unless the wire corrupts frames, when such errors are the point).
func newPair(t testing.TB, mtu int) *pair {
	t.Helper()
	return newPairOpts(t, wireOptions{MTU: mtu})
}

func newPairOpts(t testing.TB, o wireOptions) *pair {
	t.Helper()
	end, link := NewPair(
		vwire.Config{Name: "ustack", MAC: vwire.SeededMAC(1, 1), MTU: o.MTU, Impair: o.Impair, Seed: o.Seed},
		vwire.Config{Name: "gvisor", MAC: vwire.SeededMAC(1, 2), MTU: o.MTU, Impair: o.Impair, Seed: o.Seed},
		LinkOptions{})
	us := ustack.New(ustack.Options{CheckedBuffers: !o.FastBuffers, Seed: 1})
	if _, err := us.AddNIC("eth0", end); err != nil {
		t.Fatalf("ustack AddNIC = %v", err)
	}
	if err := us.AddAddress("eth0", usPrefix); err != nil {
		t.Fatalf("ustack AddAddress = %v", err)
	}
	gv, err := NewHost(link, gvPrefix)
	if err != nil {
		us.Close()
		t.Fatalf("NewHost = %v", err)
	}
	p := &pair{us: us, gv: gv, end: end}
	t.Cleanup(func() {
		gv.Close()
		if err := us.Close(); err != nil {
			t.Errorf("ustack Close = %v", err)
		}
		if n := us.Pool().Live(); n != 0 {
			t.Errorf("ustack pool: %d buffers still held after Close (leak)", n)
		}
		if n := link.Pool().Live(); n != 0 {
			t.Errorf("link pool: %d buffers still held after Close (leak)", n)
		}
		if o.Impair.Corrupt == 0 {
			p.checkClean(t)
		}
	})
	return p
}

// checkClean fails t if either stack counted a malformed packet or a bad
// checksum: the one implementation rejecting what the other built.
func (p *pair) checkClean(t testing.TB) {
	t.Helper()
	st := p.us.Stats()
	for name, v := range map[string]uint64{
		"ustack IP.InHdrErrors":    st.IP.InHdrErrors.Load(),
		"ustack IP.InCsumErrors":   st.IP.InCsumErrors.Load(),
		"ustack ICMP.InCsumErrors": st.ICMP.InCsumErrors.Load(),
		"ustack ICMP.InErrors":     st.ICMP.InErrors.Load(),
		"ustack UDP.InCsumErrors":  st.UDP.InCsumErrors.Load(),
		"ustack UDP.InErrors":      st.UDP.InErrors.Load(),
		"ustack ARP.InErrors":      st.ARP.InErrors.Load(),
		"ustack IP.ReasmFails":     st.IP.ReasmFails.Load(),
		"ustack TCP.InErrs":        st.TCP.InErrs.Load(),
		"ustack TCP.InCsumErrors":  st.TCP.InCsumErrors.Load(),
	} {
		if v != 0 {
			t.Errorf("%s = %d, want 0", name, v)
		}
	}
	gs := p.gv.Stats()
	for name, c := range map[string]*tcpip.StatCounter{
		"gVisor IP.MalformedPacketsReceived":     gs.IP.MalformedPacketsReceived,
		"gVisor IP.MalformedFragmentsReceived":   gs.IP.MalformedFragmentsReceived,
		"gVisor ARP.MalformedPacketsReceived":    gs.ARP.MalformedPacketsReceived,
		"gVisor ICMP.V4.PacketsReceived.Invalid": gs.ICMP.V4.PacketsReceived.Invalid,
		"gVisor UDP.ChecksumErrors":              gs.UDP.ChecksumErrors,
		"gVisor UDP.MalformedPacketsReceived":    gs.UDP.MalformedPacketsReceived,
		"gVisor TCP.ChecksumErrors":              gs.TCP.ChecksumErrors,
		"gVisor TCP.InvalidSegmentsReceived":     gs.TCP.InvalidSegmentsReceived,
	} {
		if v := c.Value(); v != 0 {
			t.Errorf("%s = %d, want 0", name, v)
		}
	}
	if v := p.gv.Link.Stats.RxErrors.Load(); v != 0 {
		t.Errorf("Link RxErrors = %d, want 0", v)
	}
}

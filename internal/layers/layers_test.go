// Package layers holds the architecture test: a package may import only
// packages of its own layer or below (shared/STYLE.md). Lower layers reach
// upward only through handlers registered at start-up.
package layers

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// layer of each package, by import path prefix (longest match wins).
var layer = map[string]int{
	"ustack/wire":   0,
	"ustack/seqnum": 0,
	"ustack/pkt":    0,
	"ustack/stats":  0,
	"ustack/trace":  0,
	"ustack/clock":  0,
	"ustack/pcapng": 0,

	"ustack/netdev":  1,
	"ustack/drivers": 1,

	"ustack/ifaddr": 2,
	"ustack/neigh":  2,
	"ustack/arp":    2,

	"ustack/ipv4": 3,

	"ustack/udp": 4,
	"ustack/tcp": 4,

	"ustack/socket": 5,

	"ustack/gonet": 6,
	"ustack/dhcp":  6,
	"ustack/dns":   6,

	"ustack/stack":  7,
	"ustack/netsim": 7,
	"ustack/ctl":    7,

	"ustack/cmd":     8,
	"ustack/interop": 8,
	"ustack/tcpplot": 8,
}

// exceptions: the socket layer's pieces (deadlines, queues, errors) are
// used by transports, which sit below it in the table; Linux likewise
// builds transports on struct sock.
var allowed = map[[2]string]bool{
	{"ustack/udp", "ustack/socket"}: true,
	{"ustack/tcp", "ustack/socket"}: true,
}

func layerOf(pkg string) (string, int, bool) {
	best, bl, ok := "", 0, false
	for prefix, l := range layer {
		if (pkg == prefix || strings.HasPrefix(pkg, prefix+"/")) && len(prefix) > len(best) {
			best, bl, ok = prefix, l, true
		}
	}
	return best, bl, ok
}

func TestNoPackageImportsUpward(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "ustack/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.ImportPath, "ustack/internal") {
			continue
		}
		from, fl, ok := layerOf(p.ImportPath)
		if !ok {
			t.Errorf("package %s has no layer: add it to the table", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, "ustack/") || strings.HasPrefix(imp, "ustack/internal") {
				continue
			}
			to, tl, ok := layerOf(imp)
			if !ok {
				continue
			}
			checked++
			if tl > fl && !allowed[[2]string{from, to}] {
				t.Errorf("%s (layer %d) imports %s (layer %d): upward import", p.ImportPath, fl, imp, tl)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no imports checked: the test saw no packages")
	}
}

package wire_test

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// fromHex decodes a fixture written as hex with a comment per field:
// everything from "//" to the end of a line is dropped, then all white
// space. It panics on bad hex, since fixtures are constants.
func fromHex(s string) []byte {
	var sb strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		panic("fixture: " + err.Error())
	}
	return b
}

// readPcap returns the frames of a classic libpcap file (microsecond or
// nanosecond timestamps, either byte order). Only what the golden tests
// need: no pcapng, link type checked by the caller.
func readPcap(t testing.TB, path string) (linkType uint32, frames [][]byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 24 {
		t.Fatalf("%s: short pcap header", path)
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		t.Fatalf("%s: not a pcap file (magic %x)", path, data[:4])
	}
	linkType = bo.Uint32(data[20:])
	for rest := data[24:]; len(rest) > 0; {
		if len(rest) < 16 {
			t.Fatalf("%s: truncated record header", path)
		}
		incl := int(bo.Uint32(rest[8:]))
		orig := int(bo.Uint32(rest[12:]))
		if incl > len(rest)-16 || incl != orig {
			t.Fatalf("%s: record of %d/%d bytes with %d left", path, incl, orig, len(rest)-16)
		}
		frames = append(frames, rest[16:16+incl])
		rest = rest[16+incl:]
	}
	return linkType, frames
}

package stack_test

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"ustack/stack"
)

// WriteMetrics is the body of a /metrics page; serve it with
// Content-Type stats.PromContentType.
func ExampleStack_WriteMetrics() {
	s := stack.New(stack.Options{})
	defer s.Close()
	pc, _ := s.ListenPacket("udp", ":5353")
	defer pc.Close()

	var b bytes.Buffer
	s.WriteMetrics(&b)
	sc := bufio.NewScanner(&b)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "ustack_udp_sockets ") || strings.HasPrefix(l, `ustack_link_up{interface="lo"}`) {
			fmt.Println(l)
		}
	}
	// Output:
	// ustack_link_up{interface="lo"} 1
	// ustack_udp_sockets 1
}

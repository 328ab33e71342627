#!/usr/bin/env bash
# capture.sh regenerates golden.pcap (and golden.txt, its tcpdump -v
# listing): frames sent and received by the Linux kernel, for the golden
# tests in ../golden_test.go.
#
# Run as root from anywhere: bash wire/testdata/capture.sh
# Needs: ip, ethtool, tcpdump, ping, python3, curl; nft for the SACK part.
#
# Topology, three throwaway network namespaces with random-suffixed names,
# removed on exit whatever happens (trap). Only documentation addresses
# (RFC 5737 TEST-NET-1 and -2) are used, and no traffic leaves the
# namespaces:
#
#   A 192.0.2.1 --veth-- 192.0.2.2 R 198.51.100.1 --veth (MTU 1280)-- 198.51.100.2 B
#
# The capture runs on A's interface. Checksum offload, TSO/GSO/GRO are
# off on every veth so the captured checksums are the real ones and no
# segment is larger than the MTU.
#
# Traffic: ARP (A resolves R; R resolves B unseen), ping A->R, a 3000-byte
# ping A->R (fragmented both ways), ping A->B through R (TTL 63 replies),
# ping with TTL 1 (R: time exceeded), ping with DF larger than the R-B MTU
# (R: fragmentation needed, next-hop MTU 1280, RFC 1191), a UDP echo with
# an odd-length payload, UDP to a closed port (B: port unreachable), an
# HTTP GET over TCP with one server segment dropped by nft on R (the
# client sends SACK blocks), and a TCP SYN to a closed port (B: RST).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$here/golden.pcap
sfx=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
A=wireA-$sfx R=wireR-$sfx B=wireB-$sfx
work=$(mktemp -d)
pids=()

cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for ns in "$A" "$R" "$B"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

for ns in "$A" "$R" "$B"; do
	ip netns add "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$A" link add a0 type veth peer name r0 netns "$R"
ip -n "$R" link add r1 type veth peer name b0 netns "$B"
ip -n "$A" link set a0 address 02:00:00:00:00:0a
ip -n "$R" link set r0 address 02:00:00:00:00:01
ip -n "$R" link set r1 address 02:00:00:00:01:01 mtu 1280
ip -n "$B" link set b0 address 02:00:00:00:01:0b mtu 1280
for pair in "$A a0" "$R r0" "$R r1" "$B b0"; do
	set -- $pair
	ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
	ip -n "$1" link set "$2" up
done
ip -n "$A" addr add 192.0.2.1/24 dev a0
ip -n "$R" addr add 192.0.2.2/24 dev r0
ip -n "$R" addr add 198.51.100.1/24 dev r1
ip -n "$B" addr add 198.51.100.2/24 dev b0
ip -n "$A" route add default via 192.0.2.2
ip -n "$B" route add default via 198.51.100.1
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1

# Servers on B: a UDP echo on port 7 and HTTP on port 8080 serving 24000
# bytes, enough segments for a drop to be SACKed.
head -c 24000 /dev/zero | tr '\0' 'w' >"$work/blob"
ip netns exec "$B" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.2", 7))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
' &
pids+=($!)
(cd "$work" && exec ip netns exec "$B" python3 -m http.server --bind 198.51.100.2 8080 >/dev/null 2>&1) &
pids+=($!)

# Drop the 6th server-to-client segment once (after the handshake and the
# first data), so that A's ACKs carry SACK blocks.
if command -v nft >/dev/null; then
	ip netns exec "$R" nft add table inet wire
	ip netns exec "$R" nft 'add chain inet wire filt { type filter hook forward priority 0; }'
	ip netns exec "$R" nft add rule inet wire filt tcp sport 8080 numgen inc mod 100000 == 5 drop
fi

ip netns exec "$A" tcpdump -i a0 -U -s 0 -Z root -w "$work/cap.pcap" 2>/dev/null &
pids+=($!)
sleep 1.5 # tcpdump and the servers start

run() { ip netns exec "$A" "$@" >/dev/null 2>&1 || true; }
run ping -c 1 -W 1 192.0.2.2
run ping -c 1 -W 1 -s 3000 192.0.2.2
run ping -c 1 -W 1 198.51.100.2
run ping -c 1 -W 1 -t 1 198.51.100.2
run ping -c 1 -W 1 -M do -s 1400 198.51.100.2
run python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(b"hello, wire!!", ("198.51.100.2", 7))
s.recvfrom(2048)
s.sendto(b"nobody home", ("198.51.100.2", 9))
'
run curl -s -m 5 -o /dev/null http://198.51.100.2:8080/blob
run curl -s -m 2 -o /dev/null http://198.51.100.2:8081/
sleep 1

kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
cp "$work/cap.pcap" "$out"
tcpdump -r "$out" -nn -v -e >"$here/golden.txt" 2>/dev/null
echo "wrote $out: $(tcpdump -r "$out" -nn 2>/dev/null | wc -l) frames"

package stats

// Stack holds every protocol-level MIB of one stack. Per-device counters
// live in Link, one per device.
type Stack struct {
	Ether Ether
	ARP   ARP
	IP    IP
	ICMP  ICMP
	UDP   UDP
}

// Link counts one device's traffic, as `ip -s link` shows it.
type Link struct {
	RxPackets Counter
	RxBytes   Counter
	RxErrors  Counter
	RxDropped Counter // receive ring full, or no handler for the frame
	TxPackets Counter
	TxBytes   Counter
	TxErrors  Counter
	TxDropped Counter // transmit queue full, or device down
	Multicast Counter // multicast and broadcast frames received
}

// Ether counts the Ethernet demultiplexer's decisions.
type Ether struct {
	InFrames          Counter
	InTruncated       Counter // shorter than an Ethernet header
	InOtherHost       Counter // unicast to another MAC, not promiscuous: dropped
	InUnknownProtos   Counter // EtherType with no registered handler
	InDeviceDown      Counter // arrived on a device that is down
	OutFrames         Counter
	OutTooBig         Counter // longer than the device MTU
	OutUnknownNetwork Counter
}

// ARP counts the neighbour subsystem, after Linux's `ip -s ntable` and the
// arp counters of other stacks.
type ARP struct {
	InRequests         Counter
	InReplies          Counter
	InErrors           Counter // malformed, or not Ethernet/IPv4
	InOtherTarget      Counter // request for an address that is not ours
	InUnsolicited      Counter // reply with no incomplete entry: no entry created
	InBadSender        Counter // sender address martian, ours, or broadcast
	OutRequests        Counter
	OutReplies         Counter
	OutGratuitous      Counter
	Resolved           Counter
	ResFailed          Counter // resolution gave up after its retries
	UnresolvedDiscards Counter // queued packet dropped: queue full or resolution failed
	TableFulls         Counter // no room for a new entry even after eviction
	Entries            Gauge
}

// IP is the IPv4 part of RFC 4293's ipSystemStatsTable, with Linux IpExt
// counters for the drop reasons the MIB lumps together.
type IP struct {
	InReceives      Counter
	InHdrErrors     Counter // bad version, header length, checksum, TTL 0 on forward...
	InCsumErrors    Counter
	InTruncatedPkts Counter // frame shorter than the total length
	InAddrErrors    Counter // destination not ours and not forwarding, or martian
	InMartians      Counter // source martian: loopback, multicast, broadcast, 0/8 on the wire
	InNoRoutes      Counter
	InUnknownProtos Counter
	InDiscards      Counter
	InDelivers      Counter
	InBcastPkts     Counter
	ForwDatagrams   Counter
	OutRequests     Counter
	OutDiscards     Counter
	OutNoRoutes     Counter
	OutBcastPkts    Counter
	ReasmTimeout    Counter
	ReasmReqds      Counter
	ReasmOKs        Counter
	ReasmFails      Counter
	ReasmOverlaps   Counter
	ReasmOversize   Counter // would exceed 65,535 bytes
	ReasmEvictions  Counter // dropped to stay under the memory limit
	FragOKs         Counter
	FragFails       Counter // DF set and too big, or cannot fragment
	FragCreates     Counter
	ReasmMemory     Gauge // bytes held by incomplete datagrams
}

// ICMP is RFC 4293's icmpStatsTable and icmpMsgStatsTable for the types
// ustack handles, plus Linux's rate-limit counter.
type ICMP struct {
	InMsgs           Counter
	InErrors         Counter
	InCsumErrors     Counter
	InDestUnreachs   Counter
	InTimeExcds      Counter
	InParmProbs      Counter
	InSrcQuenchs     Counter
	InRedirects      Counter
	InEchos          Counter
	InEchoReps       Counter
	InTimestamps     Counter
	InOther          Counter
	OutMsgs          Counter
	OutErrors        Counter
	OutDestUnreachs  Counter
	OutTimeExcds     Counter
	OutParmProbs     Counter
	OutEchos         Counter
	OutEchoReps      Counter
	OutRateLimited   Counter // error suppressed by the rate limit
	ErrorsSuppressed Counter // error not sent: in reply to an error, broadcast, or non-first fragment
}

// UDP is RFC 4113's udp group plus Linux's Udp counters.
type UDP struct {
	InDatagrams  Counter
	NoPorts      Counter
	InErrors     Counter
	InCsumErrors Counter
	RcvbufErrors Counter
	OutDatagrams Counter
	SndbufErrors Counter
	IgnoredMulti Counter
}

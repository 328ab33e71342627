package stats

// Stack holds every protocol-level MIB of one stack. Per-device counters
// live in Link, one per device.
type Stack struct {
	Ether Ether
	ARP   ARP
	IP    IP
	ICMP  ICMP
	UDP   UDP
	TCP   TCP
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
	OutGSOPackets     Counter // GSO super-packets cut into wire segments in software (skb_gso_segment)
	OutGSOSegs        Counter // wire segments those made
	OutGSOErrors      Counter // GSO packets that could not be segmented (not IPv4/TCP, malformed): dropped
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
	ReasmDuplicates Counter // a fragment received twice: the copy dropped, the datagram kept (SKB_DROP_REASON_DUP_FRAG)
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

// TCP is RFC 4022's tcp group (tcpActiveOpens...) plus the Linux TcpExt
// counters (`nstat -az TcpExt`) for the decisions the MIB lumps together.
type TCP struct {
	ActiveOpens  Counter // CLOSED -> SYN_SENT
	PassiveOpens Counter // LISTEN -> SYN_RCVD
	AttemptFails Counter // SYN_SENT/SYN_RCVD -> CLOSED, or SYN_RCVD -> LISTEN
	EstabResets  Counter // ESTABLISHED/CLOSE_WAIT -> CLOSED by RST
	CurrEstab    Gauge   // ESTABLISHED or CLOSE_WAIT now
	InSegs       Counter
	OutSegs      Counter // every segment sent, retransmissions included (as Linux counts)
	RetransSegs  Counter
	InErrs       Counter // truncated, bad header length, bad checksum
	InCsumErrors Counter
	OutRsts      Counter

	// TcpExt
	FastRetrans       Counter // retransmissions in fast recovery: fast retransmit, NewReno partial ACK, RFC 6675 NextSeg
	Timeouts          Counter // RTO expiries (TCPTimeouts)
	SynRetrans        Counter // SYN and SYN-ACK retransmissions
	DelayedACKs       Counter // ACKs sent by the delayed-ACK timer
	ListenOverflows   Counter // handshake completed with the accept queue full
	ListenDrops       Counter // SYN or completing ACK dropped at a listener
	ChallengeACKs     Counter // RFC 5961 challenge ACKs sent
	ChallengeACKLimit Counter // challenge ACKs suppressed by the rate limit
	OOWRateLimited    Counter // ACKs to out-of-window segments suppressed (TCPACKSkippedSeq...)
	PAWSDrops         Counter // PAWSEstab: segment dropped by the timestamp check
	OFOQueue          Counter // segments queued out of order (TCPOFOQueue)
	OFOMerge          Counter // out-of-order segments overlapping queued ones
	InDuplicates      Counter // segments of old data received (would draw a D-SACK, RFC 2883)
	AbortOnData       Counter // RST sent: data arrived after close
	AbortOnClose      Counter // RST sent: closed with unread data
	AbortOnTimeout    Counter // connection failed: retransmissions exhausted
	AbortOnLinger     Counter // RST sent: linger 0 close
	TimeWaitReuse     Counter // TIME_WAIT 4-tuple reused by a new SYN (TWRecycled)
	TimeWaitExpired   Counter // TIME_WAIT ended after 2*MSL
	TimeWaitSegs      Counter // segments to a TIME_WAIT connection answered with an ACK or ignored (no new connection)
	ZeroWindowProbes  Counter // persist timer probes
	KeepAliveProbes   Counter
	KeepAliveTimeouts Counter
	SACKsSent         Counter // segments sent with SACK blocks
	DSACKOldSent      Counter // D-SACKs sent for data received twice below RCV.NXT, RFC 2883 (TCPDSACKOldSent)
	DSACKOfoSent      Counter // D-SACKs sent for out-of-order data received twice (TCPDSACKOfoSent)
	SACKRecovery      Counter // loss recoveries entered with SACK, RFC 6675 (TCPSackRecovery)
	RenoRecovery      Counter // loss recoveries entered without SACK, RFC 6582 (TCPRenoRecovery)
	SACKLossDetect    Counter // SACK recoveries started by IsLost before the third duplicate ACK (RFC 6675 §5 step 2)
	SACKRescue        Counter // rescue retransmissions, RFC 6675 NextSeg rule 4
	TLPProbes         Counter // tail loss probes sent, RFC 8985 §7 (TCPLossProbes)
	TLPRecovery       Counter // losses repaired by a tail loss probe (TCPLossProbeRecovery)
	LostRetransmit    Counter // retransmissions found lost by SACKs of data sent after them, and resent (TCPLostRetransmit)
	SlowStartRetrans  Counter // retransmissions of lost data after a timeout, SACKed data skipped (TCPSlowStartRetrans)
	SACKDiscard       Counter // SACK blocks ignored as invalid (TCPSACKDiscard)
	SACKReneging      Counter // the peer discarded data it had SACKed, RFC 2018 §8 (TCPSACKReneging)
	DSACKRecv         Counter // D-SACK blocks received for data below the cumulative ACK, RFC 2883 (TCPDSACKRecv)
	DSACKOfoRecv      Counter // D-SACK blocks received for out-of-order data (TCPDSACKOfoRecv)
	DSACKIgnored      Counter // D-SACK blocks ignored: reversed, never sent or too old (TCPDSACKIgnoredOld)
	SpuriousRetrans   Counter // D-SACK blocks reporting a duplicate of one of our retransmissions (RFC 3708 §3)
	DSACKUndo         Counter // window reductions undone: every retransmission of the episode D-SACKed (TCPDSACKUndo)
	PMTUUpdates       Counter // MSS lowered by fragmentation needed
	SyncookiesSent    Counter // SYN-ACKs with a cookie (SYN queue full)
	SyncookiesRecv    Counter // ACKs with a valid cookie: connection created
	SyncookiesFailed  Counter // ACKs to a listener with an invalid cookie
	InNoSocket        Counter // segments for no connection or listener
	InDropped         Counter // segments dropped for any other reason (with a drop probe)
}

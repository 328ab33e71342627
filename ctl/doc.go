// Package ctl is the control socket of a running stack: the way a
// program reaches `ustack up` as a program reaches the kernel through
// system calls. `ustack up` owns a Server on a Unix socket; `ustack ping`,
// `ustack udp`, `ustack status` and the table commands (netstat, ss,
// ifconfig, route, arp) are Clients of it, and so can any Go program be
// (Dial, then Client.Ping, Client.UDP, Client.Status, Client.Sockets, or
// Client.Call for any method; Client.Get fetches a URL over the stack's
// TCP). A program holding the stack itself reads the same tables with
// Snapshot and Sockets.
//
// # Protocol
//
// A stream Unix socket carrying newline-delimited JSON, one object per
// line, in both directions. The client sends requests:
//
//	{"id":1,"method":"ping","args":{"addr":"10.0.0.1","count":3}}
//
// and the server answers each with zero or more events and then exactly
// one final message (done), carrying a result or an error:
//
//	{"id":1,"event":"reply","data":{"from":"10.0.0.1","seq":1,"ttl":64,"bytes":64,"rtt":"123µs"}}
//	{"id":1,"done":true,"result":{"addr":"10.0.0.1","sent":3,"received":3,...}}
//	{"id":2,"done":true,"error":{"code":"EADDRINUSE","message":"listen udp 0.0.0.0:7: bind: address already in use"}}
//
// Requests on one connection may overlap: every message carries the id of
// the request it belongs to, chosen by the client and unique among its
// requests in flight. A request is cancelled by
//
//	{"id":1,"method":"cancel"}
//
// (the id is the one of the request to cancel; cancel has no answer of its
// own): the request then ends as soon as it can, with its result so far
// where that makes sense (ping's statistics, as ping(8) prints them on
// ^C) or the error code "canceled". When the client's end of the
// connection reaches end of input (it closed or shut down writing), every
// request of that connection is cancelled and its answers discarded: keep
// the socket open until the final message.
//
// Durations are strings in Go's notation ("1.5s", "200ms"); in arguments
// a bare number is also accepted, as seconds. Addresses are strings
// ("10.0.0.1", "10.0.0.1:7", "10.0.0.2/24"); byte payloads are base64.
//
// # Methods
//
//	ping    args PingArgs;   events "reply" PingReply;  result PingSummary
//	udp     args UDPArgs;    events "datagram" Datagram; result UDPResult
//	status  args StatusArgs; no events;                 result Status
//	get     args GetArgs;    events "header" GetHeader, then "body" []byte; result GetResult
//	sockets args SocketsArgs; no events;                result []Socket
//	trace   args TraceArgs;  events "event" TraceEvent, "walk" TraceWalk, "lost" TraceLost; result TraceResult
//	capture args CaptureArgs; events "interface" CaptureInterface, "frame" CaptureFrame, "dropped" CaptureDropped; result CaptureResult
//
// Error codes are "bad_request", "unknown_method", "bad_args",
// "canceled", "timeout", "shutdown", "error", or the name of an errno
// ("EADDRINUSE", "ECONNREFUSED", "ENETUNREACH", ...); a Client's *Error
// unwraps to the matching syscall.Errno or context error, so errors.Is
// works across the socket.
//
// # Extending
//
// A new method is a Handler registered with Server.Handle; a new section
// of Status is a function in the sections table of status.go.
package ctl

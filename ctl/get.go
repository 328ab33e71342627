package ctl

// Method "get": an HTTP GET that the stack makes itself, over its own TCP,
// as curl or wget makes one over the kernel's. Read RFC 9110 §9.3.1 (GET)
// and §15 (status codes), and RFC 9112 §6.3 (how a body's length is
// known) before editing.
//
// The server answers with one "header" event (status, headers, length),
// then the body in "body" events of at most GetChunk bytes, then a
// GetResult. Each chunk is written to the control socket before the next
// read from the TCP connection, so a client that reads slowly slows the
// transfer down through TCP's window instead of filling the server's
// memory: the server holds one chunk at a time, whatever the body's size.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"ustack/clock"
	"ustack/stack"
)

// DefaultGetTimeout bounds connecting, waiting for the response's header
// and each wait for more of the body, when GetArgs.Timeout is 0.
const DefaultGetTimeout = 30 * time.Second

// GetChunk is the most body bytes one "body" event carries.
const GetChunk = 64 << 10

// maxGetHeader bounds the response header, as net/http's default does.
const maxGetHeader = 1 << 20

// GetArgs are the arguments of method "get".
type GetArgs struct {
	// URL is an http:// URL whose host is an IPv4 address (see
	// ParseGetURL).
	URL string `json:"url"`
	// Timeout bounds connecting, waiting for the response header, and
	// each wait for more of the body (0: DefaultGetTimeout), as wget's
	// --timeout does; a transfer that keeps moving may take longer.
	Timeout Duration `json:"timeout,omitempty"`
}

// GetHeader is the "header" event: the response's status line and header
// fields, sent before any of the body.
type GetHeader struct {
	Status     string      `json:"status"` // "200 OK"
	StatusCode int         `json:"status_code"`
	Proto      string      `json:"proto"` // "HTTP/1.1"
	Header     http.Header `json:"header,omitempty"`
	// Length is the body's length from Content-Length, or -1 if unknown
	// (a chunked or close-delimited body).
	Length int64 `json:"length"`
	// Local and Remote are the TCP connection's ends.
	Local  netip.AddrPort `json:"local"`
	Remote netip.AddrPort `json:"remote"`
}

// OK reports whether the status is 2xx (RFC 9110 §15.3).
func (h GetHeader) OK() bool { return h.StatusCode >= 200 && h.StatusCode <= 299 }

// GetResult is the result of method "get".
type GetResult struct {
	Bytes int64    `json:"bytes"` // body bytes sent as events
	Time  Duration `json:"time"`  // from the request's start to the body's end
}

// ErrHostName: a URL names its host rather than giving its address.
// ustack resolves no names yet.
var ErrHostName = errors.New("host names are not resolved yet")

// ParseGetURL checks that s is a URL method "get" can fetch, an http URL
// whose host is an IPv4 address, and returns it with "http://" and the
// path "/" filled in when missing ("10.0.0.1" is http://10.0.0.1/, as
// curl takes it). A host name fails with an error matching ErrHostName.
func ParseGetURL(s string) (*url.URL, error) {
	orig := s
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("malformed URL %q: %v", orig, err)
	}
	s = orig
	switch strings.ToLower(u.Scheme) {
	case "http":
		u.Scheme = "http"
	case "https":
		return nil, fmt.Errorf("%s: only http:// URLs are supported (ustack has no TLS)", s)
	default:
		return nil, fmt.Errorf("%s: unsupported scheme %q (only http:// URLs are supported)", s, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%s: missing host", s)
	}
	addr, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w: give an IPv4 address", host, ErrHostName)
	case !addr.Unmap().Is4():
		return nil, fmt.Errorf("%s: %v is not an IPv4 address", s, addr)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return nil, fmt.Errorf("%s: invalid port %q (want 1..65535)", s, p)
		}
	}
	if u.Path == "" && u.RawPath == "" {
		u.Path = "/"
	}
	return u, nil
}

// get serves method "get". The request runs until the body ends, the
// timeout strikes, or the client cancels or goes away; then the TCP
// connection is closed before the handler returns (with a reset if body
// bytes were left unread, as Linux does).
func (s *Server) get(ctx context.Context, raw json.RawMessage, st *Stream) (any, error) {
	var a GetArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	u, err := ParseGetURL(a.URL)
	if err != nil {
		return nil, argsError("get: %v", err)
	}
	if a.Timeout < 0 {
		return nil, argsError("get: negative timeout")
	}
	timeout := a.Timeout.D()
	if timeout == 0 {
		timeout = DefaultGetTimeout
	}
	clk := s.st.Clock()
	d := &getDialer{d: stack.Dialer{Stack: s.st, Timeout: timeout}, clk: clk, idle: timeout}
	defer d.close()
	tr := &http.Transport{
		Proxy:                  nil, // never the environment's proxy: the stack's own network
		DialContext:            d.dial,
		DisableKeepAlives:      true,
		DisableCompression:     true, // the body as the server sends it, as curl without --compressed
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: maxGetHeader,
		ReadBufferSize:         GetChunk,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		// As curl without -L: a redirect is the answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var hdr GetHeader
	trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
		hdr.Local, hdr.Remote = addrPort(ci.Conn.LocalAddr()), addrPort(ci.Conn.RemoteAddr())
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, argsError("get: %v", err)
	}
	req.Header.Set("User-Agent", "ustack-get")
	start := clk.Now()
	resp, err := client.Do(req)
	if err != nil {
		return nil, getError(ctx, err)
	}
	defer resp.Body.Close()
	hdr.Status, hdr.StatusCode, hdr.Proto = resp.Status, resp.StatusCode, resp.Proto
	hdr.Header, hdr.Length = resp.Header, resp.ContentLength
	if err := st.Send("header", hdr); err != nil {
		return nil, getError(ctx, err)
	}
	res := GetResult{}
	buf := make([]byte, GetChunk)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if err := st.Send("body", buf[:n]); err != nil {
				return nil, getError(ctx, err)
			}
			res.Bytes += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, getError(ctx, fmt.Errorf("get %s: after %d body bytes: %w", u, res.Bytes, rerr))
		}
	}
	res.Time = Duration(clk.Now().Sub(start))
	return res, nil
}

// getError is what a failed get answers: the request's own end when ctx
// is done (cancelled by the client, the client gone, the server
// shutting down), else err without net/http's `Get "URL":` prefix, which
// the client knows.
func getError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// getDialer dials the stack for net/http and keeps the connection, so
// that the handler can close it itself rather than rely on the
// transport's goroutines to.
type getDialer struct {
	d    stack.Dialer
	clk  clock.Clock
	idle time.Duration

	mu    sync.Mutex
	conns []net.Conn
}

// dial is the transport's DialContext. Context: process.
func (g *getDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := g.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.conns = append(g.conns, c)
	g.mu.Unlock()
	return &idleConn{Conn: c, clk: g.clk, idle: g.idle}, nil
}

// close closes every connection dialled.
func (g *getDialer) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		c.Close()
	}
	g.conns = nil
}

// idleConn fails a read that waits longer than idle for data, with
// os.ErrDeadlineExceeded (code "timeout" on the wire).
type idleConn struct {
	net.Conn
	clk  clock.Clock
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(c.clk.Now().Add(c.idle))
	return c.Conn.Read(p)
}

// Get fetches a.URL through the stack (method "get"). onHeader, if not
// nil, is called with the status and header fields before any of the
// body; the body is written to w. Any status is a success here: it is
// for onHeader to refuse one. An error from onHeader or w cancels the
// request (the server closes the connection) and is returned. If ctx
// ends first the request is cancelled and ctx's error returned.
func (c *Client) Get(ctx context.Context, a GetArgs, onHeader func(GetHeader) error, w io.Writer) (GetResult, error) {
	var (
		res     GetResult
		gotHdr  bool
		decoded []byte
	)
	err := c.Call(ctx, "get", a, func(ev string, data json.RawMessage) error {
		switch ev {
		case "header":
			var h GetHeader
			if err := json.Unmarshal(data, &h); err != nil {
				return fmt.Errorf("ctl: get: malformed header: %w", err)
			}
			gotHdr = true
			if onHeader != nil {
				return onHeader(h)
			}
		case "body":
			if !gotHdr {
				return errors.New("ctl: get: body before header")
			}
			var err error
			if decoded, err = decodeBytes(decoded, data); err != nil {
				return fmt.Errorf("ctl: get: malformed body: %w", err)
			}
			if _, err := w.Write(decoded); err != nil {
				return err
			}
		}
		return nil
	}, &res)
	return res, err
}

// decodeBytes decodes a JSON []byte (a base64 string) into buf's storage.
// encoding/json writes one without escapes, so the quotes are stripped
// and the rest decoded in place of a json.Unmarshal, which would allocate
// for each chunk.
func decodeBytes(buf []byte, data json.RawMessage) ([]byte, error) {
	data = bytes.TrimSpace(data)
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' || bytes.IndexByte(data[1:len(data)-1], '\\') >= 0 {
		var b []byte
		err := json.Unmarshal(data, &b)
		return b, err
	}
	s := data[1 : len(data)-1]
	if n := base64.StdEncoding.DecodedLen(len(s)); cap(buf) < n {
		buf = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(buf[:cap(buf)], s)
	return buf[:n], err
}

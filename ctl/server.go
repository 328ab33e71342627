package ctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"ustack/stack"
)

// MaxLine bounds one request line (a udp request carries its datagrams).
const MaxLine = 4 << 20

// shutdownGrace bounds how long Close waits for a client to take the
// final answers of its cancelled requests.
const shutdownGrace = time.Second

// Handler serves one method: it decodes args (with DecodeArgs), may send
// events on s while it runs, and returns the final result, which is
// marshalled as JSON, or an error. It must return soon after ctx is done.
// Context: process (one goroutine per request).
type Handler func(ctx context.Context, args json.RawMessage, s *Stream) (any, error)

// Server answers requests on control sockets for one stack. Each
// connection has one goroutine reading its requests, and each request one
// goroutine running its Handler; Close ends them all.
//
// Lock order: Server.mu, then conn.mu, then conn.wmu.
type Server struct {
	st     *stack.Stack
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu        sync.Mutex
	methods   map[string]Handler
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closed    bool
	wg        sync.WaitGroup // connection goroutines
}

// NewServer returns a server for st with the methods listed in doc.go
// (ping, udp, status, get, trace, sockets, capture).
func NewServer(st *stack.Stack) *Server {
	s := &Server{
		st:        st,
		methods:   make(map[string]Handler),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	s.Handle("ping", s.ping)
	s.Handle("udp", s.udp)
	s.Handle("status", s.status)
	s.Handle("get", s.get)
	s.Handle("trace", s.trace)
	s.Handle("sockets", s.sockets)
	s.Handle("capture", s.capture)
	return s
}

// Stack returns the stack the server acts on.
func (s *Server) Stack() *stack.Stack { return s.st }

// Handle registers (or replaces) the handler of a method.
func (s *Server) Handle(method string, h Handler) {
	if method == MethodCancel {
		panic("ctl: method name " + MethodCancel + " is reserved")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.methods[method] = h
}

// Listen opens the control socket at path, readable and writable by its
// owner only. A socket file left by a stack that died is replaced; one a
// live stack answers on is not (ErrRunning).
func Listen(path string) (net.Listener, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("ctl: %s exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("ctl: %s: %w", path, ErrRunning)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("ctl: %s: %w", path, err)
		}
		os.Remove(path) // stale
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se.Err
		}
		return nil, fmt.Errorf("ctl: listen on %s: %w", path, err)
	}
	// Connecting needs write permission on the socket file; with the
	// usual umask others have none before this, and none after.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("ctl: %w", err)
	}
	return l, nil
}

// maxPath is the longest socket path Linux takes (sizeof sun_path - 1).
const maxPath = 107

func checkPath(path string) error {
	if len(path) > maxPath {
		return fmt.Errorf("ctl: socket path %s is %d bytes long, longer than the %d a Unix socket allows", path, len(path), maxPath)
	}
	return nil
}

// Serve accepts connections on l until Close, serving each in its own
// goroutine. It returns nil after Close, or the listener's error. The
// listener is closed when Serve returns (a Unix listener removes its
// socket file).
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of descriptors and the like: wait and retry, as
			// net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		c := &conn{srv: s, nc: nc, active: make(map[uint64]context.CancelCauseFunc)}
		c.ctx, c.cancel = context.WithCancelCause(s.ctx)
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the listeners, cancels every request (which ends with the
// error code "shutdown"), gives clients a moment to read the final
// answers, closes every connection, and returns when every goroutine the
// server started has returned. Context: process.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel(ErrShutdown)
	// Wake each reader without closing, so that the cancelled requests
	// can still write their final answers (for a bounded time).
	now := time.Now()
	for _, c := range conns {
		c.nc.SetReadDeadline(now)
		c.nc.SetWriteDeadline(now.Add(shutdownGrace))
	}
	s.wg.Wait()
	return nil
}

// conn is one client connection.
type conn struct {
	srv    *Server
	nc     net.Conn
	ctx    context.Context // ends when the client goes or the server closes
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	active map[uint64]context.CancelCauseFunc // requests in flight
	reqs   sync.WaitGroup

	wmu sync.Mutex // one writer at a time
	buf bytes.Buffer
}

// serve reads requests until end of input, then cancels what is left,
// waits for it and closes the connection.
func (c *conn) serve() {
	defer c.srv.wg.Done()
	sc := bufio.NewScanner(c.nc)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			c.write(&Response{ID: req.ID, Done: true, Error: &Error{Code: CodeBadRequest, Message: "ctl: malformed request: " + err.Error()}})
			continue
		}
		c.dispatch(req)
	}
	cause := errGone
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		c.write(&Response{Done: true, Error: &Error{Code: CodeBadRequest, Message: fmt.Sprintf("ctl: request longer than %d bytes", MaxLine)}})
	}
	if c.srv.ctx.Err() != nil {
		cause = ErrShutdown
	}
	c.cancel(cause)
	c.reqs.Wait()
	c.nc.Close()
	c.srv.mu.Lock()
	delete(c.srv.conns, c)
	c.srv.mu.Unlock()
}

// dispatch starts one request, or cancels one for method "cancel".
func (c *conn) dispatch(req Request) {
	if req.Method == MethodCancel {
		c.mu.Lock()
		if cancel := c.active[req.ID]; cancel != nil {
			cancel(errCancelled)
		}
		c.mu.Unlock()
		return
	}
	c.srv.mu.Lock()
	h := c.srv.methods[req.Method]
	c.srv.mu.Unlock()
	if h == nil {
		c.write(&Response{ID: req.ID, Done: true, Error: &Error{Code: CodeUnknownMethod, Message: fmt.Sprintf("ctl: unknown method %q", req.Method)}})
		return
	}
	c.mu.Lock()
	if _, dup := c.active[req.ID]; dup {
		c.mu.Unlock()
		c.write(&Response{ID: req.ID, Done: true, Error: &Error{Code: CodeBadRequest, Message: fmt.Sprintf("ctl: request id %d already in flight", req.ID)}})
		return
	}
	ctx, cancel := context.WithCancelCause(c.ctx)
	c.active[req.ID] = cancel
	c.reqs.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.reqs.Done()
		st := &Stream{c: c, id: req.ID}
		res, err := c.call(ctx, h, req, st)
		c.mu.Lock()
		delete(c.active, req.ID)
		c.mu.Unlock()
		cancel(nil)
		resp := &Response{ID: req.ID, Done: true}
		if err == nil {
			resp.Result, err = json.Marshal(res)
		}
		if err != nil {
			resp.Result = nil
			resp.Error = toError(err)
		}
		c.write(resp)
	}()
}

// call runs h. As net/http does, a panic in a handler is logged and
// answered as an error rather than taking the stack down with it.
func (c *conn) call(ctx context.Context, h Handler, req Request, st *Stream) (res any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Printf("ctl: panic serving %s: %v\n%s", req.Method, p, debug.Stack())
			res, err = nil, fmt.Errorf("ctl: internal error serving %s: %v", req.Method, p)
		}
	}()
	return h(ctx, req.Args, st)
}

// write sends one line; errors (the client went away) are left to the
// reader to notice.
func (c *conn) write(r *Response) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.buf.Reset()
	if err := json.NewEncoder(&c.buf).Encode(r); err != nil {
		return err
	}
	_, err := c.nc.Write(c.buf.Bytes())
	return err
}

// Stream is how a Handler sends events to its client.
type Stream struct {
	c  *conn
	id uint64
}

// Send sends one event. It fails when the client has gone; a handler may
// ignore that, since its context is cancelled too.
func (s *Stream) Send(event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	return s.c.write(&Response{ID: s.id, Event: event, Data: b})
}

// DecodeArgs decodes a request's arguments into v (a pointer to a
// struct); absent arguments leave v as it is. The error has code
// "bad_args".
func DecodeArgs(raw json.RawMessage, v any) error { return decodeArgs(raw, v) }

func decodeArgs(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return argsError("ctl: bad arguments: %v", err)
	}
	return nil
}

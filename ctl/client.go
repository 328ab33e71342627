package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// EnvPath is the environment variable that, when set, overrides the
// default control socket path for servers and clients alike.
const EnvPath = "USTACK_CTL"

// DefaultPath returns the control socket path used when none is given:
// $USTACK_CTL if set; else $XDG_RUNTIME_DIR/ustack.sock; else
// /run/ustack.sock for root; else /tmp/ustack-$UID.sock.
func DefaultPath() string {
	if p := os.Getenv(EnvPath); p != "" {
		return p
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return d + "/ustack.sock"
	}
	if os.Geteuid() == 0 {
		return "/run/ustack.sock"
	}
	return "/tmp/ustack-" + strconv.Itoa(os.Geteuid()) + ".sock"
}

// cancelGrace bounds how long a cancelled call waits for the server's
// final answer before giving up on the connection.
const cancelGrace = 2 * time.Second

// DialError is Dial's failure. Err is ErrNoStack when nothing listens at
// Path.
type DialError struct {
	Path string
	Err  error
}

func (e *DialError) Error() string {
	if errors.Is(e.Err, ErrNoStack) {
		return "ctl: no running stack at " + e.Path
	}
	return fmt.Sprintf("ctl: connect to %s: %v", e.Path, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Client is a connection to a stack's control socket. Its calls are safe
// for concurrent use but run one at a time; Dial again for parallel
// calls.
type Client struct {
	path string
	nc   net.Conn

	mu     sync.Mutex // one call at a time; guards the fields below
	sc     *bufio.Scanner
	nextID uint64
	err    error // sticky: the connection is unusable

	wmu sync.Mutex // one writer at a time (a call, or its canceller)
}

// Dial connects to the control socket at path (empty: DefaultPath()).
func Dial(path string) (*Client, error) {
	if path == "" {
		path = DefaultPath()
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	nc, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			err = oe.Err
		}
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se.Err
		}
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			err = ErrNoStack
		}
		return nil, &DialError{Path: path, Err: err}
	}
	sc := bufio.NewScanner(nc)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	return &Client{path: path, nc: nc, sc: sc}, nil
}

// Path returns the socket path the client is connected to.
func (c *Client) Path() string { return c.path }

// Close closes the connection; the server cancels whatever it was doing
// for this client.
func (c *Client) Close() error { return c.nc.Close() }

func (c *Client) send(r *Request) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.nc.Write(append(b, '\n'))
	return err
}

// Call performs one request: it sends method with args (marshalled as
// JSON; nil for none), calls onEvent (if not nil) for each event as it
// arrives, and decodes the final result into result (if not nil). If
// onEvent returns an error the request is cancelled and Call returns that
// error. If ctx is done first the request is cancelled; the server's
// final answer, which may still carry a result, is decoded, and Call
// returns ctx's error.
//
// A server-side failure is returned as an *Error.
func (c *Client) Call(ctx context.Context, method string, args any, onEvent func(event string, data json.RawMessage) error, result any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var raw json.RawMessage
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("ctl: %s: %w", method, err)
		}
		raw = b
	}
	c.nextID++
	id := c.nextID
	if err := c.send(&Request{ID: id, Method: method, Args: raw}); err != nil {
		return c.broken(ctx, err)
	}

	// Cancelling sends "cancel" and bounds the wait for the final
	// answer. It runs in the AfterFunc goroutine or this one.
	var (
		cancelOnce sync.Once
		cancelled  atomic.Bool
	)
	cancel := func() {
		cancelOnce.Do(func() {
			cancelled.Store(true)
			c.send(&Request{ID: id, Method: MethodCancel})
			c.nc.SetReadDeadline(time.Now().Add(cancelGrace))
		})
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { defer close(fired); cancel() })
	defer func() {
		if !stop() {
			<-fired
		}
		if cancelled.Load() && c.err == nil {
			c.nc.SetReadDeadline(time.Time{})
		}
	}()

	var evErr error
	for c.sc.Scan() {
		var r Response
		if err := json.Unmarshal(c.sc.Bytes(), &r); err != nil {
			return c.broken(ctx, fmt.Errorf("malformed answer: %w", err))
		}
		if r.ID != id && (r.ID != 0 || !r.Done) {
			continue // a late answer to an earlier, abandoned call
		}
		if !r.Done {
			if onEvent != nil && evErr == nil {
				if evErr = onEvent(r.Event, r.Data); evErr != nil {
					cancel()
				}
			}
			continue
		}
		var err error
		if r.Error != nil {
			err = r.Error
		} else if result != nil && len(r.Result) > 0 {
			if err = json.Unmarshal(r.Result, result); err != nil {
				err = fmt.Errorf("ctl: %s: malformed result: %w", method, err)
			}
		}
		switch {
		case evErr != nil:
			return evErr
		case ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)):
			return ctx.Err()
		}
		return err
	}
	err := c.sc.Err()
	if err == nil {
		err = errors.New("connection closed by the stack")
	}
	return c.broken(ctx, err)
}

// broken marks the connection unusable and returns the error to report.
func (c *Client) broken(ctx context.Context, err error) error {
	c.err = fmt.Errorf("ctl: connection to %s lost: %w", c.path, err)
	c.nc.Close()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return c.err
}

// Ping pings a.Addr from the stack, calling onReply (if not nil) for each
// reply or ICMP error, and returns ping(8)'s statistics. If ctx ends
// first the statistics so far are returned with ctx's error.
func (c *Client) Ping(ctx context.Context, a PingArgs, onReply func(PingReply)) (PingSummary, error) {
	var sum PingSummary
	err := c.Call(ctx, "ping", a, func(ev string, data json.RawMessage) error {
		if ev != "reply" || onReply == nil {
			return nil
		}
		var r PingReply
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("ctl: ping: malformed reply: %w", err)
		}
		onReply(r)
		return nil
	}, &sum)
	return sum, err
}

// UDP sends datagrams from the stack or listens on one of its ports (see
// UDPArgs), calling onDatagram (if not nil) for each datagram received.
// If ctx ends first the counts so far are returned with ctx's error.
func (c *Client) UDP(ctx context.Context, a UDPArgs, onDatagram func(Datagram)) (UDPResult, error) {
	if !a.Local.Addr().IsValid() && a.Local.Port() != 0 {
		// A port with no address would travel as "": make it 0.0.0.0.
		a.Local = netip.AddrPortFrom(netip.IPv4Unspecified(), a.Local.Port())
	}
	var res UDPResult
	err := c.Call(ctx, "udp", a, func(ev string, data json.RawMessage) error {
		if ev != "datagram" || onDatagram == nil {
			return nil
		}
		var d Datagram
		if err := json.Unmarshal(data, &d); err != nil {
			return fmt.Errorf("ctl: udp: malformed datagram: %w", err)
		}
		onDatagram(d)
		return nil
	}, &res)
	return res, err
}

// Status returns a snapshot of the stack: the sections named (see
// Sections), or all of them.
func (c *Client) Status(ctx context.Context, sections ...string) (*Status, error) {
	var st Status
	if err := c.Call(ctx, "status", StatusArgs{Sections: sections}, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

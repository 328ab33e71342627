package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"ustack/ipv4"
)

// Request is one line from client to server.
type Request struct {
	// ID names the request in the answers; chosen by the client, unique
	// among its requests in flight on the connection.
	ID uint64 `json:"id"`
	// Method is what to do ("ping", "udp", "status", or "cancel" to
	// cancel the request with this ID).
	Method string `json:"method"`
	// Args are the method's arguments (a JSON object).
	Args json.RawMessage `json:"args,omitempty"`
}

// Response is one line from server to client: an event (Event and Data
// set) or the final answer (Done set, with Result or Error).
type Response struct {
	ID     uint64          `json:"id"`
	Event  string          `json:"event,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
	Done   bool            `json:"done,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// MethodCancel is the method that cancels a request in flight.
const MethodCancel = "cancel"

// Error codes that are not errno names.
const (
	CodeBadRequest    = "bad_request"    // the line is not a request
	CodeUnknownMethod = "unknown_method" // no such method
	CodeBadArgs       = "bad_args"       // the arguments are malformed
	CodeCanceled      = "canceled"       // cancelled by the client
	CodeTimeout       = "timeout"        // a deadline passed
	CodeShutdown      = "shutdown"       // the stack is shutting down
	CodeError         = "error"          // anything else
)

// Error is a method's failure as it crosses the socket. It unwraps to the
// syscall.Errno or context error its Code names, so that
// errors.Is(err, syscall.EADDRINUSE) holds in the client as it did in the
// server.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the error Code stands for, or nil.
func (e *Error) Unwrap() error {
	switch e.Code {
	case CodeCanceled:
		return context.Canceled
	case CodeTimeout:
		return context.DeadlineExceeded
	case CodeShutdown:
		return ErrShutdown
	}
	for errno, name := range errnoNames {
		if name == e.Code {
			return errno
		}
	}
	return nil
}

// Errors of the package.
var (
	// ErrShutdown: the stack shut down while the request ran.
	ErrShutdown = errors.New("ctl: stack shutting down")
	// ErrNoStack: nothing listens at the control socket's path.
	ErrNoStack = errors.New("no running stack")
	// ErrRunning: Listen found a live server at the path.
	ErrRunning = errors.New("a stack is already running")
	// ErrClosed: the Client or Server is closed.
	ErrClosed = errors.New("ctl: closed")
)

// errCancelled is the cause of a request's context when the client sent
// cancel; errGone when the client's connection ended.
var (
	errCancelled = errors.New("ctl: cancelled by client")
	errGone      = errors.New("ctl: client went away")
)

// errnoNames are the errnos that keep their identity across the socket.
var errnoNames = map[syscall.Errno]string{
	syscall.EADDRINUSE:    "EADDRINUSE",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL",
	syscall.EAFNOSUPPORT:  "EAFNOSUPPORT",
	syscall.ECONNREFUSED:  "ECONNREFUSED",
	syscall.EHOSTUNREACH:  "EHOSTUNREACH",
	syscall.ENETUNREACH:   "ENETUNREACH",
	syscall.ENETDOWN:      "ENETDOWN",
	syscall.EMSGSIZE:      "EMSGSIZE",
	syscall.EACCES:        "EACCES",
	syscall.EPERM:         "EPERM",
	syscall.EINVAL:        "EINVAL",
	syscall.ENODEV:        "ENODEV",
	syscall.ETIMEDOUT:     "ETIMEDOUT",
}

// toError turns a handler's error into what goes on the wire.
func toError(err error) *Error {
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	e := &Error{Code: CodeError, Message: err.Error()}
	var errno syscall.Errno
	switch {
	case errors.Is(err, ErrShutdown):
		e.Code = CodeShutdown
	case errors.Is(err, errCancelled), errors.Is(err, context.Canceled):
		e.Code = CodeCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		e.Code = CodeTimeout
	case errors.As(err, &errno):
		if name, ok := errnoNames[errno]; ok {
			e.Code = name
		}
	case errors.Is(err, ipv4.ErrNoRoute):
		e.Code = errnoNames[syscall.ENETUNREACH]
	case errors.Is(err, ipv4.ErrNetDown):
		e.Code = errnoNames[syscall.ENETDOWN]
	case errors.Is(err, ipv4.ErrNoSource), errors.Is(err, ipv4.ErrNotAvailable):
		e.Code = errnoNames[syscall.EADDRNOTAVAIL]
	case errors.Is(err, ipv4.ErrMessageSize):
		e.Code = errnoNames[syscall.EMSGSIZE]
	}
	return e
}

// argsError is a malformed argument.
func argsError(format string, a ...any) *Error {
	return &Error{Code: CodeBadArgs, Message: fmt.Sprintf(format, a...)}
}

// Duration is a time.Duration that travels as "1.5s". In arguments a bare
// JSON number is taken as seconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration %s: want a string like \"1.5s\" or a number of seconds", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// ParseDuration reads a Go duration ("200ms", "1.5s") or a bare number of
// seconds ("0.2"), as ping(8)'s -i and -W take them.
func ParseDuration(s string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if secs < 0 || secs > float64(1<<62)/float64(time.Second) {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		return time.Duration(secs * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 1.5s, 200ms or 0.2)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return v, nil
}

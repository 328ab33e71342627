package main

// The http service of `ustack up --serve http[:PORT[:DIR]]`: net/http's
// server on a ustack listener, for trying the stack from a browser or
// curl, and for bulk tests with a known pattern and a checksum.
//
//	GET /           status: interfaces and addresses, uptime, counters
//	GET /bytes?n=N  N bytes (at most 1 TiB), byte i being i % 251
//	POST /sink      reads the body, answers "bytes=N sha256=HEX"
//	other paths     files of DIR (http.FileServer), if DIR is given

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"ustack/ctl"
)

// maxBytes caps /bytes?n=N.
const maxBytes = 1 << 40

// bytesPattern is a whole number of periods of the /bytes pattern, so
// that writing it again and again continues the pattern.
var bytesPattern = func() []byte {
	b := make([]byte, 251*128)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}()

// httpService is the tcpServer of http: an http.Server whose Close also
// waits for running handlers.
type httpService struct {
	r   *runningService
	srv http.Server

	mu       sync.Mutex
	closed   bool
	handlers sync.WaitGroup
}

func newHTTPService(r *runningService) (tcpServer, error) {
	h := &httpService{r: r}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.status)
	mux.HandleFunc("GET /bytes", h.bytes)
	mux.HandleFunc("POST /sink", h.sink)
	if dir := r.spec.arg; dir != "" {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%s: not a directory", dir)
		}
		mux.Handle("/", http.FileServer(http.Dir(dir)))
	}
	h.srv.Handler = h.track(mux)
	h.srv.ReadHeaderTimeout = 30 * time.Second
	h.srv.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			r.stats.Connections.Inc()
			r.stats.ActiveConns.Add(1)
		case http.StateClosed, http.StateHijacked:
			r.stats.ActiveConns.Add(-1)
		}
	}
	return h, nil
}

// track counts requests and lets Close wait for their handlers.
func (h *httpService) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		h.handlers.Add(1)
		h.mu.Unlock()
		defer h.handlers.Done()
		h.r.stats.Requests.Inc()
		next.ServeHTTP(w, req)
	})
}

func (h *httpService) Serve(l net.Listener) error {
	err := h.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close closes the listener and every connection, which ends any
// handler blocked on one, and waits for the handlers.
func (h *httpService) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	err := h.srv.Close()
	h.handlers.Wait()
	return err
}

// status is GET /: a plain-text page about the running stack.
func (h *httpService) status(w http.ResponseWriter, _ *http.Request) {
	st := h.r.st
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b []byte
	b = fmt.Appendf(b, "ustack (pid %d), http service up %v\n\ninterfaces:\n", os.Getpid(), time.Since(h.r.started).Round(time.Second))
	if snap, err := ctl.Snapshot(st, "interfaces"); err == nil {
		for _, in := range snap.Interfaces {
			b = fmt.Appendf(b, "  %d: %s mtu %d", in.Index, in.Name, in.MTU)
			for _, a := range in.Addrs {
				b = fmt.Appendf(b, " inet %v", a)
			}
			b = append(b, '\n')
		}
	}
	s := st.Stats()
	b = fmt.Appendf(b, "\nip:  InReceives=%d InDelivers=%d OutRequests=%d ForwDatagrams=%d\n",
		s.IP.InReceives.Load(), s.IP.InDelivers.Load(), s.IP.OutRequests.Load(), s.IP.ForwDatagrams.Load())
	b = fmt.Appendf(b, "tcp: ActiveOpens=%d PassiveOpens=%d CurrEstab=%d InSegs=%d OutSegs=%d RetransSegs=%d\n",
		s.TCP.ActiveOpens.Load(), s.TCP.PassiveOpens.Load(), s.TCP.CurrEstab.Load(), s.TCP.InSegs.Load(), s.TCP.OutSegs.Load(), s.TCP.RetransSegs.Load())
	b = fmt.Appendf(b, "udp: InDatagrams=%d OutDatagrams=%d NoPorts=%d\n",
		s.UDP.InDatagrams.Load(), s.UDP.OutDatagrams.Load(), s.UDP.NoPorts.Load())
	b = fmt.Appendf(b, "\nthis service: Connections=%d Requests=%d InBytes=%d OutBytes=%d\n",
		h.r.stats.Connections.Load(), h.r.stats.Requests.Load(), h.r.stats.InBytes.Load(), h.r.stats.OutBytes.Load())
	b = append(b, "\nGET /bytes?n=N  N bytes, byte i = i % 251\nPOST /sink      answers bytes=N sha256=HEX of the body\n"...)
	n, _ := w.Write(b)
	h.r.stats.OutBytes.Add(uint64(n))
}

// bytes is GET /bytes?n=N: N bytes of the i % 251 pattern, streamed.
func (h *httpService) bytes(w http.ResponseWriter, req *http.Request) {
	n, err := strconv.ParseUint(req.URL.Query().Get("n"), 10, 64)
	if err != nil || n > maxBytes {
		http.Error(w, fmt.Sprintf("n must be an integer 0..%d", uint64(maxBytes)), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatUint(n, 10))
	w.WriteHeader(http.StatusOK)
	if req.Method == http.MethodHead {
		return
	}
	for n > 0 {
		p := bytesPattern
		if uint64(len(p)) > n {
			p = p[:n]
		}
		m, err := w.Write(p)
		h.r.stats.OutBytes.Add(uint64(m))
		if err != nil {
			return
		}
		n -= uint64(m)
	}
}

// sink is POST /sink: the length and SHA-256 of the body.
func (h *httpService) sink(w http.ResponseWriter, req *http.Request) {
	sum := sha256.New()
	n, err := io.Copy(sum, req.Body)
	h.r.stats.InBytes.Add(uint64(n))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "bytes=%d sha256=%s\n", n, hex.EncodeToString(sum.Sum(nil)))
}

package main

// `ustack up --metrics ADDR`: the stack's counters for Prometheus, served
// over the stack's own TCP on the network it is attached to (a scraper on
// the host reaches it as it reaches any machine), in the text exposition
// format (stack.Stack.Metrics).

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"ustack/stack"
	"ustack/stats"
)

// metricsServer serves /metrics on a listener of the stack.
type metricsServer struct {
	l    net.Listener
	srv  http.Server
	done chan struct{}
}

// startMetrics listens on addr ("host:port", or ":port" for every
// address) with the stack's TCP and serves GET /metrics there.
func startMetrics(st *stack.Stack, addr string) (*metricsServer, error) {
	l, err := st.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	m := &metricsServer{l: l, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(st))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ustack metrics: GET /metrics (Prometheus text format)")
	})
	m.srv.Handler = mux
	m.srv.ReadHeaderTimeout = 10 * time.Second
	go func() {
		defer close(m.done)
		m.srv.Serve(l)
	}()
	return m, nil
}

// Addr returns the address the server listens on.
func (m *metricsServer) Addr() net.Addr { return m.l.Addr() }

// Close stops the server and its connections and waits for it.
func (m *metricsServer) Close() error {
	err := m.srv.Close()
	<-m.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// metricsHandler answers with every metric of st. The exposition is
// built whole before the first byte is sent, so that a failure is a 500
// rather than a truncated page.
func metricsHandler(st *stack.Stack) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var b bytes.Buffer
		if err := st.WriteMetrics(&b); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", stats.PromContentType)
		w.Write(b.Bytes())
	})
}

package graphsim

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"
)

// Server is a Tenant served on a real listener.
type Server struct {
	URL      string // http://host:port, or https://host:port from StartTLS
	GraphURL string // URL + "/v1.0", the Graph root
	LoginURL string // URL: the authority host; the token endpoint is LoginURL/{tenant}/oauth2/v2.0/token
	Tenant   *Tenant

	srv   *http.Server
	done  chan error
	tls   *httptest.Server // set by StartTLS
	conns atomic.Int64
}

// Start serves t on addr (for example "127.0.0.1:0") until Close.
func Start(t *Tenant, addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	u := "http://" + ln.Addr().String()
	s := &Server{
		URL: u, GraphURL: u + "/v1.0", LoginURL: u, Tenant: t,
		done: make(chan error, 1),
	}
	s.srv = &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second, ConnState: s.connState}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// StartTLS serves t over TLS on a loopback port, with HTTP/2 offered as
// Graph does, until Close. Its certificate is the test certificate of
// net/http/httptest, which Certificate returns.
func StartTLS(t *Tenant) *Server {
	ts := httptest.NewUnstartedServer(t)
	ts.EnableHTTP2 = true
	s := &Server{Tenant: t, tls: ts, srv: ts.Config}
	ts.Config.ConnState = s.connState
	ts.Config.ReadHeaderTimeout = 10 * time.Second
	ts.StartTLS()
	s.URL, s.GraphURL, s.LoginURL = ts.URL, ts.URL+"/v1.0", ts.URL
	return s
}

// Certificate is the certificate of a StartTLS server, the one a client
// must trust (nil for a plain HTTP server).
func (s *Server) Certificate() *x509.Certificate {
	if s.tls == nil {
		return nil
	}
	return s.tls.Certificate()
}

func (s *Server) connState(_ net.Conn, st http.ConnState) {
	if st == http.StateNew {
		s.conns.Add(1)
	}
}

// Connections is how many connections clients opened to the server.
func (s *Server) Connections() int64 { return s.conns.Load() }

// Close stops the server at once, dropping open connections.
func (s *Server) Close() error {
	if s.tls != nil {
		s.tls.Close()
		return nil
	}
	err := s.srv.Close()
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Shutdown stops the server after in-flight requests end or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.tls != nil {
		err := s.srv.Shutdown(ctx)
		s.tls.Close()
		return err
	}
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

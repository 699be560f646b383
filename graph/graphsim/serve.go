package graphsim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Server is a Tenant served on a real listener.
type Server struct {
	URL      string // http://host:port
	GraphURL string // URL + "/v1.0", the Graph root
	LoginURL string // URL: the authority host; the token endpoint is LoginURL/{tenant}/oauth2/v2.0/token
	Tenant   *Tenant

	srv  *http.Server
	done chan error
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
		srv:  &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server at once, dropping open connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Shutdown stops the server after in-flight requests end or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

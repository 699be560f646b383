package graph

import (
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Against a TLS server that offers HTTP/2, as Graph does, the transport
// speaks HTTP/2; it trusts the server only through the roots it is given.
func TestHTTPTransportSpeaksHTTP2OverTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	resp, err := (&http.Client{Transport: HTTPTransport(roots)}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "HTTP/2.0" {
		t.Errorf("the client spoke %s, the server saw %q; want HTTP/2", resp.Proto, body)
	}

	_, err = (&http.Client{Transport: HTTPTransport(nil)}).Get(srv.URL)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("without its roots the test certificate was not refused as unknown: %v", err)
	}
}

// Over HTTP/1.1, requests of many mailboxes in flight at once reuse their
// connections from one round to the next: Go's default of 2 idle
// connections per host would open most of them again.
func TestHTTPTransportReusesConnectionsOfManyMailboxes(t *testing.T) {
	const inFlight = 40 // 10 mailboxes, 4 requests each
	var arrived sync.WaitGroup
	var opened atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-release
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: HTTPTransport(nil)}

	round := func() {
		arrived.Add(inFlight)
		release = make(chan struct{})
		var done sync.WaitGroup
		errs := make(chan error, inFlight)
		for range inFlight {
			done.Add(1)
			go func() {
				defer done.Done()
				resp, err := client.Get(srv.URL)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		arrived.Wait() // every request holds its own connection now
		close(release)
		done.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	round()
	first := opened.Load()
	round()
	if again := opened.Load() - first; first != inFlight || again != 0 {
		t.Errorf("%d connections for the first %d requests in flight, %d more for the next %d; want %d and 0",
			first, inFlight, again, inFlight, inFlight)
	}
}

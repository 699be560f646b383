package msgraph

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"testing"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/entra"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"golang.org/x/sync/errgroup"
)

// With the transport it has for the real Graph, the client reaches the
// simulator served over TLS with HTTP/2, and the requests of a mailbox in
// flight at once share one connection.
func TestClientSpeaksHTTP2ToGraphOverTLS(t *testing.T) {
	tn := graphsim.New(graphsim.Config{Seed: 5})
	const upn = "tls@sim.collect.invalid"
	if _, err := tn.AddUser(graphsim.UserSpec{UPN: upn}); err != nil {
		t.Fatal(err)
	}
	inbox, err := tn.FolderID(upn, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.Populate(upn, inbox, graphsim.Populate{Count: 12}); err != nil {
		t.Fatal(err)
	}
	srv := graphsim.StartTLS(tn)
	t.Cleanup(func() { srv.Close() })
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	hc := &http.Client{Transport: graph.HTTPTransport(roots)}
	creds := tn.Credentials()
	tokens, err := entra.ClientCredentials(srv.URL, creds.TenantID, creds.ClientID, creds.ClientSecret, hc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{BaseURL: srv.URL, Tokens: tokens, HTTPClient: hc, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mb, err := c.ResolveMailbox(ctx, upn)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	if _, err := c.Delta(ctx, mb, graph.Folder{ID: inbox}, "", func(p graph.DeltaPage) error {
		for _, m := range p.Messages {
			ids = append(ids, m.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var g errgroup.Group
	g.SetLimit(4)
	for _, id := range ids {
		g.Go(func() error {
			_, err := c.FetchMIME(ctx, mb, id, io.Discard)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	sc := tn.Counters()
	if len(ids) != 12 || sc.HTTP2 != sc.Requests || sc.ByRoute[graphsim.RouteValue] != 12 {
		t.Errorf("%d messages listed; %d of %d requests over HTTP/2 (%v)", len(ids), sc.HTTP2, sc.Requests, sc.ByRoute)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("%d connections for %d requests, want one HTTP/2 connection", n, sc.Requests)
	}
}

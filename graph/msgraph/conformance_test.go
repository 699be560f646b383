package msgraph

import (
	"net/http"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/entra"
	"github.com/collect-ediscovery/collect/graph/graphtest"
)

// TestConformance runs the shared graph.Source suite against the simulator
// over HTTP, through the full chain: token endpoint, kiota, middleware.
func TestConformance(t *testing.T) {
	graphtest.Run(t, graphtest.Harness{Open: func(t *testing.T, env graphtest.Env) graph.Source {
		hc := &http.Client{Transport: env.Transport}
		creds := env.Credentials
		tokens, err := entra.ClientCredentials(env.URL, creds.TenantID, creds.ClientID, creds.ClientSecret, hc)
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(Config{
			BaseURL:    env.URL,
			Tokens:     tokens,
			HTTPClient: hc,
			Version:    "test",
			PageSize:   env.PageSize,
			Retry:      graph.RetryPolicy{MaxAttempts: 25, BaseDelay: 2 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxElapsed: time.Minute},
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}})
}

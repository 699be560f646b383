package graphtest_test

import (
	"path"
	"testing"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/graph/graphtest"
)

// TestInProcessSource holds the simulator's in-process Source (no HTTP)
// to the conformance suite. Two cases watch the HTTP wire itself (requests
// in flight on the Transport, requests to the token endpoint), which an
// in-process Source never uses; they are skipped here and run for every
// HTTP client.
func TestInProcessSource(t *testing.T) {
	wireOnly := map[string]string{
		"ConcurrencyLimit": "counts requests in flight on the HTTP transport",
		"TokenExpiry":      "counts requests to the token endpoint",
	}
	graphtest.Run(t, graphtest.Harness{Open: func(t *testing.T, env graphtest.Env) graph.Source {
		if why, ok := wireOnly[path.Base(t.Name())]; ok {
			t.Skipf("the in-process Source has no HTTP wire; this case %s", why)
		}
		return env.Tenant.Source(graphsim.SourceOptions{
			ClientID: env.Credentials.ClientID, PageSize: env.PageSize,
			Retries: 25, MailboxConcurrency: 4,
		})
	}})
}

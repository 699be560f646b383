package msgraph

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/entra"
	"github.com/collect-ediscovery/collect/graph/graphsim"
)

type benchWorld struct {
	tn    *graphsim.Tenant
	c     *Client
	mb    graph.Mailbox
	inbox graph.Folder
}

func newBenchWorld(b *testing.B, cfg graphsim.Config, count int, pageSize int) *benchWorld {
	b.Helper()
	cfg.Seed = 11
	tn := graphsim.New(cfg)
	const upn = "bench@sim.collect.invalid"
	if _, err := tn.AddUser(graphsim.UserSpec{UPN: upn}); err != nil {
		b.Fatal(err)
	}
	inbox, err := tn.FolderID(upn, "inbox")
	if err != nil {
		b.Fatal(err)
	}
	if err := tn.Populate(upn, inbox, graphsim.Populate{Count: count}); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(tn.Handler())
	b.Cleanup(srv.Close)
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 16
	hc := &http.Client{Transport: base}
	creds := tn.Credentials()
	tokens, err := entra.ClientCredentials(srv.URL, creds.TenantID, creds.ClientID, creds.ClientSecret, hc)
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(Config{BaseURL: srv.URL, Tokens: tokens, HTTPClient: hc, Version: "bench", PageSize: pageSize})
	if err != nil {
		b.Fatal(err)
	}
	mb, err := c.ResolveMailbox(context.Background(), upn)
	if err != nil {
		b.Fatal(err)
	}
	return &benchWorld{tn: tn, c: c, mb: mb, inbox: graph.Folder{ID: inbox}}
}

func (w *benchWorld) ids(b *testing.B) []string {
	var ids []string
	_, err := w.c.Delta(context.Background(), w.mb, w.inbox, "", func(p graph.DeltaPage) error {
		for _, m := range p.Messages {
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

// BenchmarkInventory enumerates a 20,000-message folder with full delta
// rounds at zero latency.
func BenchmarkInventory(b *testing.B) {
	const count = 20000
	w := newBenchWorld(b, graphsim.Config{}, count, 1000)
	before := w.tn.Counters().ByRoute[graphsim.RouteDelta]
	b.ResetTimer()
	start := time.Now()
	seen := 0
	for range b.N {
		_, err := w.c.Delta(context.Background(), w.mb, w.inbox, "", func(p graph.DeltaPage) error {
			seen += len(p.Messages)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if seen < count*b.N {
		b.Fatalf("saw %d messages, want %d", seen, count*b.N)
	}
	reqs := w.tn.Counters().ByRoute[graphsim.RouteDelta] - before
	b.ReportMetric(float64(seen)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(reqs)*1000/float64(seen), "reqs/1000msgs")
}

// fetchAll fetches ids with workers goroutines and returns the bytes read.
func (w *benchWorld) fetchAll(b *testing.B, ids []string, workers int) int64 {
	var total atomic.Int64
	work := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				n, err := w.c.FetchMIME(context.Background(), w.mb, id, io.Discard)
				if err != nil {
					b.Error(err)
					return
				}
				total.Add(n)
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	return total.Load()
}

// BenchmarkFetch streams $value of natural-size messages (2-60 KB) at
// zero latency, four at a time (the per-mailbox limit).
func BenchmarkFetch(b *testing.B) {
	w := newBenchWorld(b, graphsim.Config{}, 2000, 1000)
	ids := w.ids(b)
	b.ResetTimer()
	start := time.Now()
	var bytes int64
	msgs := 0
	for i := range b.N {
		batch := ids[(i*200)%len(ids):][:200]
		bytes += w.fetchAll(b, batch, 4)
		msgs += len(batch)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(bytes)/1e6/elapsed.Seconds(), "MB/s")
	b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkFetchLatency fetches with 50 ms of server latency per request:
// with four requests in flight the ideal is 80 requests a second, and the
// benchmark reports the share of it achieved.
func BenchmarkFetchLatency(b *testing.B) {
	w := newBenchWorld(b, graphsim.Config{Latency: 50 * time.Millisecond}, 400, 1000)
	ids := w.ids(b)
	before := w.tn.Counters()
	b.ResetTimer()
	start := time.Now()
	msgs := 0
	for i := range b.N {
		batch := ids[(i*80)%len(ids):][:80]
		w.fetchAll(b, batch, 8)
		msgs += len(batch)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	after := w.tn.Counters()
	rate := float64(msgs) / elapsed.Seconds()
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(rate/80, "of-ideal")
	b.ReportMetric(float64(after.Throttled-before.Throttled), "429s")
}

package apply_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/graph/graphsim"
)

// The back-off between fetches of one message waits on the injected
// clock, doubling from Backoff: no real time passes in this test.
func TestBackoffWaitsOnTheInjectedClock(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 2)
	w.matter(ann)
	p := w.plan()
	faults := []graphsim.Fault{
		{Kind: graphsim.FaultServerError, Route: graphsim.RouteValue},
		{Kind: graphsim.FaultServerError, Route: graphsim.RouteValue},
		{Kind: graphsim.FaultServerError, Route: graphsim.RouteValue},
	}
	if err := w.tn.InjectFaults(ann, faults...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var waits []time.Duration
	after := func(d time.Duration) <-chan time.Time {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		c := make(chan time.Time, 1)
		c <- now.Add(d)
		return c
	}
	res, err := w.applyCtx(context.Background(), p, apply.Options{
		Concurrency: 1, Parallelism: 1, FetchAttempts: 4, Backoff: time.Hour, After: after,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.Collected != 2 {
		t.Fatalf("result %+v", res)
	}
	if want := []time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour}; !slices.Equal(waits, want) {
		t.Errorf("back-off waits %v, want %v", waits, want)
	}
}

// A batch that does not fill is recorded when the injected ticker ticks,
// while the rest of the apply still runs.
func TestPartBatchIsRecordedOnTheInjectedTick(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 5)
	w.matter(ann)
	p := w.plan()
	reached, release := make(chan struct{}), make(chan struct{})
	w.src.before = func(n int) {
		if n == 5 {
			close(reached)
			<-release
		}
	}
	tick := make(chan time.Time)
	stopped := false
	progress := &apply.Progress{}
	type result struct {
		res *apply.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := w.applyCtx(context.Background(), p, apply.Options{
			Concurrency: 1, Parallelism: 1, BatchSize: 1000, Progress: progress,
			Tick: func(d time.Duration) (<-chan time.Time, func()) {
				if d <= 0 {
					t.Errorf("flush period %v", d)
				}
				return tick, func() { stopped = true }
			},
		})
		done <- result{res, err}
	}()
	<-reached
	// Four messages are fetched and the fifth is held: nothing fills the
	// batch, so only ticks record them. Each send waits for the commit to
	// take it.
	for progress.Collected.Load() < 4 {
		tick <- now
	}
	if got := progress.Collected.Load(); got != 4 {
		t.Errorf("%d collected on the tick, want the 4 fetched", got)
	}
	close(release)
	r := <-done
	if r.err != nil || !r.res.Complete || r.res.Collected != 5 {
		t.Fatalf("apply: %v, %+v", r.err, r.res)
	}
	if !stopped {
		t.Error("the flush ticker was not stopped")
	}
	if lines := w.manifest(); len(lines) != 5 {
		t.Errorf("%d manifest lines, want 5", len(lines))
	}
}

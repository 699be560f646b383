package apply_test

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/clock"
)

// The back-off between fetches of one message waits on the injected
// clock, doubling from Backoff: no real time passes in this test.
func TestBackoffWaitsOnTheInjectedClock(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 2)
	w.LoadMatterOf(ann)
	p := w.ApplyablePlan()
	faults := []graphsim.Fault{
		{Kind: graphsim.FaultServerError, Route: graphsim.RouteValue},
		{Kind: graphsim.FaultServerError, Route: graphsim.RouteValue},
		{Kind: graphsim.FaultServerError, Route: graphsim.RouteValue},
	}
	if err := w.Tenant.InjectFaults(ann, faults...); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewJumping(now)
	res, err := w.ApplyWith(context.Background(), p, apply.Options{
		Concurrency: 1, Parallelism: 1, FetchAttempts: 4, Backoff: time.Hour, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Complete || res.Collected != 2 {
		t.Fatalf("result %+v", res)
	}
	if want := []time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour}; !slices.Equal(clk.Waits(), want) {
		t.Errorf("back-off waits %v, want %v", clk.Waits(), want)
	}
}

// A batch that does not fill is recorded when the injected ticker ticks,
// while the rest of the apply still runs.
func TestPartBatchIsRecordedOnTheInjectedTick(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 5)
	w.LoadMatterOf(ann)
	p := w.ApplyablePlan()
	reached, release := make(chan struct{}), make(chan struct{})
	w.Src.Before = func(n int) {
		if n == 5 {
			close(reached)
			<-release
		}
	}
	clk := clock.NewFake(now)
	progress := &apply.Progress{}
	type result struct {
		res *apply.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := w.ApplyWith(context.Background(), p, apply.Options{
			Concurrency: 1, Parallelism: 1, BatchSize: 1000, Progress: progress, Clock: clk,
		})
		done <- result{res, err}
	}()
	<-reached
	// Four messages are fetched and the fifth is held: nothing fills the
	// batch, so only ticks record them. A tick the commit has not taken yet
	// is dropped, as with a time.Ticker, so the clock moves until it has.
	clk.BlockUntil(1)
	for progress.Collected.Load() < 4 {
		clk.Advance(time.Hour)
		runtime.Gosched()
	}
	if got := progress.Collected.Load(); got != 4 {
		t.Errorf("%d collected on the tick, want the 4 fetched", got)
	}
	close(release)
	r := <-done
	if r.err != nil || !r.res.Complete || r.res.Collected != 5 {
		t.Fatalf("apply: %v, %+v", r.err, r.res)
	}
	if n := clk.Waiters(); n != 0 {
		t.Errorf("%d tickers or timers left: the flush ticker was not stopped", n)
	}
	if lines := w.Manifest(); len(lines) != 5 {
		t.Errorf("%d manifest lines, want 5", len(lines))
	}
}

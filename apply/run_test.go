package apply_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/state"
)

// The run record is in runs/, marked running, before the first message is
// fetched, and completed there and in the state when the apply ends.
func TestRunRecordIsWrittenWhenTheApplyStarts(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 3)
	w.LoadMatterOf(ann)
	p := w.ApplyablePlan()
	var inState, inRuns record.Run
	w.Src.Before = func(n int) {
		if n != 1 {
			return
		}
		// The apply holds the state's lock: read runs/ now, the state after.
		var err error
		if inRuns, err = w.Store().ReadRun("run-1"); err != nil {
			t.Errorf("runs/run-1.json when the first message is fetched: %v", err)
		}
	}
	res := w.Apply(p)
	if inRuns.Status != record.StatusRunning || inRuns.Planned != 3 || inRuns.Remaining != 3 || !inRuns.Finished.IsZero() || inRuns.Complete {
		t.Errorf("record at the start %+v", inRuns)
	}
	db := w.OpenState(false)
	defer db.Close()
	_ = db.View(func(r *state.ReadTx) error {
		inState, _, _ = r.Run(res.RunID)
		return nil
	})
	if inState.Status != record.StatusComplete || inState.Collected != 3 || inState.Remaining != 0 {
		t.Errorf("record at the end %+v", inState)
	}
}

// A run killed before it recorded its end leaves its record marked
// running; the next apply closes it as interrupted, in the state and in
// runs/, with what it had collected.
func TestNextApplyClosesAKilledRunAsInterrupted(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 30)
	w.LoadMatterOf(ann)
	ctx, cancel := context.WithCancel(context.Background())
	w.Src.Before = func(n int) {
		if n == 9 {
			cancel()
		}
	}
	first, err := w.ApplyWith(ctx, w.ApplyablePlan(), apply.Options{BatchSize: 2, Concurrency: 1})
	w.Src.Before = nil
	if !errors.Is(err, context.Canceled) || first.Collected == 0 {
		t.Fatalf("first apply: %v, %+v", err, first)
	}
	// As a kill would have left it: the end never recorded.
	killed := first.Run
	killed.Status, killed.Error, killed.Finished = record.StatusRunning, "", time.Time{}
	killed.Collected, killed.Remaining = 0, killed.Planned
	db := w.OpenState(false)
	if err := db.Update(func(tx *state.Tx) error { return tx.PutRun(killed) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := w.Store().WriteRun(killed); err != nil {
		t.Fatal(err)
	}

	second := w.Apply(w.ApplyablePlan())
	if !second.Complete || second.Collected != 30-first.Collected {
		t.Fatalf("second apply %+v", second)
	}
	db = w.OpenState(false)
	defer db.Close()
	var inState record.Run
	var stillRunning []record.Run
	_ = db.View(func(r *state.ReadTx) error {
		inState, _, _ = r.Run(killed.RunID)
		var err error
		stillRunning, err = r.InterruptedRuns("")
		return err
	})
	inRuns, err := w.Store().ReadRun(killed.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for where, run := range map[string]record.Run{"state": inState, "runs/": inRuns} {
		if run.Status != record.StatusInterrupted || run.Complete || run.Error == "" ||
			run.Collected != first.Collected || run.Remaining != 30-first.Collected {
			t.Errorf("%s record of the killed run %+v, want interrupted with %d collected", where, run, first.Collected)
		}
	}
	if len(stillRunning) != 0 {
		t.Errorf("runs still marked running after the next apply: %+v", stillRunning)
	}
	// Every manifest line names a run with a record.
	for _, e := range w.Manifest() {
		if _, err := w.Store().ReadRun(e.RunID); err != nil {
			t.Errorf("manifest line %d names run %s: %v", e.Seq, e.RunID, err)
		}
	}
}

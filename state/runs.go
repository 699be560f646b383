package state

import "github.com/collect-ediscovery/collect/internal/record"

// InterruptedRuns returns, marked interrupted, the run records still
// marked running whose run no live process carries on: every one but live,
// the run of the process that holds the write lock ("" when none does, or
// when the caller holds it and has not started its run yet). Such a run
// was stopped before it could record its end. The last of them is given
// the count of the items it collected.
func (r *ReadTx) InterruptedRuns(live string) ([]record.Run, error) {
	var out []record.Run
	if err := r.Runs(func(run record.Run) error {
		if run.Status == record.StatusRunning && run.RunID != live {
			out = append(out, run)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	if p, ok, err := r.RunInProgress(); err != nil {
		return nil, err
	} else if ok && p.Run.RunID == out[len(out)-1].RunID && p.Collected > p.Run.Collected {
		out[len(out)-1].Collected = p.Collected
	}
	for i := range out {
		out[i].Interrupt()
	}
	return out, nil
}

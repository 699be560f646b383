// Package apply carries out a plan: it fetches every planned message into
// the evidence store, and records it in the state only once its bytes are
// durable on disk.
//
// Its files follow the run: recording.go records what the plan knows,
// fetch.go fetches, commit.go seals and records batches of outcomes, and
// run.go keeps the run record.
package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/internal/clock"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// Options tune an apply.
type Options struct {
	RunID string
	// Parallelism is how many mailboxes are collected at once.
	Parallelism int
	// Concurrency is how many messages of one mailbox are fetched at once;
	// Graph allows 4 requests in flight per mailbox.
	Concurrency int
	// BatchSize is how many items one state transaction commits.
	BatchSize int
	// FetchAttempts bounds how often one message is fetched again after a
	// cut-short body or a transient failure the transport gave up on.
	FetchAttempts int
	// Backoff is the wait before fetching a message again; it doubles.
	Backoff time.Duration
	// Clock is the time of the run, the wait of a back-off and the ticker
	// that flushes a partly filled batch: opts.Now(), opts.After and
	// opts.Tick read it. Nil means the system clock.
	clock.Clock
	// Progress, if set, receives counters while the apply runs.
	Progress *Progress
	// Record says who runs the apply, where, and with which matter and
	// plan; apply fills in the rest of the run record.
	Record record.Run
	// Throttled reports the time spent waiting on Graph's throttling so
	// far, for the run record; nil when unknown.
	Throttled func() time.Duration
	// Custody says how the run's checkpoint of the custody log is signed.
	Custody custody.Signing
	// Guard, if set, is asked before every commit of collected items; an
	// error stops the run before that commit (a remote backend whose lease
	// on the state was lost).
	Guard func() error
}

func (o *Options) defaults() {
	if o.Parallelism < 1 {
		o.Parallelism = 10
	}
	if o.Concurrency < 1 {
		o.Concurrency = 4
	}
	if o.BatchSize < 1 {
		o.BatchSize = 256
	}
	if o.FetchAttempts < 1 {
		o.FetchAttempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = clock.System()
	}
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
}

// Result is what an apply did: its run record, as the state and
// runs/<run-id>.json keep it.
type Result struct {
	record.Run
}

// Interrupted reports whether the run was stopped before the end, by the
// caller or by an error.
func (r *Result) Interrupted() bool {
	return r.Status == record.StatusInterrupted || r.Status == record.StatusFailed
}

// Apply carries out p. The state db must be open for writing, and the
// caller must have checked that p is fresh. Failures of single items are
// in the result; the error is for what stopped the run (a full disk, a
// state that cannot be written, an interruption).
func Apply(ctx context.Context, p *plan.Plan, db *state.DB, st *store.Store, src graph.Source, opts Options) (*Result, error) {
	opts.defaults()
	res := &Result{Run: newRun(&opts, p)}
	failed := func(err error) (*Result, error) {
		res.Status, res.Error = record.StatusFailed, err.Error()
		return res, err
	}
	if !p.Applyable() {
		return failed(errors.New("the plan has errors besides unreadable mailboxes, so it cannot be applied: fix them and make a new plan"))
	}
	// The mailboxes that could not be read are skipped, and named as
	// failed scope in the run record from its first write: never a silent
	// partial collection.
	res.FailedScope = failedScope(p)
	// A run that a killed apply left marked running is closed as
	// interrupted: in runs/ first and then in the state, so that a crash
	// in between leaves it for the next apply to close again.
	var stale []record.Run
	if err := db.View(func(r *state.ReadTx) error {
		var err error
		stale, err = r.InterruptedRuns("")
		return err
	}); err != nil {
		return failed(err)
	}
	for _, run := range stale {
		if err := st.WriteRun(run); err != nil {
			return failed(err)
		}
	}
	man, err := st.OpenManifest()
	if err != nil {
		return failed(err)
	}
	defer man.Close()
	// The custody log follows every line appended from here on.
	tree, err := custody.Open(st, man)
	if err != nil {
		return failed(err)
	}
	defer tree.Close()
	if _, err := Reconcile(db, man); err != nil {
		return failed(fmt.Errorf("bring the manifest up to date with the state: %w", err))
	}
	tracks := trackFolders(p, res, opts.Progress)
	res.Remaining = res.Planned

	// The state as it was before this run is kept as the backup, once the
	// first commit has changed it.
	backup, err := db.Backup()
	if err != nil {
		return failed(err)
	}
	defer backup.Discard()
	// The first commit records the identities, folders and observations
	// and the run, marked running, and bumps the serial: from here on, the
	// plan is stale whatever happens.
	if err := db.Update(func(tx *state.Tx) error {
		if _, err := tx.BumpSerial(); err != nil {
			return err
		}
		for _, run := range stale {
			if err := tx.PutRun(run); err != nil {
				return err
			}
		}
		if err := recordPlan(tx, p, res, opts.Now()); err != nil {
			return err
		}
		return tx.PutRun(res.Run)
	}); err != nil {
		return failed(err)
	}
	// The state holds the run now: whatever happens, its end is recorded.
	// runs/ has the record before any manifest line names the run.
	if err := backup.Keep(); err != nil {
		return res, res.finish(db, st, &opts, err, false)
	}
	if err := st.WriteRun(res.Run); err != nil {
		return res, res.finish(db, st, &opts, err, false)
	}

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	outcomes := make(chan outcome, opts.BatchSize)
	f := &fetcher{st: st, src: src, opts: &opts, tracks: tracks, out: outcomes}
	go func() {
		f.all(runCtx, p)
		close(outcomes)
	}()
	b := &batch{db: db, st: st, man: man, res: res, opts: &opts, outcomes: make([]outcome, 0, opts.BatchSize)}
	commitErr := b.commitAll(outcomes, func(err error) { stop(err) })
	// Drain whatever the fetchers still send after a failed commit.
	for o := range outcomes {
		if o.staged != nil {
			st.Discard(o.staged)
		}
	}
	runErr, interrupted := stopCause(ctx, runCtx, commitErr)
	err = res.finish(db, st, &opts, runErr, interrupted)
	// The checkpoint covers what the run appended, however it ended.
	if _, cerr := opts.Custody.Checkpoint(tree, res.RunID); cerr != nil && err == nil {
		err = cerr
	}
	return res, err
}

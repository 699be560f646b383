package apply

import (
	"context"
	"errors"

	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// newRun starts the run record of an apply from what the caller said of
// it (who, where, which matter and plan) and what the plan says (its
// targets, the demo tenant).
func newRun(opts *Options, p *plan.Plan) record.Run {
	r := opts.Record
	r.RunID, r.Operation, r.Status = opts.RunID, "apply", record.StatusRunning
	r.Started = opts.Now().UTC()
	r.Targets, r.Demo = p.Targets, p.Demo
	if r.Failures == nil {
		r.Failures = []record.Failure{} // as runs/ writes it
	}
	return r
}

// end says in the run record how the run ended: runErr is what stopped it
// (nil when it ran to the end), interrupted whether that was the caller's
// context.
func (res *Result) end(opts *Options, runErr error, interrupted bool) {
	res.Remaining = res.Planned - res.Collected - res.Unchanged - res.Tombstoned - res.Failed
	if opts.Throttled != nil {
		res.ThrottledSeconds = opts.Throttled().Seconds()
	}
	res.Finished = opts.Now().UTC()
	res.Error = ""
	switch {
	case interrupted:
		res.Status = record.StatusInterrupted
	case runErr != nil:
		res.Status = record.StatusFailed
	case res.Failed > 0 || res.Remaining > 0 || len(res.FailedScope) > 0:
		res.Status = record.StatusIncomplete
	default:
		res.Status = record.StatusComplete
	}
	if runErr != nil {
		res.Error = runErr.Error()
	}
	res.Complete = res.Status == record.StatusComplete
}

// failedScope lists the plan's mailboxes that could not be read, as the
// run record keeps them.
func failedScope(p *plan.Plan) []record.Failure {
	var out []record.Failure
	for _, mb := range p.Mailboxes {
		if mb.Error == nil {
			continue
		}
		code := mb.Error.Code
		if code == "" {
			code = mb.Error.Kind.Token()
		}
		msg := mb.Error.Summary
		if mb.Error.Detail != "" {
			msg += ": " + mb.Error.Detail
		}
		out = append(out, record.Failure{Mailbox: mb.Email, Scope: mb.Addr, Code: code, Message: msg, RequestID: mb.Error.RequestID})
	}
	return out
}

// stopCause is what stopped a run: the commit's error, the caller's
// interruption, or what the run stopped itself for (a full disk).
func stopCause(ctx, runCtx context.Context, commitErr error) (err error, interrupted bool) {
	switch cause := context.Cause(runCtx); {
	case commitErr != nil:
		return commitErr, false
	case ctx.Err() != nil:
		return ctx.Err(), true
	case cause != nil && !errors.Is(cause, context.Canceled):
		return cause, false
	}
	return nil, false
}

// finish records how the run ended, in the state and in runs/, and
// returns what stopped it or, when nothing did, a failure to record that.
func (res *Result) finish(db *state.DB, st *store.Store, opts *Options, runErr error, interrupted bool) error {
	res.end(opts, runErr, interrupted)
	err := db.Update(func(tx *state.Tx) error { return tx.PutRun(res.Run) })
	if serr := st.WriteRun(res.Run); serr != nil && err == nil {
		err = serr
	}
	if runErr != nil {
		return runErr
	}
	return err
}

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/internal/jsondoc"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/store"
)

// applyView shows an apply: the plan it made, its progress while it runs,
// and its result. Result is always the last call, once, with a nil result
// when no run started (the diagnostics say why).
type applyView interface {
	Demo()
	Plan(p *plan.Plan, m *config.Matter)
	Cancelled()
	Cleaned(partialFiles int)
	Progress(p *apply.Progress, stats func() graph.Stats) (stop func())
	// Skipped lists the plan's mailboxes that could not be read, and so
	// were not collected: the run's failed scope.
	Skipped(failedScope []plan.Problem)
	Result(res *apply.Result, outputDir string, err error)
}

func newApplyView(s *streams, asJSON bool) applyView {
	if asJSON {
		return &applyJSON{s: s, diags: s.collectJSONDiags()}
	}
	return &applyHuman{s: s}
}

type applyHuman struct {
	s    *streams
	demo bool
	// shown is set once the plan was printed, with its advice.
	shown bool
}

func (v *applyHuman) Demo() {
	v.demo = true
	fmt.Fprintln(v.s.stdout, demoBanner)
}

func (v *applyHuman) Plan(p *plan.Plan, m *config.Matter) {
	v.shown = true
	renderPlanWith(v.s, p, m)
}

func (v *applyHuman) Cancelled() {
	fmt.Fprintln(v.s.stdout, "\nApply cancelled. Nothing was collected.")
}

func (v *applyHuman) Cleaned(n int) {
	if n > 0 {
		fmt.Fprintf(v.s.stderr, "Removed %s left by an interrupted run (never evidence: they were not complete).\n",
			plural(n, "partial file", "partial files"))
	}
}

// Progress redraws a few lines in place on a terminal, and prints a plain
// line every 10 seconds otherwise.
func (v *applyHuman) Progress(p *apply.Progress, stats func() graph.Stats) func() {
	s := v.s
	if !isTerminal(s.stderr) {
		return progressTicker(p, 10*time.Second, stats, func(total progressLine, _ []progressLine) {
			fmt.Fprintln(s.stderr, progressText(total))
		}, nil)
	}
	drawn := 0 // lines drawn on the terminal last time
	erase := func() {
		if drawn > 0 {
			fmt.Fprintf(s.stderr, "\x1b[%dA\x1b[J", drawn)
		}
		drawn = 0
	}
	return progressTicker(p, 500*time.Millisecond, stats, func(total progressLine, lines []progressLine) {
		erase()
		for _, l := range busiest(lines, 10) {
			fmt.Fprintf(s.stderr, "  %s\n", progressText(l))
			drawn++
		}
		fmt.Fprintln(s.stderr, progressText(total))
		drawn++
	}, erase)
}

// Skipped names each mailbox apply could not read; what to do about it
// was said with the plan above, or is said here for a saved plan.
func (v *applyHuman) Skipped(msgs []plan.Problem) {
	for _, m := range msgs {
		addr := m.Addr
		m.Addr = "" // named on the line already
		if v.shown {
			m.Kind = graph.KindOther // the facts only
		}
		fmt.Fprintf(v.s.stderr, "Not collected: %s: %s\n  %s\n", addr, m.Summary, problemDetail(m, v.s.advice))
	}
}

func (v *applyHuman) Result(res *apply.Result, outputDir string, err error) {
	s := v.s
	if res == nil {
		return // nothing ran; the diagnostics said why
	}
	for _, f := range res.Failures {
		// The message is the error's own text, request-id included.
		fmt.Fprintf(s.stderr, "Failed: %s message %s: %s (%s)\n", f.Mailbox, f.GraphID, f.Message, f.Code)
	}
	// A mailbox closed since the plan fails each of its messages alike:
	// what to ask the admin for is said once per mailbox. Other failures
	// are retried by the next apply, as the summary says.
	advised := map[string]bool{}
	for _, f := range res.Failures {
		k := graph.Classify(0, f.Code)
		if (k != graph.KindAccessDenied && k != graph.KindMailboxNotEnabled) || advised[f.Mailbox] {
			continue
		}
		advised[f.Mailbox] = true
		mf := s.advice
		mf.Mailbox = f.Mailbox
		fmt.Fprintf(s.stderr, "%s: %s\n", f.Mailbox, adviceFor(k, mf))
	}
	interrupted := err != nil && errors.Is(err, context.Canceled)
	switch {
	case interrupted:
		fmt.Fprintf(s.stderr, "\nApply interrupted: %s collected, %s left; run collect apply again to finish.\n",
			plural(int(res.Collected), "message", "messages"), commas(res.Remaining))
	case err != nil:
		detail := problem(err, s.advice)
		if errors.Is(err, store.ErrDiskFull) {
			detail += " Apply continues where this run stopped."
		}
		s.errorf("Apply stopped", "%s", detail)
	}
	verb := "Apply complete!"
	if !res.Complete || err != nil {
		verb = "Apply incomplete."
	}
	fmt.Fprintf(s.stdout, "\n%s %s collected (%s), %s recorded, %s failed.\n", verb,
		plural(int(res.Collected), "message", "messages"), byteSize(res.Bytes),
		plural(int(res.Tombstoned+res.Observations), "observation", "observations"), commas(res.Failed))
	if res.Deduplicated > 0 {
		fmt.Fprintf(s.stdout, "%s had bytes identical to a native already stored, kept once.\n", plural(int(res.Deduplicated), "message", "messages"))
	}
	if res.Remaining > 0 {
		fmt.Fprintf(s.stdout, "%s not collected yet: run collect apply again to continue.\n", plural(int(res.Remaining), "planned message is", "planned messages are"))
	}
	if res.Failed > 0 {
		fmt.Fprintln(s.stdout, "Run collect apply again to retry the failed messages.")
	}
	if n := len(res.FailedScope); n > 0 {
		fmt.Fprintf(s.stdout, "%s could not be read, so nothing of %s was collected (failed scope): "+
			"fix what is said above, then run collect apply again.\n", plural(n, "mailbox", "mailboxes"),
			map[bool]string{true: "it", false: "them"}[n == 1])
	}
	if s.pushedTo != "" {
		fmt.Fprintf(s.stdout, "Natives, manifest lines and run record %s are in %s.\n", res.RunID, s.pushedTo)
	} else if outputDir != "" {
		out := rel(outputDir)
		fmt.Fprintf(s.stdout, "Natives in %s, manifest %s, run record %s.\n",
			filepath.Join(out, "natives"), filepath.Join(out, "manifest.jsonl"), filepath.Join(out, "runs", res.RunID+".json"))
	}
	fmt.Fprintf(s.stdout, "Run %s.\n", res.RunID)
	if v.demo {
		fmt.Fprintln(s.stdout, "(Demo tenant: the collected mail is simulated.)")
	}
}

type applyJSON struct {
	s     *streams
	diags *[]jsonDiagnostic
	demo  bool
}

func (v *applyJSON) Demo()                           { v.demo = true }
func (v *applyJSON) Plan(*plan.Plan, *config.Matter) {}
func (v *applyJSON) Cancelled()                      {}
func (v *applyJSON) Cleaned(int)                     {}
func (v *applyJSON) Skipped([]plan.Problem)          {}

// Progress prints, every 10 seconds, one line per mailbox and one for the
// total.
func (v *applyJSON) Progress(p *apply.Progress, stats func() graph.Stats) func() {
	return progressTicker(p, 10*time.Second, stats, func(total progressLine, lines []progressLine) {
		for _, l := range lines {
			jsondoc.WriteLine(v.s.stdout, l)
		}
		jsondoc.WriteLine(v.s.stdout, total)
	}, nil)
}

// applyResult is the last line of apply -json.
type applyResult struct {
	Type        string           `json:"type"`
	RunID       string           `json:"run_id,omitempty"`
	Demo        bool             `json:"demo,omitempty"`
	Planned     int64            `json:"planned"`
	Collected   int64            `json:"collected"`
	Dedup       int64            `json:"deduplicated"`
	Tombstoned  int64            `json:"tombstoned"`
	Recorded    int64            `json:"observations_recorded"`
	Failed      int64            `json:"failed"`
	Remaining   int64            `json:"remaining"`
	Bytes       int64            `json:"bytes"`
	Throttled   float64          `json:"throttled_seconds"`
	Complete    bool             `json:"complete"`
	Error       string           `json:"error,omitempty"`
	Failures    []record.Failure `json:"failures,omitempty"`
	Interrupted bool             `json:"interrupted,omitempty"`
	FailedScope []record.Failure `json:"failed_scope,omitempty"` // the mailboxes that could not be read
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
}

func (v *applyJSON) Result(res *apply.Result, _ string, err error) {
	r := applyResult{Type: "result", Demo: v.demo}
	if res != nil {
		r.RunID, r.Planned, r.Collected, r.Dedup = res.RunID, res.Planned, res.Collected, res.Deduplicated
		r.Tombstoned, r.Recorded, r.Failed, r.Remaining = res.Tombstoned, res.Observations, res.Failed, res.Remaining
		r.Bytes, r.Throttled, r.Failures, r.Interrupted = res.Bytes, res.ThrottledSeconds, res.Failures, res.Interrupted()
		r.Complete = res.Complete && err == nil
		r.FailedScope = res.FailedScope
	}
	switch {
	case err == errApplyRefused && len(*v.diags) > 0:
		r.Error = firstError(*v.diags)
	case err != nil:
		r.Error = err.Error()
	}
	r.Diagnostics = *v.diags
	jsondoc.WriteLine(v.s.stdout, r)
}

// firstError is the first error among diagnostics, as one line.
func firstError(diags []jsonDiagnostic) string {
	for _, d := range diags {
		if d.Severity == "error" {
			return d.Summary + ": " + d.Detail
		}
	}
	return errApplyRefused.Error()
}

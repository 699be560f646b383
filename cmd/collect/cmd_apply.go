package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

const applyHelp = `Usage: collect [global options] apply [options] [PLANFILE]

  Collects the delta: every planned message is fetched from Microsoft Graph
  as native MIME, written to the output folder with its hashes, and only
  then recorded in the state and the manifest.

  Without PLANFILE, apply makes a plan, shows it, and asks for approval.
  With PLANFILE (from collect plan -out), it applies exactly that plan
  without asking, and refuses it if the state or the matter changed since.

Options:
  -auto-approve        Do not ask for approval.
  -input=false         Never ask; without -auto-approve, apply then refuses.
  -json                Print progress and the result as JSON lines.
  -target=ADDR         Only collect this address (not with PLANFILE). Repeatable.
  -var 'name=value'    Set a variable. Repeatable.
  -var-file=FILE       Set variables from a file.
  -lock-timeout=D      Wait up to D for the state lock (default 0: fail at once).
  -parallelism=N       Collect N mailboxes at once (default 10).
  -no-color            Do not color the output.

Exit status: 0 when everything planned was collected; 4 when some items
failed or some mailboxes could not be read (the others are collected; run
apply again to retry them); 5 when the state is locked; 6 when the saved
plan is stale; 1 on any other error.
`

func runApply(s *streams, args []string) int {
	opts, diags := ParseApply(args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	if opts.NoColor {
		s.color = false
	}
	m := loadMatter(s, opts.Vars)
	if m == nil {
		return exitError
	}
	var saved *plan.Plan
	planHash := ""
	if opts.PlanFile != "" {
		var err error
		saved, planHash, err = plan.Read(opts.PlanFile)
		if err != nil {
			s.errorf("Cannot read the saved plan", "%s", sentence(err.Error()))
			return exitError
		}
	}
	targets, ok := parseTargets(s, m, opts.Targets)
	if !ok {
		return exitError
	}
	db, code := openState(s, m, false, opts.LockTimeout, "apply")
	if db == nil {
		return code
	}
	defer db.Close()
	if !stateMatchesOutput(s, m, db) {
		return exitError
	}

	conn, err := connect(s, m, toolVersion())
	if err != nil {
		s.errorf("Cannot connect to the tenant", "%s", sentence(err.Error()))
		return exitError
	}
	defer conn.close()
	if conn.demo && !opts.JSON {
		fmt.Fprintln(s.stdout, demoBanner) // JSON output says "demo": true instead
	}

	p := saved
	if saved != nil {
		var meta state.Meta
		if err := db.View(func(r *state.ReadTx) error { meta = r.Meta(); return nil }); err != nil {
			s.errorf("Cannot read the state", "%s", sentence(err.Error()))
			return exitError
		}
		if err := saved.CheckFresh(m.Name, m.Hash(), meta.Lineage, meta.Serial); err != nil {
			summary := "Saved plan is stale"
			if errors.As(err, new(*plan.MatterError)) {
				summary = "Saved plan is for another matter"
			}
			s.errorf(summary, "%s", sentence(err.Error()))
			return exitStalePlan
		}
		if !saved.Applyable() {
			s.errorf("Saved plan cannot be applied", "The plan in %s has errors besides unreadable mailboxes. Fix them and make a new plan.", opts.PlanFile)
			return exitError
		}
	} else {
		ctx, stop := interruptible(s, "Interrupted: stopping the plan.")
		p, err = plan.Make(ctx, m, db, conn.src, plan.Options{Targets: targets, Parallelism: opts.Parallelism, ToolVersion: toolVersion()})
		stop()
		if err != nil {
			s.errorf("Cannot make the plan", "%s", sentence(err.Error()))
			return exitError
		}
		if !opts.JSON {
			renderPlan(s, p)
		}
		if !p.Applyable() {
			fmt.Fprintln(s.stderr, "Nothing was collected: the plan cannot be applied. Fix the errors above.")
			return exitError
		}
		if p.HasChanges() && !opts.AutoApprove {
			if !opts.Input {
				s.errorf("Approval needed", "apply would collect the plan above but -input=false forbids asking. "+
					"Review it and run collect apply -auto-approve, or save it with collect plan -out=FILE and run collect apply FILE.")
				return exitError
			}
			if !confirm(s) {
				fmt.Fprintln(s.stdout, "\nApply cancelled. Nothing was collected.")
				return exitError
			}
		}
	}

	st, err := store.Open(m.Output.Path, store.Options{Hashes: m.Output.Hashes})
	if err != nil {
		s.errorf("Cannot open the output folder", "%s", sentence(err.Error()))
		return exitError
	}
	if rep, err := st.Clean(); err != nil {
		s.errorf("Cannot clean the output folder", "%s", sentence(err.Error()))
		return exitError
	} else if len(rep.Removed) > 0 && !opts.JSON {
		fmt.Fprintf(s.stderr, "Removed %s left by an interrupted run (never evidence: they were not complete).\n",
			plural(len(rep.Removed), "partial file", "partial files"))
	}

	userName, host := whoAmI()
	gitCommit, _ := store.GitCommit(m.Dir)
	progress := &apply.Progress{}
	ctx, stop := interruptible(s, "Interrupted: finishing the messages in flight and recording what is on disk. Press Ctrl-C again to stop at once.")
	defer stop()
	stopProgress := startProgress(s, progress, opts.JSON, func() map[string]time.Duration { return conn.stats().ThrottledTime })
	res, err := apply.Apply(ctx, p, db, st, conn.src, apply.Options{
		RunID: newRunID(), Parallelism: opts.Parallelism, Concurrency: m.Tenant.MailboxConcurrency,
		Progress: progress,
		Record: record.Run{ToolVersion: toolVersion(), User: userName, Host: host,
			MatterHash: m.Hash(), MatterGitCommit: gitCommit, PlanHash: planHash},
		Throttled: func() time.Duration { return throttledTime(conn.stats()) },
	})
	stopProgress()
	return reportApply(s, res, err, p.FailedScope(), opts.JSON, conn.demo)
}

func confirm(s *streams) bool {
	fmt.Fprint(s.stdout, "\nDo you want to collect these messages?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	line, _ := bufio.NewReader(s.stdin).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

func newRunID() string {
	var b [4]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

type applyReport struct {
	Type        string           `json:"type"`
	RunID       string           `json:"run_id"`
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
}

// reportApply says what the apply did, and what it skipped: the plan's
// mailboxes that could not be read.
func reportApply(s *streams, res *apply.Result, err error, skipped []plan.Message, asJSON, demo bool) int {
	code := exitOK
	switch {
	case err != nil:
		code = exitError
	case res.Failed > 0, len(res.FailedScope) > 0:
		code = exitItemsFailed
	case !res.Complete:
		code = exitError
	}
	if asJSON {
		r := applyReport{Type: "result", RunID: res.RunID, Demo: demo, Planned: res.Planned, Collected: res.Collected,
			Dedup: res.Deduplicated, Tombstoned: res.Tombstoned, Recorded: res.Observations, Failed: res.Failed,
			Remaining: res.Remaining, Bytes: res.Bytes, Throttled: res.ThrottledSeconds,
			Complete: res.Complete && err == nil, Failures: res.Failures, Interrupted: res.Interrupted(), FailedScope: res.FailedScope}
		if err != nil {
			r.Error = err.Error()
		}
		writeJSONLine(s.stdout, r)
		return code
	}
	for _, f := range res.Failures {
		fmt.Fprintf(s.stderr, "Failed: %s message %s: %s (%s)", f.Mailbox, f.GraphID, f.Message, f.Code)
		if f.RequestID != "" && !strings.Contains(f.Message, f.RequestID) {
			fmt.Fprintf(s.stderr, " [request-id %s]", f.RequestID)
		}
		fmt.Fprintln(s.stderr)
	}
	for _, m := range skipped {
		detail := m.Detail
		if m.RequestID != "" && !strings.Contains(detail, m.RequestID) {
			detail += " [request-id " + m.RequestID + "]"
		}
		fmt.Fprintf(s.stderr, "Not collected: %s: %s\n  %s\n", m.Addr, m.Summary, detail)
	}
	if err != nil {
		detail := sentence(err.Error())
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
	fmt.Fprintf(s.stdout, "Run %s.\n", res.RunID)
	if demo {
		fmt.Fprintln(s.stdout, "(Demo tenant: the collected mail is simulated.)")
	}
	return code
}

// byteSize writes a size the way a person reads it.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func throttledTime(st graph.Stats) time.Duration {
	var total time.Duration
	for _, d := range st.ThrottledTime {
		total += d
	}
	return total
}

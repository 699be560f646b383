package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/config"
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
  -json                Print progress and the result as JSON lines; the
                       last line is always the result.
  -target=ADDR         Only collect this address (not with PLANFILE). Repeatable.
  -var 'name=value'    Set a variable. Repeatable.
  -var-file=FILE       Set variables from a file.
  -shard=I/N           With a backend: work on shard I of N only (default:
                       COLLECT_SHARD, or JOB_COMPLETION_INDEX and COLLECT_SHARDS).
  -backend-config=K=V  Override a backend block argument. Repeatable.
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
	v := newApplyView(s, opts.JSON)
	if opts.NoColor {
		s.color = false
	}
	res, out, err, code := applyCommand(s, v, opts, diags)
	if r := s.remote; r != nil {
		out = r.describe()
		s.pushedTo = out
		if cerr := s.closeRemote(); cerr != nil {
			s.errorf("Cannot push the collection to the backend", "%s", sentence(cerr.Error()))
			if err == nil {
				err = cerr
			}
			if code == exitOK || code == exitItemsFailed {
				code = exitError
			}
		}
	}
	v.Result(res, out, err)
	return code
}

// errApplyRefused is the error of an apply that stopped before collecting
// anything; the diagnostics say why.
var errApplyRefused = errors.New("nothing was collected")

// applyCommand carries out apply's options: makes or reads the plan,
// asks, and collects. It returns what the result line reports: the run's
// result (nil when none started), the output folder, the error and the
// exit code.
func applyCommand(s *streams, v applyView, opts Apply, diags hcl.Diagnostics) (*apply.Result, string, error, int) {
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return nil, "", errApplyRefused, exitError
	}
	m := loadMatter(s, opts.Vars)
	if m == nil {
		return nil, "", errApplyRefused, exitError
	}
	var saved *plan.Plan
	planHash := ""
	if opts.PlanFile != "" {
		var err error
		saved, planHash, err = plan.Read(opts.PlanFile)
		if err != nil {
			s.errorf("Cannot read the saved plan", "%s", sentence(err.Error()))
			return nil, "", errApplyRefused, exitError
		}
	}
	targets, ok := parseTargets(s, m, opts.Targets)
	if !ok {
		return nil, "", errApplyRefused, exitError
	}
	signing, err := custodySigning(s, m)
	if err != nil {
		s.errorf("Cannot sign the custody log", "%s Nothing was collected.", sentence(err.Error()))
		return nil, "", errApplyRefused, exitError
	}
	db, code := openState(s, m, false, opts.LockTimeout, "apply")
	if db == nil {
		return nil, "", errApplyRefused, code
	}
	defer db.Close()
	// A shard of a backend's collection signs its own log.
	signing.Origin = s.custodyOrigin(m)
	if !stateMatchesOutput(s, m, db) {
		return nil, "", errApplyRefused, exitError
	}

	conn, err := connect(s, m, toolVersion())
	if err != nil {
		s.errorf("Cannot connect to the tenant", "%s", problem(err, s.advice))
		return nil, "", errApplyRefused, exitCode(err)
	}
	defer conn.close()
	if conn.demo {
		v.Demo()
	}

	p := saved
	if saved != nil {
		var meta state.Meta
		if err := db.View(func(r *state.ReadTx) error { meta = r.Meta(); return nil }); err != nil {
			s.errorf("Cannot read the state", "%s", sentence(err.Error()))
			return nil, "", errApplyRefused, exitError
		}
		if err := saved.CheckFresh(m.Name, m.Hash(), meta.Lineage, meta.Serial); err != nil {
			summary := "Saved plan is stale"
			if errors.As(err, new(*plan.MatterError)) {
				summary = "Saved plan is for another matter"
			}
			s.errorf(summary, "%s", sentence(err.Error()))
			return nil, "", errApplyRefused, exitCode(err)
		}
		if !saved.Applyable() {
			s.errorf("Saved plan cannot be applied", "The plan in %s has errors besides unreadable mailboxes. Fix them and make a new plan.", opts.PlanFile)
			return nil, "", errApplyRefused, exitError
		}
	} else {
		ctx, stop := interruptible(s, "Interrupted: stopping the plan.")
		p, err = plan.Make(ctx, m, db, conn.src, plan.Options{Targets: targets, Parallelism: opts.Parallelism, ToolVersion: toolVersion()})
		stop()
		if err != nil {
			s.errorf("Cannot make the plan", "%s", problem(err, s.advice))
			return nil, "", errApplyRefused, exitCode(err)
		}
		v.Plan(p, m)
		if !p.Applyable() {
			s.errorf("The plan cannot be applied", "Nothing was collected: the plan cannot be applied. Fix the errors above.")
			return nil, "", errApplyRefused, exitError
		}
		if p.HasChanges() && !opts.AutoApprove {
			if !opts.Input {
				s.errorf("Approval needed", "apply would collect the plan above but -input=false forbids asking. "+
					"Review it and run collect apply -auto-approve, or save it with collect plan -out=FILE and run collect apply FILE.")
				return nil, "", errApplyRefused, exitError
			}
			if !confirm(s) {
				v.Cancelled()
				return nil, "", errApplyRefused, exitError
			}
		}
	}

	storeOpts := store.Options{Hashes: m.Output.Hashes}
	s.storeHook(&storeOpts)
	st, err := store.Open(m.Output.Path, storeOpts)
	if err != nil {
		s.errorf("Cannot open the output folder", "%s", sentence(err.Error()))
		return nil, "", errApplyRefused, exitError
	}
	rep, err := st.Clean()
	if err != nil {
		s.errorf("Cannot clean the output folder", "%s", sentence(err.Error()))
		return nil, "", errApplyRefused, exitError
	}
	v.Cleaned(len(rep.Removed))

	userName, host := whoAmI()
	bld := readBuild()
	gitCommit, _ := store.GitCommit(m.Dir)
	progress := &apply.Progress{}
	ctx, stop := interruptible(s, "Interrupted: finishing the messages in flight and recording what is on disk. Press Ctrl-C again to stop at once.")
	defer stop()
	stopProgress := v.Progress(progress, conn.stats)
	res, err := apply.Apply(ctx, p, db, st, conn.src, apply.Options{
		RunID: newRunID(), Parallelism: opts.Parallelism, Concurrency: m.Tenant.MailboxConcurrency,
		Progress: progress,
		Record: record.Run{ToolVersion: bld.String(), VCSRevision: bld.VCSRevision, VCSModified: bld.VCSModified,
			User: userName, Host: host, Collector: collectorOf(m.Tenant, conn),
			MatterHash: m.Hash(), MatterGitCommit: gitCommit, PlanHash: planHash},
		Throttled: func() time.Duration { return throttledTime(conn.stats()) },
		Custody:   signing,
		Guard:     s.guard(),
	})
	stopProgress()
	v.Skipped(p.FailedScope())
	return res, m.Output.Path, err, applyExitCode(res, err)
}

// applyExitCode is the exit code of a run that started: 4 when items
// failed or mailboxes could not be read (failed scope).
func applyExitCode(res *apply.Result, err error) int {
	switch {
	case err != nil:
		return exitCode(err)
	case res.Failed > 0, len(res.FailedScope) > 0:
		return exitItemsFailed
	case !res.Complete:
		return exitError
	}
	return exitOK
}

// collectorOf is who reads the mailboxes: the signed-in user (device
// code), the app itself, or the demo tenant's app.
func collectorOf(t config.Tenant, conn *connection) record.Collector {
	c := record.Collector{Kind: record.CollectorApp, ClientID: t.ClientID, TenantID: t.TenantID, Auth: t.Auth}
	switch {
	case conn.demo:
		c = record.Collector{Kind: record.CollectorDemo, ClientID: conn.token.AppID, TenantID: conn.token.TenantID}
	case conn.token.Delegated:
		c.Kind, c.Account = record.CollectorUser, conn.token.User
	}
	return c
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

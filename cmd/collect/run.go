package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"syscall"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/hashicorp/hcl/v2"
)

// loadMatter reads the matter of the working folder and renders its
// diagnostics; it returns nil when the matter has errors.
func loadMatter(s *streams, vars []config.VarOption) *config.Matter {
	return readMatter(s, vars, true)
}

// loadMatterToRead is loadMatter for the commands that only read what was
// collected (show, state, verify, export, login): they need the matter to
// find the state and the output folder, and show its errors, but its
// warnings are about scope, said by validate, plan and apply.
func loadMatterToRead(s *streams, vars []config.VarOption) *config.Matter {
	return readMatter(s, vars, false)
}

func readMatter(s *streams, vars []config.VarOption, warnings bool) *config.Matter {
	opts := config.LoadOptions{Env: s.env}
	shard, shardSet := "", false
	for _, v := range vars {
		switch {
		case v.BackendConfig != "":
			opts.BackendConfig = append(opts.BackendConfig, v.BackendConfig)
		case v.Shard != "":
			shard, shardSet = v.Shard, true
		default:
			opts.Vars = append(opts.Vars, v)
		}
	}
	if err := s.chooseShard(shard, shardSet); err != nil {
		s.errorf("Invalid shard", "%s", sentence(err.Error()))
		return nil
	}
	m, files, diags := config.Load(".", opts)
	if m != nil && !diags.HasErrors() {
		s.advice = tenantFacts(s, m.Tenant)
	}
	s.files = files
	if !warnings && !diags.HasErrors() {
		diags = nil
	}
	s.writeDiags(diags, files)
	if diags.HasErrors() {
		return nil
	}
	return m
}

// openState opens the matter's state file; readOnly takes a shared lock
// (plan), otherwise an exclusive one (apply). It returns the exit code to
// use when it fails.
func openState(s *streams, m *config.Matter, readOnly bool, timeout time.Duration, op string) (*state.DB, int) {
	return openStateWith(s, m, state.Options{ReadOnly: readOnly, Operation: op, ToolVersion: toolVersion(), LockTimeout: timeout})
}

func openStateWith(s *streams, m *config.Matter, opts state.Options) (*state.DB, int) {
	if m.Backend.Type != "" && s.remote == nil {
		if code := attachRemote(s, m, !opts.ReadOnly, opts.LockTimeout, opts.Operation); code != exitOK {
			return nil, code
		}
	} else if s.shard.Sharded() && m.Backend.Type == "" {
		s.errorf("Sharding needs a backend", "-shard=%s splits a matter between processes that keep their states in a "+
			"shared backend; this matter keeps its collection in the local output folder %s. Add a backend block "+
			"(docs/scale-out.md), or run without -shard.", s.shard, m.Output.Path)
		return nil, exitError
	}
	s.stateHook(&opts)
	db, err := state.Open(m.State.Path, opts)
	if err == nil {
		return db, exitOK
	}
	summary := "Cannot open the state"
	if exitCode(err) == exitLocked {
		summary = "State locked"
	}
	s.errorf(summary, "%s", sentence(err.Error()))
	return nil, exitCode(err)
}

// openStateToRead opens the state for a command that only shows it (show,
// state, verify). While an apply holds the lock, it reads the snapshot the
// apply keeps and says on stderr that the apply runs and how far it is.
func openStateToRead(s *streams, m *config.Matter, timeout time.Duration, op string) (*state.DB, int) {
	db, code := openStateWith(s, m, state.Options{ReadOnly: true, Snapshot: true, Operation: op, ToolVersion: toolVersion(), LockTimeout: timeout})
	if db == nil {
		return nil, code
	}
	if w := db.Writer(); w != nil {
		fmt.Fprintln(s.stderr, writerNote(db, w))
	}
	return db, exitOK
}

// readCollection loads the matter and opens its state to read, held to
// the output folder it must describe: what verify and report read. A nil
// state comes with the exit code, the reasons gone to the diagnostics;
// the caller closes the state.
func readCollection(s *streams, vars []config.VarOption, timeout time.Duration, op string) (*config.Matter, *state.DB, int) {
	m := loadMatterToRead(s, vars)
	if m == nil {
		return nil, nil, exitError
	}
	db, code := readCollectionOf(s, m, timeout, op)
	return m, db, code
}

// readCollectionOf is readCollection for a matter already loaded.
func readCollectionOf(s *streams, m *config.Matter, timeout time.Duration, op string) (*state.DB, int) {
	db, code := openStateToRead(s, m, timeout, op)
	if db == nil {
		return nil, code
	}
	if !stateMatchesOutput(s, m, db) {
		db.Close()
		return nil, exitError
	}
	return db, exitOK
}

// writerNote says which apply holds the state and how far its run is.
func writerNote(db *state.DB, w *state.Writer) string {
	h := w.Holder
	far := ""
	_ = db.View(func(r *state.ReadTx) error {
		p, ok, err := r.RunInProgress()
		if err == nil && ok {
			far = fmt.Sprintf(" Run %s: %s of %s planned messages collected so far.",
				p.Run.RunID, commas(p.Collected), commas(p.Run.Planned))
		}
		return nil
	})
	const when = "2006-01-02 15:04:05 MST"
	return fmt.Sprintf("Note: collect %s is running (run by %s on %s, pid %d, since %s).%s "+
		"This shows the state as that apply recorded it at %s; run this again after it finishes to see all of it.",
		h.Operation, h.User, h.Host, h.PID, h.Since.Local().Format(when), far, w.SnapshotAt.Local().Format(when))
}

// errorf renders one error diagnostic without a source range.
func (s *streams) errorf(summary, format string, args ...any) {
	s.writeDiags(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...)}}, nil)
}

func (s *streams) warnf(summary, format string, args ...any) {
	s.writeDiags(hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...)}}, nil)
}

// interruptible returns a context canceled by the first SIGINT or
// SIGTERM. A second one exits at once: what is recorded is already durable.
func interruptible(s *streams, onFirst string) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		if onFirst != "" {
			fmt.Fprintln(s.stderr, onFirst)
		}
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(s.stderr, "Stopped at once. Everything recorded in the state is on disk; run apply again to finish.")
			os.Exit(exitError)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

func parseTargets(s *streams, m *config.Matter, raw []string) ([]plan.Target, bool) {
	var out []plan.Target
	for _, r := range raw {
		t, err := plan.ParseTarget(r, m)
		if err != nil {
			s.errorf("Invalid target", "%s", sentence(err.Error()))
			return nil, false
		}
		out = append(out, t)
	}
	return out, true
}

func whoAmI() (userName, host string) {
	if u, err := user.Current(); err == nil {
		userName = u.Username
	}
	host, _ = os.Hostname()
	return userName, host
}

package main

import (
	"fmt"
	"sort"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
)

const showHelp = `Usage: collect [global options] show [options] [PLANFILE]

  With PLANFILE, shows a saved plan as plan showed it. Without, shows a
  summary of the state: its lineage and serial, the mailboxes collected
  and the last runs.

Options:
  -json                Print it as JSON.
  -shard=I/N           With a backend: only shard I of N (default: every shard).
  -backend-config=K=V  Override a backend block argument. Repeatable.
`

type stateSummary struct {
	Exists        bool              `json:"exists"`
	Lineage       string            `json:"lineage,omitempty"`
	Serial        uint64            `json:"serial"`
	SchemaVersion int               `json:"schema_version,omitempty"`
	ToolVersion   string            `json:"tool_version,omitempty"`
	Mailboxes     []mailboxSummary  `json:"mailboxes"`
	Runs          []record.Run      `json:"runs"`
	Counts        map[string]uint64 `json:"counts"`
	// FailedScope lists the mailboxes the last apply could not read.
	FailedScope []record.Failure `json:"failed_scope"`
	// Shards are the states of a backend's collection kept in more than
	// one shard; the figures above are their sum.
	Shards []shardSummary `json:"shards,omitempty"`
}

type shardSummary struct {
	Shard   string `json:"shard"`
	Exists  bool   `json:"exists"`
	Lineage string `json:"lineage,omitempty"`
	Serial  uint64 `json:"serial"`
}

type mailboxSummary struct {
	Addresses  []string `json:"addresses"`
	Email      string   `json:"email"`
	Collected  int64    `json:"collected"`
	Bytes      int64    `json:"bytes"`
	Tombstones int64    `json:"tombstones"`
	Failures   int64    `json:"failures"`
}

func runShow(s *streams, args []string) int {
	opts, diags := ParseShow(args)
	v := newShowView(s, opts.JSON)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		v.Failed()
		return exitError
	}
	if opts.PlanFile != "" {
		p, _, err := plan.Read(opts.PlanFile)
		if err != nil {
			s.errorf("Cannot read the saved plan", "%s", sentence(err.Error()))
			v.Failed()
			return exitError
		}
		v.Plan(p)
		return exitOK
	}
	m := loadMatterToRead(s, opts.Vars)
	if m == nil {
		v.Failed()
		return exitError
	}
	var sum stateSummary
	where := rel(m.State.Path)
	code := eachShard(s, m, func(sh config.Shard, count int, one *config.Matter) int {
		part, code := showCollection(s, one, opts)
		switch {
		case code != exitOK:
		case count == 1:
			sum, where = part.stateSummary, part.where
		default:
			if sh.Index == 1 {
				sum = part.stateSummary
				sum.Lineage, sum.Serial = "", 0
				where = fmt.Sprintf("%s (%d shards)", part.where, count)
			} else {
				sum.merge(part.stateSummary)
			}
			sum.Shards = append(sum.Shards, shardSummary{Shard: sh.String(), Exists: part.Exists, Lineage: part.Lineage, Serial: part.Serial})
		}
		return code
	})
	if code != exitOK {
		v.Failed()
		return code
	}
	v.State(where, sum)
	return exitOK
}

// shownState is what show read of one collection, and where from.
type shownState struct {
	stateSummary
	where string
}

// showCollection reads one collection: the matter's, or one shard of its
// backend.
func showCollection(s *streams, m *config.Matter, opts Show) (shownState, int) {
	db, code := openStateToRead(s, m, opts.LockTimeout, "show")
	if db == nil {
		return shownState{}, code
	}
	defer db.Close()
	sum, err := summarizeState(db)
	if err != nil {
		s.errorf("Cannot read the state", "%s", sentence(err.Error()))
		return shownState{}, exitError
	}
	where := rel(m.State.Path)
	if s.remote != nil {
		where = s.remote.ws.Store().String()
	}
	return shownState{stateSummary: sum, where: where}, exitOK
}

// merge adds the summary of another shard to sum: shards hold distinct
// mailboxes.
func (sum *stateSummary) merge(o stateSummary) {
	sum.Exists = sum.Exists || o.Exists
	sum.Mailboxes = append(sum.Mailboxes, o.Mailboxes...)
	sum.Runs = append(sum.Runs, o.Runs...)
	sort.SliceStable(sum.Runs, func(i, j int) bool { return sum.Runs[i].Started.Before(sum.Runs[j].Started) })
	for k, n := range o.Counts {
		sum.Counts[k] += n
	}
	sum.FailedScope = append(sum.FailedScope, o.FailedScope...)
}

// summarizeState reads what show reports of the state.
func summarizeState(db *state.DB) (stateSummary, error) {
	sum := stateSummary{Mailboxes: []mailboxSummary{}, Runs: []record.Run{}, Counts: map[string]uint64{}}
	err := db.View(func(r *state.ReadTx) error {
		meta := r.Meta()
		sum.Exists, sum.Lineage, sum.Serial = meta.Exists(), meta.Lineage, meta.Serial
		sum.SchemaVersion, sum.ToolVersion = meta.SchemaVersion, meta.ToolVersion
		mailboxes, err := stateMailboxes(r)
		if err != nil {
			return err
		}
		for _, mb := range mailboxes {
			_, _, total, err := stateFolders(r, mb)
			if err != nil {
				return err
			}
			sum.Mailboxes = append(sum.Mailboxes, mailboxSummary{
				Addresses: mb.References, Email: mb.Address, Collected: total.collected,
				Bytes: total.bytes, Tombstones: total.tombstones, Failures: total.failures,
			})
			sum.Counts["collected"] += uint64(total.collected)
			sum.Counts["bytes"] += uint64(total.bytes)
		}
		if err := r.Runs(func(run record.Run) error { sum.Runs = append(sum.Runs, run); return nil }); err != nil {
			return err
		}
		return settleRuns(r, db.Writer() != nil, sum.Runs)
	})
	sum.FailedScope = lastFailedScope(sum.Runs)
	return sum, err
}

// lastFailedScope lists the mailboxes the last apply could not read:
// failed scope until an apply reads them.
func lastFailedScope(runs []record.Run) []record.Failure {
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Operation != "apply" {
			continue
		}
		if runs[i].FailedScope != nil {
			return runs[i].FailedScope
		}
		break
	}
	return []record.Failure{}
}

// settleRuns shows as interrupted the runs still marked running that no
// live apply carries on (with a writer, its run is the live one).
func settleRuns(r *state.ReadTx, writer bool, runs []record.Run) error {
	live := ""
	if writer {
		p, ok, err := r.RunInProgress()
		if err != nil {
			return err
		}
		if ok {
			live = p.Run.RunID
		}
	}
	stopped, err := r.InterruptedRuns(live)
	if err != nil {
		return err
	}
	for _, st := range stopped {
		for i := range runs {
			if runs[i].RunID == st.RunID {
				runs[i] = st
			}
		}
	}
	return nil
}

func mailboxLabel(refs []string, email string) string {
	if len(refs) > 0 {
		return refs[0]
	}
	return email
}

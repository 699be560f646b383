package custody

import (
	"errors"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// Window is a date window of the matter, as the report counts by it.
type Window struct {
	Name       string
	Start, End time.Time // End zero: open
}

func (w Window) holds(t time.Time) bool {
	return !t.Before(w.Start) && (w.End.IsZero() || t.Before(w.End))
}

// ReportFacts is what the report says of the matter and its collector,
// from the matter and the sign-in rather than from the evidence.
type ReportFacts struct {
	Matter, Description string
	TenantID, ClientID  string
	Auth                string
	Windows             []Window
	Verifier            string
	ToolVersion         string
	Generated           time.Time
	// Origin is the origin the custody log's checkpoints name; "" means
	// the matter's (Origin(Matter)). Each shard of a backend's collection
	// keeps a log of its own.
	Origin string
}

// MailboxSummary is what was collected from one mailbox.
type MailboxSummary struct {
	Address    string
	Custodians []string
	Messages   int
	Bytes      int64
	PerWindow  []int // in the order of ReportFacts.Windows
	Outside    int   // received outside every window (or without a date)
	Tombstones int
	Moves      int
	Failures   int
}

// Exception is one failure a run recorded.
type Exception struct {
	RunID string
	record.Failure
}

// ReportData is everything the collection report shows, read from the
// state and the output folder only.
type ReportData struct {
	ReportFacts
	Runs      []record.Run
	Mailboxes []MailboxSummary
	// Months lists the months with mail ("2024-03"), PerMonth the
	// messages each custodian has in each of them.
	Months     []string
	Custodians []string
	PerMonth   map[string]map[string]int
	Exceptions []Exception
	Totals     MailboxSummary
	Custody    Report
	// Checkpoint is the latest checkpoint's text, "" when there is none.
	Checkpoint string
}

// BuildReport gathers the report's data from the output folder dir and
// the state db: the manifest's lines counted per mailbox, window and
// month, the run records, the state's tombstones and moves, and the
// custody log verified as collect verify -custody does.
func BuildReport(dir string, db *state.DB, facts ReportFacts) (ReportData, error) {
	d := ReportData{ReportFacts: facts, PerMonth: map[string]map[string]int{}}
	byMailbox := map[string]*MailboxSummary{}
	months := map[string]bool{}
	custodians := map[string]bool{}
	err := store.ReadManifest(filepath.Join(dir, store.ManifestFile), func(e store.ManifestEntry) error {
		mb := byMailbox[e.Mailbox]
		if mb == nil {
			mb = &MailboxSummary{Address: e.Mailbox, PerWindow: make([]int, len(facts.Windows))}
			byMailbox[e.Mailbox] = mb
		}
		for _, c := range e.Custodians {
			if !slices.Contains(mb.Custodians, c) {
				mb.Custodians = append(mb.Custodians, c)
			}
		}
		mb.Messages++
		mb.Bytes += e.Size
		when := e.Received
		if when.IsZero() {
			when = e.Sent
		}
		inside := false
		for i, w := range facts.Windows {
			if !when.IsZero() && w.holds(when) {
				mb.PerWindow[i]++
				inside = true
			}
		}
		if !inside {
			mb.Outside++
		}
		if !when.IsZero() {
			month := when.UTC().Format("2006-01")
			months[month] = true
			for _, c := range e.Custodians {
				custodians[c] = true
				if d.PerMonth[c] == nil {
					d.PerMonth[c] = map[string]int{}
				}
				d.PerMonth[c][month]++
			}
		}
		return nil
	})
	var torn *store.TornTailError
	if err != nil && !errors.As(err, &torn) {
		return d, err
	}
	if err := db.View(func(r *state.ReadTx) error {
		return r.Mailboxes(func(m state.Mailbox) error {
			mb := byMailbox[strings.ToLower(m.Address)]
			if mb == nil {
				mb = &MailboxSummary{Address: strings.ToLower(m.Address), Custodians: m.Custodians, PerWindow: make([]int, len(facts.Windows))}
				byMailbox[mb.Address] = mb
			}
			if err := r.ItemsOfMailbox(m.ID, func(it state.Item) error {
				mb.Tombstones += it.Tombstones()
				mb.Moves += it.Moves()
				return nil
			}); err != nil {
				return err
			}
			return r.Failures(m.ID, func(state.Failure) error { mb.Failures++; return nil })
		})
	}); err != nil {
		return d, err
	}
	runs, err := store.ReadRuns(dir)
	if err != nil {
		return d, err
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Started.Before(runs[j].Started) })
	d.Runs = runs
	for _, r := range runs {
		for _, f := range append(slices.Clone(r.FailedScope), r.Failures...) {
			d.Exceptions = append(d.Exceptions, Exception{RunID: r.RunID, Failure: f})
		}
	}
	d.Totals.PerWindow = make([]int, len(facts.Windows))
	for _, mb := range byMailbox {
		d.Mailboxes = append(d.Mailboxes, *mb)
		d.Totals.add(*mb)
	}
	d.order(months, custodians)

	origin := facts.Origin
	if origin == "" {
		origin = Origin(facts.Matter)
	}
	d.Custody, err = Verify(dir, VerifyOptions{Verifier: facts.Verifier, Origin: origin, Running: db.Writer() != nil})
	if err != nil {
		return d, err
	}
	cps, _, err := ReadCheckpoints(dir)
	if err != nil {
		return d, err
	}
	if len(cps) > 0 {
		d.Checkpoint = string(cps[len(cps)-1].Text)
	}
	return d, nil
}

// MergeReports makes one report of the reports of a collection's shards,
// each of its own mailboxes, named by names (in the same order): the
// mailboxes, runs, months and exceptions of all of them, their totals,
// and their custody logs, each checked on its own, with every problem
// named by its shard.
func MergeReports(parts []ReportData, names []string) ReportData {
	if len(parts) == 0 {
		return ReportData{}
	}
	d := ReportData{ReportFacts: parts[0].ReportFacts, PerMonth: map[string]map[string]int{}}
	d.Totals.PerWindow = make([]int, len(d.Windows))
	months, custodians := map[string]bool{}, map[string]bool{}
	var checkpoints []string
	for i, p := range parts {
		d.Runs = append(d.Runs, p.Runs...)
		d.Mailboxes = append(d.Mailboxes, p.Mailboxes...)
		d.Exceptions = append(d.Exceptions, p.Exceptions...)
		for _, m := range p.Months {
			months[m] = true
		}
		for _, c := range p.Custodians {
			custodians[c] = true
		}
		for c, byMonth := range p.PerMonth {
			if d.PerMonth[c] == nil {
				d.PerMonth[c] = map[string]int{}
			}
			for m, n := range byMonth {
				d.PerMonth[c][m] += n
			}
		}
		d.Totals.add(p.Totals)
		d.Custody.Add(p.Custody, names[i])
		if p.Checkpoint != "" {
			checkpoints = append(checkpoints, p.Checkpoint)
		}
	}
	// Each shard's log has its own latest checkpoint: the report shows
	// them all, one after another.
	d.Checkpoint = strings.Join(checkpoints, "\n")
	sort.SliceStable(d.Runs, func(i, j int) bool { return d.Runs[i].Started.Before(d.Runs[j].Started) })
	d.order(months, custodians)
	return d
}

// add counts what mb counts into t, whose PerWindow has room for its
// windows.
func (t *MailboxSummary) add(mb MailboxSummary) {
	t.Messages += mb.Messages
	t.Bytes += mb.Bytes
	t.Outside += mb.Outside
	t.Tombstones += mb.Tombstones
	t.Moves += mb.Moves
	t.Failures += mb.Failures
	for i, n := range mb.PerWindow {
		t.PerWindow[i] += n
	}
}

// order sorts the report's mailboxes by address and sets its months and
// custodians, sorted, from the sets of them.
func (d *ReportData) order(months, custodians map[string]bool) {
	sort.Slice(d.Mailboxes, func(i, j int) bool { return d.Mailboxes[i].Address < d.Mailboxes[j].Address })
	for m := range months {
		d.Months = append(d.Months, m)
	}
	sort.Strings(d.Months)
	for c := range custodians {
		d.Custodians = append(d.Custodians, c)
	}
	sort.Strings(d.Custodians)
}

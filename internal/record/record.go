// Package record defines the run record: what one run of collect did, for
// the chain of custody. The state keeps it (so that show and the next run
// read it) and the output folder keeps it as runs/<run-id>.json (so that
// the evidence carries it); both hold this one type, in this one JSON
// shape. It is its own package because state may not import store and
// store imports only the standard library.
//
// The JSON shape is a contract (docs/json-output.md): fields are added,
// never renamed or given another meaning.
package record

import "time"

// Run is the record of one run.
type Run struct {
	RunID     string `json:"run_id"`
	Operation string `json:"operation"` // apply, ...
	// Status says how the run ended, or that it is still running.
	Status Status `json:"status,omitempty"`
	// Error is what stopped the run, when something did.
	Error string `json:"error,omitempty"`

	User        string    `json:"user"` // the operating-system account that ran collect
	Host        string    `json:"host"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished,omitzero"`
	ToolVersion string    `json:"tool_version"`
	// VCSRevision and VCSModified are the commit collect was built from and
	// whether its tree had changes, as the build recorded them.
	VCSRevision string `json:"vcs_revision,omitempty"`
	VCSModified bool   `json:"vcs_modified,omitempty"`

	// Collector is who signed in to Microsoft 365 to collect.
	Collector Collector `json:"collector,omitzero"`
	// Demo is set when the run collected from the built-in demo tenant.
	Demo bool `json:"demo,omitempty"`
	// Targets are the -target addresses the run was narrowed to.
	Targets []string `json:"targets,omitempty"`

	MatterHash      string `json:"matter_hash"`
	MatterGitCommit string `json:"matter_git_commit,omitempty"`
	PlanHash        string `json:"plan_hash,omitempty"`

	Counts           `json:"counts"`
	ThrottledSeconds float64   `json:"throttled_seconds"`
	Failures         []Failure `json:"failures"`
	// FailedScope lists the mailboxes the run could not read at all, so
	// that nothing of them was collected; the next run tries them again.
	FailedScope []Failure `json:"failed_scope,omitempty"`
	// Complete is Status == StatusComplete, kept for readers of records
	// written before Status existed.
	Complete bool `json:"complete"`
}

// Collector is the identity that read the mailboxes.
type Collector struct {
	// Kind is CollectorUser (a person signed in, with a device code),
	// CollectorApp (the app signed in as itself) or CollectorDemo.
	Kind string `json:"kind"`
	// Account is the signed-in user's name (UPN), for CollectorUser.
	Account  string `json:"account,omitempty"`
	ClientID string `json:"client_id,omitempty"` // the app registration signed in with
	TenantID string `json:"tenant_id,omitempty"`
	Auth     string `json:"auth,omitempty"` // the matter's auth: device_code, client_secret, ...
}

// The kinds of collector.
const (
	CollectorUser = "user"
	CollectorApp  = "app"
	CollectorDemo = "demo"
)

// Counts are the item counts of a run.
type Counts struct {
	Planned      int64 `json:"planned"`
	Collected    int64 `json:"collected"`    // new natives recorded
	Deduplicated int64 `json:"deduplicated"` // of those, bytes already in the store
	Tombstoned   int64 `json:"tombstoned"`   // deleted before collection
	Failed       int64 `json:"failed"`
	Bytes        int64 `json:"bytes"`
	// Observations counts the removals, moves and changes recorded.
	Observations int64 `json:"observations"`
	// Unchanged counts the items planned as changed whose bytes, fetched
	// again, were those already collected: no version was made.
	Unchanged int64 `json:"unchanged,omitempty"`
	// Remaining counts the planned items neither collected, tombstoned nor
	// failed: what the run did not get to.
	Remaining int64 `json:"remaining"`
	// Cursors counts the folders whose delta cursor was stored.
	Cursors int64 `json:"cursors"`
}

// Failure is one item or mailbox that a run could not collect.
type Failure struct {
	Mailbox string `json:"mailbox"`
	// Scope is the matter's address of a mailbox that could not be read
	// at all (failed scope); empty for the failure of one item.
	Scope     string `json:"scope,omitempty"`
	GraphID   string `json:"graph_id,omitempty"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// Status is how a run ended.
type Status string

const (
	// StatusRunning: the run has started and not ended. A record still
	// running when no process holds the state's lock is of a run that was
	// killed: it reads as StatusInterrupted.
	StatusRunning Status = "running"
	// StatusComplete: everything planned was collected or tombstoned.
	StatusComplete Status = "complete"
	// StatusIncomplete: the run ended, but some items failed or were left,
	// or some mailboxes could not be read.
	StatusIncomplete Status = "incomplete"
	// StatusFailed: an error stopped the run (a full disk, a state that
	// could not be written); Error says which.
	StatusFailed Status = "failed"
	// StatusInterrupted: the run was stopped before the end, by the user or
	// by the process being killed.
	StatusInterrupted Status = "interrupted"
)

// Interrupt marks the record of a run that was stopped before it could
// record its end (the process was killed, or the machine stopped).
func (r *Run) Interrupt() {
	r.Status, r.Complete = StatusInterrupted, false
	if r.Error == "" {
		r.Error = "the run stopped before it could record its end (the process was killed or the machine stopped); run collect apply again to continue"
	}
	if left := r.Planned - r.Collected - r.Tombstoned - r.Failed; left > 0 {
		r.Remaining = left
	} else {
		r.Remaining = 0
	}
}

// FillStatus sets the Status of a record written before Status existed,
// from what such a record says: complete, ended, or not ended.
func (r *Run) FillStatus() {
	switch {
	case r.Status != "":
	case r.Complete:
		r.Status = StatusComplete
	case r.Finished.IsZero():
		r.Status = StatusRunning
	default:
		r.Status = StatusIncomplete
	}
}

// Add adds d's counts to c.
func (c *Counts) Add(d Counts) {
	c.Planned += d.Planned
	c.Collected += d.Collected
	c.Deduplicated += d.Deduplicated
	c.Tombstoned += d.Tombstoned
	c.Failed += d.Failed
	c.Bytes += d.Bytes
	c.Observations += d.Observations
	c.Unchanged += d.Unchanged
	c.Remaining += d.Remaining
	c.Cursors += d.Cursors
}

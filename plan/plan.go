// Package plan compares a matter, the state and the live mailboxes, and
// says what apply must do: the messages to collect, the tombstones and
// moves to record, and the delta cursors to keep once that is done.
package plan

import (
	"time"

	"github.com/collect-ediscovery/collect/graph"
)

// Plan is what apply will do. It is bound to the matter it was made for
// (by hash) and to the state it was made against (by lineage and serial),
// so that a saved plan is never applied to anything else.
type Plan struct {
	// The document's format_version is stamped by internal/jsondoc, as on
	// every JSON document collect writes.
	ToolVersion string    `json:"tool_version"`
	CreatedAt   time.Time `json:"created_at"`
	Matter      string    `json:"matter"`
	MatterHash  string    `json:"matter_hash"`
	Demo        bool      `json:"demo,omitempty"`
	State       StateRef  `json:"state"`
	Targets     []string  `json:"targets,omitempty"`

	Mailboxes []*Mailbox `json:"mailboxes"`
	// Orphans is scope the state holds and the matter no longer names; it
	// is kept, never deleted.
	Orphans  []Orphan  `json:"orphans,omitempty"`
	Warnings []Problem `json:"warnings,omitempty"`
	Errors   []Problem `json:"errors,omitempty"`
}

// StateRef identifies the state a plan was made against. An empty lineage
// means no state file existed yet.
type StateRef struct {
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
}

// Mailbox is the plan for one mailbox in scope.
type Mailbox struct {
	Addr       string        `json:"address"` // custodian.jdoe.mailbox.primary, mailbox.legal_shared
	Email      string        `json:"email"`   // as the matter wrote it
	Kind       string        `json:"kind"`    // primary or shared
	Custodians []string      `json:"custodians"`
	Resolved   graph.Mailbox `json:"resolved"`
	// Scope is a digest of the windows the mailbox is collected for. A
	// cursor made under another scope is not used: the folder is
	// enumerated again, so that a widened window finds older mail.
	Scope   string    `json:"scope"`
	Folders []*Folder `json:"folders"`
	// Error is set when the mailbox could not be read; its folders are
	// then incomplete.
	Error *Problem `json:"error,omitempty"`
	// WindowCounts is how many messages this round found in each window,
	// on a first enumeration only.
	WindowCounts map[string]int64 `json:"window_counts,omitempty"`
	// WellKnownFolders is what the folder listing learned of the
	// mailbox's well-known folders, for apply to keep in the state so
	// that the next plan does not ask for them again.
	WellKnownFolders *graph.WellKnownFolders `json:"well_known_folders,omitempty"`
	// Unmatched lists the entries of the mailbox's folder filter that
	// match none of its folders.
	Unmatched []UnmatchedEntry `json:"unmatched_folder_entries,omitempty"`
}

// Folder is the plan for one folder of a mailbox.
type Folder struct {
	ID        string `json:"id"`
	Path      string `json:"path"`
	WellKnown string `json:"well_known,omitempty"`
	// Cursor is the stored cursor the round started from (empty: from
	// scratch); NewCursor is the one to store once every item of this
	// folder is durable or tombstoned.
	Cursor    string `json:"cursor,omitempty"`
	NewCursor string `json:"new_cursor,omitempty"`
	// Reset is set when the server no longer knew the stored cursor and
	// the folder was enumerated from scratch.
	Reset bool `json:"reset,omitempty"`
	// Listed is set when the mailbox refused delta (it is full) and the
	// folder was listed in full instead; there is then no new cursor.
	Listed     bool        `json:"listed,omitempty"`
	Fetch      []Item      `json:"fetch,omitempty"`
	Tombstones []Tombstone `json:"tombstones,omitempty"`
	Moves      []Move      `json:"moves,omitempty"`
	// Changes are collected items the server reports changed (a new
	// changeKey) that are not collected again: recorded as observations.
	Changes []Change `json:"changes,omitempty"`
	// Seen counts the messages this round reported in scope, including
	// those already collected.
	Seen             int64 `json:"seen"`
	AlreadyCollected int64 `json:"already_collected"`
	OutOfWindow      int64 `json:"out_of_window"`
	// NotMail counts the items this round listed that are not mail (notes,
	// tasks, calendar items, contacts, Teams chat copies), by item class:
	// they are never collected.
	NotMail int64 `json:"excluded_not_mail"`
}

// Item is a message to collect.
type Item struct {
	ID                string    `json:"id"`
	InternetMessageID string    `json:"internet_message_id,omitempty"`
	Received          time.Time `json:"received,omitzero"`
	Sent              time.Time `json:"sent,omitzero"`
	Subject           string    `json:"subject,omitempty"`
	From              string    `json:"from,omitempty"`
	ChangeKey         string    `json:"change_key,omitempty"`
	LastModified      time.Time `json:"last_modified,omitzero"`
	Draft             bool      `json:"draft,omitempty"`
	// ConversationID is the server's conversationId: one per thread.
	ConversationID string `json:"conversation_id,omitempty"`
	// Version is set for an item already collected that changed since:
	// the number of the new version to collect (2 for the first change).
	Version int `json:"version,omitempty"`
}

// Change is a collected item the server reports changed, with the key and
// time it reported.
type Change struct {
	ID           string    `json:"id"`
	ChangeKey    string    `json:"change_key"`
	LastModified time.Time `json:"last_modified,omitzero"`
}

// Tombstone is a collected item the server reports gone. The evidence is
// kept; the state records what the server said.
type Tombstone struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Move is a collected item now seen in another folder than the one it
// was last seen in.
type Move struct {
	ID       string `json:"id"`
	FromPath string `json:"from_folder"`
	// ChangeKey is the item's changeKey where it is now: a move changes it.
	ChangeKey string `json:"change_key,omitempty"`
}

// Orphan is a mailbox the state holds that the matter no longer names.
type Orphan struct {
	MailboxID  string   `json:"mailbox_id"`
	Address    string   `json:"email"`
	References []string `json:"references"`
	Items      int64    `json:"items_kept"`
}

// Problem is a warning or an error, about the plan or one address.
type Problem struct {
	Addr      string     `json:"address,omitempty"`
	Summary   string     `json:"summary"`
	Detail    string     `json:"detail,omitempty"`
	Kind      graph.Kind `json:"kind,omitempty"`    // the graph error kind, when from Graph, as its token ("access_denied")
	Mailbox   string     `json:"mailbox,omitempty"` // the mailbox address a Graph error is about
	Code      string     `json:"code,omitempty"`
	RequestID string     `json:"request_id,omitempty"`
	// FailedScope marks an error about one mailbox that Graph would not
	// let collect read to the end: apply collects the other mailboxes,
	// reports this one as failed scope, and the next apply tries it again.
	// Any other error is a mistake in the matter or the command to fix
	// first: it makes the plan unusable.
	FailedScope bool `json:"failed_scope,omitempty"`
	// Window names the window an empty-window warning is about.
	Window string `json:"window,omitempty"`
	// SameAs is the other address of the matter that names the same
	// mailbox, for that error.
	SameAs string `json:"same_as,omitempty"`
}

// Counts sums a plan or part of one.
type Counts struct {
	ToCollect int64 `json:"to_collect"`
	// ChangedDrafts and ChangedMessages are the part of ToCollect that is
	// new versions of collected items: edited drafts, and other messages
	// when the matter says recollect_changed.
	ChangedDrafts   int64 `json:"changed_drafts,omitempty"`
	ChangedMessages int64 `json:"changed_messages,omitempty"`
	Tombstones      int64 `json:"tombstones"`
	Moves           int64 `json:"moves"`
	Changes         int64 `json:"changes,omitempty"` // observations of changes without new bytes
	Seen            int64 `json:"seen"`
	Collected       int64 `json:"already_collected"`
	NotMail         int64 `json:"excluded_not_mail"`
	Mailboxes       int64 `json:"mailboxes_with_changes"`
}

// Counts sums the folder.
func (f *Folder) Counts() Counts {
	c := Counts{
		ToCollect:  int64(len(f.Fetch)),
		Tombstones: int64(len(f.Tombstones)),
		Moves:      int64(len(f.Moves)),
		Changes:    int64(len(f.Changes)),
		Seen:       f.Seen,
		Collected:  f.AlreadyCollected,
		NotMail:    f.NotMail,
	}
	for _, it := range f.Fetch {
		switch {
		case it.Version == 0:
		case it.Draft:
			c.ChangedDrafts++
		default:
			c.ChangedMessages++
		}
	}
	return c
}

func (c *Counts) add(d Counts) {
	c.ToCollect += d.ToCollect
	c.ChangedDrafts += d.ChangedDrafts
	c.ChangedMessages += d.ChangedMessages
	c.Tombstones += d.Tombstones
	c.Moves += d.Moves
	c.Changes += d.Changes
	c.Seen += d.Seen
	c.Collected += d.Collected
	c.NotMail += d.NotMail
	c.Mailboxes += d.Mailboxes
}

// Counts sums the mailbox.
func (m *Mailbox) Counts() Counts {
	var c Counts
	for _, f := range m.Folders {
		c.add(f.Counts())
	}
	if c.ToCollect+c.Tombstones+c.Moves+c.Changes > 0 {
		c.Mailboxes = 1
	}
	return c
}

// Counts sums the plan: what apply would do, so without the mailboxes
// that could not be read.
func (p *Plan) Counts() Counts {
	var c Counts
	for _, m := range p.Mailboxes {
		if m.Error == nil {
			c.add(m.Counts())
		}
	}
	return c
}

// Complete reports whether every mailbox in scope was read to the end.
func (p *Plan) Complete() bool { return len(p.Errors) == 0 }

// FailedScope lists the errors of the mailboxes that could not be read:
// apply skips them, and says so in its output, its run record and its
// exit code.
func (p *Plan) FailedScope() []Problem {
	var out []Problem
	for _, e := range p.Errors {
		if e.FailedScope {
			out = append(out, e)
		}
	}
	return out
}

// Applyable reports whether apply may carry the plan out: when every
// error is failed scope. Apply then collects the readable mailboxes and
// reports the others, so that a collection is never silently partial. An
// error in the matter or the command (two addresses of one mailbox, a
// folder entry or target that matches no folder) makes the plan unusable.
func (p *Plan) Applyable() bool { return len(p.FailedScope()) == len(p.Errors) }

// HasChanges reports whether applying the plan would change anything:
// messages to collect, or observations to record. New delta cursors do
// not count: every round returns one, and apply stores them anyway.
func (p *Plan) HasChanges() bool {
	c := p.Counts()
	return c.ToCollect+c.Tombstones+c.Moves+c.Changes > 0
}

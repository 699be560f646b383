package state

import (
	"encoding/json"
	"time"

	"github.com/collect-ediscovery/collect/internal/record"
)

// Meta describes the state file itself. The zero Meta (empty Lineage) is
// what a read-only open of a state file that does not exist yet reports.
type Meta struct {
	SchemaVersion int
	Lineage       string    // UUID created with the file; never changes
	Serial        uint64    // bumped by every committing apply
	ToolVersion   string    // version of collect that last wrote the file
	CreatedAt     time.Time // when the file was created
}

// Exists reports whether the state comes from a file on disk rather than
// from a read-only open of a file that does not exist yet.
func (m Meta) Exists() bool { return m.Lineage != "" }

// Mailbox is a mailbox as the state knows it, keyed by the directory object
// ID of the mailbox.
type Mailbox struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"upn,omitempty"`
	Address           string `json:"address,omitempty"` // primary SMTP address
	DisplayName       string `json:"display_name,omitempty"`
	// References are the matter addresses that resolved to this mailbox,
	// such as "custodian.jdoe.mailbox.primary". Kept even when the matter
	// stops naming them: the state is append-only.
	References []string `json:"references,omitempty"`
	Custodians []string `json:"custodians,omitempty"`
}

// Folder is a mail folder of a mailbox, keyed by its immutable folder ID.
type Folder struct {
	ID   string `json:"id"`
	Path string `json:"path,omitempty"` // display path, "Inbox/Projects"
	// Cursor is the opaque delta cursor (deltaLink) of the last completed
	// round, and CursorIDType the ID type it was made with ("ImmutableId").
	Cursor        string    `json:"cursor,omitempty"`
	CursorIDType  string    `json:"cursor_id_type,omitempty"`
	LastCompleted time.Time `json:"last_completed,omitzero"`
	// Scope is a digest of the windows the cursor was made for. Windows
	// are applied on the client, so a cursor made for other windows has
	// skipped messages the new ones want: plan enumerates again.
	Scope string `json:"scope,omitempty"`
}

// IDTypeImmutable is the ID type every cursor collect makes is made with.
const IDTypeImmutable = "ImmutableId"

// Item is what the state remembers of one message of a mailbox, keyed by its
// immutable message ID. A collected item has hashes and a native; an item
// known only through an observation (a tombstone, such as a message deleted
// before it could be collected) has neither.
type Item struct {
	Mailbox           string // directory object ID of the mailbox
	ID                string // immutable message ID
	InternetMessageID string
	FolderID          string // folder the item was last seen in
	FolderPath        string
	Received          time.Time
	Sent              time.Time
	Subject           string // kept short: at most MaxShortText bytes
	From              string // kept short: at most MaxShortText bytes
	Size              int64  // bytes of the native
	SHA256            string // lower-case hex
	MD5               string // lower-case hex, optional
	SHA1              string // lower-case hex, optional
	Native            string // path of the native in the evidence store
	RunID             string // run that collected it
	CollectedAt       time.Time
	Custodians        []string
	// Seq is the collection sequence number, assigned when the item is first
	// recorded as collected; it only ever grows across the life of a file.
	Seq          uint64
	Observations []Observation // append-only

	// Version numbers the collected versions of the item: 0 or 1 for the
	// first; a draft edited after it was collected is collected again as
	// version 2, and so on (see Tx.PutVersion).
	Version int
	// ChangeKey is the server's changeKey of the collected version (see
	// AccountedChangeKey for the last one seen). Empty for items collected
	// before collect recorded it.
	ChangeKey string
	// LastModified is the server's lastModifiedDateTime of the collected version.
	LastModified time.Time
	// ConversationID is the server's conversationId, the same for every
	// message of a thread; IsDraft says the collected version was an unsent
	// draft. Both are empty for items collected before collect recorded them.
	ConversationID string
	IsDraft        bool
	// Versions are the earlier collected versions, oldest first, each with
	// its own native, Seq and manifest line; the fields above are the
	// latest. They hold no observations, versions or custodians of their own.
	Versions []Item
}

// AccountedChangeKey is the last changeKey the state accounts for: that of
// a change or a move observed since the current version was collected, or
// else the version's own.
func (it Item) AccountedChangeKey() string {
	for i := len(it.Observations) - 1; i >= 0; i-- {
		o := it.Observations[i]
		if o.ChangeKey != "" && !o.At.Before(it.CollectedAt) {
			return o.ChangeKey
		}
	}
	return it.ChangeKey
}

// VersionNumber is the item's collected version: 1 for the first.
func (it Item) VersionNumber() int { return max(it.Version, 1) }

// AtSeq returns the collected version of the item with collection
// sequence number seq, as an item of its own (with the item's custodians).
func (it Item) AtSeq(seq uint64) (Item, bool) {
	if it.Seq == seq {
		return it, true
	}
	for _, v := range it.Versions {
		if v.Seq == seq {
			v.Mailbox, v.ID, v.Custodians = it.Mailbox, it.ID, it.Custodians
			return v, true
		}
	}
	return Item{}, false
}

// MaxShortText is the most bytes of a subject or sender the state keeps.
const MaxShortText = 256

// Collected reports whether the item was collected (has a native with
// hashes), as opposed to being only known.
func (it Item) Collected() bool { return it.SHA256 != "" }

// LastSeenIn is the display path of the folder the item was last seen in:
// where it was collected, or where its last recorded move took it. The
// state keeps the collection folder as it was (the manifest says where the
// item was collected) and records moves as observations.
func (it Item) LastSeenIn() string {
	for i := len(it.Observations) - 1; i >= 0; i-- {
		if o := it.Observations[i]; o.Kind == Moved && o.ToFolder != "" {
			return o.ToFolder
		}
	}
	return it.FolderPath
}

// Gone reports whether the item's last recorded whereabouts is a removal
// from the server: it was tombstoned after its last move.
func (it Item) Gone() bool {
	for i := len(it.Observations) - 1; i >= 0; i-- {
		switch it.Observations[i].Kind {
		case RemovedOnServer:
			return true
		case Moved:
			return false
		}
	}
	return false
}

// Tombstones counts the item's tombstones: each removal from the server
// and each deletion before collection recorded.
func (it Item) Tombstones() int {
	n := 0
	for _, o := range it.Observations {
		if o.Kind.Tombstone() {
			n++
		}
	}
	return n
}

// Moves counts the moves recorded of the item.
func (it Item) Moves() int {
	n := 0
	for _, o := range it.Observations {
		if o.Kind == Moved {
			n++
		}
	}
	return n
}

// Changes counts the changes recorded as observations (not collected again).
func (it Item) Changes() int {
	n := 0
	for _, o := range it.Observations {
		if o.Kind == ChangedOnServer {
			n++
		}
	}
	return n
}

// ObservationKind is what was observed about an item.
type ObservationKind string

const (
	// RemovedOnServer: the server reported the item gone after it was collected.
	RemovedOnServer ObservationKind = "removed-on-server"
	// Moved: the item was seen in another folder than before.
	Moved ObservationKind = "moved"
	// DeletedBeforeCollection: the item was listed but was gone before its
	// native could be fetched.
	DeletedBeforeCollection ObservationKind = "deleted-before-collection"
	// ChangedOnServer: the server reported a new changeKey for a collected
	// item that was not collected again (a flag or a category set on a
	// message, or a draft saved without a change to its bytes).
	ChangedOnServer ObservationKind = "changed-on-server"
)

// Tombstone reports whether the kind records the item gone from the server.
func (k ObservationKind) Tombstone() bool {
	return k == RemovedOnServer || k == DeletedBeforeCollection
}

func (k ObservationKind) valid() bool {
	switch k {
	case RemovedOnServer, Moved, DeletedBeforeCollection, ChangedOnServer:
		return true
	}
	return false
}

// Observation is something seen about an item after (or instead of) its
// collection. Observations are only ever appended.
type Observation struct {
	Kind       ObservationKind
	At         time.Time
	RunID      string
	FromFolder string // for moves: folder path (or ID) before
	ToFolder   string // for moves: folder path (or ID) after
	Reason     string // as the server or the run said it, e.g. "deleted"
	// ChangeKey is, for a change or a move, the changeKey the server
	// reported (see Item.AccountedChangeKey).
	ChangeKey string
}

func (o Observation) equal(p Observation) bool {
	return o.Kind == p.Kind && o.At.Equal(p.At) && o.RunID == p.RunID &&
		o.FromFolder == p.FromFolder && o.ToFolder == p.ToFolder && o.Reason == p.Reason && o.ChangeKey == p.ChangeKey
}

// ItemRef names an item: the mailbox it is in and its immutable ID.
type ItemRef struct {
	Mailbox string
	ID      string
}

// Failure is the last failure to collect an item. It is cleared when the
// item is later collected.
type Failure struct {
	Mailbox   string    `json:"mailbox"`
	ItemID    string    `json:"item_id"`
	Code      string    `json:"code,omitempty"` // error code or kind
	Message   string    `json:"message,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	RunID     string    `json:"run_id,omitempty"`
	At        time.Time `json:"at,omitzero"`
}

// runBeforeRecord is a run record as states written before the shared run
// record kept it: an "id", a map of counts and a failures summary in
// apply's shape.
type runBeforeRecord struct {
	ID          string          `json:"id"`
	Operation   string          `json:"operation"`
	Started     time.Time       `json:"started,omitzero"`
	Finished    time.Time       `json:"finished,omitzero"`
	ToolVersion string          `json:"tool_version,omitempty"`
	User        string          `json:"user,omitempty"`
	Host        string          `json:"host,omitempty"`
	Counts      record.Counts   `json:"counts"`
	Failures    json.RawMessage `json:"failures,omitempty"`
}

// decodeRun reads a run record as the state keeps it, in the shape of
// record.Run or in the earlier one.
func decodeRun(v []byte) (record.Run, error) {
	var shape struct {
		RunID string `json:"run_id"`
		ID    string `json:"id"`
	}
	if err := json.Unmarshal(v, &shape); err != nil {
		return record.Run{}, err
	}
	if shape.RunID != "" || shape.ID == "" {
		var r record.Run
		if err := json.Unmarshal(v, &r); err != nil {
			return record.Run{}, err
		}
		r.FillStatus()
		return r, nil
	}
	var old runBeforeRecord
	if err := json.Unmarshal(v, &old); err != nil {
		return record.Run{}, err
	}
	r := record.Run{
		RunID: old.ID, Operation: old.Operation, Started: old.Started, Finished: old.Finished,
		ToolVersion: old.ToolVersion, User: old.User, Host: old.Host, Counts: old.Counts,
	}
	if len(old.Failures) > 0 {
		var summary struct {
			Error    string           `json:"error"`
			Failures []record.Failure `json:"failures"`
		}
		if err := json.Unmarshal(old.Failures, &summary); err != nil {
			// Not apply's shape: kept as it was written.
			summary.Error = string(old.Failures)
		}
		r.Error, r.Failures = summary.Error, summary.Failures
	}
	switch {
	case r.Finished.IsZero():
		r.Status = record.StatusRunning
	case r.Error != "":
		r.Status = record.StatusFailed
	case r.Failed > 0 || r.Remaining > 0:
		r.Status = record.StatusIncomplete
	default:
		r.Status, r.Complete = record.StatusComplete, true
	}
	return r, nil
}

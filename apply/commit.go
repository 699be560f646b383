package apply

import (
	"errors"
	"fmt"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// flushEvery is how long an outcome waits at most for its batch to fill
// before it is recorded anyway.
const flushEvery = time.Second

// batch gathers outcomes and records them together: natives sealed first,
// then one state transaction, then the manifest lines of what it collected.
// A folder's new cursor is stored in the batch that completes the folder.
type batch struct {
	db       *state.DB
	st       *store.Store
	man      *store.Manifest
	res      *Result
	opts     *Options
	outcomes []outcome
}

// tally is what one batch recorded.
type tally struct {
	record.Counts
	entries  []store.ManifestEntry
	failures []record.Failure
}

// commitAll records outcomes until the channel closes, a batch whenever
// one is full and whatever is waiting every flushEvery. A full disk or a
// state that cannot be written stops the run through abort.
func (b *batch) commitAll(outcomes <-chan outcome, abort func(error)) error {
	tick, stopTick := b.opts.Tick(flushEvery)
	defer stopTick()
	for {
		select {
		case o, ok := <-outcomes:
			if !ok {
				return b.flush()
			}
			if o.err != nil && errors.Is(o.err, store.ErrDiskFull) {
				// Stop fetching, and record what is already durable.
				abort(o.err)
				if err := b.flush(); err != nil {
					return err
				}
				return o.err
			}
			b.outcomes = append(b.outcomes, o)
			if len(b.outcomes) >= b.opts.BatchSize {
				if err := b.flush(); err != nil {
					abort(err)
					return err
				}
			}
		case <-tick:
			if err := b.flush(); err != nil {
				abort(err)
				return err
			}
		}
	}
}

// flush records the batch and empties it.
func (b *batch) flush() error {
	if len(b.outcomes) == 0 {
		return nil
	}
	if err := b.seal(); err != nil {
		return err
	}
	if b.opts.Guard != nil {
		if err := b.opts.Guard(); err != nil {
			return fmt.Errorf("stopped before recording %d messages (their natives are stored; re-run apply): %w", len(b.outcomes), err)
		}
	}
	t, err := b.commit(b.opts.Now().UTC())
	if err != nil {
		return fmt.Errorf("record collected items in the state (their natives are on disk; re-run apply): %w", err)
	}
	for _, o := range b.outcomes {
		o.folder.outstanding--
		mp := b.opts.Progress.Mailbox(o.mb.Addr, o.mb.Resolved.ID)
		switch {
		case o.err == nil:
			mp.Collected.Add(1)
			mp.Bytes.Add(o.native.Size)
		case itemGone(o.err):
			mp.Tombstoned.Add(1)
		default:
			mp.Failed.Add(1)
		}
	}
	b.res.Counts.Add(t.Counts)
	b.res.Failures = append(b.res.Failures, t.failures...)
	b.opts.Progress.add(t.Counts)
	b.outcomes = b.outcomes[:0]
	if err := b.man.Append(t.entries); err != nil {
		return fmt.Errorf("append to the manifest (the state holds the items; the next apply completes the manifest): %w", err)
	}
	return nil
}

// seal makes the batch's staged natives durable, all at once, before any
// of them is recorded. A message whose native could not be sealed becomes
// a failure of that message; a full disk stops the run.
func (b *batch) seal() error {
	var staged []*store.Staged
	var idx []int
	for i, o := range b.outcomes {
		if o.err == nil && o.staged != nil {
			staged = append(staged, o.staged)
			idx = append(idx, i)
		}
	}
	natives, errs := b.st.Seal(staged)
	var full error
	for k, i := range idx {
		b.outcomes[i].staged = nil
		b.outcomes[i].native, b.outcomes[i].err = natives[k], errs[k]
		if errs[k] != nil && errors.Is(errs[k], store.ErrDiskFull) {
			full = errs[k]
		}
	}
	return full
}

// commit records the batch's outcomes in one state transaction.
func (b *batch) commit(now time.Time) (tally, error) {
	var t tally
	err := b.db.Update(func(tx *state.Tx) error {
		t = tally{}
		done := map[*folderTrack]int{}
		mailboxes := map[string]state.Mailbox{}
		for _, o := range b.outcomes {
			var err error
			switch {
			case o.err == nil:
				err = b.collected(tx, o, now, mailboxes, &t)
			case itemGone(o.err):
				err = tx.AddObservation(o.mb.Resolved.ID, o.item.ID, state.Observation{
					Kind: state.DeletedBeforeCollection, At: now, RunID: b.res.RunID,
					FromFolder: o.folder.plan.Path, Reason: o.err.Error(),
				})
				t.Tombstoned++
			default:
				f := failureOf(o.mb, o.item.ID, o.err)
				err = tx.RecordFailure(state.Failure{
					Mailbox: o.mb.Resolved.ID, ItemID: o.item.ID, Code: f.Code, Message: f.Message,
					RequestID: f.RequestID, RunID: b.res.RunID, At: now,
				})
				t.failures = append(t.failures, f)
				t.Failed++
				o.folder.failed = true
			}
			if err != nil {
				return err
			}
			done[o.folder]++
		}
		for track, n := range done {
			if track.outstanding-n == 0 && !track.failed {
				if err := storeCursor(tx, track.mb, track.plan, now); err != nil {
					return err
				}
				if track.plan.NewCursor != "" {
					t.Cursors++
				}
			}
		}
		return nil
	})
	return t, err
}

// collected records a collected item and, the first time it is collected,
// its manifest line. The line is built from the record as stored, so that
// it is the line verify expects from the state.
func (b *batch) collected(tx *state.Tx, o outcome, now time.Time, mailboxes map[string]state.Mailbox, t *tally) error {
	id := o.mb.Resolved.ID
	rec := state.Item{
		Mailbox: id, ID: o.item.ID, InternetMessageID: o.item.InternetMessageID,
		FolderID: o.folder.plan.ID, FolderPath: o.folder.plan.Path,
		Received: o.item.Received, Sent: o.item.Sent,
		Subject: o.item.Subject, From: o.item.From,
		Size: o.native.Size, SHA256: o.native.SHA256, MD5: o.native.MD5, SHA1: o.native.SHA1,
		Native: o.native.Path, RunID: b.res.RunID, CollectedAt: now, Custodians: o.mb.Custodians,
		ChangeKey: o.item.ChangeKey, LastModified: o.item.LastModified,
		ConversationID: o.item.ConversationID, IsDraft: o.item.Draft,
	}
	put := tx.PutItem
	if o.item.Version > 0 {
		// Collected before and changed since: a new version, the old kept.
		put = tx.PutVersion
	}
	it, isNew, err := put(rec)
	if err != nil {
		return err
	}
	if !isNew {
		if o.item.Version > 0 {
			// Saved again without a change to its bytes: the change is
			// an observation.
			t.Unchanged++
			t.Observations++
			return tx.AddObservation(id, o.item.ID, state.Observation{
				Kind: state.ChangedOnServer, At: now, RunID: b.res.RunID, FromFolder: o.folder.plan.Path,
				ChangeKey: o.item.ChangeKey, Reason: "collected again: its bytes were those already collected",
			})
		}
		return nil
	}
	smb, ok := mailboxes[id]
	if !ok {
		if smb, _, err = tx.Mailbox(id); err != nil {
			return err
		}
		mailboxes[id] = smb
	}
	t.entries = append(t.entries, Entry(smb, it))
	t.Collected++
	t.Bytes += o.native.Size
	if o.native.Deduplicated {
		t.Deduplicated++
	}
	return nil
}

func failureOf(mb *plan.Mailbox, id string, err error) record.Failure {
	f := record.Failure{Mailbox: mb.Resolved.Address, GraphID: id, Code: graph.KindOf(err).String(), Message: err.Error()}
	var ge *graph.Error
	if errors.As(err, &ge) {
		if ge.Code != "" {
			f.Code = ge.Code
		}
		f.RequestID = ge.RequestID
	}
	return f
}

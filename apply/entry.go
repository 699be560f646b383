package apply

import (
	"iter"
	"path/filepath"

	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// Entry is the manifest line the state says an item has. The manifest is
// a journal kept in step with the state, and is rebuilt from it the same
// way after a crash, so this is the one place that shapes a line.
func Entry(mb state.Mailbox, it state.Item) store.ManifestEntry {
	return store.ManifestEntry{
		Seq:               it.Seq,
		RunID:             it.RunID,
		Custodians:        it.Custodians,
		Mailbox:           mb.Address,
		MailboxID:         mb.ID,
		Folder:            it.FolderPath,
		GraphID:           it.ID,
		InternetMessageID: it.InternetMessageID,
		SHA256:            it.SHA256,
		MD5:               it.MD5,
		SHA1:              it.SHA1,
		Size:              it.Size,
		Path:              it.Native,
		Received:          it.Received,
		Sent:              it.Sent,
		From:              it.From,
		Subject:           it.Subject,
		CollectedAt:       it.CollectedAt,
		ChangeKey:         it.ChangeKey,
		LastModified:      it.LastModified,
		Version:           lineVersion(it),
		ConversationID:    it.ConversationID,
		Draft:             it.IsDraft,
	}
}

// lineVersion is the version a line names: none for the first, so that a
// line reads as it did before items had versions.
func lineVersion(it state.Item) int {
	if it.Version > 1 {
		return it.Version
	}
	return 0
}

// Expected yields every collected item of the state as its manifest
// entry, with the state's lineage, in collection order, for verify. The
// first error stops it and is stored in *errp.
func Expected(r *state.ReadTx, errp *error) iter.Seq[store.ManifestEntry] {
	return func(yield func(store.ManifestEntry) bool) {
		lineage := r.Meta().Lineage
		mailboxes := map[string]state.Mailbox{}
		stop := errStop{}
		err := r.ItemsSince(0, func(it state.Item) error {
			mb, ok := mailboxes[it.Mailbox]
			if !ok {
				var err error
				mb, _, err = r.Mailbox(it.Mailbox)
				if err != nil {
					return err
				}
				mailboxes[it.Mailbox] = mb
			}
			e := Entry(mb, it)
			e.Lineage = lineage
			if !yield(e) {
				return stop
			}
			return nil
		})
		if err != nil && err != error(stop) {
			*errp = err
		}
	}
}

type errStop struct{}

func (errStop) Error() string { return "stopped" }

// Reconcile appends to the manifest every collected item the state holds
// beyond the manifest's last line: what a crash between a state commit
// and its manifest append left out. It returns how many lines it added.
// From then on the manifest writes the state's lineage on every line. A
// manifest ahead of the state (an *OutputError) is left as it is.
func Reconcile(db *state.DB, man *store.Manifest) (int, error) {
	last, err := man.LastSeq()
	if err != nil {
		return 0, err
	}
	var meta state.Meta
	var stateLast uint64
	if err := db.View(func(r *state.ReadTx) error { meta, stateLast = r.Meta(), r.LastSeq(); return nil }); err != nil {
		return 0, err
	}
	if last > stateLast {
		return 0, &OutputError{Output: filepath.Dir(man.Path()), State: db.Path(), StateLineage: meta.Lineage,
			OutputSeq: last, StateSeq: stateLast}
	}
	man.SetLineage(meta.Lineage)
	var batch []store.ManifestEntry
	added := 0
	flush := func() error {
		if err := man.Append(batch); err != nil {
			return err
		}
		added += len(batch)
		batch = batch[:0]
		return nil
	}
	mailboxes := map[string]state.Mailbox{}
	err = db.View(func(r *state.ReadTx) error {
		return r.ItemsSince(last, func(it state.Item) error {
			mb, ok := mailboxes[it.Mailbox]
			if !ok {
				var err error
				if mb, _, err = r.Mailbox(it.Mailbox); err != nil {
					return err
				}
				mailboxes[it.Mailbox] = mb
			}
			batch = append(batch, Entry(mb, it))
			if len(batch) >= 1024 {
				return flush()
			}
			return nil
		})
	})
	if err != nil {
		return added, err
	}
	return added, flush()
}

package apply

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// OutputError says that the output folder holds a collection the state
// does not: the state was lost and made anew, restored from an older copy,
// or belongs to another matter.
type OutputError struct {
	Output, State string // the output folder and the state file
	// OutputLineage is the lineage the manifest's last line names ("" for
	// a line written before lines named one); StateLineage the state's.
	OutputLineage, StateLineage string
	OutputSeq, StateSeq         uint64 // the last item of each
	NoState                     bool   // the state file does not exist
	// Empty is set when the state holds nothing: it was just made, as
	// apply makes a state file that does not exist.
	Empty bool
}

func (e *OutputError) Error() string {
	var what string
	switch {
	case e.NoState:
		what = fmt.Sprintf("the state file %s does not exist, but the output folder %s holds a collection (%d items)",
			e.State, e.Output, e.OutputSeq)
	case e.Empty:
		what = fmt.Sprintf("the state file %s is new and holds nothing, but the output folder %s holds a collection "+
			"(%d items) recorded in another state", e.State, e.Output, e.OutputSeq)
		if e.OutputLineage != "" {
			what += " (lineage " + e.OutputLineage + ")"
		}
	case e.OutputLineage != "" && e.OutputLineage != e.StateLineage:
		what = fmt.Sprintf("the output folder %s was written with another state (lineage %s) than the state file %s (lineage %s)",
			e.Output, e.OutputLineage, e.State, e.StateLineage)
	default:
		what = fmt.Sprintf("the output folder %s holds %d collected items and the state file %s only %d: the state is older "+
			"than the output folder (restored from an older copy, or made anew)", e.Output, e.OutputSeq, e.State, e.StateSeq)
	}
	return what + ". Nothing was collected. If the state was lost or damaged, rebuild it from the output folder with " +
		"collect state rebuild (add -force to replace a state file that opens); if the matter names the wrong state or " +
		"output folder, correct its state or output block"
}

// CheckOutput refuses a state that does not hold what the output folder
// dir holds, before anything is asked of Graph: collecting with it would
// fetch again what is held, and its lines would clash with the manifest's.
// A state read from the snapshot of a running apply is held only to its
// lineage. It only reads.
func CheckOutput(db *state.DB, dir string) error {
	tail, ok, err := store.ManifestTail(dir)
	if err != nil || !ok {
		return err
	}
	var meta state.Meta
	var last uint64
	if err := db.View(func(r *state.ReadTx) error { meta, last = r.Meta(), r.LastSeq(); return nil }); err != nil {
		return err
	}
	e := &OutputError{Output: dir, State: db.Path(), OutputLineage: tail.Lineage, StateLineage: meta.Lineage,
		OutputSeq: tail.Seq, StateSeq: last, NoState: !meta.Exists(),
		Empty: meta.Exists() && meta.Serial == 0 && last == 0 && tail.Lineage != meta.Lineage}
	if e.NoState || (e.OutputLineage != "" && e.OutputLineage != e.StateLineage) {
		return e
	}
	// A snapshot kept by a running apply lags the manifest that apply
	// appends to: only its lineage says whether it is this collection's.
	if e.OutputSeq > e.StateSeq && db.Writer() == nil {
		return e
	}
	return nil
}

// RebuildReport says what Rebuild restored and what re-hashing the
// natives found.
type RebuildReport struct {
	Items, Mailboxes, Runs int
	Verify                 store.Report
}

// Rebuild fills db, a state file just made with the output folder's
// lineage, from the output folder dir: every manifest line becomes the
// collected item it records, with its sequence number; every run record
// becomes the state's run; then every native is re-hashed and every
// manifest line compared with the line the rebuilt state gives, as verify
// does. Folders and their delta cursors are not restored: the next plan
// enumerates every folder and fetches nothing already held. references
// maps a mailbox's primary address (lower case) to the matter's addresses
// that name it. A manifest line the state cannot be rebuilt from, or a
// line the rebuilt state does not give back exactly, is an error; natives
// missing or changed are in the report.
func Rebuild(ctx context.Context, db *state.DB, dir string, references map[string][]string) (RebuildReport, error) {
	var rep RebuildReport
	var lineage string
	if err := db.View(func(r *state.ReadTx) error { lineage = r.Meta().Lineage; return nil }); err != nil {
		return rep, err
	}
	mailboxes := map[string]state.Mailbox{}
	var batch []store.ManifestEntry
	lineNo := 0
	flush := func() error {
		err := db.Update(func(tx *state.Tx) error {
			for _, e := range batch {
				// A mailbox is recorded again only when a line adds to it.
				mb, known := mailboxes[e.MailboxID]
				if !known || mb.Address != e.Mailbox || !subset(e.Custodians, mb.Custodians) {
					mb = state.Mailbox{ID: e.MailboxID, Address: e.Mailbox, Custodians: e.Custodians,
						References: references[strings.ToLower(e.Mailbox)]}
					if err := tx.PutMailbox(mb); err != nil {
						return err
					}
					stored, _, err := tx.Mailbox(e.MailboxID)
					if err != nil {
						return err
					}
					mailboxes[e.MailboxID] = stored
				}
				if err := tx.RestoreItem(itemOf(e)); err != nil {
					return fmt.Errorf("manifest line seq %d: %w", e.Seq, err)
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	err := store.ReadManifest(filepath.Join(dir, store.ManifestFile), func(e store.ManifestEntry) error {
		lineNo++
		switch {
		case e.MailboxID == "":
			return fmt.Errorf("manifest line %d (seq %d) does not name its mailbox's ID: it was written by a collect "+
				"older than state rebuild, and the state cannot be rebuilt from it", lineNo, e.Seq)
		case e.Lineage != lineage:
			return fmt.Errorf("manifest line %d (seq %d) was written with the state of lineage %q, the last line with %q: "+
				"the output folder holds more than one collection, and the state cannot be rebuilt from it", lineNo, e.Seq, e.Lineage, lineage)
		}
		batch = append(batch, e)
		rep.Items++
		if len(batch) >= 1024 {
			return flush()
		}
		return ctx.Err()
	})
	var torn *store.TornTailError
	if err != nil && !errors.As(err, &torn) {
		return rep, err
	}
	if err := flush(); err != nil {
		return rep, err
	}
	rep.Mailboxes = len(mailboxes)

	runs, err := store.ReadRuns(dir)
	if err != nil {
		return rep, err
	}
	// Every apply bumped the serial once, and the rebuilt state is one
	// change more: a plan saved against the lost state is stale.
	if err := db.Update(func(tx *state.Tx) error {
		if _, err := tx.BumpSerial(); err != nil {
			return err
		}
		for _, r := range runs {
			if err := tx.PutRun(r); err != nil {
				return err
			}
			if r.Operation != "apply" {
				continue
			}
			if _, err := tx.BumpSerial(); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return rep, err
	}
	rep.Runs = len(runs)

	err = db.View(func(r *state.ReadTx) error {
		var iterErr error
		var err error
		rep.Verify, err = store.Verify(ctx, dir, Expected(r, &iterErr), store.VerifyOptions{})
		if err != nil {
			return err
		}
		return iterErr
	})
	if err != nil {
		return rep, err
	}
	kept := rep.Verify.Manifest[:0]
	var problems []string
	for _, p := range rep.Verify.Manifest {
		// A line cut short by a crash is not an item; the next apply cuts it.
		if torn != nil && p.Seq == 0 && p.Line == lineNo+1 {
			continue
		}
		kept = append(kept, p)
		problems = append(problems, p.String())
	}
	rep.Verify.Manifest = kept
	if v := rep.Verify; len(problems) > 0 || len(v.State) > 0 {
		problems = append(problems, v.State...)
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		return rep, fmt.Errorf("the rebuilt state does not give back the manifest it was rebuilt from: %s", strings.Join(problems, "; "))
	}
	return rep, nil
}

// itemOf is the collected item a manifest line records: the inverse of
// Entry.
func itemOf(e store.ManifestEntry) state.Item {
	return state.Item{
		Mailbox: e.MailboxID, ID: e.GraphID, InternetMessageID: e.InternetMessageID,
		FolderPath: e.Folder, Received: e.Received, Sent: e.Sent, Subject: e.Subject, From: e.From,
		Size: e.Size, SHA256: e.SHA256, MD5: e.MD5, SHA1: e.SHA1, Native: e.Path,
		RunID: e.RunID, CollectedAt: e.CollectedAt, Custodians: e.Custodians, Seq: e.Seq, Version: e.Version,
		ChangeKey: e.ChangeKey, LastModified: e.LastModified,
		ConversationID: e.ConversationID, IsDraft: e.Draft,
	}
}

func subset(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

package apply

import (
	"time"

	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
)

// folderTrack follows one planned folder through the apply: its cursor is
// stored once none of its items is outstanding and none failed.
type folderTrack struct {
	mb          *plan.Mailbox
	plan        *plan.Folder
	outstanding int
	failed      bool
}

// trackFolders makes the track of every planned folder and counts what is
// planned, in the result and the progress.
func trackFolders(p *plan.Plan, res *Result, progress *Progress) map[*plan.Folder]*folderTrack {
	tracks := map[*plan.Folder]*folderTrack{}
	for _, mb := range p.Mailboxes {
		if mb.Error != nil {
			continue // failed scope: nothing of it is fetched
		}
		mp := progress.Mailbox(mb.Addr, mb.Resolved.ID)
		for _, f := range mb.Folders {
			tracks[f] = &folderTrack{mb: mb, plan: f, outstanding: len(f.Fetch)}
			res.Planned += int64(len(f.Fetch))
			mp.Planned.Add(int64(len(f.Fetch)))
		}
	}
	progress.Planned.Store(res.Planned)
	return tracks
}

// recordPlan records what the plan knows without fetching anything: the
// identities, the folders and their observations, and the cursors of the
// folders that have nothing to fetch.
func recordPlan(tx *state.Tx, p *plan.Plan, res *Result, now time.Time) error {
	for _, mb := range p.Mailboxes {
		if mb.Error != nil {
			continue
		}
		if err := putMailbox(tx, mb); err != nil {
			return err
		}
		for _, f := range mb.Folders {
			n, err := recordFolder(tx, mb, f, res.RunID, now)
			if err != nil {
				return err
			}
			res.Observations += n
			if len(f.Fetch) == 0 {
				if err := storeCursor(tx, mb, f, now); err != nil {
					return err
				}
				if f.NewCursor != "" {
					res.Cursors++
				}
			}
		}
	}
	return nil
}

func putMailbox(tx *state.Tx, mb *plan.Mailbox) error {
	if err := tx.PutMailbox(state.Mailbox{
		ID:                mb.Resolved.ID,
		UserPrincipalName: mb.Resolved.UserPrincipalName,
		Address:           mb.Resolved.Address,
		DisplayName:       mb.Resolved.DisplayName,
		References:        []string{mb.Addr},
		Custodians:        mb.Custodians,
	}); err != nil {
		return err
	}
	if wk := mb.WellKnownFolders; wk != nil {
		return tx.PutWellKnownFolders(mb.Resolved.ID, state.WellKnownFolders{IDs: wk.IDs, Tree: wk.Tree})
	}
	return nil
}

// recordFolder records a folder of the plan and its observations: the
// tombstones, moves and changes need no bytes, so they are recorded first.
func recordFolder(tx *state.Tx, mb *plan.Mailbox, f *plan.Folder, runID string, now time.Time) (int64, error) {
	sf, found, err := tx.Folder(mb.Resolved.ID, f.ID)
	if err != nil {
		return 0, err
	}
	if !found {
		sf = state.Folder{ID: f.ID}
	}
	sf.Path = f.Path
	if err := tx.PutFolder(mb.Resolved.ID, sf); err != nil {
		return 0, err
	}
	var n int64
	for _, t := range f.Tombstones {
		if err := tx.AddObservation(mb.Resolved.ID, t.ID, state.Observation{
			Kind: state.RemovedOnServer, At: now, RunID: runID, FromFolder: f.Path, Reason: t.Reason,
		}); err != nil {
			return n, err
		}
		n++
	}
	for _, mv := range f.Moves {
		if err := tx.AddObservation(mb.Resolved.ID, mv.ID, state.Observation{
			Kind: state.Moved, At: now, RunID: runID, FromFolder: mv.FromPath, ToFolder: f.Path, ChangeKey: mv.ChangeKey,
		}); err != nil {
			return n, err
		}
		n++
	}
	for _, c := range f.Changes {
		if err := tx.AddObservation(mb.Resolved.ID, c.ID, state.Observation{
			Kind: state.ChangedOnServer, At: now, RunID: runID, FromFolder: f.Path, ChangeKey: c.ChangeKey,
			Reason: "the server reports it changed (a flag, a category or another property); its bytes were not collected again",
		}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// storeCursor keeps the folder's new delta cursor, once every planned item
// of it is durable or tombstoned.
func storeCursor(tx *state.Tx, mb *plan.Mailbox, f *plan.Folder, now time.Time) error {
	if f.NewCursor == "" {
		return nil
	}
	sf, found, err := tx.Folder(mb.Resolved.ID, f.ID)
	if err != nil {
		return err
	}
	if !found {
		sf = state.Folder{ID: f.ID, Path: f.Path}
	}
	sf.Cursor, sf.CursorIDType, sf.LastCompleted, sf.Scope = f.NewCursor, state.IDTypeImmutable, now.UTC(), mb.Scope
	return tx.PutFolder(mb.Resolved.ID, sf)
}

package state

import (
	"encoding/json"
	"fmt"
	"maps"
)

// kWellKnown keys, in a mailbox's bucket, what the mailbox said its
// well-known folder names stand for.
var kWellKnown = []byte("well_known_folders")

// WellKnownFolders is what a listing learned of a mailbox's well-known
// folders. Their IDs never change, so the next plan asks only for what
// this record cannot answer.
type WellKnownFolders struct {
	// IDs maps a well-known name to its folder ID, "" for a name the
	// mailbox did not have.
	IDs map[string]string `json:"ids"`
	// Tree digests the folder tree listed when the names were asked: a
	// name the mailbox lacked is asked again once the tree has changed.
	Tree string `json:"tree,omitempty"`
}

// WellKnownFolders returns what the last apply recorded of the mailbox's
// well-known folders; found is false when nothing was.
func (r *ReadTx) WellKnownFolders(mailbox string) (w WellKnownFolders, found bool, err error) {
	mb := r.mailbox(mailbox)
	if mb == nil {
		return WellKnownFolders{}, false, nil
	}
	v := mb.Get(kWellKnown)
	if v == nil {
		return WellKnownFolders{}, false, nil
	}
	if err := json.Unmarshal(v, &w); err != nil {
		return WellKnownFolders{}, false, fmt.Errorf("mailbox %s: bad well-known folders record: %w", mailbox, err)
	}
	return w, true, nil
}

// PutWellKnownFolders records what a listing learned of the mailbox's
// well-known folders, in place of what was recorded before.
func (t *Tx) PutWellKnownFolders(mailbox string, w WellKnownFolders) error {
	mb, err := t.knownMailbox(mailbox)
	if err != nil {
		return fmt.Errorf("put well-known folders: %w", err)
	}
	w.IDs = maps.Clone(w.IDs)
	if w.IDs == nil {
		w.IDs = map[string]string{}
	}
	v, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return mb.root.Put(kWellKnown, v)
}

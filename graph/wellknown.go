package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// WellKnownFolders is what a mailbox said its well-known folder names stand
// for. Well-known folder IDs do not change, so a plan keeps them in the
// state and the next plan asks only for the names it cannot vouch for.
type WellKnownFolders struct {
	// IDs maps a well-known name ("inbox", "sentitems", ...) to its
	// folder ID, or to "" for a name the mailbox does not have.
	IDs map[string]string `json:"ids"`
	// Tree digests the folder IDs the listing held when the names were
	// asked (TreeDigest). A name the mailbox lacked is asked again only
	// when the tree has changed since: a folder was created or deleted.
	Tree string `json:"tree,omitempty"`
}

// WellKnownLister is a Source that lists folders reusing well-known
// folder IDs learned by an earlier listing. A known ID no longer in the
// tree, or a name that was absent when the tree has changed since, is
// asked again; the result is the same as ListFolders'. It returns what the
// listing learned, to keep for the next one.
type WellKnownLister interface {
	ListFoldersKnowing(ctx context.Context, mailbox Mailbox, known WellKnownFolders) ([]Folder, WellKnownFolders, error)
}

// WellKnownNames are the well-known folder names a listing resolves, in
// order of precedence when two name one folder.
var WellKnownNames = []string{
	"msgfolderroot", "inbox", "sentitems", "drafts", "deleteditems", "junkemail",
	"outbox", "archive", "conversationhistory", "scheduled", "clutter",
	"syncissues", "conflicts", "localfailures", "serverfailures",
	"recoverableitemsdeletions",
}

// TreeDigest digests a set of folder IDs, whatever their order.
func TreeDigest(ids []string) string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	h := sha256.New()
	for _, id := range sorted {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Package graph is collect's boundary with Microsoft Graph.
//
// This package holds what plan and apply need to talk about mail in a tenant
// without linking the Graph SDK: the Source interface, the types it returns,
// and the classification of Graph errors into kinds. The SDK-backed
// implementation lives in graph/msgraph, the only package that imports
// msgraph-sdk-go; sign-in (Entra ID tokens) lives in graph/entra and the
// simulator in graph/graphsim.
package graph

import (
	"context"
	"io"
	"strings"
	"time"
)

// Source is what collect reads from a tenant. Every implementation (the
// SDK-backed client against Graph or the simulator, and any test fake) must
// pass the same conformance suite.
type Source interface {
	// ResolveMailbox finds the mailbox an address names: a UPN, the primary
	// SMTP address, or any smtp: proxy address (alias), case-insensitively.
	ResolveMailbox(ctx context.Context, address string) (Mailbox, error)

	// ListFolders returns every mail folder of the mailbox, recursively,
	// hidden ones included, each with its display path from the root.
	ListFolders(ctx context.Context, mailbox Mailbox) ([]Folder, error)

	// Delta runs one delta round of a folder's messages, starting from
	// cursor (empty: from scratch), calling page for each page in order.
	// It returns the new cursor (the final @odata.deltaLink) only when the
	// round completed. A cursor the server no longer knows yields an error
	// of KindSyncStateGone; the caller restarts without a cursor.
	Delta(ctx context.Context, mailbox Mailbox, folder Folder, cursor string, page func(DeltaPage) error) (newCursor string, err error)

	// List pages through the folder's messages without delta, for a
	// mailbox whose delta queries are refused (a full mailbox answers
	// ErrorQuotaExceeded). It reports the messages there now, never the
	// ones that left, and gives no cursor.
	List(ctx context.Context, mailbox Mailbox, folder Folder, page func(DeltaPage) error) error

	// FetchMIME streams the message's native MIME ($value) to w without
	// holding it whole in memory, and returns the number of bytes written.
	// A body cut short is an error of KindTransient, never a short success.
	FetchMIME(ctx context.Context, mailbox Mailbox, messageID string, w io.Writer) (int64, error)
}

// Mailbox is a resolved mailbox.
type Mailbox struct {
	ID                string   `json:"id"`                  // directory object ID of the user or shared mailbox
	UserPrincipalName string   `json:"user_principal_name"` // UPN as the directory has it
	Address           string   `json:"address"`             // primary SMTP address, lower case
	DisplayName       string   `json:"display_name"`        // as the directory has it
	Aliases           []string `json:"aliases,omitempty"`   // smtp: proxy addresses, lower case, without the prefix
	ResolvedVia       string   `json:"resolved_via"`        // "upn", "mail" or "alias": how the asked address matched
}

// Folder is one mail folder of a mailbox.
type Folder struct {
	ID            string // immutable folder ID
	ParentID      string
	DisplayName   string
	Path          string // display path from the mailbox root, "/"-separated: "Inbox/Projects/Globex"
	WellKnownName string // "inbox", "sentitems", ... when the folder is a well-known one
	Hidden        bool
	ChildCount    int
	TotalCount    int64 // totalItemCount as the server reports it
}

// Message is one message as a delta round reports it: the few fields
// collect needs to plan, never the body.
type Message struct {
	ID                string // immutable ID
	InternetMessageID string
	ParentFolderID    string
	Subject           string
	From              string // address of the from (or sender) field, as given
	Received          time.Time
	Sent              time.Time
	LastModified      time.Time
	IsDraft           bool
	// ConversationID is the server's conversationId: opaque, the same for
	// every message of one thread; empty when the server gave none.
	ConversationID string
	// ItemClass is the Exchange item class (PidTagMessageClass), such as
	// "IPM.Note" or "IPM.StickyNote"; empty when the server gave none.
	ItemClass string
	// ChangeKey is the server's version of the item: it changes with every
	// change, the bytes or not (a flag, a category, a move).
	ChangeKey string
}

// nonMailClasses are the item classes of what a mail folder can hold that
// is not mail: notes, tasks, calendar items, contacts and distribution
// lists, journal entries, and the compliance copies of Teams chats.
// Meeting requests and responses (IPM.Schedule.Meeting.*), task requests
// (IPM.TaskRequest), reports (REPORT.*) and every IPM.Note.* class are
// mail.
var nonMailClasses = []string{
	"IPM.StickyNote", "IPM.Task", "IPM.Appointment", "IPM.Contact", "IPM.DistList", "IPM.Activity", "IPM.SkypeTeams",
}

// IsMail reports whether the item is mail. An item without a class is
// taken for mail, so that nothing is left out for want of a property.
func (m Message) IsMail() bool { return IsMailClass(m.ItemClass) }

// IsMailClass reports whether an item class is a class of mail: any but
// the classes of nonMailClasses and their subclasses, case-insensitively.
func IsMailClass(class string) bool {
	for _, c := range nonMailClasses {
		if len(class) >= len(c) && strings.EqualFold(class[:len(c)], c) && (len(class) == len(c) || class[len(c)] == '.') {
			return false
		}
	}
	return true
}

// Removal is a delta entry that says an item left the folder.
type Removal struct {
	ID     string
	Reason string // "deleted" or "changed", as the server says it
}

// DeltaPage is one page of a delta round.
type DeltaPage struct {
	Messages []Message
	Removed  []Removal
}

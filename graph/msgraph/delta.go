package msgraph

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/collect-ediscovery/collect/graph"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// deltaFields are the message properties a delta round asks for: what plan
// needs to decide, never the body.
var deltaFields = []string{
	"id", "internetMessageId", "receivedDateTime", "sentDateTime", "lastModifiedDateTime",
	"isDraft", "parentFolderId", "subject", "from", "changeKey", "conversationId",
}

// deltaExpand asks for each item's class (PidTagMessageClass) with the
// round: a mail folder can hold notes, tasks, calendar items, contacts
// and Teams chat copies, which Graph serves as messages. The message
// delta docs list $expand among its query options.
var deltaExpand = []string{"singleValueExtendedProperties($filter=id eq 'String 0x001A')"}

// Delta runs one delta round of the folder's messages. With an empty cursor
// it starts a full round; otherwise cursor is the @odata.deltaLink of the
// previous round, sent verbatim. Every @odata.nextLink is followed verbatim
// too: tokens are opaque and never parsed, and no $filter is ever added (a
// filtered message delta silently stops at 5,000 items). The new cursor is
// returned only when the round reached its @odata.deltaLink.
func (c *Client) Delta(ctx context.Context, mb graph.Mailbox, f graph.Folder, cursor string, page func(graph.DeltaPage) error) (string, error) {
	const op = "delta"
	if f.ID == "" {
		return "", &graph.Error{Op: op, Kind: graph.KindMalformedID, Message: "empty folder ID"}
	}
	builder := c.users().ByUserId(mb.ID).MailFolders().ByMailFolderId(f.ID).Messages().Delta()
	cfg := func(first bool) *users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetRequestConfiguration {
		h := abs.NewRequestHeaders()
		h.Add("Prefer", "odata.maxpagesize="+strconv.Itoa(c.pageSize))
		rc := &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetRequestConfiguration{Headers: h}
		if first {
			rc.QueryParameters = &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetQueryParameters{Select: deltaFields, Expand: deltaExpand}
		}
		return rc
	}

	var resp users.ItemMailFoldersItemMessagesDeltaGetResponseable
	var err error
	if cursor == "" {
		resp, err = builder.GetAsDeltaGetResponse(ctx, cfg(true))
	} else {
		resp, err = builder.WithUrl(cursor).GetAsDeltaGetResponse(ctx, cfg(false))
	}
	for {
		if err != nil {
			return "", opError(op, err)
		}
		if resp == nil {
			return "", &graph.Error{Op: op, Kind: graph.KindTransient, Message: "empty delta page"}
		}
		p, perr := toDeltaPage(resp.GetValue())
		if perr != nil {
			return "", &graph.Error{Op: op, Kind: graph.KindOther, Err: perr}
		}
		if perr := page(p); perr != nil {
			return "", perr
		}
		if next := deref(resp.GetOdataNextLink()); next != "" {
			resp, err = builder.WithUrl(next).GetAsDeltaGetResponse(ctx, cfg(false))
			continue
		}
		if delta := deref(resp.GetOdataDeltaLink()); delta != "" {
			return delta, nil
		}
		return "", &graph.Error{Op: op, Kind: graph.KindTransient,
			Message: "a delta page carried neither @odata.nextLink nor @odata.deltaLink; the round is incomplete"}
	}
}

// toDeltaPage splits a page into messages and removals. The typed model
// has no field for the "@removed" annotation; kiota's JSON parser keeps
// unknown properties in the model's additional data, where it arrives as
// a map holding "reason".
func toDeltaPage(items []models.Messageable) (graph.DeltaPage, error) {
	var p graph.DeltaPage
	for _, m := range items {
		id := deref(m.GetId())
		if id == "" {
			return p, fmt.Errorf("a delta item has no id")
		}
		if removed, ok := m.GetAdditionalData()["@removed"]; ok {
			p.Removed = append(p.Removed, graph.Removal{ID: id, Reason: removedReason(removed)})
			continue
		}
		msg := graph.Message{
			ID:                id,
			InternetMessageID: deref(m.GetInternetMessageId()),
			ParentFolderID:    deref(m.GetParentFolderId()),
			Subject:           deref(m.GetSubject()),
			IsDraft:           deref(m.GetIsDraft()),
			ConversationID:    deref(m.GetConversationId()),
			ItemClass:         itemClass(m),
			ChangeKey:         deref(m.GetChangeKey()),
		}
		if from := m.GetFrom(); from != nil && from.GetEmailAddress() != nil {
			msg.From = deref(from.GetEmailAddress().GetAddress())
		}
		if t := m.GetReceivedDateTime(); t != nil {
			msg.Received = *t
		}
		if t := m.GetSentDateTime(); t != nil {
			msg.Sent = *t
		}
		if t := m.GetLastModifiedDateTime(); t != nil {
			msg.LastModified = *t
		}
		p.Messages = append(p.Messages, msg)
	}
	return p, nil
}

// itemClass is the item's PidTagMessageClass as expanded. Graph answers
// with the property ID in a form of its own ("String 0x1a"), so IDs are
// compared by type and tag, not as text.
func itemClass(m models.Messageable) string {
	for _, p := range m.GetSingleValueExtendedProperties() {
		typ, tag, ok := strings.Cut(strings.TrimSpace(deref(p.GetId())), " ")
		if !ok || !strings.EqualFold(typ, "String") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(tag)), "0x"), 16, 16)
		if err == nil && n == 0x001a {
			return deref(p.GetValue())
		}
	}
	return ""
}

func removedReason(v any) string {
	obj, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	switch r := obj["reason"].(type) {
	case *string:
		return deref(r)
	case string:
		return r
	}
	return ""
}

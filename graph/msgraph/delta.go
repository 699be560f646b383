package msgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	abs "github.com/microsoft/kiota-abstractions-go"
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

	var wp wirePage
	var err error
	get := func(b *users.ItemMailFoldersItemMessagesDeltaRequestBuilder, first bool) error {
		rc := cfg(first)
		wp, rc.Options = wirePage{}, []abs.RequestOption{wp.handler()}
		_, err := b.GetAsDeltaGetResponse(ctx, rc)
		return err
	}
	if cursor == "" {
		err = get(builder, true)
	} else {
		err = get(builder.WithUrl(cursor), false)
	}
	for {
		if err != nil {
			return "", opError(op, err)
		}
		if !wp.read {
			return "", &graph.Error{Op: op, Kind: graph.KindTransient, Message: "empty delta page"}
		}
		p, perr := wp.deltaPage()
		if perr != nil {
			return "", &graph.Error{Op: op, Kind: graph.KindOther, Err: perr}
		}
		if perr := page(p); perr != nil {
			return "", perr
		}
		if next := wp.NextLink; next != "" {
			err = get(builder.WithUrl(next), false)
			continue
		}
		if delta := wp.DeltaLink; delta != "" {
			return delta, nil
		}
		return "", &graph.Error{Op: op, Kind: graph.KindTransient,
			Message: "a delta page carried neither @odata.nextLink nor @odata.deltaLink; the round is incomplete"}
	}
}

// wirePage is a page of a delta round or of a folder listing, decoded
// with encoding/json straight into the properties collect asks for. The
// SDK's own parsing builds a tree of every value and a backing store per
// message first, and that was most of a plan's CPU time. The "@removed"
// annotation of a delta item has no field in the SDK's model; here it is
// one.
type wirePage struct {
	Value     []wireMessage `json:"value"`
	NextLink  string        `json:"@odata.nextLink"`
	DeltaLink string        `json:"@odata.deltaLink"`
	read      bool          // a page was decoded
}

type wireMessage struct {
	ID                string    `json:"id"`
	InternetMessageID string    `json:"internetMessageId"`
	Received          time.Time `json:"receivedDateTime"`
	Sent              time.Time `json:"sentDateTime"`
	LastModified      time.Time `json:"lastModifiedDateTime"`
	IsDraft           bool      `json:"isDraft"`
	ParentFolderID    string    `json:"parentFolderId"`
	Subject           string    `json:"subject"`
	ChangeKey         string    `json:"changeKey"`
	ConversationID    string    `json:"conversationId"`
	From              *struct {
		EmailAddress *struct {
			Address string `json:"address"`
		} `json:"emailAddress"`
	} `json:"from"`
	Properties []wireProperty `json:"singleValueExtendedProperties"`
	Removed    *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

type wireProperty struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// handler is the kiota response handler that decodes the response body
// into p. Statuses of 400 and above never reach it: graph.Transport turns
// them into errors first.
func (p *wirePage) handler() abs.RequestHandlerOption {
	h := abs.NewRequestHandlerOption()
	h.SetResponseHandler(func(response any, _ abs.ErrorMappings) (any, error) {
		resp, ok := response.(*http.Response)
		if !ok || resp == nil {
			return nil, errors.New("no HTTP response")
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, &graph.Error{Kind: graph.KindOther, Status: resp.StatusCode, RequestID: resp.Header.Get("request-id"),
				Message: fmt.Sprintf("unexpected status %d for a page of messages", resp.StatusCode)}
		}
		err := json.NewDecoder(resp.Body).Decode(p)
		if err == io.EOF {
			return nil, nil // no page: the caller says so
		}
		if err != nil {
			return nil, err
		}
		p.read = true
		// What follows the JSON value is read so that the connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, nil
	})
	return h
}

// deltaPage splits the page into messages and removals.
func (p *wirePage) deltaPage() (graph.DeltaPage, error) {
	var out graph.DeltaPage
	for i := range p.Value {
		m := &p.Value[i]
		if m.ID == "" {
			return out, fmt.Errorf("a delta item has no id")
		}
		if m.Removed != nil {
			out.Removed = append(out.Removed, graph.Removal{ID: m.ID, Reason: m.Removed.Reason})
			continue
		}
		msg := graph.Message{
			ID:                m.ID,
			InternetMessageID: m.InternetMessageID,
			ParentFolderID:    m.ParentFolderID,
			Subject:           m.Subject,
			IsDraft:           m.IsDraft,
			ConversationID:    m.ConversationID,
			ItemClass:         itemClass(m.Properties),
			ChangeKey:         m.ChangeKey,
			Received:          m.Received,
			Sent:              m.Sent,
			LastModified:      m.LastModified,
		}
		if m.From != nil && m.From.EmailAddress != nil {
			msg.From = m.From.EmailAddress.Address
		}
		out.Messages = append(out.Messages, msg)
	}
	return out, nil
}

// itemClass is the item's PidTagMessageClass as expanded. Graph answers
// with the property ID in a form of its own ("String 0x1a"), so IDs are
// compared by type and tag, not as text.
func itemClass(props []wireProperty) string {
	for _, p := range props {
		typ, tag, ok := strings.Cut(strings.TrimSpace(p.ID), " ")
		if !ok || !strings.EqualFold(typ, "String") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(tag)), "0x"), 16, 16)
		if err == nil && n == 0x001a {
			return p.Value
		}
	}
	return ""
}

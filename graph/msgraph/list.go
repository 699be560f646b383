package msgraph

import (
	"context"

	"github.com/collect-ediscovery/collect/graph"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// List pages through a folder's messages with a plain listing
// (GET .../mailFolders/{id}/messages), following @odata.nextLink verbatim.
// It is the fallback for a mailbox that refuses delta queries.
func (c *Client) List(ctx context.Context, mb graph.Mailbox, f graph.Folder, page func(graph.DeltaPage) error) error {
	const op = "list messages"
	top := int32(min(c.pageSize, 1000))
	builder := c.users().ByUserId(mb.ID).MailFolders().ByMailFolderId(f.ID).Messages()
	var wp wirePage
	get := func(b *users.ItemMailFoldersItemMessagesRequestBuilder, rc *users.ItemMailFoldersItemMessagesRequestBuilderGetRequestConfiguration) error {
		wp, rc.Options = wirePage{}, []abs.RequestOption{wp.handler()}
		_, err := b.Get(ctx, rc)
		return err
	}
	err := get(builder, &users.ItemMailFoldersItemMessagesRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersItemMessagesRequestBuilderGetQueryParameters{Select: deltaFields, Expand: deltaExpand, Top: &top},
	})
	for {
		if err != nil {
			return opError(op, err)
		}
		if !wp.read {
			return &graph.Error{Op: op, Kind: graph.KindTransient, Message: "empty listing page"}
		}
		p, perr := wp.deltaPage()
		if perr != nil {
			return &graph.Error{Op: op, Kind: graph.KindOther, Err: perr}
		}
		if err := page(p); err != nil {
			return err
		}
		if wp.NextLink == "" {
			return nil
		}
		err = get(builder.WithUrl(wp.NextLink), &users.ItemMailFoldersItemMessagesRequestBuilderGetRequestConfiguration{})
	}
}

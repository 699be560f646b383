package msgraph

import (
	"context"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// List pages through a folder's messages with a plain listing
// (GET .../mailFolders/{id}/messages), following @odata.nextLink verbatim.
// It is the fallback for a mailbox that refuses delta queries.
func (c *Client) List(ctx context.Context, mb graph.Mailbox, f graph.Folder, page func(graph.DeltaPage) error) error {
	const op = "list messages"
	top := int32(min(c.pageSize, 1000))
	builder := c.users().ByUserId(mb.ID).MailFolders().ByMailFolderId(f.ID).Messages()
	resp, err := builder.Get(ctx, &users.ItemMailFoldersItemMessagesRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersItemMessagesRequestBuilderGetQueryParameters{Select: deltaFields, Expand: deltaExpand, Top: &top},
	})
	for {
		if err != nil {
			return opError(op, err)
		}
		if resp == nil {
			return &graph.Error{Op: op, Kind: graph.KindTransient, Message: "empty listing page"}
		}
		p, perr := toDeltaPage(resp.GetValue())
		if perr != nil {
			return &graph.Error{Op: op, Kind: graph.KindOther, Err: perr}
		}
		if err := page(p); err != nil {
			return err
		}
		next := deref(resp.GetOdataNextLink())
		if next == "" {
			return nil
		}
		resp, err = builder.WithUrl(next).Get(ctx, nil)
	}
}

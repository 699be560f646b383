package msgraph

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/collect-ediscovery/collect/graph"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

var userFields = []string{"id", "userPrincipalName", "mail", "displayName", "proxyAddresses"}

// ResolveMailbox finds the directory object an address names and checks
// that its mailbox can be read.
//
// GET /users/{address} matches an object ID or a UPN; when that is 404 the
// address is searched among proxy addresses (which hold the primary SMTP
// address and every alias). Once found, the mailbox is opened
// (GET /users/{id}/mailFolders/inbox): a user without an Exchange Online
// mailbox fails with KindMailboxNotEnabled and a mailbox the app or user may
// not read with KindAccessDenied. In those two cases the Mailbox found in
// the directory is returned along with the error, so the caller can name it.
func (c *Client) ResolveMailbox(ctx context.Context, address string) (graph.Mailbox, error) {
	const op = "resolve mailbox"
	addr := strings.TrimSpace(address)
	if addr == "" {
		return graph.Mailbox{}, &graph.Error{Op: op, Kind: graph.KindNotFound, Message: "empty mailbox address"}
	}
	user, err := c.users().ByUserId(addr).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields},
	})
	var mb graph.Mailbox
	switch {
	case err == nil:
		mb = toMailbox(user, addr)
	case graph.KindOf(err) == graph.KindNotFound:
		mb, err = c.searchAlias(ctx, addr)
		if err != nil {
			return graph.Mailbox{}, err
		}
	default:
		return graph.Mailbox{}, opError(op, err)
	}
	if mb.ID == "" {
		return graph.Mailbox{}, &graph.Error{Op: op, Kind: graph.KindOther,
			Message: fmt.Sprintf("the directory entry for %s has no object ID", addr)}
	}

	_, err = c.users().ByUserId(mb.ID).MailFolders().ByMailFolderId("inbox").Get(ctx,
		&users.ItemMailFoldersMailFolderItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.ItemMailFoldersMailFolderItemRequestBuilderGetQueryParameters{Select: []string{"id"}},
		})
	if err != nil {
		return mb, opError("open mailbox "+addr, err)
	}
	return mb, nil
}

// searchAlias looks the address up among proxy addresses, an advanced
// directory query (ConsistencyLevel: eventual with $count).
func (c *Client) searchAlias(ctx context.Context, addr string) (graph.Mailbox, error) {
	const op = "resolve mailbox"
	filter := fmt.Sprintf("proxyAddresses/any(x:x eq 'smtp:%s')", strings.ReplaceAll(addr, "'", "''"))
	count := true
	headers := abs.NewRequestHeaders()
	headers.Add("ConsistencyLevel", "eventual")
	resp, err := c.users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		Headers: headers,
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: &filter, Count: &count, Select: userFields,
		},
	})
	if err != nil {
		return graph.Mailbox{}, opError(op, err)
	}
	found := resp.GetValue()
	switch len(found) {
	case 0:
		return graph.Mailbox{}, &graph.Error{Op: op, Kind: graph.KindNotFound,
			Message: fmt.Sprintf("no user or shared mailbox has the address %s as UPN, primary address or alias", addr)}
	case 1:
		return toMailbox(found[0], addr), nil
	default:
		ids := make([]string, 0, len(found))
		for _, u := range found {
			ids = append(ids, deref(u.GetUserPrincipalName()))
		}
		return graph.Mailbox{}, &graph.Error{Op: op, Kind: graph.KindAmbiguousAddress,
			Message: fmt.Sprintf("the address %s matches %d directory objects (%s)", addr, len(found), strings.Join(ids, ", "))}
	}
}

func toMailbox(u models.Userable, asked string) graph.Mailbox {
	mb := graph.Mailbox{
		ID:                deref(u.GetId()),
		UserPrincipalName: deref(u.GetUserPrincipalName()),
		Address:           strings.ToLower(deref(u.GetMail())),
		DisplayName:       deref(u.GetDisplayName()),
	}
	var smtp []string
	for _, p := range u.GetProxyAddresses() {
		kind, a, ok := strings.Cut(p, ":")
		if !ok || !strings.EqualFold(kind, "smtp") {
			continue
		}
		// "SMTP:" (upper case) marks the primary address.
		if kind == "SMTP" && mb.Address == "" {
			mb.Address = strings.ToLower(a)
		}
		smtp = append(smtp, strings.ToLower(a))
	}
	for _, a := range smtp {
		if a != mb.Address && !slices.Contains(mb.Aliases, a) {
			mb.Aliases = append(mb.Aliases, a)
		}
	}
	switch {
	case strings.EqualFold(asked, mb.UserPrincipalName), strings.EqualFold(asked, mb.ID):
		mb.ResolvedVia = "upn"
	case strings.EqualFold(asked, mb.Address):
		mb.ResolvedVia = "mail"
	default:
		mb.ResolvedVia = "alias"
	}
	return mb
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

package msgraph

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// wellKnownFolders are the well-known names asked for to learn which
// folder IDs they stand for: Graph's folder listings do not say which
// folder is well known.
var wellKnownFolders = graph.WellKnownNames

// recoverableItemsRoot is the display path under which the Deletions folder
// of Recoverable Items is reported: it lives outside the folder tree that
// mailFolders lists.
const recoverableItemsRoot = "Recoverable Items"

var folderFields = []string{"id", "displayName", "parentFolderId", "childFolderCount", "totalItemCount", "isHidden"}

// folderPage is the $top of folder listings: 1,000, the most Outlook's
// list operations accept, so that one page answers most levels.
const folderPage = int32(1000)

// ListFolders walks the mail folder tree (v1.0 lists one level per
// request) with hidden folders included, and adds Recoverable Items
// Deletions when the server exposes it. Folders come in tree order, each
// parent before its children.
func (c *Client) ListFolders(ctx context.Context, mb graph.Mailbox) ([]graph.Folder, error) {
	out, _, err := c.ListFoldersKnowing(ctx, mb, graph.WellKnownFolders{})
	return out, err
}

// ListFoldersKnowing is ListFolders that asks only for the well-known
// names known cannot answer: a known ID still in the tree is taken as it
// is, a name the mailbox lacked is asked again only when the tree changed.
// Recoverable Items Deletions is always asked: it is outside the tree, and
// its counts come only from asking.
func (c *Client) ListFoldersKnowing(ctx context.Context, mb graph.Mailbox, known graph.WellKnownFolders) ([]graph.Folder, graph.WellKnownFolders, error) {
	const op = "list folders"
	// The names asked whatever the tree holds (all of them on a first
	// listing, and Deletions always) are asked while the tree is walked:
	// the mailbox's 4 requests in flight are shared, not taken in turn.
	var early []string
	for _, name := range wellKnownFolders {
		if _, ok := known.IDs[name]; name == "recoverableitemsdeletions" || !ok {
			early = append(early, name)
		}
	}
	earlyCtx, cancelEarly := context.WithCancel(ctx)
	defer cancelEarly()
	earlyDone := make(chan struct{})
	var earlySet wellKnownSet
	var earlyErr error
	go func() {
		defer close(earlyDone)
		earlySet, earlyErr = c.wellKnownIDs(earlyCtx, mb, early)
	}()
	roots, children, err := c.folderTree(ctx, mb)
	if err != nil {
		cancelEarly()
		<-earlyDone
		return nil, graph.WellKnownFolders{}, opError(op, err)
	}
	<-earlyDone
	if earlyErr != nil {
		return nil, graph.WellKnownFolders{}, earlyErr
	}
	inTree := map[string]bool{}
	var ids []string
	for _, level := range append([][]models.MailFolderable{roots}, mapValues(children)...) {
		for _, f := range level {
			if id := deref(f.GetId()); id != "" && !inTree[id] {
				inTree[id] = true
				ids = append(ids, id)
			}
		}
	}
	rootID := ""
	if len(roots) > 0 {
		rootID = deref(roots[0].GetParentFolderId())
	}
	tree := graph.TreeDigest(ids)
	var ask []string
	learned := graph.WellKnownFolders{IDs: map[string]string{}, Tree: tree}
	for _, name := range wellKnownFolders {
		id, ok := known.IDs[name]
		switch {
		case name == "recoverableitemsdeletions" || !ok:
			// asked already
		case id == "" && known.Tree == tree:
			learned.IDs[name] = "" // still absent: the tree is the same
		case id != "" && (inTree[id] || (name == "msgfolderroot" && id == rootID)):
			learned.IDs[name] = id
		default:
			ask = append(ask, name)
		}
	}
	late, err := c.wellKnownIDs(ctx, mb, ask)
	if err != nil {
		return nil, graph.WellKnownFolders{}, err
	}
	wellKnown := mergeWellKnown(earlySet, late)
	for _, name := range append(early, ask...) {
		learned.IDs[name] = wellKnown.byName[name]
	}
	for name, id := range learned.IDs {
		if id == "" {
			continue
		}
		wellKnown.byName[name] = id
		if _, dup := wellKnown.byID[id]; !dup || slices.Index(wellKnownFolders, name) < slices.Index(wellKnownFolders, wellKnown.byID[id]) {
			wellKnown.byID[id] = name
		}
	}

	var out []graph.Folder
	seen := map[string]bool{}
	var walk func(f models.MailFolderable, parentPath string)
	walk = func(f models.MailFolderable, parentPath string) {
		id := deref(f.GetId())
		if id == "" || seen[id] {
			return
		}
		seen[id] = true
		gf := toFolder(f, parentPath, wellKnown)
		out = append(out, gf)
		for _, ch := range children[id] {
			walk(ch, gf.Path)
		}
	}
	for _, f := range roots {
		walk(f, "")
	}

	if id := wellKnown.byName["recoverableitemsdeletions"]; id != "" && !seen[id] {
		if f := wellKnown.folders[id]; f != nil {
			gf := toFolder(f, recoverableItemsRoot, wellKnown)
			gf.Hidden = true
			out = append(out, gf)
		}
	}
	return out, learned, nil
}

func mapValues[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// folderTree lists the top level and then, breadth first, the children of
// every folder that has some, up to four folders at once (the per-mailbox
// limit). It returns the top level and each parent's children by its ID.
func (c *Client) folderTree(ctx context.Context, mb graph.Mailbox) ([]models.MailFolderable, map[string][]models.MailFolderable, error) {
	user := c.users().ByUserId(mb.ID)
	hidden := "true"
	top := folderPage
	first, err := user.MailFolders().Get(ctx, &users.ItemMailFoldersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersRequestBuilderGetQueryParameters{
			IncludeHiddenFolders: &hidden, Select: folderFields, Top: &top,
		},
	})
	if err != nil {
		return nil, nil, err
	}
	level, err := collectFolders(first, func(link string) (models.MailFolderCollectionResponseable, error) {
		return user.MailFolders().WithUrl(link).Get(ctx, nil)
	})
	if err != nil {
		return nil, nil, err
	}
	roots := level
	children := map[string][]models.MailFolderable{}
	for len(level) > 0 {
		var parents []models.MailFolderable
		for _, f := range level {
			if deref(f.GetChildFolderCount()) > 0 {
				if _, listed := children[deref(f.GetId())]; !listed {
					parents = append(parents, f)
				}
			}
		}
		lists := make([][]models.MailFolderable, len(parents))
		errs := make([]error, len(parents))
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		for i, p := range parents {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				lists[i], errs[i] = c.childFolders(ctx, mb, deref(p.GetId()))
			}()
		}
		wg.Wait()
		level = nil
		for i, p := range parents {
			if errs[i] != nil {
				return nil, nil, errs[i]
			}
			children[deref(p.GetId())] = lists[i]
			level = append(level, lists[i]...)
		}
	}
	return roots, children, nil
}

func (c *Client) childFolders(ctx context.Context, mb graph.Mailbox, id string) ([]models.MailFolderable, error) {
	hidden := "true"
	top := folderPage
	b := c.users().ByUserId(mb.ID).MailFolders().ByMailFolderId(id).ChildFolders()
	first, err := b.Get(ctx, &users.ItemMailFoldersItemChildFoldersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersItemChildFoldersRequestBuilderGetQueryParameters{
			IncludeHiddenFolders: &hidden, Select: folderFields, Top: &top,
		},
	})
	if err != nil {
		return nil, err
	}
	return collectFolders(first, func(link string) (models.MailFolderCollectionResponseable, error) {
		return b.WithUrl(link).Get(ctx, nil)
	})
}

// collectFolders follows @odata.nextLink verbatim to the last page.
func collectFolders(page models.MailFolderCollectionResponseable, next func(string) (models.MailFolderCollectionResponseable, error)) ([]models.MailFolderable, error) {
	var all []models.MailFolderable
	for page != nil {
		all = append(all, page.GetValue()...)
		link := deref(page.GetOdataNextLink())
		if link == "" {
			break
		}
		var err error
		if page, err = next(link); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// mergeWellKnown joins the answers of two sets of names asked. A folder
// ID that answers to several names takes the first of wellKnownFolders,
// as one set asked in that order does.
func mergeWellKnown(a, b wellKnownSet) wellKnownSet {
	set := wellKnownSet{byName: map[string]string{}, byID: map[string]string{}, folders: map[string]models.MailFolderable{}}
	for _, name := range wellKnownFolders {
		for _, from := range []wellKnownSet{a, b} {
			id, ok := from.byName[name]
			if !ok {
				continue
			}
			set.byName[name] = id
			if _, dup := set.byID[id]; !dup {
				set.byID[id] = name
			}
			set.folders[id] = from.folders[id]
		}
	}
	return set
}

type wellKnownSet struct {
	byName  map[string]string                // well-known name -> folder ID
	byID    map[string]string                // folder ID -> well-known name
	folders map[string]models.MailFolderable // folder ID -> folder as fetched
}

// wellKnownIDs asks for each of names once. A name the mailbox does not
// have (404, or an ID Graph calls malformed) is left out.
func (c *Client) wellKnownIDs(ctx context.Context, mb graph.Mailbox, names []string) (wellKnownSet, error) {
	set := wellKnownSet{byName: map[string]string{}, byID: map[string]string{}, folders: map[string]models.MailFolderable{}}
	found := make([]models.MailFolderable, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			found[i], errs[i] = c.users().ByUserId(mb.ID).MailFolders().ByMailFolderId(name).Get(ctx,
				&users.ItemMailFoldersMailFolderItemRequestBuilderGetRequestConfiguration{
					QueryParameters: &users.ItemMailFoldersMailFolderItemRequestBuilderGetQueryParameters{Select: folderFields},
				})
		}()
	}
	wg.Wait()
	for i, name := range names {
		if err := errs[i]; err != nil {
			// A name this mailbox does not have answers 404 or 400
			// (the service calls it a malformed ID or an unknown
			// folder); anything else stops the listing.
			var ge *graph.Error
			if errors.As(err, &ge) && ge.Kind != graph.KindMailboxNotEnabled && (ge.Kind == graph.KindNotFound ||
				ge.Kind == graph.KindMalformedID || ge.Status == http.StatusBadRequest || ge.Status == http.StatusNotFound) {
				continue
			}
			return set, opError("list folders", err)
		}
		id := deref(found[i].GetId())
		if id == "" {
			continue
		}
		set.byName[name] = id
		if _, dup := set.byID[id]; !dup {
			set.byID[id] = name
		}
		set.folders[id] = found[i]
	}
	return set, nil
}

func toFolder(f models.MailFolderable, parentPath string, wk wellKnownSet) graph.Folder {
	name := deref(f.GetDisplayName())
	path := name
	if parentPath != "" {
		path = parentPath + "/" + name
	}
	id := deref(f.GetId())
	return graph.Folder{
		ID:            id,
		ParentID:      deref(f.GetParentFolderId()),
		DisplayName:   name,
		Path:          path,
		WellKnownName: wk.byID[id],
		Hidden:        deref(f.GetIsHidden()),
		ChildCount:    int(deref(f.GetChildFolderCount())),
		TotalCount:    int64(deref(f.GetTotalItemCount())),
	}
}

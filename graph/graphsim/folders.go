package graphsim

// Folders: the well-known layout every mailbox starts with, created
// folders, and the lookups by ID, well-known name and path.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

type folder struct {
	idx       uint32
	id        string
	name      string
	parent    int // index, -1 for the root
	wellKnown string
	hidden    bool
	changeSeq uint32 // last change of the folder or its counts, for folder delta
	children  []uint32
	serials   []uint32 // messages in the folder, ascending
	tombs     []tomb   // removals, by ascending seq
}

var wellKnownLayout = []struct {
	wellKnown, name, parent string
	hidden                  bool
}{
	{"msgfolderroot", "Top of Information Store", "", false},
	{"archive", "Archive", "msgfolderroot", false},
	{"conversationhistory", "Conversation History", "msgfolderroot", false},
	{"deleteditems", "Deleted Items", "msgfolderroot", false},
	{"drafts", "Drafts", "msgfolderroot", false},
	{"inbox", "Inbox", "msgfolderroot", false},
	{"junkemail", "Junk Email", "msgfolderroot", false},
	{"outbox", "Outbox", "msgfolderroot", false},
	{"sentitems", "Sent Items", "msgfolderroot", false},
	// Recoverable Items is outside the IPM subtree: mailFolders does not
	// list it, but its well-known names reach it.
	{"recoverableitemsroot", "Recoverable Items", "", true},
	{"recoverableitemsdeletions", "Deletions", "recoverableitemsroot", true},
	{"recoverableitemspurges", "Purges", "recoverableitemsroot", true},
	{"recoverableitemsversions", "Versions", "recoverableitemsroot", true},
	// Hidden system folders of the IPM subtree, listed only with
	// includeHiddenFolders=true.
	{"clutter", "Clutter", "msgfolderroot", true},
	{"syncissues", "Sync Issues", "msgfolderroot", true},
	{"conflicts", "Conflicts", "syncissues", false},
	{"localfailures", "Local Failures", "syncissues", false},
	{"serverfailures", "Server Failures", "syncissues", false},
}

// absentWellKnown are well-known names Graph knows that a simulated
// mailbox does not have: asking for them gives 404 ErrorItemNotFound.
var absentWellKnown = []string{"scheduled", "searchfolders"}

func (t *Tenant) addFolderLocked(mb *mailbox, parent int, name, wellKnown string, hidden bool) int {
	f := &folder{idx: uint32(len(mb.folders)), name: name, parent: parent, wellKnown: wellKnown, hidden: hidden}
	f.id = t.folderID(mb.idx, f.idx)
	mb.folders = append(mb.folders, f)
	if parent >= 0 {
		mb.folders[parent].children = append(mb.folders[parent].children, f.idx)
	}
	return int(f.idx)
}

func (f *folder) path(mb *mailbox) string {
	var parts []string
	for c := f; c != nil; {
		if c.wellKnown == "msgfolderroot" {
			break
		}
		parts = append(parts, c.name)
		if c.parent < 0 {
			break
		}
		c = mb.folders[c.parent]
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

// children lists a folder's children by name, as Graph lists them; hidden
// ones only with hidden.
func (mb *mailbox) children(f *folder, hidden bool) []*folder {
	kids := make([]*folder, 0, len(f.children))
	for _, c := range f.children {
		if k := mb.folders[c]; hidden || !k.hidden {
			kids = append(kids, k)
		}
	}
	sort.SliceStable(kids, func(i, j int) bool { return strings.ToLower(kids[i].name) < strings.ToLower(kids[j].name) })
	return kids
}

func (mb *mailbox) unread(f *folder) int {
	n := 0
	for _, s := range f.serials {
		if mb.msgs[s].flags&flagRead == 0 {
			n++
		}
	}
	return n
}

func (t *Tenant) folderInfoLocked(mb *mailbox, f *folder) FolderInfo {
	fi := FolderInfo{
		ID: f.id, DisplayName: f.name, Path: f.path(mb), WellKnownName: f.wellKnown, Hidden: f.hidden,
		ChildCount: len(f.children), TotalCount: len(f.serials), UnreadCount: mb.unread(f),
	}
	if f.parent >= 0 {
		fi.ParentID = mb.folders[f.parent].id
	} else {
		// Graph gives the roots a parent that cannot be read.
		fi.ParentID = t.folderID(mb.idx, 1<<31)
	}
	return fi
}

// Folders lists every folder of the mailbox, hidden and non-IPM ones included.
func (t *Tenant) Folders(mailbox string) ([]FolderInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return nil, err
	}
	out := make([]FolderInfo, 0, len(mb.folders))
	for _, f := range mb.folders {
		out = append(out, t.folderInfoLocked(mb, f))
	}
	return out, nil
}

// FolderID finds a folder by ID, well-known name ("inbox") or display path
// ("Inbox/Projects"), case-insensitively.
func (t *Tenant) FolderID(mailbox, pathOrWellKnown string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return "", err
	}
	f, err := t.findFolderLocked(mb, pathOrWellKnown)
	if err != nil {
		return "", err
	}
	return f.id, nil
}

func (t *Tenant) findFolderLocked(mb *mailbox, key string) (*folder, error) {
	if m, idx, ok := t.parseFolderID(key); ok && m == mb.idx && int(idx) < len(mb.folders) {
		return mb.folders[idx], nil
	}
	for _, f := range mb.folders {
		if f.wellKnown != "" && strings.EqualFold(f.wellKnown, key) {
			return f, nil
		}
	}
	for _, f := range mb.folders {
		if strings.EqualFold(f.path(mb), key) {
			return f, nil
		}
	}
	return nil, fmt.Errorf("graphsim: no folder %q in %s: %w", key, mb.owner.Mail, ErrNotFound)
}

// CreateFolder adds a folder under parentID (an ID, well-known name or path).
func (t *Tenant) CreateFolder(mailbox, parentID, name string, hidden bool) (string, error) {
	if name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("graphsim: folder name %q must be non-empty and without '/'", name)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return "", err
	}
	p, err := t.findFolderLocked(mb, parentID)
	if err != nil {
		return "", err
	}
	for _, c := range p.children {
		if strings.EqualFold(mb.folders[c].name, name) {
			return "", fmt.Errorf("graphsim: folder %q already exists under %q", name, p.name)
		}
	}
	idx := t.addFolderLocked(mb, int(p.idx), name, "", hidden)
	mb.seq++
	mb.folders[idx].changeSeq, p.changeSeq = mb.seq, mb.seq
	return mb.folders[idx].id, nil
}

// folderByKeyLocked finds the folder a route names (an ID or a well-known
// name), with Graph's answer when there is none.
func (t *Tenant) folderByKeyLocked(mb *mailbox, key string) (*folder, *failure) {
	for _, f := range mb.folders {
		if f.wellKnown != "" && eq(f.wellKnown, key) {
			return f, nil
		}
	}
	for _, name := range absentWellKnown {
		if eq(name, key) {
			return nil, itemNotFound()
		}
	}
	m, idx, ok := t.parseFolderID(key)
	if !ok {
		if _, isMsg := t.parseMessageID(key); !isMsg {
			return nil, malformedID()
		}
	}
	if !ok || m != mb.idx || int(idx) >= len(mb.folders) {
		return nil, itemNotFound()
	}
	return mb.folders[idx], nil
}

// RenameFolder gives a created folder another display name; its ID stays.
func (t *Tenant) RenameFolder(mailbox, folderID, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("graphsim: folder name %q must be non-empty and without '/'", name)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, f, err := t.createdFolderLocked(mailbox, folderID)
	if err != nil {
		return err
	}
	if err := t.freeNameLocked(mb, mb.folders[f.parent], name); err != nil {
		return err
	}
	f.name = name
	mb.seq++
	f.changeSeq = mb.seq
	return nil
}

// MoveFolder moves a created folder, with what it holds, under another
// parent (an ID, well-known name or path); its ID stays. Deleting a folder
// in Outlook moves it to Deleted Items this way.
func (t *Tenant) MoveFolder(mailbox, folderID, parentID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, f, err := t.createdFolderLocked(mailbox, folderID)
	if err != nil {
		return err
	}
	p, err := t.findFolderLocked(mb, parentID)
	if err != nil {
		return err
	}
	for c := p; ; c = mb.folders[c.parent] {
		if c == f {
			return fmt.Errorf("graphsim: cannot move folder %q under itself", f.name)
		}
		if c.parent < 0 {
			break
		}
	}
	if err := t.freeNameLocked(mb, p, f.name); err != nil {
		return err
	}
	old := mb.folders[f.parent]
	old.children = slices.DeleteFunc(old.children, func(c uint32) bool { return c == f.idx })
	p.children = append(p.children, f.idx)
	f.parent = int(p.idx)
	mb.seq++
	f.changeSeq, old.changeSeq, p.changeSeq = mb.seq, mb.seq, mb.seq
	return nil
}

// createdFolderLocked finds a folder CreateFolder made: well-known ones
// keep their place and name.
func (t *Tenant) createdFolderLocked(mailbox, folderID string) (*mailbox, *folder, error) {
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return nil, nil, err
	}
	f, err := t.findFolderLocked(mb, folderID)
	if err != nil {
		return nil, nil, err
	}
	if f.wellKnown != "" || f.parent < 0 {
		return nil, nil, fmt.Errorf("graphsim: folder %q is a well-known one: it cannot be renamed or moved", f.name)
	}
	return mb, f, nil
}

func (t *Tenant) freeNameLocked(mb *mailbox, parent *folder, name string) error {
	for _, c := range parent.children {
		if strings.EqualFold(mb.folders[c].name, name) {
			return fmt.Errorf("graphsim: folder %q already exists under %q", name, parent.name)
		}
	}
	return nil
}

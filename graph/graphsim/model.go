package graphsim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Tenant is a simulated Microsoft 365 tenant. It is safe for concurrent use.
type Tenant struct {
	cfg   Config
	clock Clock
	tag   uint32 // in every ID, so IDs of another tenant are refused
	key   []byte // authenticates delta tokens

	mu           sync.Mutex
	users        []*user
	byKey        map[string]*user // lower-case object ID, UPN, mail and aliases
	apps         map[string]*app  // by client ID
	defaultApp   string
	mailboxes    []*mailbox // by index, as encoded in IDs
	raws         []*rawMessage
	tokens       map[string]*accessToken // by jti
	tokenSeq     uint64
	revokedUpTo  uint64 // tokens with seq <= this are revoked
	expiredLinks map[string]bool
	deviceCodes  map[string]*deviceCode   // by device_code
	refreshes    map[string]*refreshToken // by refresh_token
	approver     *user                    // who signs in at device code prompts; nil: nobody
	approveAfter int                      // pending polls before the approval
	denyDevice   bool
	signin       signInConfig // certificates, federated credentials, injected sign-in errors
	nonce        uint32
	reqSeq       uint64

	stats stats // guarded by its own lock
}

type user struct {
	User
	mbx *mailbox // nil for NoMailbox
}

type app struct {
	AppSpec
	denied map[*mailbox]bool
}

type mailbox struct {
	idx        uint32
	owner      *user
	folders    []*folder
	msgs       []message // by serial
	specs      map[uint32]*MessageSpec
	fullAccess map[*user]bool // delegates with Full Access
	seq        uint32         // change sequence, bumped by every mutation
	epoch      uint32         // delta tokens issued under an older epoch are expired
	full       bool

	// request handling state, guarded by Tenant.mu
	faults  []Fault
	faultN  uint64
	storm   int
	hold    *Hold
	limiter map[string]*limitState // by client ID
}

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

type tomb struct {
	serial uint32
	seq    uint32
	gen    uint16
	reason uint8
}

const (
	reasonDeleted uint8 = iota
	reasonChanged
)

func reasonName(r uint8) string {
	if r == reasonChanged {
		return "changed"
	}
	return "deleted"
}

// message is all the simulator keeps per message: the bytes are generated
// from the tenant seed, the mailbox and the serial (and version) on demand.
type message struct {
	received  int64 // Unix seconds
	modified  int64 // Unix seconds
	folder    uint32
	changeSeq uint32
	size      uint32 // requested size of a large message; 0: natural
	raw       int32  // 1-based index into Tenant.raws; 0: generated
	gen       uint16 // bumped by every move: part of the regular ID
	version   uint16 // bumped by every draft edit
	flags     uint8
}

const (
	flagDraft uint8 = 1 << iota
	flagRead
	flagGone
	flagCustom // spec in mailbox.specs
)

type rawMessage struct {
	data      string // verbatim, never changed
	hasAttach bool
	path      string
	subject   string
	from      string
	msgID     string
	date      time.Time
}

// ErrNotFound is returned by the Go API for unknown users, folders and messages.
var ErrNotFound = errors.New("graphsim: not found")

// New returns an empty tenant (no users) with one app registration, the
// default app, whose credentials Credentials returns.
func New(cfg Config) *Tenant {
	seed := uint64(cfg.Seed)
	if cfg.Clock == nil {
		cfg.Clock = RealClock()
	}
	if cfg.Domain == "" {
		cfg.Domain = "sim.collect.invalid"
	}
	if cfg.TenantID == "" {
		cfg.TenantID = guid(mix(seed, 1), mix(seed, 2))
	}
	if cfg.ClientID == "" {
		cfg.ClientID = guid(mix(seed, 3), mix(seed, 4))
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = fmt.Sprintf("sim~%016x%016x", mix(seed, 5), mix(seed, 6))
	}
	if cfg.DeltaPageSize <= 0 {
		cfg.DeltaPageSize = 10
	}
	if cfg.AccessTokenLifetime <= 0 {
		cfg.AccessTokenLifetime = time.Hour
	}
	l := &cfg.Limits
	if l.MaxConcurrent == 0 {
		l.MaxConcurrent = 4
	}
	if l.WindowRequests == 0 {
		l.WindowRequests = 10000
	}
	if l.Window <= 0 {
		l.Window = 10 * time.Minute
	}
	if l.ConcurrencyWait <= 0 {
		l.ConcurrencyWait = time.Second
	}
	if cfg.Faults.StormLength <= 0 {
		cfg.Faults.StormLength = 3
	}
	if cfg.Faults.RetryAfter <= 0 {
		cfg.Faults.RetryAfter = 2 * time.Second
	}
	t := &Tenant{
		cfg:          cfg,
		clock:        cfg.Clock,
		tag:          uint32(mix(seed, 7)),
		key:          []byte(fmt.Sprintf("%016x%016x", mix(seed, 8), mix(seed, 9))),
		byKey:        map[string]*user{},
		apps:         map[string]*app{},
		tokens:       map[string]*accessToken{},
		expiredLinks: map[string]bool{},
		deviceCodes:  map[string]*deviceCode{},
		refreshes:    map[string]*refreshToken{},
	}
	t.stats.init()
	t.defaultApp = cfg.ClientID
	t.apps[cfg.ClientID] = &app{AppSpec: AppSpec{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, DisplayName: "collect (simulated)",
		Roles: []string{"Mail.Read", "User.Read.All"}, Scopes: defaultScopes,
	}, denied: map[*mailbox]bool{}}
	return t
}

// Credentials returns the tenant and default app credentials.
func (t *Tenant) Credentials() Credentials {
	return Credentials{TenantID: t.cfg.TenantID, TenantDomain: t.cfg.Domain, ClientID: t.cfg.ClientID, ClientSecret: t.cfg.ClientSecret}
}

// Clock returns the tenant's clock.
func (t *Tenant) Clock() Clock { return t.clock }

// AddApp registers another app.
func (t *Tenant) AddApp(a AppSpec) error {
	if a.ClientID == "" || a.ClientSecret == "" {
		return errors.New("graphsim: an app needs a client ID and a secret")
	}
	if a.Roles == nil {
		a.Roles = []string{"Mail.Read", "User.Read.All"}
	}
	if a.Scopes == nil {
		a.Scopes = defaultScopes
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.apps[a.ClientID]; ok {
		return fmt.Errorf("graphsim: app %s already registered", a.ClientID)
	}
	t.apps[a.ClientID] = &app{AppSpec: a, denied: map[*mailbox]bool{}}
	return nil
}

// SetMailboxAccess allows or denies an app access to one mailbox, like an
// application access policy. Apps may read every mailbox until restricted.
func (t *Tenant) SetMailboxAccess(clientID, mailbox string, allowed bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.apps[clientID]
	if !ok {
		return fmt.Errorf("graphsim: no app %s: %w", clientID, ErrNotFound)
	}
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return err
	}
	if allowed {
		delete(a.denied, mb)
	} else {
		a.denied[mb] = true
	}
	return nil
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

// AddUser adds a directory user and, for mailbox kinds, its mailbox with
// the well-known folders.
func (t *Tenant) AddUser(u UserSpec) (User, error) {
	if !strings.Contains(u.UPN, "@") {
		return User{}, fmt.Errorf("graphsim: UPN %q is not an address", u.UPN)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	nu := &user{User: User{
		ID: u.ID, UPN: u.UPN, Mail: strings.ToLower(u.Mail), DisplayName: u.DisplayName, Kind: u.Kind,
	}}
	if nu.ID == "" {
		h := hashString(strings.ToLower(u.UPN))
		nu.ID = guid(mix(uint64(t.cfg.Seed), h, 1), mix(uint64(t.cfg.Seed), h, 2))
	}
	if nu.Mail == "" && u.Kind != NoMailbox {
		nu.Mail = strings.ToLower(u.UPN)
	}
	if nu.DisplayName == "" {
		nu.DisplayName = displayFromAddress(u.UPN)
	}
	for _, a := range u.Aliases {
		nu.Aliases = append(nu.Aliases, strings.ToLower(a))
	}
	keys := append([]string{nu.ID, nu.UPN, nu.Mail}, nu.Aliases...)
	for _, k := range keys {
		if k == "" {
			continue
		}
		if _, dup := t.byKey[strings.ToLower(k)]; dup {
			return User{}, fmt.Errorf("graphsim: %s is already used in the directory", k)
		}
	}
	for _, k := range keys {
		if k != "" {
			t.byKey[strings.ToLower(k)] = nu
		}
	}
	if u.Kind != NoMailbox {
		mb := &mailbox{idx: uint32(len(t.mailboxes)), owner: nu, specs: map[uint32]*MessageSpec{}, limiter: map[string]*limitState{}, fullAccess: map[*user]bool{}}
		byName := map[string]int{}
		for _, f := range wellKnownLayout {
			parent := -1
			if f.parent != "" {
				parent = byName[f.parent]
			}
			byName[f.wellKnown] = t.addFolderLocked(mb, parent, f.name, f.wellKnown, f.hidden)
		}
		t.mailboxes = append(t.mailboxes, mb)
		nu.mbx = mb
	}
	t.users = append(t.users, nu)
	return nu.User, nil
}

func displayFromAddress(a string) string {
	local, _, _ := strings.Cut(a, "@")
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

func (t *Tenant) addFolderLocked(mb *mailbox, parent int, name, wellKnown string, hidden bool) int {
	f := &folder{idx: uint32(len(mb.folders)), name: name, parent: parent, wellKnown: wellKnown, hidden: hidden}
	f.id = t.folderID(mb.idx, f.idx)
	mb.folders = append(mb.folders, f)
	if parent >= 0 {
		mb.folders[parent].children = append(mb.folders[parent].children, f.idx)
	}
	return int(f.idx)
}

// User finds a user by object ID, UPN, primary address or alias.
func (t *Tenant) User(address string) (User, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.byKey[strings.ToLower(address)]
	if !ok {
		return User{}, fmt.Errorf("graphsim: no user %q: %w", address, ErrNotFound)
	}
	return u.User, nil
}

// Users lists the directory in the order users were added.
func (t *Tenant) Users() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]User, len(t.users))
	for i, u := range t.users {
		out[i] = u.User
	}
	return out
}

func (t *Tenant) mailboxLocked(address string) (*mailbox, error) {
	u, ok := t.byKey[strings.ToLower(address)]
	if !ok {
		return nil, fmt.Errorf("graphsim: no user %q: %w", address, ErrNotFound)
	}
	if u.mbx == nil {
		return nil, fmt.Errorf("graphsim: user %q has no mailbox", address)
	}
	return u.mbx, nil
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

func (t *Tenant) now() time.Time { return t.clock.Now() }

// Deliver adds one message to a folder.
func (t *Tenant) Deliver(mailbox, folderID string, spec MessageSpec) (MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return MessageRef{}, err
	}
	f, err := t.findFolderLocked(mb, folderID)
	if err != nil {
		return MessageRef{}, err
	}
	received := spec.Received
	if received.IsZero() {
		received = t.now()
	}
	m := message{received: received.Unix()}
	if spec.Draft {
		m.flags |= flagDraft
	}
	if spec.Size > 0 {
		if spec.Size > 1<<32-1 {
			return MessageRef{}, errors.New("graphsim: a message may be at most 4 GB")
		}
		m.size = uint32(spec.Size)
	}
	if spec.MIME != nil {
		rm := parseRaw(spec.MIME, "")
		t.raws = append(t.raws, rm)
		m.raw = int32(len(t.raws))
		if spec.Received.IsZero() && !rm.date.IsZero() {
			m.received = rm.date.Unix()
		}
	}
	serial := t.appendLocked(mb, f, m)
	if spec.Subject != "" || spec.From != "" || spec.To != "" {
		s := spec
		s.MIME = nil
		mb.specs[serial] = &s
		mb.msgs[serial].flags |= flagCustom
	}
	return t.refLocked(mb, serial), nil
}

// appendLocked stores a new message at the end of the mailbox and returns
// its serial.
func (t *Tenant) appendLocked(mb *mailbox, f *folder, m message) uint32 {
	mb.seq++
	serial := uint32(len(mb.msgs))
	m.folder = f.idx
	m.changeSeq = mb.seq
	if m.modified == 0 {
		m.modified = m.received
		if now := t.now().Unix(); now > m.modified {
			m.modified = now
		}
	}
	mb.msgs = append(mb.msgs, m)
	f.serials = append(f.serials, serial)
	f.changeSeq = mb.seq
	return serial
}

// Populate adds generated messages to a folder.
func (t *Tenant) Populate(mailbox, folderID string, p Populate) error {
	if p.Count < 0 || p.Large > p.Count || p.Drafts > p.Count {
		return errors.New("graphsim: Populate needs Count >= Large and Count >= Drafts")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return err
	}
	f, err := t.findFolderLocked(mb, folderID)
	if err != nil {
		return err
	}
	to := p.To
	if to.IsZero() {
		to = t.now()
	}
	from := p.From
	if from.IsZero() {
		from = to.AddDate(-1, 0, 0)
	}
	if !from.Before(to) {
		return errors.New("graphsim: Populate needs From before To")
	}
	largeSize := p.LargeSize
	if largeSize <= 0 {
		largeSize = 20 << 20
	}
	span := to.Sub(from)
	mb.msgs = slices.Grow(mb.msgs, p.Count)
	f.serials = slices.Grow(f.serials, p.Count)
	for i := 0; i < p.Count; i++ {
		h := mix(uint64(t.cfg.Seed), uint64(mb.idx), uint64(len(mb.msgs)), 0x9090)
		step := span / time.Duration(p.Count)
		at := from.Add(step*time.Duration(i) + time.Duration(h%uint64(max(step, 1))))
		m := message{received: at.Unix()}
		// Spread the large messages and drafts evenly through the batch.
		if p.Large > 0 && (i*p.Large)%p.Count < p.Large && i*p.Large/p.Count < p.Large {
			m.size = uint32(min(largeSize, 1<<32-1))
		}
		if p.Drafts > 0 && ((i+1)*p.Drafts)%p.Count < p.Drafts {
			m.flags |= flagDraft
		}
		if h>>60 < 10 {
			m.flags |= flagRead
		}
		m.modified = m.received
		t.appendLocked(mb, f, m)
	}
	return nil
}

// AddFixtures adds every .eml file under dir (recursively, in path order)
// to a folder, served byte for byte, and returns how many were added.
func (t *Tenant) AddFixtures(mailbox, folderID, dir string) (int, error) {
	return t.addFixtures(mailbox, folderID, dir, time.Time{}, time.Time{})
}

// addFixtures adds fixtures; with a non-zero span, their received times
// are spread over [from, to) instead of taken from their Date headers.
func (t *Tenant) addFixtures(mailbox, folderID, dir string, from, to time.Time) (int, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".eml") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("graphsim: reading fixtures: %w", err)
	}
	sort.Strings(paths)
	raws := make([]*rawMessage, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, fmt.Errorf("graphsim: reading fixture: %w", err)
		}
		raws = append(raws, parseRaw(b, p))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return 0, err
	}
	f, err := t.findFolderLocked(mb, folderID)
	if err != nil {
		return 0, err
	}
	for i, rm := range raws {
		t.raws = append(t.raws, rm)
		at := rm.date
		if !from.IsZero() {
			at = from.Add(to.Sub(from) / time.Duration(len(raws)) * time.Duration(i))
		}
		if at.IsZero() {
			h := mix(uint64(t.cfg.Seed), hashString(rm.path))
			at = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h%(730*24*3600)) * time.Second)
		}
		m := message{received: at.Unix(), raw: int32(len(t.raws))}
		if i%3 == 0 {
			m.flags |= flagRead
		}
		t.appendLocked(mb, f, m)
	}
	return len(raws), nil
}

// lookupLocked finds a live message by either kind of ID. A regular ID of
// an earlier place of the message is not found, as on Exchange.
func (t *Tenant) lookupLocked(mb *mailbox, id string) (uint32, bool) {
	p, ok := t.parseMessageID(id)
	if !ok || p.mbx != mb.idx || int(p.serial) >= len(mb.msgs) {
		return 0, false
	}
	m := &mb.msgs[p.serial]
	if m.flags&flagGone != 0 || (p.kind == regularID && p.gen != m.gen) {
		return 0, false
	}
	return p.serial, true
}

func (t *Tenant) refLocked(mb *mailbox, serial uint32) MessageRef {
	m := &mb.msgs[serial]
	md := t.metaLocked(mb, serial, true)
	return MessageRef{
		ImmutableID:       t.messageID(immutableID, mb.idx, serial, 0),
		ID:                t.messageID(regularID, mb.idx, serial, m.gen),
		FolderID:          mb.folders[m.folder].id,
		InternetMessageID: md.msgID,
		Subject:           md.subject,
		Received:          time.Unix(m.received, 0).UTC(),
		LastModified:      time.Unix(m.modified, 0).UTC(),
		IsDraft:           m.flags&flagDraft != 0,
		Size:              md.layout.size(),
	}
}

// Message returns a message by either kind of ID.
func (t *Tenant) Message(mailbox, id string) (MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return MessageRef{}, err
	}
	s, ok := t.lookupLocked(mb, id)
	if !ok {
		return MessageRef{}, fmt.Errorf("graphsim: no message %q: %w", id, ErrNotFound)
	}
	return t.refLocked(mb, s), nil
}

// Messages lists a folder's messages in the order delta serves them.
func (t *Tenant) Messages(mailbox, folderID string) ([]MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return nil, err
	}
	f, err := t.findFolderLocked(mb, folderID)
	if err != nil {
		return nil, err
	}
	out := make([]MessageRef, 0, len(f.serials))
	for _, s := range f.serials {
		out = append(out, t.refLocked(mb, s))
	}
	return out, nil
}

func removeSerial(s []uint32, v uint32) []uint32 {
	i := sort.Search(len(s), func(i int) bool { return s[i] >= v })
	if i < len(s) && s[i] == v {
		return append(s[:i], s[i+1:]...)
	}
	return s
}

func insertSerial(s []uint32, v uint32) []uint32 {
	i := sort.Search(len(s), func(i int) bool { return s[i] >= v })
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// Move moves a message; its regular ID changes, its immutable ID does not.
// The source folder's delta reports it removed ("changed" when it went to
// Deleted Items, from where it can be restored; "deleted" otherwise), the
// destination's reports it as new.
func (t *Tenant) Move(mailbox, id, destFolderID string) (MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return MessageRef{}, err
	}
	s, ok := t.lookupLocked(mb, id)
	if !ok {
		return MessageRef{}, fmt.Errorf("graphsim: no message %q: %w", id, ErrNotFound)
	}
	dst, err := t.findFolderLocked(mb, destFolderID)
	if err != nil {
		return MessageRef{}, err
	}
	m := &mb.msgs[s]
	if m.folder == dst.idx {
		return t.refLocked(mb, s), nil
	}
	reason := reasonDeleted
	if dst.wellKnown == "deleteditems" {
		reason = reasonChanged
	}
	t.removeLocked(mb, s, reason)
	m.gen++
	m.folder = dst.idx
	m.changeSeq = mb.seq
	m.modified = t.now().Unix()
	dst.serials = insertSerial(dst.serials, s)
	dst.changeSeq = mb.seq
	return t.refLocked(mb, s), nil
}

func (t *Tenant) removeLocked(mb *mailbox, s uint32, reason uint8) {
	m := &mb.msgs[s]
	src := mb.folders[m.folder]
	mb.seq++
	src.serials = removeSerial(src.serials, s)
	src.tombs = append(src.tombs, tomb{serial: s, seq: mb.seq, gen: m.gen, reason: reason})
	src.changeSeq = mb.seq
}

// Delete removes a message for good; delta reports it with reason "deleted".
func (t *Tenant) Delete(mailbox, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return err
	}
	s, ok := t.lookupLocked(mb, id)
	if !ok {
		return fmt.Errorf("graphsim: no message %q: %w", id, ErrNotFound)
	}
	t.removeLocked(mb, s, reasonDeleted)
	mb.msgs[s].flags |= flagGone
	delete(mb.specs, s)
	return nil
}

// EditDraft changes a draft's content; delta reports it again, with the
// same IDs and a later lastModifiedDateTime, and $value serves new bytes.
func (t *Tenant) EditDraft(mailbox, id string) (MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return MessageRef{}, err
	}
	s, ok := t.lookupLocked(mb, id)
	if !ok {
		return MessageRef{}, fmt.Errorf("graphsim: no message %q: %w", id, ErrNotFound)
	}
	m := &mb.msgs[s]
	if m.flags&flagDraft == 0 {
		return MessageRef{}, fmt.Errorf("graphsim: message %q is not a draft; only drafts can be edited", id)
	}
	if m.raw != 0 {
		return MessageRef{}, fmt.Errorf("graphsim: message %q is served verbatim and cannot be edited", id)
	}
	mb.seq++
	m.version++
	m.changeSeq = mb.seq
	mb.folders[m.folder].changeSeq = mb.seq
	mod := t.now().Unix()
	if mod <= m.modified {
		mod = m.modified + 1
	}
	m.modified = mod
	return t.refLocked(mb, s), nil
}

// MIME returns the exact bytes $value serves for the message.
func (t *Tenant) MIME(mailbox, id string) ([]byte, error) {
	var b strings.Builder
	if _, err := t.WriteMIME(mailbox, id, &b); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// WriteMIME streams the exact bytes $value serves for the message.
func (t *Tenant) WriteMIME(mailbox, id string, w io.Writer) (int64, error) {
	t.mu.Lock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		t.mu.Unlock()
		return 0, err
	}
	s, ok := t.lookupLocked(mb, id)
	if !ok {
		t.mu.Unlock()
		return 0, fmt.Errorf("graphsim: no message %q: %w", id, ErrNotFound)
	}
	sn := t.snapLocked(mb, s)
	t.mu.Unlock()
	return sn.meta(true).layout.writeTo(w)
}

// SetQuotaExceeded marks a mailbox full (delta answers ErrorQuotaExceeded) or not.
func (t *Tenant) SetQuotaExceeded(mailbox string, full bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return err
	}
	mb.full = full
	return nil
}

// ExpireDeltaTokens makes every delta and skip token issued so far for the
// mailbox answer 410 SyncStateNotFound.
func (t *Tenant) ExpireDeltaTokens(mailbox string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return err
	}
	mb.epoch++
	return nil
}

// ExpireDeltaLink makes one deltaLink or nextLink (or its bare token)
// answer 410 SyncStateNotFound.
func (t *Tenant) ExpireDeltaLink(link string) error {
	tok := tokenOfLink(link)
	if _, ok := t.decodeDelta(tok); !ok {
		return fmt.Errorf("graphsim: %q holds no delta or skip token of this tenant", link)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expiredLinks[tok] = true
	return nil
}

func tokenOfLink(link string) string {
	for _, k := range []string{"$deltatoken=", "$skiptoken=", "%24deltatoken=", "%24skiptoken="} {
		if i := strings.Index(link, k); i >= 0 {
			v := link[i+len(k):]
			if j := strings.IndexByte(v, '&'); j >= 0 {
				v = v[:j]
			}
			return v
		}
	}
	return link
}

// RevokeAccessTokens makes every access token issued so far answer 401.
func (t *Tenant) RevokeAccessTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.revokedUpTo = t.tokenSeq
}

// InjectFaults queues faults for the mailbox's next matching requests.
func (t *Tenant) InjectFaults(mailbox string, faults ...Fault) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return err
	}
	for _, f := range faults {
		if f.Kind < FaultThrottle || f.Kind > FaultTooManyObjectsOpened {
			return fmt.Errorf("graphsim: unknown fault kind %d", f.Kind)
		}
	}
	mb.faults = append(mb.faults, faults...)
	return nil
}

// Hold holds a mailbox's requests; see HoldRequests.
type Hold struct {
	mu       sync.Mutex
	cond     *sync.Cond
	held     int
	released chan struct{}
	once     sync.Once
}

// HoldRequests makes the mailbox's admitted requests (past the limits)
// wait until released, so tests can build up concurrency without sleeping.
func (t *Tenant) HoldRequests(mailbox string) (*Hold, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return nil, err
	}
	h := &Hold{released: make(chan struct{})}
	h.cond = sync.NewCond(&h.mu)
	mb.hold = h
	return h, nil
}

func (h *Hold) enter() {
	h.mu.Lock()
	h.held++
	h.cond.Broadcast()
	h.mu.Unlock()
}

// Wait blocks until n requests in all have entered the hold.
func (h *Hold) Wait(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.held < n {
		h.cond.Wait()
	}
}

// Release lets held and later requests through.
func (h *Hold) Release() { h.once.Do(func() { close(h.released) }) }

package graphsim

// The directory: users, their aliases, shared mailboxes and users without
// one, app registrations with their access policies, and Full Access
// delegation between mailboxes.

import (
	"errors"
	"fmt"
	"strings"
)

type user struct {
	User
	mbx *mailbox // nil for NoMailbox
}

type app struct {
	AppSpec
	denied map[*mailbox]bool
}

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

// GrantFullAccess gives delegate Full Access to mailbox, as
// Add-MailboxPermission does. The simulator applies it at once (Exchange
// can take up to a day).
func (t *Tenant) GrantFullAccess(delegate, mailbox string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.byKey[strings.ToLower(delegate)]
	if !ok {
		return fmt.Errorf("graphsim: no user %q: %w", delegate, ErrNotFound)
	}
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return err
	}
	mb.fullAccess[d] = true
	return nil
}

// directoryUserLocked finds the user GET /users/{key} finds: the
// directory resolves an object ID or a UPN, not mail or aliases.
func (t *Tenant) directoryUserLocked(key string) (*user, bool) {
	u, ok := t.byKey[strings.ToLower(key)]
	return u, ok && (eq(key, u.ID) || eq(key, u.UPN))
}

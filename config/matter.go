// Package config reads a matter: the *.collect.hcl files of a folder,
// with their variables, references and functions, checked and resolved
// into a typed Matter that the rest of collect works from.
//
// Blocks are decoded by walking the hclsyntax tree (schema.go lists what
// each block takes, blocks.go decodes them) rather than through gohcl, so
// that every unknown block or argument gets its own diagnostic with a "did
// you mean", every value keeps its source range for later diagnostics
// (plan's problems point at the custodian or mailbox block), and an
// expression is evaluated once, with the matter's variables and functions.
// format.go is collect fmt (hclwrite).
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// FileSuffix is what a matter file's name ends with.
const FileSuffix = ".collect.hcl"

// Matter is a loaded, checked matter with every reference resolved.
type Matter struct {
	Name        string
	Description string
	TimeZone    *time.Location
	// RecollectChanged collects again, as a new version, a collected message
	// that is not a draft when the server reports it changed (a new
	// changeKey, as a flag or a category gives it). Edited drafts are always
	// collected again; without this, other changes are observations only.
	RecollectChanged bool

	Tenant     Tenant
	Variables  []*Variable
	Windows    []*Window
	Custodians []*Custodian
	// Mailboxes holds every mailbox in scope: the primary mailbox of each
	// custodian, in declaration order, then the declared mailboxes.
	Mailboxes []*Mailbox
	Output    Output
	State     StatePath
	Export    Export
	Custody   Custody
	// Backend is where the collection is kept when not in the local
	// folder. It is outside the scope: Hash leaves it out.
	Backend Backend

	Dir string // the matter folder, absolute
}

// Tenant says where and how collect signs in, and the per-mailbox limits
// the tenant enforces.
type Tenant struct {
	TenantID        string
	ClientID        string
	Auth            string // device_code | client_secret | client_certificate | federated_token
	Cloud           string // global | usgov | usgov-dod | china | demo
	CertificatePath string // absolute; only with auth = client_certificate

	MailboxConcurrency   int           // requests in flight per mailbox (Graph: 4)
	MailboxRequestLimit  int           // requests per window per mailbox (Graph: 10,000)
	MailboxRequestWindow time.Duration // the window of that limit (Graph: 10 minutes)
}

// Demo reports whether the matter targets the built-in simulated tenant.
func (t Tenant) Demo() bool { return t.Cloud == CloudDemo }

// Clouds, auth modes and hashes the language accepts.
const (
	CloudGlobal   = "global"
	CloudUSGov    = "usgov"
	CloudUSGovDoD = "usgov-dod"
	CloudChina    = "china"
	CloudDemo     = "demo"
)

var (
	clouds    = []string{CloudGlobal, CloudUSGov, CloudUSGovDoD, CloudChina, CloudDemo}
	authModes = []string{"device_code", "client_secret", "client_certificate", "federated_token"}
	hashNames = []string{"sha256", "md5", "sha1"}
)

// Variable is a declared input variable and the value it took.
type Variable struct {
	Name        string
	Description string
	Sensitive   bool
	Source      string // where the value came from: "default", "env COLLECT_VAR_x", "-var", "-var-file=f"
	DeclRange   hcl.Range
}

// DateField says which time of a message places it in a window.
type DateField string

const (
	DateReceived DateField = "received"
	DateSent     DateField = "sent"
)

// Window is a half-open interval of time, [Start, End), in UTC. An open
// window has no end: it reaches up to now, and a later collection picks up
// new mail.
type Window struct {
	Name      string
	Start     time.Time
	End       time.Time // zero when open
	Date      DateField
	DeclRange hcl.Range
}

// Open reports whether the window has no end.
func (w *Window) Open() bool { return w.End.IsZero() }

// Contains reports whether t falls in the window.
func (w *Window) Contains(t time.Time) bool {
	if t.Before(w.Start) {
		return false
	}
	return w.Open() || t.Before(w.End)
}

// FolderFilter narrows a mailbox to some folders. Entries are well-known
// names ("inbox") or display paths from the root ("Inbox/Projects"); each
// covers the folder and everything below it; exclude wins over include.
// An empty include means every folder.
type FolderFilter struct {
	Include []string
	Exclude []string
}

// Empty reports whether the filter keeps every folder.
func (f FolderFilter) Empty() bool { return len(f.Include) == 0 && len(f.Exclude) == 0 }

// Match reports whether a folder is in scope. path is its display path
// from the mailbox root; wellKnown lists the well-known names of the folder
// and of its ancestors (any order).
func (f FolderFilter) Match(path string, wellKnown []string) bool {
	covers := func(entry string) bool {
		for _, w := range wellKnown {
			if strings.EqualFold(w, entry) {
				return true
			}
		}
		e := strings.Trim(entry, "/")
		return strings.EqualFold(path, e) ||
			(len(path) > len(e) && strings.EqualFold(path[:len(e)], e) && path[len(e)] == '/')
	}
	for _, e := range f.Exclude {
		if covers(e) {
			return false
		}
	}
	if len(f.Include) == 0 {
		return true
	}
	for _, e := range f.Include {
		if covers(e) {
			return true
		}
	}
	return false
}

// Custodian is a person whose mail is in scope.
type Custodian struct {
	Name        string // the block label
	DisplayName string
	Email       string // as written, lower case: UPN, primary address or alias
	Windows     []*Window
	Folders     FolderFilter
	DeclRange   hcl.Range
}

// MailboxKind distinguishes a custodian's own mailbox from a declared one.
type MailboxKind string

const (
	MailboxPrimary MailboxKind = "primary"
	MailboxShared  MailboxKind = "shared"
)

// Mailbox is one mailbox in scope.
type Mailbox struct {
	// Addr is the mailbox's address in the matter: custodian.jdoe.mailbox.primary
	// or mailbox.legal_shared.
	Addr       string
	Kind       MailboxKind
	Email      string   // lower case, as written: resolved to the mailbox by Graph
	Custodians []string // custodian names whose evidence this is
	// Windows in scope; none means the whole mailbox.
	Windows   []*Window
	Folders   FolderFilter
	DeclRange hcl.Range
}

// WholeMailbox reports whether no window narrows the mailbox.
func (m *Mailbox) WholeMailbox() bool { return len(m.Windows) == 0 }

// InScope reports whether a message with the given times is in one of the
// mailbox's windows. A draft has no real sent or received time and is
// placed by its last modified time.
func (m *Mailbox) InScope(received, sent, lastModified time.Time, draft bool) bool {
	if len(m.Windows) == 0 {
		return true
	}
	for _, w := range m.Windows {
		if w.Places(received, sent, lastModified, draft) {
			return true
		}
	}
	return false
}

// Places reports whether a message with the given times falls in the
// window, by the window's date field; a draft by its last modified time.
func (w *Window) Places(received, sent, lastModified time.Time, draft bool) bool {
	return w.Contains(w.DateOf(received, sent, lastModified, draft))
}

// DateOf is the time of a message that the window places it by.
func (w *Window) DateOf(received, sent, lastModified time.Time, draft bool) time.Time {
	switch {
	case draft:
		return lastModified
	case w.Date == DateSent:
		return sent
	}
	return received
}

// Output says where natives, the manifest and run records go.
type Output struct {
	Path   string   // absolute
	Hashes []string // always starts with sha256
}

// StatePath is where the state file lives.
type StatePath struct {
	Path string // absolute
}

// Hash is a digest of the matter's resolved scope: what would be
// collected and how. Formatting, comments and how a value was written do
// not change it; a different window, mailbox, folder filter or output
// does. A saved plan records it so that apply can refuse a plan made for
// another matter.
func (m *Matter) Hash() string {
	type window struct {
		Name, Start, End, Date string
	}
	type mailbox struct {
		Addr, Kind, Email string
		Custodians        []string
		Windows           []window
		Include, Exclude  []string
	}
	conv := func(ws []*Window) []window {
		out := make([]window, 0, len(ws))
		for _, w := range ws {
			end := ""
			if !w.Open() {
				end = w.End.UTC().Format(time.RFC3339Nano)
			}
			out = append(out, window{w.Name, w.Start.UTC().Format(time.RFC3339Nano), end, string(w.Date)})
		}
		return out
	}
	doc := struct {
		Name      string
		Tenant    []string
		Mailboxes []mailbox
		Output    []string
		Hashes    []string
		Recollect bool `json:",omitempty"`
	}{
		Name:   m.Name,
		Tenant: []string{m.Tenant.TenantID, m.Tenant.ClientID, m.Tenant.Cloud},
		Output: []string{rel(m.Dir, m.Output.Path), rel(m.Dir, m.State.Path)},
		Hashes: m.Output.Hashes, Recollect: m.RecollectChanged,
	}
	if m.Backend.Remote() {
		// The collection is the backend's, wherever it is: the output and
		// state paths are only the working folder's, and where the
		// backend keeps it is not scope either.
		doc.Output = nil
	}
	for _, mb := range m.Mailboxes {
		doc.Mailboxes = append(doc.Mailboxes, mailbox{
			mb.Addr, string(mb.Kind), mb.Email, mb.Custodians, conv(mb.Windows),
			mb.Folders.Include, mb.Folders.Exclude,
		})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // only plain strings and slices: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// rel makes a path relative to the matter folder, so that the hash does
// not depend on where the matter is checked out.
func rel(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil {
		return filepath.ToSlash(r)
	}
	return path
}

// Mailbox returns the mailbox with the given matter address.
func (m *Matter) Mailbox(addr string) *Mailbox {
	for _, mb := range m.Mailboxes {
		if mb.Addr == addr {
			return mb
		}
	}
	return nil
}

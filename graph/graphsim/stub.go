package graphsim

import (
	"errors"
	"io"
	"net/http"
	"time"
)

var errNotReady = errors.New("graphsim: not ready")

// Clock is the simulator's time source. Tests pass a FakeClock.
type Clock interface {
	Now() time.Time
	// After behaves like time.After on this clock.
	After(d time.Duration) <-chan time.Time
}

// RealClock returns the wall clock.
func RealClock() Clock { return nil }

// FakeClock is a Clock that moves only when told to.
type FakeClock struct{}

// NewFakeClock returns a FakeClock reading start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time { return time.Time{} }

// After returns a channel that receives once the clock has been advanced by d.
func (c *FakeClock) After(d time.Duration) <-chan time.Time { return nil }

// Advance moves the clock forward by d, firing due timers.
func (c *FakeClock) Advance(d time.Duration) {}

// Tenant is a simulated Microsoft 365 tenant. It is safe for concurrent use.
type Tenant struct{}

// New returns an empty tenant (no users) with one app registration, the
// default app, whose credentials Credentials returns.
func New(cfg Config) *Tenant { return &Tenant{} }

// Demo returns the demo tenant documented in the package comment; cfg's
// clock, limits, latency and faults apply, its identity fields are replaced
// by the demo values. fixturesDir, when not empty, must be a directory of
// .eml files (searched recursively) added to legal@'s Inbox/Fixtures.
func Demo(cfg Config, fixturesDir string) (*Tenant, error) { return nil, errNotReady }

// Public, fake credentials of the demo tenant.
const (
	DemoTenantDomain = "demo.collect.invalid"
	DemoTenantID     = "00000000-de00-4c0e-a000-000000000001"
	DemoClientID     = "00000000-de00-4c0e-a000-0000000000c1"
	DemoClientSecret = "demo-secret-not-a-real-credential"
	DemoSeed         = 20240101
)

// Credentials returns the tenant and default app credentials.
func (t *Tenant) Credentials() Credentials { return Credentials{} }

// Clock returns the tenant's clock.
func (t *Tenant) Clock() Clock { return nil }

// AddApp registers another app.
func (t *Tenant) AddApp(a AppSpec) error { return errNotReady }

// SetMailboxAccess allows or denies an app access to one mailbox, like an
// application access policy. Apps may read every mailbox until restricted.
func (t *Tenant) SetMailboxAccess(clientID, mailbox string, allowed bool) error { return errNotReady }

// AddUser adds a directory user and, for mailbox kinds, its mailbox with
// the well-known folders.
func (t *Tenant) AddUser(u UserSpec) (User, error) { return User{}, errNotReady }

// User finds a user by object ID, UPN, primary address or alias.
func (t *Tenant) User(address string) (User, error) { return User{}, errNotReady }

// Users lists the directory in the order users were added.
func (t *Tenant) Users() []User { return nil }

// Folders lists every folder of the mailbox, hidden and non-IPM ones included.
func (t *Tenant) Folders(mailbox string) ([]FolderInfo, error) { return nil, errNotReady }

// FolderID finds a folder by well-known name ("inbox") or display path
// ("Inbox/Projects"), case-insensitively.
func (t *Tenant) FolderID(mailbox, pathOrWellKnown string) (string, error) { return "", errNotReady }

// CreateFolder adds a folder under parentID.
func (t *Tenant) CreateFolder(mailbox, parentID, name string, hidden bool) (string, error) {
	return "", errNotReady
}

// Deliver adds one message to a folder.
func (t *Tenant) Deliver(mailbox, folderID string, spec MessageSpec) (MessageRef, error) {
	return MessageRef{}, errNotReady
}

// Populate adds generated messages to a folder.
func (t *Tenant) Populate(mailbox, folderID string, p Populate) error { return errNotReady }

// AddFixtures adds every .eml file under dir (recursively, in name order)
// to a folder, served byte for byte, and returns how many were added.
func (t *Tenant) AddFixtures(mailbox, folderID, dir string) (int, error) { return 0, errNotReady }

// Message returns a message by either kind of ID.
func (t *Tenant) Message(mailbox, id string) (MessageRef, error) { return MessageRef{}, errNotReady }

// Messages lists a folder's messages in the order delta serves them.
func (t *Tenant) Messages(mailbox, folderID string) ([]MessageRef, error) { return nil, errNotReady }

// Move moves a message; its regular ID changes, its immutable ID does not.
func (t *Tenant) Move(mailbox, id, destFolderID string) (MessageRef, error) {
	return MessageRef{}, errNotReady
}

// Delete removes a message for good; delta reports it with reason "deleted".
func (t *Tenant) Delete(mailbox, id string) error { return errNotReady }

// EditDraft changes a draft's content; delta reports it again.
func (t *Tenant) EditDraft(mailbox, id string) (MessageRef, error) { return MessageRef{}, errNotReady }

// MIME returns the exact bytes $value serves for the message.
func (t *Tenant) MIME(mailbox, id string) ([]byte, error) { return nil, errNotReady }

// WriteMIME streams the exact bytes $value serves for the message.
func (t *Tenant) WriteMIME(mailbox, id string, w io.Writer) (int64, error) { return 0, errNotReady }

// SetQuotaExceeded marks a mailbox full (delta answers ErrorQuotaExceeded) or not.
func (t *Tenant) SetQuotaExceeded(mailbox string, full bool) error { return errNotReady }

// ExpireDeltaTokens makes every delta and skip token issued so far for the
// mailbox answer 410 SyncStateNotFound.
func (t *Tenant) ExpireDeltaTokens(mailbox string) error { return errNotReady }

// ExpireDeltaLink makes one deltaLink or nextLink answer 410 SyncStateNotFound.
func (t *Tenant) ExpireDeltaLink(link string) error { return errNotReady }

// RevokeAccessTokens makes every access token issued so far answer 401.
func (t *Tenant) RevokeAccessTokens() {}

// InjectFaults queues faults for the mailbox's next matching requests.
func (t *Tenant) InjectFaults(mailbox string, faults ...Fault) error { return errNotReady }

// HoldRequests makes the mailbox's admitted requests wait until released,
// so tests can build up concurrency without sleeping.
func (t *Tenant) HoldRequests(mailbox string) (*Hold, error) { return nil, errNotReady }

// Hold holds a mailbox's requests; see HoldRequests.
type Hold struct{}

// Wait blocks until n requests are being held.
func (h *Hold) Wait(n int) {}

// Release lets held and later requests through.
func (h *Hold) Release() {}

// Counters returns a snapshot of the counters.
func (t *Tenant) Counters() Counters { return Counters{} }

// ResetCounters zeroes the counters.
func (t *Tenant) ResetCounters() {}

// ServeHTTP serves Graph, login and /_sim routes.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {}

// Handler returns the tenant as an http.Handler.
func (t *Tenant) Handler() http.Handler { return t }

// Server is a Tenant served on a real listener.
type Server struct {
	URL      string // http://host:port
	GraphURL string // URL + "/v1.0"
	LoginURL string // URL, the authority host
}

// Start serves t on addr until Close.
func Start(t *Tenant, addr string) (*Server, error) { return nil, errNotReady }

// Close stops the server.
func (s *Server) Close() error { return nil }

type countingWriter struct{}

func (c *countingWriter) Write(p []byte) (int, error) { return len(p), nil }

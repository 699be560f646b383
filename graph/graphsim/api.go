package graphsim

import (
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

// Config sets up a Tenant. The zero value is usable: real time, seed 0,
// Graph's default limits and no injected faults.
type Config struct {
	Seed         int64       // drives every generated name, ID, message and fault
	TenantID     string      // GUID; derived from Seed when empty
	Domain       string      // default "sim.collect.invalid"
	ClientID     string      // the default app's client ID; derived from Seed when empty
	ClientSecret string      // the default app's secret; derived from Seed when empty
	Clock        clock.Clock // clock.System() when nil

	Latency time.Duration // added to every Graph request, on Clock
	Limits  Limits
	Faults  FaultRates

	DeltaPageSize    int           // page size when no odata.maxpagesize is asked; default 10
	DuplicateRate    float64       // share of delta items sent twice within a round (0..1)
	DeltaTokenMaxAge time.Duration // delta and skip tokens older than this on Clock give 410; 0: never
	// SyncResetCode is the code of the 410 an expired token gets:
	// "SyncStateNotFound" (the default), "resyncRequired" or "SyncStateInvalid".
	SyncResetCode string
	// StrictDeltaIDType makes a delta or skip token used under another
	// "Prefer: IdType" than it was issued under answer 410
	// SyncStateInvalid, as Exchange has been seen to do (the Graph docs
	// say links work with both ID types, which is the default here).
	StrictDeltaIDType   bool
	AccessTokenLifetime time.Duration // default 1 h
}

// Limits are the per (app, mailbox) service limits.
type Limits struct {
	MaxConcurrent   int             // requests in flight; default 4, negative: unlimited
	WindowRequests  int             // requests per Window; default 10,000, negative: unlimited
	Window          time.Duration   // default 10 min (a fixed window starting at the first request)
	ConcurrencyWait time.Duration   // Retry-After sent with MailboxConcurrency; default 1 s
	RetryAfterStyle RetryAfterStyle // how Retry-After is written
}

// RetryAfterStyle is how the Retry-After header is written.
type RetryAfterStyle int

const (
	RetryAfterSeconds    RetryAfterStyle = iota // whole seconds, rounded up: "3"
	RetryAfterFractional                        // seconds with milliseconds: "2.128"
	RetryAfterHTTPDate                          // an HTTP date on the simulator's clock
)

// FaultRates injects random faults into mailbox requests, each a
// probability per request, decided by a hash of the tenant seed, the
// mailbox and the mailbox's request number, so a run is reproducible.
type FaultRates struct {
	Throttle       float64       // start a storm of StormLength 429 TooManyRequests
	StormLength    int           // default 3
	Unavailable    float64       // 503 serviceNotAvailable with Retry-After
	ServerError    float64       // 500
	BadGateway     float64       // 502
	GatewayTimeout float64       // 504
	Reset          float64       // the connection is reset, no response
	Truncate       float64       // $value only: Content-Length announced, half sent, connection closed
	Unauthorized   float64       // 401 InvalidAuthenticationToken; the presented token is revoked
	RetryAfter     time.Duration // Retry-After of injected 429 and 503; default 2 s
}

// FaultKind is one kind of injected fault.
type FaultKind int

const (
	FaultThrottle             FaultKind = iota + 1 // 429 TooManyRequests with Retry-After
	FaultUnavailable                               // 503 serviceNotAvailable with Retry-After
	FaultServerError                               // 500 generalException
	FaultBadGateway                                // 502
	FaultGatewayTimeout                            // 504
	FaultReset                                     // connection reset without a response
	FaultTruncate                                  // $value cut short after the headers announced the full length
	FaultUnauthorized                              // 401 InvalidAuthenticationToken; the token is revoked
	FaultTooManyObjectsOpened                      // 429 ErrorTooManyObjectsOpened without Retry-After
)

// Fault is one scripted fault, consumed by the next request of the
// mailbox that matches Route.
type Fault struct {
	Kind       FaultKind
	Route      Route         // "" matches any mailbox route
	RetryAfter time.Duration // for throttling faults; FaultRates.RetryAfter when zero
}

// Route names a kind of request, as counted in Counters.
type Route string

const (
	RouteToken        Route = "token"        // POST /{tenant}/oauth2/v2.0/token
	RouteDeviceCode   Route = "devicecode"   // POST /{tenant}/oauth2/v2.0/devicecode
	RouteUser         Route = "user"         // GET /users/{key}
	RouteUsers        Route = "users"        // GET /users?$filter=
	RouteMailFolders  Route = "mailFolders"  // GET /users/{u}/mailFolders
	RouteMailFolder   Route = "mailFolder"   // GET /users/{u}/mailFolders/{id}
	RouteFolderDelta  Route = "folderDelta"  // GET /users/{u}/mailFolders/delta
	RouteChildFolders Route = "childFolders" // GET .../mailFolders/{id}/childFolders
	RouteMessages     Route = "messages"     // GET .../mailFolders/{id}/messages
	RouteDelta        Route = "delta"        // GET .../messages/delta
	RouteMessage      Route = "message"      // GET .../messages/{id}
	RouteValue        Route = "value"        // GET .../messages/{id}/$value
	RouteOther        Route = "other"        // anything else (answered 400 or 404)
)

// MailboxKind says what kind of mailbox, if any, a directory user has.
type MailboxKind int

const (
	UserMailbox       MailboxKind = iota // an Exchange Online user mailbox
	SharedMailbox                        // an Exchange Online shared mailbox
	NoMailbox                            // a user without an Exchange license
	OnPremisesMailbox                    // a hybrid user whose mailbox is on premises
	InactiveMailbox                      // an inactive or soft-deleted mailbox
)

// UserSpec describes a directory user to add.
type UserSpec struct {
	UPN         string   // required
	Mail        string   // primary SMTP address; default UPN (empty for NoMailbox unless set)
	DisplayName string   // default derived from the UPN
	Aliases     []string // further smtp: proxy addresses
	Kind        MailboxKind
	ID          string // object ID; derived from the seed and UPN when empty
}

// User is a directory user as the tenant holds it.
type User struct {
	ID          string
	UPN         string
	Mail        string
	DisplayName string
	Aliases     []string
	Kind        MailboxKind
}

// AppSpec describes an app registration.
type AppSpec struct {
	ClientID     string
	ClientSecret string
	DisplayName  string
	Roles        []string // application permissions; nil: Mail.Read and User.Read.All
	// PublicClient allows the device code and refresh token grants
	// without a secret, as "Allow public client flows" does.
	PublicClient bool
	// Scopes are the delegated permissions consented for the app; nil:
	// openid, profile, email, offline_access, User.Read, User.Read.All,
	// Mail.Read and Mail.Read.Shared. Asking for others at sign-in gives
	// AADSTS65001.
	Scopes []string
}

// Credentials are what a client needs to talk to the tenant as its
// default app.
type Credentials struct {
	TenantID     string
	TenantDomain string
	ClientID     string
	ClientSecret string
}

// FolderInfo is a mail folder as the tenant holds it.
type FolderInfo struct {
	ID            string
	ParentID      string
	DisplayName   string
	Path          string // from the top of the information store, "Inbox/Projects"
	WellKnownName string
	Hidden        bool
	ChildCount    int
	TotalCount    int
	UnreadCount   int
}

// MessageSpec describes a message to deliver. Empty fields are generated
// from the seed.
type MessageSpec struct {
	Subject  string
	From     string // an address
	To       string // an address; default the mailbox's
	Received time.Time
	Size     int64  // approximate size in bytes; 0: a natural size (2 to 60 KB)
	Draft    bool   // an unsent draft (no Received header, isDraft true)
	MIME     []byte // verbatim bytes to serve instead of generated MIME
	// Class is the item class (PidTagMessageClass); default "IPM.Note".
	// A mail folder can hold other items: "IPM.StickyNote", "IPM.Task",
	// "IPM.Appointment", "IPM.Contact", "IPM.SkypeTeams.Message", ...
	Class string
}

// Populate describes a batch of generated messages.
type Populate struct {
	Count     int
	From, To  time.Time // received times spread over [From, To); default the year before the clock's now
	Large     int       // how many of them are large
	LargeSize int64     // size of a large message; default 20 MB
	Drafts    int       // how many of them are drafts
	Class     string    // item class of all of them; default "IPM.Note"
}

// MessageRef identifies a message and says where it is now.
type MessageRef struct {
	ImmutableID       string
	ID                string // the regular ID, which changes on every move
	FolderID          string
	InternetMessageID string
	Subject           string
	Received          time.Time
	LastModified      time.Time
	IsDraft           bool
	ConversationID    string // the conversationId served: one per thread
	Size              int64  // exact length of the MIME bytes served by $value
	ItemClass         string // "IPM.Note" unless delivered as another item
	ChangeKey         string // changes with every change of the message
}

// Counters is a snapshot of what the server has seen.
type Counters struct {
	Requests  int64
	ByRoute   map[Route]int64
	ByStatus  map[int]int64
	Throttled int64                      // 429 responses sent
	Mailboxes map[string]MailboxCounters // by the mailbox's primary address
	// HTTP2 counts the requests that arrived over HTTP/2 (see StartTLS).
	HTTP2 int64
}

// MailboxCounters are one mailbox's counters, all apps together except
// where said.
type MailboxCounters struct {
	Requests    int64
	ByRoute     map[Route]int64
	Throttled   int64 // 429 responses sent
	Faults      int64 // injected faults
	MaxInFlight int   // most requests of one app in flight at once
	// EarlyRetries counts requests that arrived while a Retry-After the
	// same app was given for this mailbox had not yet elapsed. It is an
	// upper bound on impoliteness: with several requests in flight, one
	// the client sent before it saw the 429 still counts when it arrives
	// after. A client that runs one request at a time per mailbox and
	// obeys Retry-After scores 0.
	EarlyRetries int64
	ValueBytes   int64 // $value body bytes written
}

package graphsim

// The tenant: its configuration, its mailboxes and the state a mailbox
// keeps for the requests sent to it.

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

// Tenant is a simulated Microsoft 365 tenant. It is safe for concurrent use.
type Tenant struct {
	cfg   Config
	clock clock.Clock
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
	classes      []string // item classes by index; 0 is IPM.Note

	stats stats // guarded by its own lock
}

type mailbox struct {
	idx        uint32
	owner      *user
	folders    []*folder
	msgs       []message // by serial
	specs      map[uint32]*MessageSpec
	bodies     []preparedBody      // by serial, from PrepareBodies
	categories map[uint32][]string // by serial: the categories set on a message
	fullAccess map[*user]bool      // delegates with Full Access
	seq        uint32              // change sequence, bumped by every mutation
	epoch      uint32              // delta tokens issued under an older epoch are expired
	full       bool

	// request handling state, guarded by Tenant.mu
	faults  []Fault
	faultN  uint64
	storm   int
	hold    *Hold
	limiter map[string]*limitState // by client ID
}

// ErrNotFound is returned by the Go API for unknown users, folders and messages.
var ErrNotFound = errors.New("graphsim: not found")

// New returns an empty tenant (no users) with one app registration, the
// default app, whose credentials Credentials returns.
func New(cfg Config) *Tenant {
	seed := uint64(cfg.Seed)
	if cfg.Clock == nil {
		cfg.Clock = clock.System()
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
		classes:      []string{"IPM.Note"},
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
func (t *Tenant) Clock() clock.Clock { return t.clock }

func (t *Tenant) now() time.Time { return t.clock.Now() }

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

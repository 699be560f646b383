package graphsim

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Every request of a mailbox route passes admit, whether it came over
// HTTP (serveGraph) or through the in-process Source (Source.once): the
// mailbox must exist, have Exchange Online and be readable by the caller;
// then the per (app, mailbox) limits, the injected faults, the hold and
// the latency apply, in that order. Each side only renders the outcome:
// HTTP as Graph's wire answer, the Source as a *graph.Error.

// failure is an error answer of Graph: the status, code and message of
// its body, and what comes with them.
type failure struct {
	status     int
	code       string
	message    string
	retryAfter time.Duration // > 0: sent as Retry-After
	reset      bool          // the connection is reset, nothing is answered
	left       bool          // the caller went away while held: nothing is answered
}

func failWith(status int, code, message string) *failure {
	return &failure{status: status, code: code, message: message}
}

func itemNotFound() *failure {
	return failWith(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

func malformedID() *failure {
	return failWith(http.StatusBadRequest, "ErrorInvalidIdMalformed", "Id is malformed.")
}

func accessDenied() *failure {
	return failWith(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
}

// tokenRevoked is the 401 a client answers by refreshing its token once.
func tokenRevoked() *failure {
	return failWith(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
}

// Roles and scopes that let a token read mailboxes and the directory.
var (
	mailRoles      = []string{"Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic.All", "Mail.ReadBasic"}
	ownMailScopes  = []string{"Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic"}
	sharedScopes   = []string{"Mail.Read.Shared", "Mail.ReadWrite.Shared"}
	directoryRoles = []string{"User.Read.All", "User.ReadBasic.All", "Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}
)

// admission is a request let in to a mailbox; done ends it.
type admission struct {
	mb  *mailbox    // nil when the mailbox was not found or may not be read
	ls  *limitState // nil until the limits let the request in
	cut bool        // an injected truncation: serve half the body, then cut
}

// admit runs one request of a mailbox route by the caller's token (of
// app a) to the mailbox key names. With a nil failure the caller serves
// the request; either way it calls done when it has answered, and counts
// the request against adm.mb when there is one.
// request names the request ("GET /v1.0/..."), to tell a retry of a
// request refused for concurrency; "" when there is no such name.
func (t *Tenant) admit(ctx context.Context, tok *accessToken, a *app, key string, route Route, request string) (admission, *failure) {
	var adm admission
	t.mu.Lock()
	mb, f := t.readableMailboxLocked(tok, a, key)
	if f != nil {
		t.mu.Unlock()
		return adm, f
	}
	adm.mb = mb
	adm.ls, f = t.limitLocked(mb, a.ClientID, request)
	if f != nil {
		t.mu.Unlock()
		return adm, f
	}
	f, adm.cut = t.faultLocked(tok, mb, a.ClientID, route)
	hold := mb.hold
	t.mu.Unlock()
	if f != nil {
		return adm, f
	}
	if !t.holdAndDelay(ctx, hold) {
		return adm, &failure{left: true}
	}
	return adm, nil
}

// done ends an admission.
func (t *Tenant) done(adm admission) {
	if adm.ls == nil {
		return
	}
	t.mu.Lock()
	adm.ls.inFlight--
	t.mu.Unlock()
}

// readableMailboxLocked resolves the mailbox a mailbox route names and
// checks the token may read it.
func (t *Tenant) readableMailboxLocked(tok *accessToken, a *app, key string) (*mailbox, *failure) {
	u, ok := t.byKey[strings.ToLower(key)]
	if ok && !eq(key, u.ID) && !eq(key, u.UPN) && !eq(key, u.Mail) {
		ok = false // Exchange resolves the ID, the UPN and the primary SMTP address
	}
	if !ok {
		return nil, failWith(http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", key))
	}
	switch u.Kind {
	case NoMailbox, InactiveMailbox:
		return nil, failWith(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
	case OnPremisesMailbox:
		return nil, failWith(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "REST API is not yet supported for this mailbox.")
	}
	if a == nil {
		return nil, accessDenied()
	}
	if me := tok.user; me != nil {
		// Delegated: the user's own mailbox, or another one with Full
		// Access delegation and a .Shared scope.
		own := me == u && tok.has(ownMailScopes...)
		shared := u.mbx.fullAccess[me] && tok.has(sharedScopes...)
		if !own && !shared {
			return nil, accessDenied()
		}
		return u.mbx, nil
	}
	if !tok.has(mailRoles...) {
		return nil, accessDenied()
	}
	if a.denied[u.mbx] {
		return nil, failWith(http.StatusForbidden, "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.")
	}
	return u.mbx, nil
}

// limitState is the throttling state of one (app, mailbox) pair.
type limitState struct {
	inFlight    int
	windowStart time.Time
	windowCount int
	notBefore   time.Time
	// refused holds, per request, when a request refused for concurrency
	// may come back: a MailboxConcurrency 429 holds back that request only.
	refused map[string]time.Time
}

// limitLocked enforces the per (app, mailbox) limits: it lets the request
// in (one more in flight) or answers 429.
func (t *Tenant) limitLocked(mb *mailbox, clientID, request string) (*limitState, *failure) {
	ls := mb.limiter[clientID]
	if ls == nil {
		ls = &limitState{}
		mb.limiter[clientID] = ls
	}
	now := t.now()
	if now.Before(ls.notBefore) || (request != "" && now.Before(ls.refused[request])) {
		t.stats.early(mb)
	}
	lim := t.cfg.Limits
	if lim.MaxConcurrent > 0 && ls.inFlight >= lim.MaxConcurrent {
		f := t.throttleLocked(mb, clientID, http.StatusTooManyRequests, "MailboxConcurrency", "Application is over its MailboxConcurrency limit.", lim.ConcurrencyWait)
		if request != "" && f.retryAfter > 0 {
			ls.refuseLocked(request, now, now.Add(f.retryAfter))
		}
		return nil, f
	}
	if lim.WindowRequests > 0 {
		if ls.windowStart.IsZero() || !now.Before(ls.windowStart.Add(lim.Window)) {
			ls.windowStart, ls.windowCount = now, 0
		}
		if ls.windowCount >= lim.WindowRequests {
			wait := ls.windowStart.Add(lim.Window).Sub(now)
			return nil, t.throttleLocked(mb, clientID, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its resource limit.", wait)
		}
		ls.windowCount++
	}
	ls.inFlight++
	t.stats.inFlight(mb, ls.inFlight)
	return ls, nil
}

// refuseLocked remembers until when a refused request should stay away,
// forgetting the requests whose wait is over.
func (ls *limitState) refuseLocked(request string, now, until time.Time) {
	if ls.refused == nil {
		ls.refused = map[string]time.Time{}
	}
	if len(ls.refused) >= 256 {
		for k, nb := range ls.refused {
			if !now.Before(nb) {
				delete(ls.refused, k)
			}
		}
	}
	if until.After(ls.refused[request]) {
		ls.refused[request] = until
	}
}

// throttleLocked is a 429 (or 503) with Retry-After d, remembering until
// when the app should stay away from the mailbox.
func (t *Tenant) throttleLocked(mb *mailbox, clientID string, status int, code, message string, d time.Duration) *failure {
	f := failWith(status, code, message)
	if d > 0 {
		f.retryAfter = d
		// A MailboxConcurrency 429 is about the requests in flight: the
		// others may go on, and only the refused one waits (as Graph's
		// throttling guidance has it); any other holds the mailbox back.
		if code == "MailboxConcurrency" {
			return f
		}
		if ls, nb := mb.limiter[clientID], t.now().Add(d); ls != nil && nb.After(ls.notBefore) {
			ls.notBefore = nb
		}
	}
	return f
}

func (t *Tenant) retryAfterHeader(d time.Duration) string {
	switch t.cfg.Limits.RetryAfterStyle {
	case RetryAfterFractional:
		// Rounded up, so a client that waits exactly this long is never early.
		ms := (d + time.Millisecond - 1) / time.Millisecond
		return fmt.Sprintf("%d.%03d", ms/1000, ms%1000)
	case RetryAfterHTTPDate:
		return t.now().Add(d).Add(time.Second - 1).UTC().Format(http.TimeFormat)
	}
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}

// faultLocked applies a scripted or a random fault: the failure it
// answers with, or cut for a truncated $value that is still served.
func (t *Tenant) faultLocked(tok *accessToken, mb *mailbox, clientID string, route Route) (*failure, bool) {
	kind, ra := FaultKind(0), time.Duration(0)
	for i, f := range mb.faults {
		if (f.Route == "" || f.Route == route) && (f.Kind != FaultTruncate || route == RouteValue) {
			kind, ra = f.Kind, f.RetryAfter
			mb.faults = append(mb.faults[:i:i], mb.faults[i+1:]...)
			break
		}
	}
	if kind == 0 {
		kind = t.randomFaultLocked(mb, route)
	}
	if kind == 0 {
		return nil, false
	}
	if ra <= 0 {
		ra = t.cfg.Faults.RetryAfter
	}
	t.stats.fault(mb)
	switch kind {
	case FaultThrottle:
		return t.throttleLocked(mb, clientID, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.", ra), false
	case FaultTooManyObjectsOpened:
		return t.throttleLocked(mb, clientID, http.StatusTooManyRequests, "ErrorTooManyObjectsOpened", "Too many concurrent connections opened., Cannot open mailbox.", 0), false
	case FaultUnavailable:
		return t.throttleLocked(mb, clientID, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.", ra), false
	case FaultUnauthorized:
		tok.revoked = true
		return tokenRevoked(), false
	case FaultServerError:
		return failWith(http.StatusInternalServerError, "generalException", "An unspecified error has occurred."), false
	case FaultBadGateway:
		return failWith(http.StatusBadGateway, "BadGateway", "The gateway received an invalid response."), false
	case FaultGatewayTimeout:
		return failWith(http.StatusGatewayTimeout, "GatewayTimeout", "The request timed out at the gateway."), false
	case FaultReset:
		return &failure{reset: true}, false
	}
	return nil, true // FaultTruncate
}

func (t *Tenant) randomFaultLocked(mb *mailbox, route Route) FaultKind {
	fr := t.cfg.Faults
	if mb.storm > 0 {
		mb.storm--
		return FaultThrottle
	}
	if fr.Throttle+fr.Unavailable+fr.ServerError+fr.BadGateway+fr.GatewayTimeout+fr.Reset+fr.Truncate+fr.Unauthorized <= 0 {
		return 0
	}
	mb.faultN++
	u := unit(mix(uint64(t.cfg.Seed), uint64(mb.idx), mb.faultN, 0xfa))
	for _, c := range []struct {
		p float64
		k FaultKind
	}{
		{fr.Throttle, FaultThrottle}, {fr.Unavailable, FaultUnavailable}, {fr.ServerError, FaultServerError},
		{fr.BadGateway, FaultBadGateway}, {fr.GatewayTimeout, FaultGatewayTimeout}, {fr.Reset, FaultReset},
		{fr.Truncate, FaultTruncate}, {fr.Unauthorized, FaultUnauthorized},
	} {
		if u < c.p {
			if c.k == FaultTruncate && route != RouteValue {
				return 0
			}
			if c.k == FaultThrottle {
				mb.storm = t.cfg.Faults.StormLength - 1
			}
			return c.k
		}
		u -= c.p
	}
	return 0
}

// holdAndDelay waits while h (if any) holds the mailbox's requests, then
// for the configured latency; it reports false when ctx ends first.
func (t *Tenant) holdAndDelay(ctx context.Context, h *Hold) bool {
	if h != nil {
		select {
		case <-h.released:
		default:
			h.enter()
			select {
			case <-h.released:
			case <-ctx.Done():
				return false
			}
		}
	}
	if d := t.cfg.Latency; d > 0 {
		select {
		case <-t.clock.After(d):
		case <-ctx.Done():
			return false
		}
	}
	return true
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

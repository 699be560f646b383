package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// jobj is a JSON object that keeps its keys in the order Graph writes them.
type jobj []jkv

type jkv struct {
	k string
	v any
}

func (o jobj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(kv.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// statusWriter remembers the status sent, for the counters.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// request is one request being served.
type request struct {
	t         *Tenant
	w         *statusWriter
	r         *http.Request
	requestID string
	clientReq string
	route     Route
	userKey   string
	mb        *mailbox
	app       *app
	token     *accessToken
}

func (q *request) base() string {
	scheme := "http"
	if q.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + q.r.Host
}

func (q *request) graphBase() string { return q.base() + "/v1.0" }

func (q *request) writeJSON(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"generalException","message":"the simulator could not encode its answer"}}`)
	}
	h := q.w.Header()
	h.Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	q.w.WriteHeader(status)
	_, _ = q.w.Write(b)
}

// fail answers with Graph's error body.
func (q *request) fail(status int, code, message string) {
	q.writeJSON(status, jobj{{"error", jobj{
		{"code", code},
		{"message", message},
		{"innerError", jobj{
			{"date", q.t.now().UTC().Format("2006-01-02T15:04:05")},
			{"request-id", q.requestID},
			{"client-request-id", q.clientReq},
		}},
	}}})
}

func (t *Tenant) newRequestID() string {
	t.mu.Lock()
	t.reqSeq++
	n := t.reqSeq
	t.mu.Unlock()
	return guid(mix(uint64(t.cfg.Seed), n, 11), mix(uint64(t.cfg.Seed), n, 12))
}

// splitPath splits an escaped path into unescaped segments, so that an
// escaped "/" inside an ID stays inside its segment. OData key syntax,
// mailFolders('id'), becomes two segments.
func splitPath(escaped string) ([]string, bool) {
	var out []string
	for _, s := range strings.Split(strings.Trim(escaped, "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		if i := strings.Index(u, "('"); i > 0 && strings.HasSuffix(u, "')") {
			out = append(out, u[:i], u[i+2:len(u)-2])
			continue
		}
		out = append(out, u)
	}
	return out, true
}

// ServeHTTP serves Graph (/v1.0/...), login (/{tenant}/oauth2/v2.0/token)
// and simulator control (/_sim/...) routes.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := &request{t: t, w: &statusWriter{ResponseWriter: w}, r: r, requestID: t.newRequestID(), route: RouteOther}
	q.clientReq = r.Header.Get("client-request-id")
	if q.clientReq == "" {
		q.clientReq = q.requestID
	}
	h := w.Header()
	h.Set("request-id", q.requestID)
	h.Set("client-request-id", q.clientReq)
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		q.fail(http.StatusBadRequest, "BadRequest", "The request path is not correctly escaped.")
		return
	}
	switch {
	case len(segs) >= 1 && segs[0] == "_sim":
		t.serveSim(q, segs[1:])
		return
	case len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "v2.0") && strings.EqualFold(segs[3], "token"):
		q.route = RouteToken
		defer t.stats.record(q)
		t.serveToken(q, segs[0])
		return
	case len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "v2.0") && strings.EqualFold(segs[3], "devicecode"):
		q.route = RouteDeviceCode
		defer t.stats.record(q)
		t.serveDeviceCode(q, segs[0])
		return
	case len(segs) == 1 && segs[0] == "devicelogin":
		q.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(q.w, "This is a simulated tenant: device code sign-ins are approved or denied by the test that runs it (Tenant.ApproveDeviceCodes), not here.\n")
		return
	case len(segs) >= 1 && segs[0] == "v1.0":
		defer t.stats.record(q)
		t.serveGraph(q, segs[1:])
		return
	}
	q.fail(http.StatusNotFound, "NotFound", "The simulator serves /v1.0/..., /{tenant}/oauth2/v2.0/token and /_sim/... only.")
}

func eq(a, b string) bool { return strings.EqualFold(a, b) }

// graphRoute is a parsed Graph path.
type graphRoute struct {
	route    Route
	userKey  string
	folder   string // "" when the path names no folder
	message  string
	inFolder bool
}

func parseGraphRoute(segs []string) (graphRoute, bool) {
	var g graphRoute
	if len(segs) == 0 || !eq(segs[0], "users") {
		return g, false
	}
	if len(segs) == 1 {
		g.route = RouteUsers
		return g, true
	}
	g.userKey = segs[1]
	rest := segs[2:]
	if len(rest) == 0 {
		g.route = RouteUser
		return g, true
	}
	switch {
	case eq(rest[0], "mailFolders"):
		if len(rest) == 1 {
			g.route = RouteMailFolders
			return g, true
		}
		if len(rest) == 2 && isDelta(rest[1]) {
			g.route = RouteFolderDelta
			return g, true
		}
		g.folder, g.inFolder = rest[1], true
		rest = rest[2:]
		if len(rest) == 0 {
			g.route = RouteMailFolder
			return g, true
		}
		if eq(rest[0], "childFolders") && len(rest) == 1 {
			g.route = RouteChildFolders
			return g, true
		}
		if !eq(rest[0], "messages") {
			return g, false
		}
	case eq(rest[0], "messages"):
	default:
		return g, false
	}
	rest = rest[1:]
	switch {
	case len(rest) == 0:
		g.route = RouteMessages
	case len(rest) == 1 && isDelta(rest[0]) && g.inFolder:
		g.route = RouteDelta
	case len(rest) == 1:
		g.route, g.message = RouteMessage, rest[0]
	case len(rest) == 2 && eq(rest[1], "$value"):
		g.route, g.message = RouteValue, rest[0]
	default:
		return g, false
	}
	return g, true
}

// isDelta matches the delta function as clients write it: "delta",
// "delta()" (the SDK's form) or "microsoft.graph.delta()".
func isDelta(seg string) bool {
	seg = strings.TrimSuffix(seg, "()")
	return eq(seg, "delta") || eq(seg, "microsoft.graph.delta")
}

func (t *Tenant) serveGraph(q *request, segs []string) {
	if !t.authenticate(q) {
		return
	}
	if len(segs) > 0 && eq(segs[0], "me") {
		if q.token.user == nil {
			q.fail(http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
			return
		}
		segs = append([]string{"users", q.token.user.ID}, segs[1:]...)
	}
	g, ok := parseGraphRoute(segs)
	if !ok {
		q.fail(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'. An ID with '/', '+' or '=' must be percent-encoded in the path.", strings.Join(segs, "/")))
		return
	}
	q.route, q.userKey = g.route, g.userKey
	if q.r.Method != http.MethodGet {
		q.fail(http.StatusMethodNotAllowed, "ErrorInvalidRequest", "The simulator serves only GET on Graph routes; use /_sim/... to change the tenant.")
		return
	}
	switch g.route {
	case RouteUsers:
		t.serveUserList(q)
		return
	case RouteUser:
		t.serveUser(q, g.userKey)
		return
	}
	mb, ok := t.admitMailbox(q, g.userKey)
	if !ok {
		return
	}
	q.mb = mb
	release, ok := t.limit(q)
	if !ok {
		return
	}
	defer release()
	if t.injectFault(q, g.message) {
		return
	}
	if !t.wait(q) {
		return
	}
	switch g.route {
	case RouteMailFolders:
		t.serveFolderList(q, "", false)
	case RouteChildFolders:
		t.serveFolderList(q, g.folder, true)
	case RouteMailFolder:
		t.serveFolder(q, g.folder)
	case RouteMessages:
		t.serveMessageList(q, g.folder)
	case RouteDelta:
		t.serveDelta(q, g.folder)
	case RouteFolderDelta:
		t.serveFolderDelta(q)
	case RouteMessage:
		t.serveMessage(q, g.message)
	case RouteValue:
		t.serveValue(q, g.message, false)
	}
}

// admitMailbox resolves the mailbox a mailbox route names and checks the
// app may read it.
func (t *Tenant) admitMailbox(q *request, key string) (*mailbox, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.byKey[strings.ToLower(key)]
	if ok && !eq(key, u.ID) && !eq(key, u.UPN) && !eq(key, u.Mail) {
		ok = false // Exchange resolves the ID, the UPN and the primary SMTP address
	}
	if !ok {
		q.fail(http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", key))
		return nil, false
	}
	switch u.Kind {
	case NoMailbox, InactiveMailbox:
		q.fail(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
		return nil, false
	case OnPremisesMailbox:
		q.fail(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "REST API is not yet supported for this mailbox.")
		return nil, false
	}
	if me := q.token.user; me != nil {
		// Delegated: the user's own mailbox, or another one with Full
		// Access delegation and a .Shared scope.
		own := me == u && q.token.has("Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic")
		shared := u.mbx.fullAccess[me] && q.token.has("Mail.Read.Shared", "Mail.ReadWrite.Shared")
		if !own && !shared {
			q.fail(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
			return nil, false
		}
		return u.mbx, true
	}
	if !q.token.has("Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic.All", "Mail.ReadBasic") {
		q.fail(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		return nil, false
	}
	if q.app.denied[u.mbx] {
		q.fail(http.StatusForbidden, "ErrorAccessDenied", "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.")
		return nil, false
	}
	return u.mbx, true
}

// limitState is the throttling state of one (app, mailbox) pair.
type limitState struct {
	inFlight    int
	windowStart time.Time
	windowCount int
	notBefore   time.Time
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

// throttle answers 429 (or 503) with Retry-After and remembers until when
// the app should stay away from the mailbox. Call with t.mu held.
func (t *Tenant) throttleLocked(q *request, status int, code, message string, d time.Duration) {
	if d > 0 {
		q.w.Header().Set("Retry-After", t.retryAfterHeader(d))
		ls := q.mb.limiter[q.app.ClientID]
		if nb := t.now().Add(d); ls != nil && nb.After(ls.notBefore) {
			ls.notBefore = nb
		}
	}
	q.fail(status, code, message)
}

// limit enforces the per (app, mailbox) limits and returns the function
// that ends the request's admission.
func (t *Tenant) limit(q *request) (func(), bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := q.mb.limiter[q.app.ClientID]
	if ls == nil {
		ls = &limitState{}
		q.mb.limiter[q.app.ClientID] = ls
	}
	now := t.now()
	if now.Before(ls.notBefore) {
		t.stats.early(q.mb)
	}
	lim := t.cfg.Limits
	if lim.MaxConcurrent > 0 && ls.inFlight >= lim.MaxConcurrent {
		t.throttleLocked(q, http.StatusTooManyRequests, "MailboxConcurrency", "Application is over its MailboxConcurrency limit.", lim.ConcurrencyWait)
		return nil, false
	}
	if lim.WindowRequests > 0 {
		if ls.windowStart.IsZero() || !now.Before(ls.windowStart.Add(lim.Window)) {
			ls.windowStart, ls.windowCount = now, 0
		}
		if ls.windowCount >= lim.WindowRequests {
			wait := ls.windowStart.Add(lim.Window).Sub(now)
			t.throttleLocked(q, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its resource limit.", wait)
			return nil, false
		}
		ls.windowCount++
	}
	ls.inFlight++
	t.stats.inFlight(q.mb, ls.inFlight)
	return func() {
		t.mu.Lock()
		ls.inFlight--
		t.mu.Unlock()
	}, true
}

// wait applies the hold and the configured latency.
func (t *Tenant) wait(q *request) bool {
	t.mu.Lock()
	h := q.mb.hold
	t.mu.Unlock()
	return t.holdAndDelay(q.r.Context(), h)
}

// holdAndDelay waits while h (if any) holds the mailbox's requests, then
// for the configured latency; it reports false when ctx ends first. The
// HTTP routes and the in-process Source both wait here.
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

// injectFault applies a scripted or a random fault and reports whether it
// answered the request.
func (t *Tenant) injectFault(q *request, messageID string) bool {
	t.mu.Lock()
	mb := q.mb
	kind, ra := FaultKind(0), time.Duration(0)
	for i, f := range mb.faults {
		if (f.Route == "" || f.Route == q.route) && (f.Kind != FaultTruncate || q.route == RouteValue) {
			kind, ra = f.Kind, f.RetryAfter
			mb.faults = append(mb.faults[:i:i], mb.faults[i+1:]...)
			break
		}
	}
	if kind == 0 {
		kind = t.randomFaultLocked(q)
	}
	if ra <= 0 {
		ra = t.cfg.Faults.RetryAfter
	}
	if kind == 0 {
		t.mu.Unlock()
		return false
	}
	t.stats.fault(mb)
	switch kind {
	case FaultThrottle:
		t.throttleLocked(q, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.", ra)
	case FaultTooManyObjectsOpened:
		t.throttleLocked(q, http.StatusTooManyRequests, "ErrorTooManyObjectsOpened", "Too many concurrent connections opened., Cannot open mailbox.", 0)
	case FaultUnavailable:
		t.throttleLocked(q, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.", ra)
	case FaultUnauthorized:
		q.token.revoked = true
		t.mu.Unlock()
		q.w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
		q.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		return true
	default:
		t.mu.Unlock()
		switch kind {
		case FaultServerError:
			q.fail(http.StatusInternalServerError, "generalException", "An unspecified error has occurred.")
		case FaultBadGateway:
			q.fail(http.StatusBadGateway, "BadGateway", "The gateway received an invalid response.")
		case FaultGatewayTimeout:
			q.fail(http.StatusGatewayTimeout, "GatewayTimeout", "The request timed out at the gateway.")
		case FaultReset:
			resetConnection(q)
		case FaultTruncate:
			if !t.wait(q) {
				return true
			}
			t.serveValue(q, messageID, true)
		}
		return true
	}
	t.mu.Unlock()
	return true
}

func (t *Tenant) randomFaultLocked(q *request) FaultKind {
	fr := t.cfg.Faults
	mb := q.mb
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
			if c.k == FaultTruncate && q.route != RouteValue {
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

// resetConnection closes the connection with a TCP reset, sending nothing.
func resetConnection(q *request) {
	conn, _, err := http.NewResponseController(q.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// stats are the counters.
type stats struct {
	mu        sync.Mutex
	requests  int64
	byRoute   map[Route]int64
	byStatus  map[int]int64
	throttled int64
	mailboxes map[*mailbox]*MailboxCounters
}

func (s *stats) init() {
	s.byRoute = map[Route]int64{}
	s.byStatus = map[int]int64{}
	s.mailboxes = map[*mailbox]*MailboxCounters{}
}

func (s *stats) mbLocked(mb *mailbox) *MailboxCounters {
	c := s.mailboxes[mb]
	if c == nil {
		c = &MailboxCounters{ByRoute: map[Route]int64{}}
		s.mailboxes[mb] = c
	}
	return c
}

func (s *stats) record(q *request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.byRoute[q.route]++
	s.byStatus[q.w.status]++
	if q.w.status == http.StatusTooManyRequests {
		s.throttled++
	}
	if q.mb != nil {
		c := s.mbLocked(q.mb)
		c.Requests++
		c.ByRoute[q.route]++
		if q.w.status == http.StatusTooManyRequests {
			c.Throttled++
		}
		if q.route == RouteValue {
			c.ValueBytes += q.w.bytes
		}
	}
}

func (s *stats) early(mb *mailbox) {
	s.mu.Lock()
	s.mbLocked(mb).EarlyRetries++
	s.mu.Unlock()
}

func (s *stats) fault(mb *mailbox) {
	s.mu.Lock()
	s.mbLocked(mb).Faults++
	s.mu.Unlock()
}

func (s *stats) inFlight(mb *mailbox, n int) {
	s.mu.Lock()
	if c := s.mbLocked(mb); n > c.MaxInFlight {
		c.MaxInFlight = n
	}
	s.mu.Unlock()
}

// Counters returns a snapshot of the counters. A reset connection is
// counted under status 0.
func (t *Tenant) Counters() Counters {
	s := &t.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counters{Requests: s.requests, Throttled: s.throttled, ByRoute: map[Route]int64{}, ByStatus: map[int]int64{}, Mailboxes: map[string]MailboxCounters{}}
	for k, v := range s.byRoute {
		c.ByRoute[k] = v
	}
	for k, v := range s.byStatus {
		c.ByStatus[k] = v
	}
	for mb, mc := range s.mailboxes {
		cp := *mc
		cp.ByRoute = map[Route]int64{}
		for k, v := range mc.ByRoute {
			cp.ByRoute[k] = v
		}
		c.Mailboxes[mb.owner.Mail] = cp
	}
	return c
}

// ResetCounters zeroes the counters.
func (t *Tenant) ResetCounters() {
	t.stats.mu.Lock()
	defer t.stats.mu.Unlock()
	t.stats.requests, t.stats.throttled = 0, 0
	t.stats.init()
}

// Handler returns the tenant as an http.Handler.
func (t *Tenant) Handler() http.Handler { return t }

func sortedKeys[M ~map[K]V, K ~string, V any](m M) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

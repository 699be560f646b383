package graphsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// jobj is a JSON object that keeps its keys in the order Graph writes them.
type jobj []jkv

type jkv struct {
	k string
	v any
}

func (o jobj) MarshalJSON() ([]byte, error) { return appendJSON(nil, o) }

// appendJSON appends the JSON of v to b. Objects and arrays of the
// simulator's own are written here, each value once: encoding/json would
// validate and compact what every nested MarshalJSON returned again at
// each level, which was most of the simulator's time serving a delta page.
// Any other value is encoded by encoding/json, so the bytes are the same.
func appendJSON(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case jobj:
		b = append(b, '{')
		for i, kv := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, kv.k); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendJSON(b, kv.v); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []jobj:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, o := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, o); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
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
	b, err := appendJSON(nil, v)
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

// answer writes a failure as Graph does.
func (q *request) answer(f *failure) {
	switch {
	case f.left:
		return
	case f.reset:
		resetConnection(q)
		return
	case f.status == http.StatusUnauthorized:
		q.w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
	}
	if f.retryAfter > 0 {
		q.w.Header().Set("Retry-After", q.t.retryAfterHeader(f.retryAfter))
	}
	q.fail(f.status, f.code, f.message)
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
	adm, f := t.admit(q.r.Context(), q.token, q.app, g.userKey, g.route, q.r.Method+" "+q.r.URL.RequestURI())
	defer t.done(adm)
	q.mb = adm.mb
	if f != nil {
		q.answer(f)
		return
	}
	if adm.cut {
		t.serveValue(q, g.message, true)
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

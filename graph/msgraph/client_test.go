package msgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/entra"
	"github.com/collect-ediscovery/collect/internal/clock"
	"golang.org/x/oauth2"
)

// staticTokens hands out numbered tokens and counts the calls.
type staticTokens struct {
	mu sync.Mutex
	n  int
}

func (s *staticTokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return &oauth2.Token{AccessToken: fmt.Sprintf("tok-%d", s.n), Expiry: time.Now().Add(time.Hour)}, nil
}

// recorder keeps every request a test server saw.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) add(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req.Clone(context.Background()))
}

func (r *recorder) all() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

func newTestClient(t *testing.T, h http.HandlerFunc) (*Client, *recorder, *staticTokens) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	toks := &staticTokens{}
	c, err := New(Config{BaseURL: srv.URL, Tokens: toks, Version: "0.1.0", PageSize: 3,
		Retry: graph.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec, toks
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func graphError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": "says " + code,
		"innerError": map[string]any{"request-id": "rid-" + code}}})
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestEveryRequestCarriesCollectHeaders(t *testing.T) {
	c, rec, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/users/ann@contoso.test"):
			writeJSON(w, 200, map[string]any{"id": "U1", "userPrincipalName": "ann@contoso.test", "mail": "Ann@Contoso.test",
				"displayName": "Ann", "proxyAddresses": []string{"SMTP:Ann@Contoso.test", "smtp:a@contoso.test", "x500:/o=x"}})
		case strings.HasSuffix(r.URL.Path, "/users/U1/mailFolders/inbox"):
			writeJSON(w, 200, map[string]any{"id": "F1"})
		default:
			graphError(w, 400, "BadRequest")
		}
	})
	mb, err := c.ResolveMailbox(context.Background(), "ann@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	want := graph.Mailbox{ID: "U1", UserPrincipalName: "ann@contoso.test", Address: "ann@contoso.test", DisplayName: "Ann",
		Aliases: []string{"a@contoso.test"}, ResolvedVia: "upn"}
	if fmt.Sprint(mb) != fmt.Sprint(want) {
		t.Errorf("mailbox = %+v, want %+v", mb, want)
	}
	reqs := rec.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	ids := map[string]bool{}
	for _, r := range reqs {
		if got := r.Header.Get("Prefer"); !strings.Contains(got, `IdType="ImmutableId"`) {
			t.Errorf("%s: Prefer = %q", r.URL.Path, got)
		}
		if got := r.Header.Get("User-Agent"); got != "collect/0.1.0" {
			t.Errorf("%s: User-Agent = %q", r.URL.Path, got)
		}
		id := r.Header.Get("client-request-id")
		if !uuidRE.MatchString(id) || ids[id] {
			t.Errorf("%s: client-request-id %q is not a fresh UUID", r.URL.Path, id)
		}
		ids[id] = true
		if got := r.Header.Get("Authorization"); got != "Bearer tok-1" {
			t.Errorf("%s: Authorization = %q", r.URL.Path, got)
		}
		if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
			t.Errorf("path %q is not under /v1.0", r.URL.Path)
		}
	}
	if sel := reqs[0].URL.Query().Get("$select"); sel != "id,userPrincipalName,mail,displayName,proxyAddresses" {
		t.Errorf("$select = %q", sel)
	}
}

func TestResolveFallsBackToAliasSearch(t *testing.T) {
	c, rec, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1.0/users":
			if r.Header.Get("ConsistencyLevel") != "eventual" || r.URL.Query().Get("$count") != "true" {
				graphError(w, 400, "Request_UnsupportedQuery")
				return
			}
			if r.URL.Query().Get("$filter") != "proxyAddresses/any(x:x eq 'smtp:o''brien@contoso.test')" {
				writeJSON(w, 200, map[string]any{"value": []any{}})
				return
			}
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "U2", "userPrincipalName": "ob@contoso.test",
				"mail": "ob@contoso.test", "proxyAddresses": []string{"SMTP:ob@contoso.test", "smtp:o'brien@contoso.test"}}}})
		case strings.HasSuffix(r.URL.Path, "/mailFolders/inbox"):
			writeJSON(w, 200, map[string]any{"id": "F"})
		default:
			graphError(w, 404, "Request_ResourceNotFound")
		}
	})
	mb, err := c.ResolveMailbox(context.Background(), "o'brien@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	if mb.ID != "U2" || mb.ResolvedVia != "alias" {
		t.Errorf("mailbox = %+v", mb)
	}
	_, err = c.ResolveMailbox(context.Background(), "nobody@contoso.test")
	if graph.KindOf(err) != graph.KindNotFound || !strings.Contains(err.Error(), "nobody@contoso.test") {
		t.Errorf("unknown address: %v", err)
	}
	if n := len(rec.all()); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
}

func TestDeltaFollowsLinksAndReportsRemovals(t *testing.T) {
	var base string
	c, rec, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			if r.URL.Query().Get("$deltatoken") == "old" {
				graphError(w, 410, "SyncStateNotFound")
				return
			}
			writeJSON(w, 200, map[string]any{
				"@odata.nextLink": base + "/v1.0/users/U1/mailFolders/F1/messages/delta?$skiptoken=p%2B2",
				"value": []any{
					map[string]any{"id": "M1", "subject": "one", "isDraft": false, "receivedDateTime": "2024-05-01T10:00:00Z",
						"from": map[string]any{"emailAddress": map[string]any{"address": "x@y.test"}}},
					map[string]any{"id": "M0", "@removed": map[string]any{"reason": "deleted"}},
				}})
		case "p+2":
			writeJSON(w, 200, map[string]any{
				"@odata.deltaLink": base + "/v1.0/users/U1/mailFolders/F1/messages/delta?$deltatoken=next",
				"value": []any{map[string]any{"id": "M2", "isDraft": true, "internetMessageId": "<m2@x>"},
					map[string]any{"id": "M3", "@removed": map[string]any{"reason": "changed"}}}})
		}
	})
	base = c.base
	mb := graph.Mailbox{ID: "U1"}
	var pages []graph.DeltaPage
	cursor, err := c.Delta(context.Background(), mb, graph.Folder{ID: "F1"}, "", func(p graph.DeltaPage) error {
		pages = append(pages, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cursor != base+"/v1.0/users/U1/mailFolders/F1/messages/delta?$deltatoken=next" {
		t.Errorf("cursor = %q", cursor)
	}
	if len(pages) != 2 || len(pages[0].Messages) != 1 || pages[0].Removed[0] != (graph.Removal{ID: "M0", Reason: "deleted"}) ||
		pages[1].Removed[0] != (graph.Removal{ID: "M3", Reason: "changed"}) || !pages[1].Messages[0].IsDraft {
		t.Fatalf("pages = %+v", pages)
	}
	m1 := pages[0].Messages[0]
	if m1.From != "x@y.test" || m1.Subject != "one" || !m1.Received.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("M1 = %+v", m1)
	}
	reqs := rec.all()
	for _, r := range reqs {
		if !strings.Contains(r.Header.Get("Prefer"), "odata.maxpagesize=3") || !strings.Contains(r.Header.Get("Prefer"), `IdType="ImmutableId"`) {
			t.Errorf("Prefer = %q", r.Header.Get("Prefer"))
		}
		if r.URL.Query().Has("$filter") {
			t.Errorf("delta request with $filter: %s", r.URL)
		}
	}
	if got := reqs[0].URL.Query().Get("$select"); !strings.Contains(got, "internetMessageId") || !strings.Contains(got, "parentFolderId") {
		t.Errorf("$select = %q", got)
	}
	if reqs[1].URL.RawQuery != "$skiptoken=p%2B2" && reqs[1].URL.RawQuery != "%24skiptoken=p%2B2" {
		t.Errorf("nextLink not followed verbatim: %q", reqs[1].URL.RawQuery)
	}

	_, err = c.Delta(context.Background(), mb, graph.Folder{ID: "F1"}, base+"/v1.0/users/U1/mailFolders/F1/messages/delta?$deltatoken=old", func(graph.DeltaPage) error { return nil })
	if graph.KindOf(err) != graph.KindSyncStateGone {
		t.Errorf("stale cursor: %v", err)
	}
	var ge *graph.Error
	if errors.As(err, &ge) && (ge.Op != "delta" || ge.RequestID != "rid-SyncStateNotFound") {
		t.Errorf("error = %+v", ge)
	}

	// A cursor pointing elsewhere never receives the token.
	before := len(rec.all())
	_, err = c.Delta(context.Background(), mb, graph.Folder{ID: "F1"}, "https://evil.example/v1.0/x?$deltatoken=1", func(graph.DeltaPage) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "refusing to send credentials") {
		t.Errorf("foreign cursor: %v", err)
	}
	if len(rec.all()) != before {
		t.Errorf("a request was sent for a foreign cursor")
	}
}

func TestFetchMIMEEscapesIDsAndDetectsTruncation(t *testing.T) {
	const id = "AAMk/a+b=="
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	c, rec, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if r.URL.Query().Get("cut") != "" || strings.Contains(r.URL.EscapedPath(), "cut") {
			w.WriteHeader(200)
			w.Write(body[:len(body)/2])
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.Flush()
			conn.Close()
			return
		}
		w.Write(body)
	})
	mb := graph.Mailbox{ID: "U1"}
	var out bytes.Buffer
	n, err := c.FetchMIME(context.Background(), mb, id, &out)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(body)) || !bytes.Equal(out.Bytes(), body) {
		t.Errorf("got %d bytes, want %d identical", n, len(body))
	}
	if got := rec.all()[0].URL.EscapedPath(); got != "/v1.0/users/U1/messages/AAMk%2Fa%2Bb%3D%3D/$value" {
		t.Errorf("escaped path = %q", got)
	}

	out.Reset()
	n, err = c.FetchMIME(context.Background(), mb, "cut", &out)
	if graph.KindOf(err) != graph.KindTransient {
		t.Fatalf("truncated body: n=%d err=%v, want a transient error", n, err)
	}
	if c.transport.Limiter().InFlight("u1") != 0 {
		t.Errorf("mailbox slot leaked after a cut body")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFetchMIMEWriterFailureIsNotTransient(t *testing.T) {
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "From: a\r\n\r\nhi")
	})
	_, err := c.FetchMIME(context.Background(), graph.Mailbox{ID: "U1"}, "M", failingWriter{})
	if graph.KindOf(err) != graph.KindOther || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("writer failure: %v", err)
	}
}

// A page that is not a whole page of messages is an error of the round,
// never an empty round.
func TestDeltaPageNotWhole(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want graph.Kind
	}{
		{"empty body", "", graph.KindTransient},
		{"cut short", `{"value":[{"id":"M1","subject":"on`, graph.KindTransient},
		{"item without id", `{"value":[{"subject":"x"}],"@odata.deltaLink":"d"}`, graph.KindOther},
		{"no link", `{"value":[]}`, graph.KindTransient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tc.body)
			})
			pages := 0
			cursor, err := c.Delta(context.Background(), graph.Mailbox{ID: "U1"}, graph.Folder{ID: "F"}, "", func(graph.DeltaPage) error {
				pages++
				return nil
			})
			if graph.KindOf(err) != tc.want || cursor != "" {
				t.Errorf("cursor %q, error %v (kind %v), want kind %v", cursor, err, graph.KindOf(err), tc.want)
			}
			if tc.name != "no link" && pages != 0 {
				t.Errorf("%d pages handed on from a malformed answer", pages)
			}
		})
	}
}

func TestExpiredTokenIsRefreshed(t *testing.T) {
	c, rec, toks := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			graphError(w, 401, "InvalidAuthenticationToken")
			return
		}
		writeJSON(w, 200, map[string]any{"value": []any{}, "@odata.deltaLink": "http://" + r.Host + "/v1.0/d?$deltatoken=1"})
	})
	_, err := c.Delta(context.Background(), graph.Mailbox{ID: "U1"}, graph.Folder{ID: "F"}, "", func(graph.DeltaPage) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if toks.n != 2 || len(rec.all()) != 2 {
		t.Errorf("token fetches %d, requests %d; want 2 and 2", toks.n, len(rec.all()))
	}
}

func TestBaseURLChecks(t *testing.T) {
	for raw, ok := range map[string]bool{
		"":                                    true,
		"https://graph.microsoft.us":          true,
		"https://graph.microsoft.com/v1.0/":   true,
		"http://127.0.0.1:8080":               true,
		"http://localhost:1":                  true,
		"http://[::1]:9":                      true,
		"http://graph.example.com":            false,
		"ftp://graph.example.com":             false,
		"https://graph.example.com/?x=1":      false,
		"graph.microsoft.com":                 false,
		"https://user:pw@graph.microsoft.com": false,
	} {
		_, err := New(Config{BaseURL: raw, Tokens: &staticTokens{}})
		if (err == nil) != ok {
			t.Errorf("New(BaseURL %q): err = %v, want ok=%v", raw, err, ok)
		}
	}
}

func TestDebugLogCarriesNoSecrets(t *testing.T) {
	var logBuf bytes.Buffer
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", "rid-42")
		graphError(w, 403, "ErrorAccessDenied")
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, Tokens: &staticTokens{}, Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logBuf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListFolders(context.Background(), graph.Mailbox{ID: "U1"})
	if graph.KindOf(err) != graph.KindAccessDenied {
		t.Fatalf("kind %v (%v)", graph.KindOf(err), err)
	}
	mu.Lock()
	out := logBuf.String()
	mu.Unlock()
	if !strings.Contains(out, "status=403") || !strings.Contains(out, "rid-42") || !strings.Contains(out, "mailbox=u1") {
		t.Errorf("debug log lacks the request: %s", out)
	}
	for _, secret := range []string{"tok-1", "Bearer", "Authorization"} {
		if strings.Contains(out, secret) {
			t.Errorf("debug log contains %q: %s", secret, out)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestTokenEndpointHiccupIsRetried(t *testing.T) {
	var mu sync.Mutex
	tokenCalls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			mu.Lock()
			tokenCalls++
			n := tokenCalls
			mu.Unlock()
			if n == 1 {
				w.Header().Set("Retry-After", "3")
				writeJSON(w, 503, map[string]any{"error": "temporarily_unavailable", "error_description": "AADSTS90033: A transient error has occurred.", "trace_id": "tr-9"})
				return
			}
			writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": "AT", "expires_in": 3599})
			return
		}
		if r.Header.Get("Authorization") != "Bearer AT" {
			graphError(w, 401, "InvalidAuthenticationToken")
			return
		}
		writeJSON(w, 200, map[string]any{"value": []any{}})
	}))
	defer srv.Close()
	toks, err := entra.ClientCredentials(srv.URL, "t", "c", "s", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewJumping(time.Now())
	c, err := New(Config{BaseURL: srv.URL, Tokens: toks, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListFolders(context.Background(), graph.Mailbox{ID: "U1"}); err != nil {
		t.Fatalf("ListFolders after a token hiccup: %v", err)
	}
	if waits := clk.Waits(); tokenCalls != 2 || len(waits) == 0 || waits[0] != 3*time.Second {
		t.Errorf("token calls %d, waits %v; want 2 calls and a 3s wait first", tokenCalls, waits)
	}
}

package graph

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

type step struct {
	status int
	header map[string]string
	body   string
	err    error
}

// scripted answers attempts from a script and records when each came.
// t0 is when the fake clocks of these tests start.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type scripted struct {
	mu    sync.Mutex
	steps []step
	reqs  []*http.Request
	at    []time.Time
	clock clock.Clock
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	s.at = append(s.at, s.clock.Now())
	if len(s.steps) == 0 {
		return nil, errors.New("script exhausted")
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	if st.err != nil {
		return nil, st.err
	}
	h := http.Header{}
	for k, v := range st.header {
		h.Set(k, v)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	return &http.Response{StatusCode: st.status, Header: h, Body: io.NopCloser(strings.NewReader(st.body)),
		ContentLength: int64(len(st.body)), Request: req}, nil
}

func graphErr(code string) string {
	return fmt.Sprintf(`{"error":{"code":%q,"message":"m-%s","innerError":{"request-id":"rid-%s"}}}`, code, code, code)
}

func get(t *testing.T, ctx context.Context, rt http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rt.RoundTrip(req)
}

const mbURL = "https://graph.example/v1.0/users/MB1/mailFolders/inbox/messages/delta"

func TestRetryAfterIsObeyed(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"3", 3 * time.Second},
		{"2.128", 2128 * time.Millisecond},
		{"Sat, 01 Mar 2025 12:00:07 GMT", 7 * time.Second},
	} {
		t.Run(tc.header, func(t *testing.T) {
			clk := clock.NewJumping(t0)
			s := &scripted{clock: clk, steps: []step{
				{status: 429, header: map[string]string{"Retry-After": tc.header}, body: graphErr("ApplicationThrottled")},
				{status: 200, body: `{"value":[]}`},
			}}
			tr := NewTransport(TransportConfig{Next: s, Clock: clk})
			resp, err := get(t, context.Background(), tr, mbURL)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			resp.Body.Close()
			if len(s.at) != 2 {
				t.Fatalf("attempts = %d, want 2", len(s.at))
			}
			if gap := s.at[1].Sub(s.at[0]); gap < tc.want {
				t.Errorf("retried after %v, server asked for %v", gap, tc.want)
			}
			st := tr.Stats()
			if st.Requests != 2 || st.Retries != 1 || st.Throttled != 1 {
				t.Errorf("stats = %+v", st)
			}
			if st.ThrottledTime["mb1"] != tc.want {
				t.Errorf("throttled time of mb1 = %v, want %v", st.ThrottledTime["mb1"], tc.want)
			}
		})
	}
}

func TestBackoffIsBoundedAndClassified(t *testing.T) {
	clk := clock.NewJumping(t0)
	var steps []step
	for range 10 {
		steps = append(steps, step{status: 503, body: graphErr("serviceNotAvailable")})
	}
	s := &scripted{clock: clk, steps: steps}
	tr := NewTransport(TransportConfig{Next: s, Clock: clk, Jitter: func() float64 { return 0.5 },
		Retry: RetryPolicy{MaxAttempts: 4, BaseDelay: time.Second, MaxDelay: 3 * time.Second}})
	_, err := get(t, context.Background(), tr, mbURL)
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v is not a *graph.Error", err)
	}
	if ge.Kind != KindTransient || ge.Status != 503 || ge.Code != "serviceNotAvailable" || ge.RequestID != "rid-serviceNotAvailable" {
		t.Errorf("error = %+v", ge)
	}
	if len(s.reqs) != 4 {
		t.Errorf("attempts = %d, want 4", len(s.reqs))
	}
	// Upper half of 1s, 2s, 4s capped at 3s, with jitter 0.5.
	want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 2250 * time.Millisecond}
	if got := clk.Waits(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestRetryStopsAtElapsedBudget(t *testing.T) {
	clk := clock.NewJumping(t0)
	s := &scripted{clock: clk, steps: []step{
		{status: 429, header: map[string]string{"Retry-After": "30"}, body: graphErr("MailboxConcurrency")},
	}}
	tr := NewTransport(TransportConfig{Next: s, Clock: clk, Retry: RetryPolicy{MaxElapsed: 10 * time.Second}})
	_, err := get(t, context.Background(), tr, mbURL)
	if KindOf(err) != KindThrottled {
		t.Fatalf("kind = %v (%v), want throttled", KindOf(err), err)
	}
	var ge *Error
	errors.As(err, &ge)
	if ge.RetryAfter != 30*time.Second {
		t.Errorf("RetryAfter = %v", ge.RetryAfter)
	}
	if len(s.reqs) != 1 || len(clk.Waits()) != 0 {
		t.Errorf("attempts %d, waits %v: a wait beyond the budget must not start", len(s.reqs), clk.Waits())
	}
}

func TestNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   step
		kind Kind
	}{
		{"access denied", step{status: 403, body: graphErr("ErrorAccessDenied")}, KindAccessDenied},
		{"not enabled", step{status: 404, body: graphErr("MailboxNotEnabledForRESTAPI")}, KindMailboxNotEnabled},
		{"user gone", step{status: 404, body: graphErr("ErrorInvalidUser")}, KindMailboxNotEnabled},
		{"sync gone", step{status: 410, body: graphErr("SyncStateNotFound")}, KindSyncStateGone},
		{"item gone", step{status: 404, body: graphErr("ErrorItemNotFound")}, KindNotFound},
		{"no body", step{status: 404, header: map[string]string{"request-id": "hdr-rid"}}, KindNotFound},
		{"dns", step{err: errors.New("dial tcp: lookup graph.example: no such host")}, KindOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewJumping(t0)
			s := &scripted{clock: clk, steps: []step{tc.st, {status: 200}}}
			tr := NewTransport(TransportConfig{Next: s, Clock: clk})
			_, err := get(t, context.Background(), tr, mbURL)
			if KindOf(err) != tc.kind {
				t.Fatalf("kind = %v (%v), want %v", KindOf(err), err, tc.kind)
			}
			if len(s.reqs) != 1 {
				t.Errorf("attempts = %d, want 1", len(s.reqs))
			}
			if tc.name == "no body" {
				var ge *Error
				errors.As(err, &ge)
				if ge.RequestID != "hdr-rid" {
					t.Errorf("request-id = %q, want the header's", ge.RequestID)
				}
			}
		})
	}
}

func TestConnectionResetIsRetried(t *testing.T) {
	clk := clock.NewJumping(t0)
	s := &scripted{clock: clk, steps: []step{
		{err: fmt.Errorf("read: %w", syscall.ECONNRESET)},
		{err: io.ErrUnexpectedEOF},
		{status: 200, body: `{}`},
	}}
	tr := NewTransport(TransportConfig{Next: s, Clock: clk})
	resp, err := get(t, context.Background(), tr, mbURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(s.reqs) != 3 {
		t.Errorf("attempts = %d, want 3", len(s.reqs))
	}
}

func TestUnreplayableBodyIsNotRetried(t *testing.T) {
	clk := clock.NewJumping(t0)
	s := &scripted{clock: clk, steps: []step{{status: 503, body: graphErr("x")}, {status: 200}}}
	tr := NewTransport(TransportConfig{Next: s, Clock: clk})
	req, _ := http.NewRequest(http.MethodPost, mbURL, io.NopCloser(strings.NewReader("payload")))
	req.GetBody = nil
	_, err := tr.RoundTrip(req)
	if KindOf(err) != KindTransient || len(s.reqs) != 1 {
		t.Fatalf("kind %v, attempts %d: want one transient attempt", KindOf(err), len(s.reqs))
	}
}

func TestExpiredTokenRefreshedOnce(t *testing.T) {
	clk := clock.NewJumping(t0)
	s := &scripted{clock: clk, steps: []step{
		{status: 401, body: graphErr("InvalidAuthenticationToken")},
		{status: 200, body: `{}`},
		{status: 401, body: graphErr("InvalidAuthenticationToken")},
		{status: 401, body: graphErr("InvalidAuthenticationToken")},
	}}
	refreshes := 0
	tr := NewTransport(TransportConfig{Next: s, Clock: clk, Reauthorize: func(r *http.Request) (*http.Request, error) {
		refreshes++
		n := r.Clone(r.Context())
		n.Header.Set("Authorization", fmt.Sprintf("Bearer fresh-%d", refreshes))
		return n, nil
	}})
	resp, err := get(t, context.Background(), tr, mbURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := s.reqs[1].Header.Get("Authorization"); got != "Bearer fresh-1" {
		t.Errorf("retry carried %q", got)
	}
	// A token refused twice is reported, not refreshed forever.
	_, err = get(t, context.Background(), tr, mbURL)
	if KindOf(err) != KindTokenExpired || refreshes != 2 || len(s.reqs) != 4 {
		t.Errorf("kind %v, refreshes %d, attempts %d", KindOf(err), refreshes, len(s.reqs))
	}
}

func TestCanceledWhileWaiting(t *testing.T) {
	clk := clock.NewFake(t0)
	s := &scripted{clock: clk, steps: []step{{status: 429, header: map[string]string{"Retry-After": "60"}, body: graphErr("x")}}}
	tr := NewTransport(TransportConfig{Next: s, Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := get(t, ctx, tr, mbURL)
		done <- err
	}()
	clk.NextWait() // the retry is waiting for Retry-After
	cancel()
	if err := <-done; KindOf(err) != KindCanceled {
		t.Fatalf("kind = %v (%v), want canceled", KindOf(err), err)
	}
}

func TestThrottlePausesOnlyThatMailbox(t *testing.T) {
	clk := clock.NewFake(t0)
	var mu sync.Mutex
	calls := map[string]int{}
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mb := MailboxOf(r.URL.EscapedPath())
		mu.Lock()
		calls[mb]++
		n := calls[mb]
		mu.Unlock()
		if mb == "a" && n == 1 {
			return throttledAnswer("ApplicationThrottled"), nil
		}
		return okAnswer(), nil
	})
	tr := NewTransport(TransportConfig{Next: next, Clock: clk})
	first := getInBackground(t, tr, "https://g.example/v1.0/users/A/messages/1/$value")
	if d := clk.NextWait(); d != 10*time.Second {
		t.Fatalf("first request waits %v, want 10s", d)
	}
	// Mailbox b is not held back by a's throttling.
	if _, err := get(t, context.Background(), tr, "https://g.example/v1.0/users/B/messages/1/$value"); err != nil {
		t.Fatalf("mailbox b: %v", err)
	}
	// Another request to a waits for the pause.
	second := make(chan error)
	go func() {
		_, err := get(t, context.Background(), tr, "https://g.example/v1.0/users/A/messages/2/$value")
		second <- err
	}()
	if d := clk.NextWait(); d != 10*time.Second {
		t.Fatalf("second request to a waits %v, want the remaining 10s", d)
	}
	mu.Lock()
	if calls["a"] != 1 {
		t.Errorf("mailbox a got %d requests during its pause", calls["a"])
	}
	mu.Unlock()
	clk.Advance(10 * time.Second)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

// throttledAnswer is a 429 with Retry-After: 10 and Graph's error code.
func throttledAnswer(code string) *http.Response {
	return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"10"}}, Body: io.NopCloser(strings.NewReader(graphErr(code)))}
}

func okAnswer() *http.Response {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader("{}"))}
}

// getInBackground sends a GET and gives its error when it is answered.
func getInBackground(t *testing.T, tr http.RoundTripper, url string) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := get(t, context.Background(), tr, url)
		done <- err
	}()
	return done
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestLimiterConcurrencyAndWindow(t *testing.T) {
	clk := clock.NewFake(t0)
	l := NewLimiter(Limits{Concurrency: 2, Requests: 3, Window: time.Minute}, clk)
	ctx := context.Background()
	r1, _ := l.Acquire(ctx, "m")
	r2, _ := l.Acquire(ctx, "m")
	got := make(chan func())
	go func() {
		r, _ := l.Acquire(ctx, "m")
		got <- r
	}()
	// Another mailbox is admitted while m is full.
	ro, err := l.Acquire(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	ro()
	select {
	case <-got:
		t.Fatal("a third request was admitted with two in flight")
	default:
	}
	r1()
	r3 := <-got
	if l.InFlight("m") != 2 {
		t.Errorf("in flight = %d", l.InFlight("m"))
	}
	r2()
	r3()
	// Three requests used the window: the fourth waits for the oldest to age out.
	go func() {
		r, _ := l.Acquire(ctx, "m")
		got <- r
	}()
	if d := clk.NextWait(); d != time.Minute {
		t.Fatalf("fourth request waits %v, want 1m", d)
	}
	clk.Advance(time.Minute)
	(<-got)()
}

func TestTruncatedJSONIsRetriedAndStreamHoldsSlot(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "$value") {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("MIME-Version: 1.0\r\n\r\nbody"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if first {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
			w.Write([]byte(`{"value":[`))
			conn, buf, _ := w.(http.Hijacker).Hijack()
			buf.Flush()
			conn.Close()
			return
		}
		w.Write([]byte(`{"value":[]}`))
	}))
	defer srv.Close()
	tr := NewTransport(TransportConfig{Next: srv.Client().Transport, Retry: RetryPolicy{BaseDelay: time.Millisecond}})
	resp, err := get(t, context.Background(), tr, srv.URL+"/v1.0/users/m/mailFolders/x/messages/delta")
	if err != nil {
		t.Fatalf("truncated page not recovered: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != `{"value":[]}` {
		t.Errorf("body = %q", b)
	}
	resp, err = get(t, context.Background(), tr, srv.URL+"/v1.0/users/m/messages/abc/$value")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Limiter().InFlight("m") != 1 {
		t.Errorf("a streaming body must hold its mailbox slot until read")
	}
	io.Copy(io.Discard, bufio.NewReader(resp.Body))
	resp.Body.Close()
	if tr.Limiter().InFlight("m") != 0 {
		t.Errorf("slot not released after the body was read")
	}
}

func TestMailboxOf(t *testing.T) {
	for path, want := range map[string]string{
		"/v1.0/users/ABC-1/mailFolders/inbox":                 "abc-1",
		"/v1.0/users/ann%40contoso.com/messages/x/$value":     "ann@contoso.com",
		"/v1.0/users/ann@contoso.com":                         "",
		"/v1.0/users":                                         "",
		"/v1.0/users('A1')/mailFolders('x')/messages/delta":   "a1",
		"/v1.0/me/mailfolders('AQMk')/messages/delta":         "me",
		"/beta/users/U2/mailFolders/AAMk%2Fx%3D/childFolders": "u2",
		"/v1.0/Users/U3/MailFolders":                          "u3",
	} {
		if got := MailboxOf(path); got != want {
			t.Errorf("MailboxOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"0":                             0,
		"10":                            10 * time.Second,
		" 2.128 ":                       2128 * time.Millisecond,
		"Sat, 01 Mar 2025 12:00:30 GMT": 30 * time.Second,
		"Sat, 01 Mar 2025 11:00:00 GMT": 0,
	} {
		got, ok := ParseRetryAfter(h, now)
		if !ok || got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v", h, got, ok, want)
		}
	}
	for _, bad := range []string{"", "soon", "-3", "NaN"} {
		if _, ok := ParseRetryAfter(bad, now); ok {
			t.Errorf("ParseRetryAfter(%q) accepted", bad)
		}
	}
}

func TestUnavailableWithRetryAfterIsThrottling(t *testing.T) {
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"5"}}}
	if e := ErrorFromResponse(resp, nil, time.Now()); e.Kind != KindThrottled || e.RetryAfter != 5*time.Second {
		t.Errorf("503 with Retry-After: %+v", e)
	}
	resp = &http.Response{StatusCode: 503, Header: http.Header{}}
	if e := ErrorFromResponse(resp, nil, time.Now()); e.Kind != KindTransient {
		t.Errorf("503 without Retry-After: %+v", e)
	}
}

func TestLimiterForgetsIdleMailboxes(t *testing.T) {
	clk := clock.NewFake(t0)
	l := NewLimiter(Limits{Window: time.Minute}, clk)
	l.Pause("throttled", clk.Now().Add(time.Second))
	for i := range 5000 {
		r, err := l.Acquire(context.Background(), fmt.Sprintf("mb%d", i))
		if err != nil {
			t.Fatal(err)
		}
		r()
		if i == 2000 {
			clk.Advance(2 * time.Minute) // the first 2,001 mailboxes' windows expire
		}
	}
	l.mu.Lock()
	n := len(l.mailboxes)
	l.mu.Unlock()
	if n > 3100 {
		t.Errorf("%d mailboxes remembered after most went idle", n)
	}
	if got := l.throttledTime()["throttled"]; got != time.Second {
		t.Errorf("throttled time %v survived the sweep as %v, want 1s", time.Second, got)
	}
}

// A request waiting to be retried is listed in the stats, with what it
// waits for, until it is sent again.
func TestWaitingRetriesAreListed(t *testing.T) {
	clk := clock.NewFake(t0)
	s := &scripted{clock: clk, steps: []step{
		{status: 503, header: map[string]string{"Retry-After": "30"}, body: graphErr("ServiceUnavailable")},
		{status: 200, body: `{"value":[]}`},
	}}
	tr := NewTransport(TransportConfig{Next: s, Clock: clk})
	done := make(chan error)
	go func() {
		resp, err := get(t, context.Background(), tr, mbURL)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	clk.NextWait()
	w := tr.Stats().Waiting
	if len(w) != 1 {
		t.Fatalf("waiting = %+v, want one request", w)
	}
	if w[0].Mailbox != "mb1" || w[0].Status != 503 || w[0].Attempt != 2 || w[0].Until.Sub(clk.Now()) != 30*time.Second {
		t.Errorf("waiting = %+v, want mb1 on 503, attempt 2, in 30s", w[0])
	}
	clk.Advance(30 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w := tr.Stats().Waiting; len(w) != 0 {
		t.Errorf("still waiting after the retry: %+v", w)
	}
}

// TestMailboxConcurrencyHoldsOnlyThatRequest: a 429 MailboxConcurrency is
// about the requests in flight, so the refused request waits its
// Retry-After while the mailbox's other requests go on; ApplicationThrottled
// (TestThrottlePausesOnlyThatMailbox) holds the whole mailbox.
func TestMailboxConcurrencyHoldsOnlyThatRequest(t *testing.T) {
	clk := clock.NewFake(t0)
	var mu sync.Mutex
	var paths []string
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		n := len(paths)
		mu.Unlock()
		if n == 1 {
			return throttledAnswer("MailboxConcurrency"), nil
		}
		return okAnswer(), nil
	})
	tr := NewTransport(TransportConfig{Next: next, Clock: clk})
	first := getInBackground(t, tr, "https://g.example/v1.0/users/A/messages/1/$value")
	if d := clk.NextWait(); d != 10*time.Second {
		t.Fatalf("the refused request waits %v, want its Retry-After of 10s", d)
	}
	// The same mailbox's next request is not held back.
	if _, err := get(t, context.Background(), tr, "https://g.example/v1.0/users/A/messages/2/$value"); err != nil {
		t.Fatalf("second request to a: %v", err)
	}
	mu.Lock()
	if len(paths) != 2 || !strings.HasSuffix(paths[1], "/messages/2/$value") {
		t.Errorf("requests before the Retry-After elapsed: %v, want the refused one and the second", paths)
	}
	mu.Unlock()
	clk.Advance(10 * time.Second)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 3 || !strings.HasSuffix(paths[2], "/messages/1/$value") {
		t.Errorf("requests: %v, want the refused one retried last", paths)
	}
	st := tr.Stats()
	if st.Throttled != 1 || st.Retries != 1 || st.ThrottledTime["a"] != 0 {
		t.Errorf("stats = %+v, want one throttled answer, one retry, no time the mailbox was paused", st)
	}
}

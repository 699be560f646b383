package graphsim

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

func TestConcurrencyLimit(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 31}, 3)
	hold, err := s.tn.HoldRequests(mb)
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1.0/users/" + mb + "/mailFolders/" + esc(inbox)
	var wg sync.WaitGroup
	statuses := make(chan int, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.do(path)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	hold.Wait(4)
	status, h, body := s.get(path)
	wantError(t, status, h, body, 429, "MailboxConcurrency")
	if h.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
	// Another app on the same mailbox has its own limit.
	if err := s.tn.AddApp(AppSpec{ClientID: "second", ClientSecret: "s"}); err != nil {
		t.Fatal(err)
	}
	first := s.token
	_, _, tb := s.postForm("/"+s.tn.Credentials().TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"second"}, "client_secret": {"s"}, "scope": {"https://graph.microsoft.com/.default"}})
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(t, tb, &tr)
	s.token = tr.AccessToken
	second := make(chan int, 1)
	go func() {
		// Admitted, so held like the first app's four.
		resp, err := s.do(path)
		if err != nil {
			second <- 0
			return
		}
		resp.Body.Close()
		second <- resp.StatusCode
	}()
	entered := make(chan struct{})
	go func() { hold.Wait(5); close(entered) }()
	select {
	case <-entered:
	case st := <-second:
		t.Fatalf("the second app was answered %d while the first was at its limit", st)
	}
	s.token = first
	// Another mailbox is not affected.
	_, _ = s.tn.AddUser(UserSpec{UPN: "bob@sim.collect.invalid"})
	if status, _, body := s.get("/v1.0/users/bob@sim.collect.invalid/mailFolders/inbox"); status != 200 {
		t.Fatalf("other mailbox: %d %s", status, body)
	}
	hold.Release()
	wg.Wait()
	if st := <-second; st != 200 {
		t.Fatalf("second app: %d", st)
	}
	close(statuses)
	for st := range statuses {
		if st != 200 {
			t.Fatalf("held request answered %d", st)
		}
	}
	c := s.tn.Counters().Mailboxes[mb]
	if c.MaxInFlight != 4 || c.Throttled != 1 || c.Requests != 6 || c.EarlyRetries != 0 {
		t.Fatalf("counters %+v", c)
	}
	// Coming back before Retry-After elapsed is counted; after, it is not.
	s.get(path)
	s.clk.Advance(time.Second)
	s.get(path)
	if c := s.tn.Counters().Mailboxes[mb]; c.EarlyRetries != 1 {
		t.Fatalf("early retries %d, want 1", c.EarlyRetries)
	}
}

func TestWindowLimit(t *testing.T) {
	for _, style := range []RetryAfterStyle{RetryAfterSeconds, RetryAfterFractional, RetryAfterHTTPDate} {
		s, mb, _ := mailTenant(t, Config{Seed: 32, Limits: Limits{WindowRequests: 5, Window: time.Minute, RetryAfterStyle: style}}, 1)
		path := "/v1.0/users/" + mb + "/mailFolders/inbox"
		for i := 0; i < 5; i++ {
			if status, _, body := s.get(path); status != 200 {
				t.Fatalf("request %d: %d %s", i, status, body)
			}
			s.clk.Advance(500 * time.Millisecond)
		}
		status, h, body := s.get(path)
		wantError(t, status, h, body, 429, "ApplicationThrottled")
		ra := h.Get("Retry-After")
		switch style {
		case RetryAfterSeconds:
			if ra != "58" {
				t.Fatalf("Retry-After %q, want 58", ra)
			}
		case RetryAfterFractional:
			if ra != "57.500" {
				t.Fatalf("Retry-After %q, want 57.500", ra)
			}
		case RetryAfterHTTPDate:
			at, err := http.ParseTime(ra)
			if err != nil || at.Sub(s.clk.Now()) < 57*time.Second || at.Sub(s.clk.Now()) > 59*time.Second {
				t.Fatalf("Retry-After %q: %v", ra, err)
			}
		}
		s.clk.Advance(57500 * time.Millisecond)
		if status, _, body := s.get(path); status != 200 {
			t.Fatalf("after the window: %d %s", status, body)
		}
		c := s.tn.Counters()
		if c.Throttled != 1 || c.Mailboxes[mb].Throttled != 1 || c.ByStatus[429] != 1 || c.ByRoute[RouteMailFolder] != 7 {
			t.Fatalf("counters %+v", c)
		}
	}
}

func TestScriptedFaults(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 33}, 2)
	refs, _ := s.tn.Messages(mb, inbox)
	value := "/v1.0/users/" + mb + "/messages/" + esc(refs[0].ID) + "/$value"
	folder := "/v1.0/users/" + mb + "/mailFolders/inbox"
	err := s.tn.InjectFaults(mb,
		Fault{Kind: FaultTruncate, Route: RouteValue},
		Fault{Kind: FaultReset, Route: RouteMailFolder},
		Fault{Kind: FaultUnavailable, RetryAfter: 3 * time.Second},
		Fault{Kind: FaultServerError},
		Fault{Kind: FaultBadGateway},
		Fault{Kind: FaultGatewayTimeout},
		Fault{Kind: FaultThrottle},
		Fault{Kind: FaultTooManyObjectsOpened},
		Fault{Kind: FaultUnauthorized},
	)
	if err != nil {
		t.Fatal(err)
	}
	// Truncated: the full length is announced, fewer bytes arrive.
	resp, err := s.do(value)
	if err != nil {
		t.Fatal(err)
	}
	got, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(rerr, io.ErrUnexpectedEOF) || resp.ContentLength != refs[0].Size || int64(len(got)) >= refs[0].Size {
		t.Fatalf("truncation: read %d of %d, err %v", len(got), resp.ContentLength, rerr)
	}
	// Reset: no answer at all.
	if resp, err := s.do(folder); err == nil {
		resp.Body.Close()
		t.Fatalf("reset fault answered %d", resp.StatusCode)
	}
	status, h, body := s.get(folder)
	wantError(t, status, h, body, 503, "serviceNotAvailable")
	if h.Get("Retry-After") != "3" {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
	for _, want := range []struct {
		status int
		code   string
	}{{500, "generalException"}, {502, "BadGateway"}, {504, "GatewayTimeout"}, {429, "TooManyRequests"}, {429, "ErrorTooManyObjectsOpened"}} {
		s.clk.Advance(time.Minute)
		status, h, body := s.get(folder)
		wantError(t, status, h, body, want.status, want.code)
		if want.code == "ErrorTooManyObjectsOpened" && h.Get("Retry-After") != "" {
			t.Fatal("ErrorTooManyObjectsOpened came with Retry-After")
		}
	}
	// 401 mid-run: the token is rejected from now on; a new one works.
	status, h, body = s.get(folder)
	wantError(t, status, h, body, 401, "InvalidAuthenticationToken")
	status, h, body = s.get(folder)
	wantError(t, status, h, body, 401, "InvalidAuthenticationToken")
	s.token = s.fetchToken()
	if status, _, body := s.get(value); status != 200 || int64(len(body)) != refs[0].Size {
		t.Fatalf("after the faults: %d, %d bytes", status, len(body))
	}
	c := s.tn.Counters()
	if c.Mailboxes[mb].Faults != 9 || c.ByStatus[0] != 1 {
		t.Fatalf("counters %+v", c)
	}
	if err := s.tn.InjectFaults(mb, Fault{Kind: 99}); err == nil {
		t.Fatal("unknown fault kind accepted")
	}
}

// Random faults follow the seed: the same seed gives the same statuses.
func TestRandomFaultsAreSeeded(t *testing.T) {
	run := func(seed int64) string {
		s, mb, _ := mailTenant(t, Config{Seed: seed, Faults: FaultRates{Throttle: 0.1, ServerError: 0.1, Unavailable: 0.05, StormLength: 3}}, 1)
		var out []string
		for i := 0; i < 60; i++ {
			s.clk.Advance(time.Minute)
			status, _, _ := s.get("/v1.0/users/" + mb + "/mailFolders/inbox")
			out = append(out, strconv.Itoa(status))
		}
		return strings.Join(out, ",")
	}
	a, b, c := run(41), run(41), run(42)
	if a != b || a == c {
		t.Fatalf("seed 41 twice:\n%s\n%s\nseed 42:\n%s", a, b, c)
	}
	if !strings.Contains(a, "429,429,429") || !strings.Contains(a, "500") || !strings.Contains(a, "200") {
		t.Fatalf("no storm, server error or success in %s", a)
	}
}

func TestLatencyOnTheClock(t *testing.T) {
	s, mb, _ := mailTenant(t, Config{Seed: 34, Latency: 2 * time.Second}, 1)
	done := make(chan int, 1)
	go func() {
		resp, err := s.do("/v1.0/users/" + mb + "/mailFolders/inbox")
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	s.clk.BlockUntil(1)
	select {
	case st := <-done:
		t.Fatalf("answered %d before the latency elapsed", st)
	default:
	}
	s.clk.Advance(2 * time.Second)
	if st := <-done; st != 200 {
		t.Fatalf("status %d", st)
	}
}

func TestFractionalRetryAfterRoundsUp(t *testing.T) {
	tn := New(Config{Clock: clock.NewFake(t0), Limits: Limits{RetryAfterStyle: RetryAfterFractional}})
	for d, want := range map[time.Duration]string{
		1000400 * time.Microsecond: "1.001",
		2128 * time.Millisecond:    "2.128",
		time.Second:                "1.000",
	} {
		if got := tn.retryAfterHeader(d); got != want {
			t.Fatalf("%v: %q, want %q", d, got, want)
		}
	}
}

// TestConcurrencyRefusalHoldsBackThatRequest: a MailboxConcurrency 429
// holds back the refused request only. Sending it again before its
// Retry-After is early; the mailbox's other requests are not.
func TestConcurrencyRefusalHoldsBackThatRequest(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 31}, 3)
	hold, err := s.tn.HoldRequests(mb)
	if err != nil {
		t.Fatal(err)
	}
	refused := "/v1.0/users/" + mb + "/mailFolders/" + esc(inbox)
	other := "/v1.0/users/" + mb + "/mailFolders/inbox"
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := s.do(other); err == nil {
				resp.Body.Close()
			}
		}()
	}
	hold.Wait(4)
	status, h, body := s.get(refused)
	wantError(t, status, h, body, 429, "MailboxConcurrency")
	hold.Release()
	wg.Wait()

	if status, _, body := s.get(other); status != 200 {
		t.Fatalf("another request before the Retry-After: %d %s", status, body)
	}
	if c := s.tn.Counters().Mailboxes[mb]; c.EarlyRetries != 0 {
		t.Fatalf("another request of the mailbox counted early: %+v", c)
	}
	s.get(refused)
	if c := s.tn.Counters().Mailboxes[mb]; c.EarlyRetries != 1 {
		t.Fatalf("the refused request sent again before its Retry-After: early retries %d, want 1", c.EarlyRetries)
	}
	s.clk.Advance(time.Second)
	s.get(refused)
	if c := s.tn.Counters().Mailboxes[mb]; c.EarlyRetries != 1 {
		t.Fatalf("the refused request after its Retry-After counted early: %d", c.EarlyRetries)
	}
}

package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

// RetryPolicy bounds how hard the transport tries one request.
type RetryPolicy struct {
	MaxAttempts int           // attempts in all, the first included; default 8
	MaxElapsed  time.Duration // total time from the first attempt; default 10 minutes
	BaseDelay   time.Duration // first back-off when the server gave no Retry-After; default 1s
	MaxDelay    time.Duration // cap of one back-off; default 60s
}

// DefaultRetryPolicy is the policy used for zero fields of a RetryPolicy.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 8, MaxElapsed: 10 * time.Minute, BaseDelay: time.Second, MaxDelay: time.Minute}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	return p
}

// TransportConfig configures a Transport. Only Next is required.
type TransportConfig struct {
	Next   http.RoundTripper // sends one attempt; typically an *http.Transport
	Limits Limits
	Retry  RetryPolicy
	Clock  clock.Clock // nil: the system clock
	// Jitter returns a number in [0, 1) that spreads back-offs; nil: math/rand/v2.
	Jitter func() float64
	// Reauthorize returns a copy of the request carrying a freshly acquired
	// token. It is called at most once per request, after a 401
	// InvalidAuthenticationToken. Nil: a 401 is returned as it is.
	Reauthorize func(*http.Request) (*http.Request, error)
	// Logger receives one debug record per attempt: method, path, status,
	// attempt, mailbox, request-id and duration. Never headers or tokens.
	Logger *slog.Logger
	// MaxJSONBody caps a JSON response held in memory; default 64 MiB.
	MaxJSONBody int64
}

// Transport is collect's single policy for talking to Graph, as an
// http.RoundTripper: every attempt passes the per-mailbox Limiter; throttled
// and transient failures are retried with Retry-After or jittered
// exponential back-off, within RetryPolicy; a 401 with an expired token is
// retried once with a fresh token; and every response of status 400 or more
// becomes a *Error (inside the *url.Error http.Client wraps it in).
//
// JSON responses are read whole before RoundTrip returns, so a truncated
// page is retried here like a reset. Other bodies ($value) are streamed: the
// mailbox slot is held until the body is closed or read to its end, and a
// truncated stream surfaces to the reader as an error.
type Transport struct {
	next    http.RoundTripper
	limiter *Limiter
	policy  RetryPolicy
	clock   clock.Clock
	jitter  func() float64
	reauth  func(*http.Request) (*http.Request, error)
	log     *slog.Logger
	maxJSON int64

	requests  atomic.Int64
	retries   atomic.Int64
	throttled atomic.Int64

	mu      sync.Mutex
	waits   map[uint64]Wait // requests waiting to be sent again, by a number of their own
	waitSeq uint64
}

// Wait is a request waiting to be sent again after a failed attempt: what
// the progress line says it is waiting for.
type Wait struct {
	Mailbox string    // the mailbox's key in the request path; "" for requests of no mailbox
	Status  int       // the HTTP status of the failed attempt; 0 for a connection error
	Code    string    // Graph's error code, when it sent one
	Attempt int       // the attempt that will be sent next
	Until   time.Time // when it will be sent
}

// NewTransport builds a Transport.
func NewTransport(cfg TransportConfig) *Transport {
	t := &Transport{
		next:    cfg.Next,
		policy:  cfg.Retry.withDefaults(),
		clock:   cfg.Clock,
		jitter:  cfg.Jitter,
		reauth:  cfg.Reauthorize,
		log:     cfg.Logger,
		maxJSON: cfg.MaxJSONBody,
	}
	if t.next == nil {
		t.next = http.DefaultTransport
	}
	if t.clock == nil {
		t.clock = clock.System()
	}
	if t.jitter == nil {
		t.jitter = rand.Float64
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.maxJSON <= 0 {
		t.maxJSON = 64 << 20
	}
	t.limiter = NewLimiter(cfg.Limits, t.clock)
	return t
}

// Limiter is the transport's per-mailbox limiter.
func (t *Transport) Limiter() *Limiter { return t.limiter }

// Stats is a snapshot of what the transport did.
type Stats struct {
	Requests      int64                    // attempts sent
	Retries       int64                    // attempts that repeated an earlier one
	Throttled     int64                    // throttled responses received
	ThrottledTime map[string]time.Duration // per mailbox: time it was held back by the server
	// Waiting lists the requests waiting to be retried now, soonest first.
	Waiting []Wait
}

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Requests:      t.requests.Load(),
		Retries:       t.retries.Load(),
		Throttled:     t.throttled.Load(),
		ThrottledTime: t.limiter.throttledTime(),
		Waiting:       t.waiting(),
	}
}

func (t *Transport) waiting() []Wait {
	t.mu.Lock()
	out := make([]Wait, 0, len(t.waits))
	for _, w := range t.waits {
		out = append(out, w)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Until.Before(out[j].Until) })
	return out
}

// waitFor keeps w in the waiting list until the returned function is called.
func (t *Transport) waitFor(w Wait) (done func()) {
	t.mu.Lock()
	if t.waits == nil {
		t.waits = map[uint64]Wait{}
	}
	t.waitSeq++
	id := t.waitSeq
	t.waits[id] = w
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		delete(t.waits, id)
		t.mu.Unlock()
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	mailbox := MailboxOf(req.URL.EscapedPath())
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	start := t.clock.Now()
	reauthorized := false
	attemptReq := req
	var lastErr *Error

	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			t.retries.Add(1)
			next, err := rewind(attemptReq)
			if err != nil {
				return nil, err
			}
			attemptReq = next
		}
		resp, gerr := t.attempt(ctx, attemptReq, mailbox, attempt)
		if gerr == nil {
			return resp, nil
		}
		lastErr = gerr
		if gerr.Kind == KindCanceled {
			return nil, gerr
		}
		if gerr.Kind == KindThrottled {
			t.throttled.Add(1)
		}
		if gerr.Kind == KindTokenExpired && t.reauth != nil && !reauthorized && replayable {
			reauthorized = true
			fresh, err := t.reauth(attemptReq)
			if err != nil {
				return nil, err
			}
			attemptReq = fresh
			continue
		}
		if !gerr.Kind.Retryable() || !replayable {
			return nil, gerr
		}
		if attempt >= t.policy.MaxAttempts {
			return nil, giveUp(gerr, attempt, t.clock.Now().Sub(start))
		}
		delay := gerr.RetryAfter
		if delay <= 0 {
			delay = t.backoff(attempt)
		}
		now := t.clock.Now()
		if now.Add(delay).Sub(start) > t.policy.MaxElapsed {
			return nil, giveUp(gerr, attempt, now.Sub(start))
		}
		if gerr.Kind == KindThrottled && mailbox != "" && PausesMailbox(gerr) {
			t.limiter.Pause(mailbox, now.Add(delay))
		}
		done := t.waitFor(Wait{Mailbox: mailbox, Status: gerr.Status, Code: gerr.Code, Attempt: attempt + 1, Until: now.Add(delay)})
		err := t.sleep(ctx, delay)
		done()
		if err != nil {
			return nil, &Error{Kind: KindCanceled, Err: err, Status: lastErr.Status, Code: lastErr.Code, Message: "canceled while waiting to retry"}
		}
	}
}

// attempt sends one attempt through the limiter and returns either a
// response the caller may use, or the classified failure.
func (t *Transport) attempt(ctx context.Context, req *http.Request, mailbox string, n int) (*http.Response, *Error) {
	release := func() {}
	if mailbox != "" {
		r, err := t.limiter.Acquire(ctx, mailbox)
		if err != nil {
			return nil, &Error{Kind: KindCanceled, Err: err}
		}
		release = r
	}
	t.requests.Add(1)
	began := t.clock.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		release()
		kind := TransportErrorKind(err)
		if ctx.Err() != nil {
			kind, err = KindCanceled, ctx.Err()
		}
		t.log.Debug("graph request failed", "method", req.Method, "path", req.URL.Path,
			"attempt", n, "mailbox", mailbox, "error", err.Error())
		return nil, &Error{Kind: kind, Err: err}
	}
	t.log.Debug("graph request", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode,
		"attempt", n, "mailbox", mailbox, "request_id", resp.Header.Get("request-id"),
		"duration", t.clock.Now().Sub(began))

	if resp.StatusCode >= 400 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		gerr := ErrorFromResponse(resp, body, t.clock.Now())
		// Hold the mailbox back before the slot of this request is given
		// back, so that no request sets off once the server's
		// Retry-After is known.
		if mailbox != "" && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && PausesMailbox(gerr) {
			now := t.clock.Now()
			if ra, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok && ra > 0 {
				t.limiter.Pause(mailbox, now.Add(ra))
			}
		}
		release()
		return nil, gerr
	}
	if isJSON(resp.Header.Get("Content-Type")) {
		body, err := io.ReadAll(io.LimitReader(resp.Body, t.maxJSON+1))
		resp.Body.Close()
		release()
		if err != nil {
			kind := TransportErrorKind(err)
			if ctx.Err() != nil {
				kind, err = KindCanceled, ctx.Err()
			}
			return nil, &Error{Kind: kind, Status: resp.StatusCode, RequestID: resp.Header.Get("request-id"),
				Message: "response body cut short", Err: err}
		}
		if int64(len(body)) > t.maxJSON {
			return nil, &Error{Kind: KindOther, Status: resp.StatusCode, RequestID: resp.Header.Get("request-id"),
				Message: fmt.Sprintf("JSON response larger than %d bytes", t.maxJSON)}
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		return resp, nil
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// codeMailboxConcurrency is Graph's 429 for more requests in flight to a
// mailbox than it serves at once (4).
const codeMailboxConcurrency = "MailboxConcurrency"

// PausesMailbox says whether a throttled answer holds back the whole
// mailbox. A MailboxConcurrency 429 is about the requests in flight: the
// requests already admitted finish and free their slots, so only the
// refused one waits its Retry-After. Any other (ApplicationThrottled, the
// 10,000 requests per 10 minutes) pauses every request to the mailbox.
func PausesMailbox(e *Error) bool {
	return !strings.EqualFold(e.Code, codeMailboxConcurrency)
}

func giveUp(e *Error, attempts int, elapsed time.Duration) *Error {
	out := *e
	out.Message = fmt.Sprintf("%s (gave up after %d attempts in %s)", e.Message, attempts, elapsed.Round(time.Millisecond))
	return &out
}

// backoff is the jittered exponential delay before attempt+1: a random
// point in the upper half of BaseDelay*2^(attempt-1), capped at MaxDelay.
func (t *Transport) backoff(attempt int) time.Duration {
	d := t.policy.BaseDelay
	for i := 1; i < attempt && d < t.policy.MaxDelay; i++ {
		d *= 2
	}
	if d > t.policy.MaxDelay {
		d = t.policy.MaxDelay
	}
	return d/2 + time.Duration(t.jitter()*float64(d/2))
}

func (t *Transport) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.clock.After(d):
		return nil
	}
}

// rewind returns a copy of req ready to be sent again.
func rewind(req *http.Request) (*http.Request, error) {
	next := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, errors.New("graph: request body cannot be replayed")
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		next.Body = body
	}
	return next, nil
}

func isJSON(contentType string) bool {
	ct := strings.ToLower(contentType)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return ct == "application/json" || strings.HasSuffix(ct, "+json")
}

// releasingBody gives the mailbox slot back once the body is finished.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

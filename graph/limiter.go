package graph

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Limits are Graph's per-mailbox service limits for one app: at most
// Concurrency requests in flight and at most Requests per Window.
type Limits struct {
	Concurrency int           // default 4
	Requests    int           // default 10,000
	Window      time.Duration // default 10 minutes
}

// DefaultLimits are the Outlook service limits Graph enforces per app and mailbox.
func DefaultLimits() Limits {
	return Limits{Concurrency: 4, Requests: 10000, Window: 10 * time.Minute}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Concurrency <= 0 {
		l.Concurrency = d.Concurrency
	}
	if l.Requests <= 0 {
		l.Requests = d.Requests
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	return l
}

// Limiter admits requests per mailbox under Limits, and holds a mailbox
// back while the server asked it to wait (Retry-After). Mailboxes never wait
// for one another.
type Limiter struct {
	limits Limits
	clock  Clock

	mu        sync.Mutex
	mailboxes map[string]*mailboxGate
}

type mailboxGate struct {
	inFlight    int
	pausedUntil time.Time
	throttled   time.Duration // union of the pauses asked for this mailbox
	sent        []time.Time   // ring of the last limits.Requests admission times
	next        int           // index of the oldest entry once the ring is full
	changed     chan struct{} // closed and replaced when a slot frees
}

// NewLimiter returns a limiter with the given limits (zero fields take the
// defaults) and clock (nil: the system clock).
func NewLimiter(limits Limits, clock Clock) *Limiter {
	if clock == nil {
		clock = SystemClock()
	}
	return &Limiter{limits: limits.withDefaults(), clock: clock, mailboxes: map[string]*mailboxGate{}}
}

func (l *Limiter) gate(mailbox string) *mailboxGate {
	g := l.mailboxes[mailbox]
	if g == nil {
		g = &mailboxGate{changed: make(chan struct{})}
		l.mailboxes[mailbox] = g
	}
	return g
}

// Acquire waits until the mailbox may send one more request and returns the
// function that gives the slot back (call it exactly once, when the
// response body is done). It returns ctx.Err() if ctx ends first.
func (l *Limiter) Acquire(ctx context.Context, mailbox string) (release func(), err error) {
	for {
		l.mu.Lock()
		g := l.gate(mailbox)
		now := l.clock.Now()
		var wait time.Duration
		switch {
		case now.Before(g.pausedUntil):
			wait = g.pausedUntil.Sub(now)
		case g.inFlight >= l.limits.Concurrency:
			// wait for a release below
		case len(g.sent) == l.limits.Requests && now.Before(g.sent[g.next].Add(l.limits.Window)):
			wait = g.sent[g.next].Add(l.limits.Window).Sub(now)
		default:
			g.inFlight++
			if len(g.sent) < l.limits.Requests {
				g.sent = append(g.sent, now)
			} else {
				g.sent[g.next] = now
				g.next = (g.next + 1) % l.limits.Requests
			}
			l.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { l.release(g) }) }, nil
		}
		changed := g.changed
		l.mu.Unlock()

		var timer <-chan time.Time
		if wait > 0 {
			timer = l.clock.After(wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		case <-timer:
		}
	}
}

func (l *Limiter) release(g *mailboxGate) {
	l.mu.Lock()
	g.inFlight--
	close(g.changed)
	g.changed = make(chan struct{})
	l.mu.Unlock()
}

// Pause holds every new request to the mailbox until the given time. It
// never shortens a pause already in force.
func (l *Limiter) Pause(mailbox string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g := l.gate(mailbox)
	if !until.After(g.pausedUntil) {
		return
	}
	from := l.clock.Now()
	if g.pausedUntil.After(from) {
		from = g.pausedUntil
	}
	if until.After(from) {
		g.throttled += until.Sub(from)
	}
	g.pausedUntil = until
}

// InFlight reports how many requests to the mailbox hold a slot now.
func (l *Limiter) InFlight(mailbox string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if g := l.mailboxes[mailbox]; g != nil {
		return g.inFlight
	}
	return 0
}

// throttledTime reports the time each mailbox spent paused by the server.
func (l *Limiter) throttledTime() map[string]time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]time.Duration)
	for k, g := range l.mailboxes {
		if g.throttled > 0 {
			out[k] = g.throttled
		}
	}
	return out
}

// MailboxOf returns the mailbox a Graph URL path addresses: the segment after
// "users" ("/v1.0/users/{id}/messages/...", or the OData form
// "users('{id}')/..."), or "me", lower case and unescaped. It is "" for
// requests that address no single mailbox, such as a directory lookup
// "/v1.0/users/{address}" or a search "/v1.0/users?$filter=...".
func MailboxOf(escapedPath string) string {
	segs := strings.Split(strings.Trim(escapedPath, "/"), "/")
	for i, s := range segs {
		ls := strings.ToLower(s)
		switch {
		case ls == "users" && i+2 < len(segs):
			return unescapeKey(segs[i+1])
		case strings.HasPrefix(ls, "users(") && i+1 < len(segs):
			return unescapeKey(strings.TrimSuffix(s[len("users("):], ")"))
		case ls == "me" && i+1 < len(segs):
			return "me"
		}
	}
	return ""
}

func unescapeKey(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	return strings.ToLower(strings.Trim(s, "'"))
}

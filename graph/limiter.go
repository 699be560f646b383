package graph

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
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
	clock  clock.Clock

	mu        sync.Mutex
	mailboxes map[string]*mailboxGate
	throttled map[string]time.Duration // union of the pauses asked per mailbox
	acquired  int                      // admissions since the last sweep
}

type mailboxGate struct {
	inFlight    int
	pausedUntil time.Time
	changed     chan struct{} // closed and replaced when a slot frees
	// The window is counted in windowBuckets buckets of Window/windowBuckets:
	// a bucket's requests count until the whole bucket has left the
	// window, so the limit is never exceeded and memory stays small.
	bucket [windowBuckets]int64 // bucket number held by each slot
	count  [windowBuckets]int   // requests admitted in that bucket
}

const windowBuckets = 100

func (l *Limiter) bucketOf(t time.Time) int64 {
	width := int64(l.limits.Window) / windowBuckets
	if width <= 0 {
		width = 1
	}
	return t.UnixNano() / width
}

// windowUse returns the requests admitted in the window ending at bucket
// now, and the first bucket at which the oldest of them leaves it.
func (g *mailboxGate) windowUse(now int64) (n int, frees int64) {
	frees = -1
	for i := range windowBuckets {
		b := g.bucket[i]
		if g.count[i] == 0 || b <= now-windowBuckets {
			continue
		}
		n += g.count[i]
		if frees < 0 || b+windowBuckets < frees {
			frees = b + windowBuckets
		}
	}
	return n, frees
}

func (g *mailboxGate) admit(now int64) {
	i := int(now % windowBuckets)
	if g.bucket[i] != now {
		g.bucket[i], g.count[i] = now, 0
	}
	g.count[i]++
}

// NewLimiter returns a limiter with the given limits (zero fields take the
// defaults) and clock (nil: the system clock).
func NewLimiter(limits Limits, clk clock.Clock) *Limiter {
	if clk == nil {
		clk = clock.System()
	}
	return &Limiter{limits: limits.withDefaults(), clock: clk, mailboxes: map[string]*mailboxGate{}, throttled: map[string]time.Duration{}}
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
		bucket := l.bucketOf(now)
		used, frees := g.windowUse(bucket)
		switch {
		case now.Before(g.pausedUntil):
			wait = g.pausedUntil.Sub(now)
		case g.inFlight >= l.limits.Concurrency:
			// wait for a release below
		case used >= l.limits.Requests:
			width := time.Duration(int64(l.limits.Window) / windowBuckets)
			wait = time.Unix(0, 0).Add(time.Duration(frees) * width).Sub(now)
			if wait <= 0 {
				wait = time.Millisecond
			}
		default:
			g.inFlight++
			g.admit(bucket)
			l.acquired++
			if l.acquired >= 4096 {
				l.sweepLocked(now)
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

// sweepLocked forgets mailboxes with nothing in flight, no pause and an
// empty window, so a long run over many mailboxes holds no state for the
// ones it finished with.
func (l *Limiter) sweepLocked(now time.Time) {
	l.acquired = 0
	bucket := l.bucketOf(now)
	for k, g := range l.mailboxes {
		if used, _ := g.windowUse(bucket); g.inFlight == 0 && used == 0 && !now.Before(g.pausedUntil) {
			delete(l.mailboxes, k)
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
		l.throttled[mailbox] += until.Sub(from)
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
	out := make(map[string]time.Duration, len(l.throttled))
	for k, d := range l.throttled {
		out[k] = d
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

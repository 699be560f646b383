package graphsim

import (
	"net/http"
	"sync"
)

// stats are the counters.
type stats struct {
	mu        sync.Mutex
	requests  int64
	byRoute   map[Route]int64
	byStatus  map[int]int64
	throttled int64
	http2     int64
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

// record counts an HTTP request.
func (s *stats) record(q *request) {
	s.count(q.mb, q.route, q.w.status, q.w.bytes)
	if q.r.ProtoMajor == 2 {
		s.mu.Lock()
		s.http2++
		s.mu.Unlock()
	}
}

// count counts one request, over HTTP or through the in-process Source,
// against the mailbox it was admitted to (if any). A reset connection is
// counted under status 0.
func (s *stats) count(mb *mailbox, route Route, status int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.byRoute[route]++
	s.byStatus[status]++
	if status == http.StatusTooManyRequests {
		s.throttled++
	}
	if mb != nil {
		c := s.mbLocked(mb)
		c.Requests++
		c.ByRoute[route]++
		if status == http.StatusTooManyRequests {
			c.Throttled++
		}
		if route == RouteValue {
			c.ValueBytes += bytes
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
	c := Counters{Requests: s.requests, Throttled: s.throttled, HTTP2: s.http2, ByRoute: map[Route]int64{}, ByStatus: map[int]int64{}, Mailboxes: map[string]MailboxCounters{}}
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
	t.stats.requests, t.stats.throttled, t.stats.http2 = 0, 0, 0
	t.stats.init()
}

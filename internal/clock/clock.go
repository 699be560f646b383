// Package clock is the one time source of collect: the system clock in
// production and a fake one in tests, so that back-off, Retry-After,
// throttling windows, token expiry and flush tickers run without sleeping.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and waits on it.
type Clock interface {
	Now() time.Time
	// After delivers the time on the returned channel once d has passed.
	After(d time.Duration) <-chan time.Time
	// Tick delivers the time every d until stop is called; like a
	// time.Ticker it drops ticks a slow reader misses.
	Tick(d time.Duration) (ticks <-chan time.Time, stop func())
}

// System is the wall clock.
func System() Clock { return system{} }

type system struct{}

func (system) Now() time.Time                         { return time.Now() }
func (system) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (system) Tick(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Fake is a Clock that moves only when told to (Advance), or, made with
// NewJumping, by exactly as long as each wait asks. It records every wait
// asked of After so that a test can check back-off and Retry-After exactly.
type Fake struct {
	mu     sync.Mutex
	cond   *sync.Cond // signalled when a wait is asked or a timer is added
	now    time.Time
	jump   bool
	timers []*timer
	waits  []time.Duration
	told   int // waits already returned by NextWait
}

type timer struct {
	at     time.Time
	period time.Duration // 0 for After
	ch     chan time.Time
	done   bool
}

// NewFake returns a Fake reading start that moves only on Advance.
func NewFake(start time.Time) *Fake {
	c := &Fake{now: start}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// NewJumping returns a Fake reading start on which every After ends at
// once, moving the clock forward by the time waited: one flow of requests
// runs through its waits without anyone advancing the clock.
func NewJumping(start time.Time) *Fake {
	c := NewFake(start)
	c.jump = true
	return c
}

// Now returns the clock's time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives once the clock has moved d past
// now; at once when d <= 0 (and, on a jumping clock, always).
func (c *Fake) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.cond.Broadcast()
	ch := make(chan time.Time, 1)
	if d > 0 && c.jump {
		c.advance(d)
	}
	if d <= 0 || c.jump {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, &timer{at: c.now.Add(d), ch: ch})
	return ch
}

// Tick returns a channel that receives each time the clock passes another
// d; stop ends it. d must be positive.
func (c *Fake) Tick(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		panic("clock: non-positive interval for Tick")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{at: c.now.Add(d), period: d, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.cond.Broadcast()
	return t.ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.done = true
		c.prune()
	}
}

// Advance moves the clock forward by d, firing the timers and tickers due.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(d)
}

func (c *Fake) advance(d time.Duration) {
	c.now = c.now.Add(d)
	sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
	for _, t := range c.timers {
		if t.done || t.at.After(c.now) {
			continue
		}
		select {
		case t.ch <- c.now:
		default: // a ticker whose reader is behind
		}
		if t.period == 0 {
			t.done = true
			continue
		}
		for !t.at.After(c.now) {
			t.at = t.at.Add(t.period)
		}
	}
	c.prune()
}

func (c *Fake) prune() {
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.done {
			kept = append(kept, t)
		}
	}
	clear(c.timers[len(kept):])
	c.timers = kept
}

// Waiters reports how many After channels and tickers have not fired or
// stopped yet.
func (c *Fake) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// BlockUntil waits until at least n After channels or tickers are pending,
// so that a test advances the clock once the code under test waits on it.
func (c *Fake) BlockUntil(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		c.cond.Wait()
	}
}

// NextWait waits for the next call of After not yet reported and returns
// the duration it asked for, in the order they were made.
func (c *Fake) NextWait() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.told == len(c.waits) {
		c.cond.Wait()
	}
	c.told++
	return c.waits[c.told-1]
}

// Waits returns every duration asked of After so far, in order.
func (c *Fake) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

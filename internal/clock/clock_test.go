package clock

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fired reports whether ch has a value now, without waiting.
func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case at := <-ch:
		return at, true
	default:
		return time.Time{}, false
	}
}

func TestFakeAfterFiresOnlyWhenAdvancedPastIt(t *testing.T) {
	c := NewFake(t0)
	for _, tc := range []struct {
		name    string
		wait    time.Duration
		advance []time.Duration
		fires   bool
	}{
		{"zero fires at once", 0, nil, true},
		{"negative fires at once", -time.Second, nil, true},
		{"not yet", time.Minute, []time.Duration{59 * time.Second}, false},
		{"exactly due", time.Minute, []time.Duration{time.Minute}, true},
		{"due over two steps", time.Minute, []time.Duration{30 * time.Second, 30 * time.Second}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := c.After(tc.wait)
			start := c.Now()
			for _, d := range tc.advance {
				c.Advance(d)
			}
			at, ok := fired(ch)
			if ok != tc.fires {
				t.Fatalf("fired %v, want %v", ok, tc.fires)
			}
			if ok && tc.wait > 0 && at.Before(start.Add(tc.wait)) {
				t.Errorf("fired at %v, before %v", at, start.Add(tc.wait))
			}
			c.Advance(time.Hour) // fire what is left before the next case
			fired(ch)
		})
	}
	if c.Waiters() != 0 {
		t.Errorf("%d waiters left after every timer fired", c.Waiters())
	}
}

func TestFakeRecordsWaitsInOrder(t *testing.T) {
	c := NewFake(t0)
	go func() {
		c.After(time.Second)
		c.After(0)
		c.After(time.Minute)
	}()
	var got []time.Duration
	for range 3 {
		got = append(got, c.NextWait())
	}
	want := []time.Duration{time.Second, 0, time.Minute}
	if !slices.Equal(got, want) || !slices.Equal(c.Waits(), want) {
		t.Errorf("NextWait %v, Waits %v, want %v", got, c.Waits(), want)
	}
}

func TestJumpingClockMovesByEachWait(t *testing.T) {
	c := NewJumping(t0)
	for _, d := range []time.Duration{time.Second, 2 * time.Second, 0} {
		if _, ok := fired(c.After(d)); !ok {
			t.Fatalf("a wait of %v did not end at once", d)
		}
	}
	if got := c.Now(); !got.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("now %v, want 3s after the start", got)
	}
	if got := c.Waits(); !slices.Equal(got, []time.Duration{time.Second, 2 * time.Second, 0}) {
		t.Errorf("waits %v", got)
	}
}

func TestFakeTickerTicksEachPeriodUntilStopped(t *testing.T) {
	c := NewFake(t0)
	ticks, stop := c.Tick(time.Second)
	c.Advance(500 * time.Millisecond)
	if _, ok := fired(ticks); ok {
		t.Fatal("ticked before a period passed")
	}
	c.Advance(500 * time.Millisecond)
	if at, ok := fired(ticks); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("tick %v %v, want one at 1s", at, ok)
	}
	// Three periods at once: one tick waits, the others are dropped.
	c.Advance(3 * time.Second)
	if _, ok := fired(ticks); !ok {
		t.Fatal("no tick after three periods")
	}
	if _, ok := fired(ticks); ok {
		t.Fatal("more than one tick buffered")
	}
	c.Advance(time.Second)
	if _, ok := fired(ticks); !ok {
		t.Fatal("no tick in the next period")
	}
	stop()
	if c.Waiters() != 0 {
		t.Errorf("%d waiters after stop", c.Waiters())
	}
	c.Advance(time.Hour)
	if _, ok := fired(ticks); ok {
		t.Fatal("ticked after stop")
	}
}

func TestBlockUntilReturnsOnceSomeoneWaits(t *testing.T) {
	c := NewFake(t0)
	done := make(chan time.Time)
	go func() { done <- <-c.After(time.Minute) }()
	c.BlockUntil(1)
	c.Advance(time.Minute)
	if at := <-done; !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("woke at %v", at)
	}
}

func TestSystemClockTicks(t *testing.T) {
	ticks, stop := System().Tick(time.Millisecond)
	defer stop()
	if at := <-ticks; at.IsZero() {
		t.Error("zero tick")
	}
	if d := time.Since(System().Now()); d < 0 || d > time.Minute {
		t.Errorf("system now is %v away", d)
	}
}

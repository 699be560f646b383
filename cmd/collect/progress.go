package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/graph"
)

// progressLine is one mailbox's progress, or the total when Mailbox is
// empty: a line of apply -json, and what the human progress line says.
type progressLine struct {
	Type       string  `json:"type"`
	Mailbox    string  `json:"address,omitempty"`
	Throttled  float64 `json:"throttled_seconds"`
	Planned    int64   `json:"planned"`
	Collected  int64   `json:"collected"`
	Tombstoned int64   `json:"tombstoned"`
	Failed     int64   `json:"failed"`
	Bytes      int64   `json:"bytes"`
	Rate       float64 `json:"messages_per_second"`
	ETA        float64 `json:"eta_seconds,omitempty"`
	// Waiting says what requests wait for, when some wait to be retried.
	Waiting *waitingLine `json:"waiting,omitempty"`
}

// waitingLine sums the requests waiting to be retried: the status of the
// soonest, how many wait on that status, and when it is sent again.
type waitingLine struct {
	Status       int     `json:"status,omitempty"` // 0: a connection error
	Code         string  `json:"code,omitempty"`
	Requests     int     `json:"requests"`
	NextAttempt  int     `json:"next_attempt"`
	RetryInSecs  float64 `json:"retry_in_seconds"`
	OtherWaiting int     `json:"other_waiting,omitempty"` // waiting on another status
}

// waitingOf sums the waits of one mailbox ("" for all of them).
func waitingOf(waits []graph.Wait, mailbox string, now time.Time) *waitingLine {
	var w *waitingLine
	for _, x := range waits { // soonest first
		if mailbox != "" && x.Mailbox != mailbox {
			continue
		}
		switch {
		case w == nil:
			in := x.Until.Sub(now).Seconds()
			if in < 0 {
				in = 0
			}
			w = &waitingLine{Status: x.Status, Code: x.Code, Requests: 1, NextAttempt: x.Attempt, RetryInSecs: in}
		case x.Status == w.Status:
			w.Requests++
		default:
			w.OtherWaiting++
		}
	}
	return w
}

func (w *waitingLine) text() string {
	what := "a connection error"
	if w.Status != 0 {
		what = strconv.Itoa(w.Status)
	}
	t := fmt.Sprintf("waiting: %s on %s, retry %d in %s", what, plural(w.Requests, "request", "requests"), w.NextAttempt,
		(time.Duration(w.RetryInSecs * float64(time.Second))).Round(time.Second))
	if w.OtherWaiting > 0 {
		t += fmt.Sprintf(" (and %s on other errors)", plural(w.OtherWaiting, "request", "requests"))
	}
	return t
}

// progressTicker calls draw every period with the apply's progress until
// the returned function is called; then it calls clear, if set, once.
func progressTicker(p *apply.Progress, every time.Duration, stats func() graph.Stats,
	draw func(total progressLine, mailboxes []progressLine), clear func()) func() {
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if clear != nil {
					clear()
				}
				return
			case <-tick.C:
			}
			now := time.Now()
			elapsed := now.Sub(start)
			st := stats()
			total := snapshot(&p.Counters, elapsed)
			total.Waiting = waitingOf(st.Waiting, "", now)
			var lines []progressLine
			for _, mb := range p.Mailboxes() {
				l := snapshot(&mb.Counters, elapsed)
				l.Mailbox, l.Throttled = mb.Addr, st.ThrottledTime[mb.ID].Seconds()
				l.Waiting = waitingOf(st.Waiting, mb.ID, now)
				total.Throttled += l.Throttled
				lines = append(lines, l)
			}
			draw(total, lines)
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// isTerminal reports whether w is a terminal, where a progress line is
// redrawn in place.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// busiest keeps the n mailboxes with the most work left, in plan order.
func busiest(lines []progressLine, n int) []progressLine {
	var out []progressLine
	for _, l := range lines {
		if l.Planned-l.Collected-l.Tombstoned-l.Failed > 0 {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func snapshot(p *apply.Counters, elapsed time.Duration) progressLine {
	c := p.Snapshot()
	l := progressLine{
		Type: "progress", Planned: c.Planned, Collected: c.Collected,
		Tombstoned: c.Tombstoned, Failed: c.Failed, Bytes: c.Bytes,
	}
	if secs := elapsed.Seconds(); secs > 0 {
		l.Rate = float64(l.Collected) / secs
	}
	if c.Remaining > 0 && l.Rate > 0 {
		l.ETA = float64(c.Remaining) / l.Rate
	}
	return l
}

func progressText(l progressLine) string {
	who := "Collecting"
	if l.Mailbox != "" {
		who = l.Mailbox
	}
	t := fmt.Sprintf("%s: %s of %s messages, %s, %.0f/s", who, commas(l.Collected), commas(l.Planned), byteSize(l.Bytes), l.Rate)
	if l.ETA > 0 {
		t += fmt.Sprintf(", about %s left", (time.Duration(l.ETA) * time.Second).Round(time.Second))
	}
	if l.Failed > 0 {
		t += fmt.Sprintf(", %s failed", commas(l.Failed))
	}
	if l.Throttled >= 1 {
		t += fmt.Sprintf(", throttled %s", (time.Duration(l.Throttled) * time.Second).Round(time.Second))
	}
	if l.Waiting != nil {
		t += ", " + l.Waiting.text()
	}
	return t
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/apply"
)

func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	w.Write(append(b, '\n'))
}

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
}

// startProgress reports an apply's progress until the returned function
// is called: a line redrawn in place on a terminal, a plain line every 10
// seconds otherwise, and JSON lines with -json.
func startProgress(s *streams, p *apply.Progress, asJSON bool, throttled func() map[string]time.Duration) func() {
	tty := false
	if f, ok := s.stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	every := 10 * time.Second
	if tty {
		every = 500 * time.Millisecond
	}
	start := time.Now()
	done := make(chan struct{})
	drawn := 0 // lines drawn on the terminal last time
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if tty && !asJSON && drawn > 0 {
					fmt.Fprintf(s.stderr, "\x1b[%dA\x1b[J", drawn)
				}
				return
			case <-tick.C:
			}
			elapsed := time.Since(start)
			th := throttled()
			total := snapshot(&p.Counters, elapsed)
			var lines []progressLine
			for _, mb := range p.Mailboxes() {
				l := snapshot(&mb.Counters, elapsed)
				l.Mailbox, l.Throttled = mb.Addr, th[mb.ID].Seconds()
				total.Throttled += l.Throttled
				lines = append(lines, l)
			}
			switch {
			case asJSON:
				for _, l := range lines {
					writeJSONLine(s.stdout, l)
				}
				writeJSONLine(s.stdout, total)
			case tty:
				if drawn > 0 {
					fmt.Fprintf(s.stderr, "\x1b[%dA\x1b[J", drawn)
				}
				drawn = 0
				for _, l := range busiest(lines, 10) {
					fmt.Fprintf(s.stderr, "  %s\n", progressText(l))
					drawn++
				}
				fmt.Fprintln(s.stderr, progressText(total))
				drawn++
			default:
				fmt.Fprintln(s.stderr, progressText(total))
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
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
	return t
}

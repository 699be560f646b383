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
func startProgress(s *streams, p *apply.Progress, asJSON bool) func() {
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
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				if tty && !asJSON {
					fmt.Fprint(s.stderr, "\r\x1b[K")
				}
				return
			case <-tick.C:
			}
			l := snapshot(p, time.Since(start))
			switch {
			case asJSON:
				writeJSONLine(s.stdout, l)
			case tty:
				fmt.Fprintf(s.stderr, "\r\x1b[K%s", progressText(l))
			default:
				fmt.Fprintln(s.stderr, progressText(l))
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

func snapshot(p *apply.Progress, elapsed time.Duration) progressLine {
	l := progressLine{
		Type: "progress", Planned: p.Planned.Load(), Collected: p.Collected.Load(),
		Tombstoned: p.Tombstoned.Load(), Failed: p.Failed.Load(), Bytes: p.Bytes.Load(),
	}
	if secs := elapsed.Seconds(); secs > 0 {
		l.Rate = float64(l.Collected) / secs
	}
	if left := l.Planned - l.Collected - l.Tombstoned - l.Failed; l.Rate > 0 && left > 0 {
		l.ETA = float64(left) / l.Rate
	}
	return l
}

func progressText(l progressLine) string {
	t := fmt.Sprintf("Collecting: %s of %s messages, %s, %.0f/s", commas(l.Collected), commas(l.Planned), byteSize(l.Bytes), l.Rate)
	if l.ETA > 0 {
		t += fmt.Sprintf(", about %s left", (time.Duration(l.ETA) * time.Second).Round(time.Second))
	}
	if l.Failed > 0 {
		t += fmt.Sprintf(", %s failed", commas(l.Failed))
	}
	return t
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
)

// During a long retry the progress line says what it waits for, on a
// terminal and in the periodic and JSON lines alike (they share it).
func TestProgressSaysWhatItWaitsFor(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	waits := []graph.Wait{
		{Mailbox: "mb1", Status: 503, Attempt: 6, Until: now.Add(30 * time.Second)},
		{Mailbox: "mb2", Status: 503, Attempt: 2, Until: now.Add(40 * time.Second)},
		{Mailbox: "mb2", Status: 429, Code: "ApplicationThrottled", Attempt: 3, Until: now.Add(50 * time.Second)},
	}
	for _, tc := range []struct {
		mailbox, want string
	}{
		{"mb1", "waiting: 503 on 1 request, retry 6 in 30s"},
		{"mb2", "waiting: 503 on 1 request, retry 2 in 40s (and 1 request on other errors)"},
		{"", "waiting: 503 on 2 requests, retry 6 in 30s (and 1 request on other errors)"},
	} {
		l := progressLine{Type: "progress", Mailbox: tc.mailbox, Planned: 10, Collected: 4, Waiting: waitingOf(waits, tc.mailbox, now)}
		if got := progressText(l); !strings.HasSuffix(got, ", "+tc.want) {
			t.Errorf("mailbox %q: %q, want it to end with %q", tc.mailbox, got, tc.want)
		}
	}
	if w := waitingOf(waits, "mb3", now); w != nil {
		t.Errorf("a mailbox with no wait: %+v", w)
	}
	if got := progressText(progressLine{Planned: 1}); strings.Contains(got, "waiting") {
		t.Errorf("no wait, yet %q", got)
	}
	b, _ := json.Marshal(progressLine{Type: "progress", Waiting: waitingOf(waits[:1], "", now)})
	if !strings.Contains(string(b), `"waiting":{"status":503,"requests":1,"next_attempt":6,"retry_in_seconds":30}`) {
		t.Errorf("JSON line: %s", b)
	}
	conn := waitingOf([]graph.Wait{{Mailbox: "mb1", Attempt: 2, Until: now.Add(time.Second)}}, "mb1", now)
	if got := conn.text(); got != "waiting: a connection error on 1 request, retry 2 in 1s" {
		t.Errorf("connection error: %q", got)
	}
}

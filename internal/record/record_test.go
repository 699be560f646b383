package record

import (
	"encoding/json"
	"testing"
	"time"
)

func TestFillStatus(t *testing.T) {
	end := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		run  Run
		want Status
	}{
		{"set already", Run{Status: StatusFailed, Complete: true}, StatusFailed},
		{"complete", Run{Complete: true, Finished: end}, StatusComplete},
		{"ended incomplete", Run{Finished: end}, StatusIncomplete},
		{"never ended", Run{}, StatusRunning},
	}
	for _, tc := range cases {
		tc.run.FillStatus()
		if tc.run.Status != tc.want {
			t.Errorf("%s: status %q, want %q", tc.name, tc.run.Status, tc.want)
		}
	}
}

// The counts are nested under "counts", as runs/<id>.json always had them.
func TestCountsAreNestedInTheJSON(t *testing.T) {
	var c Counts
	c.Add(Counts{Planned: 3, Collected: 2})
	c.Add(Counts{Collected: 1, Bytes: 10})
	b, err := json.Marshal(Run{RunID: "r", Counts: c})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Counts    map[string]int64 `json:"counts"`
		Collected *int64           `json:"collected"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Collected != nil || doc.Counts["collected"] != 3 || doc.Counts["planned"] != 3 || doc.Counts["bytes"] != 10 {
		t.Errorf("record %s", b)
	}
}

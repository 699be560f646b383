package state

import (
	"reflect"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/record"
)

// Run records that states kept before the shared run record (an "id", a
// map of counts and a failures summary) still read, as record.Run.
func TestRunsWrittenBeforeTheSharedRecordStillRead(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	started := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	old := map[string]string{
		"done": `{"id":"done","operation":"apply","started":"2026-01-01T12:00:00Z","finished":"2026-01-01T12:05:00Z",` +
			`"tool_version":"0.1.0","user":"alice","host":"ws1","counts":{"planned":2,"collected":2,"observations":1}}`,
		"stopped": `{"id":"stopped","operation":"apply","started":"2026-01-01T13:00:00Z","finished":"2026-01-01T13:01:00Z",` +
			`"counts":{"planned":3,"collected":1,"failed":1,"remaining":1},` +
			`"failures":{"error":"disk full","failures":[{"mailbox":"a@contoso.example","graph_id":"m1","code":"ErrorItemNotFound","message":"gone"}]}}`,
		"killed": `{"id":"killed","operation":"apply","started":"2026-01-01T14:00:00Z","counts":{"planned":3}}`,
	}
	mustUpdate(t, db, func(tx *Tx) error {
		for id, v := range old {
			if err := tx.bucket(bRuns).Put([]byte(id), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	want := []record.Run{
		{RunID: "done", Operation: "apply", Status: record.StatusComplete, Complete: true, Started: started, Finished: started.Add(5 * time.Minute),
			ToolVersion: "0.1.0", User: "alice", Host: "ws1", Counts: record.Counts{Planned: 2, Collected: 2, Observations: 1}},
		{RunID: "stopped", Operation: "apply", Status: record.StatusFailed, Error: "disk full",
			Started: started.Add(time.Hour), Finished: started.Add(time.Hour + time.Minute),
			Counts:   record.Counts{Planned: 3, Collected: 1, Failed: 1, Remaining: 1},
			Failures: []record.Failure{{Mailbox: "a@contoso.example", GraphID: "m1", Code: "ErrorItemNotFound", Message: "gone"}}},
		{RunID: "killed", Operation: "apply", Status: record.StatusRunning, Started: started.Add(2 * time.Hour), Counts: record.Counts{Planned: 3}},
	}
	var got []record.Run
	mustView(t, db, func(tx *ReadTx) error {
		return tx.Runs(func(r record.Run) error { got = append(got, r); return nil })
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("runs\n %+v\nwant\n %+v", got, want)
	}
}

// A run still marked running is interrupted unless it is the live one;
// the last is given the count of the items it collected.
func TestInterruptedRuns(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	started := c.Now()
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		for i, r := range []record.Run{
			{RunID: "done", Status: record.StatusComplete, Complete: true},
			{RunID: "older", Status: record.StatusRunning, Counts: record.Counts{Planned: 5}},
			{RunID: "last", Status: record.StatusRunning, Counts: record.Counts{Planned: 4}},
		} {
			r.Started = started.Add(time.Duration(i) * time.Minute)
			if err := tx.PutRun(r); err != nil {
				return err
			}
		}
		for i := range 3 {
			it := collectedItem(i, c)
			it.RunID = "last"
			if _, _, err := tx.PutItem(it); err != nil {
				return err
			}
		}
		return nil
	})
	cases := []struct {
		live      string
		want      []string
		collected int64 // of the last one returned
	}{
		{"", []string{"older", "last"}, 3},
		{"last", []string{"older"}, 0},
		{"older", []string{"last"}, 3},
	}
	for _, tc := range cases {
		var got []record.Run
		mustView(t, db, func(r *ReadTx) error {
			var err error
			got, err = r.InterruptedRuns(tc.live)
			return err
		})
		var ids []string
		for _, run := range got {
			ids = append(ids, run.RunID)
			if run.Status != record.StatusInterrupted || run.Error == "" || run.Complete {
				t.Errorf("live %q: %+v not marked interrupted", tc.live, run)
			}
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("live %q: interrupted %v, want %v", tc.live, ids, tc.want)
			continue
		}
		if last := got[len(got)-1]; last.Collected != tc.collected || last.Remaining != last.Planned-tc.collected {
			t.Errorf("live %q: %s counts %+v, want %d collected", tc.live, last.RunID, last.Counts, tc.collected)
		}
	}
}

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

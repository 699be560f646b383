package custody_test

import (
	"slices"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/internal/record"
)

// The report of a sharded collection is the sum of its shards': nothing
// counted twice, nothing dropped, and every custody finding named by the
// shard whose log it is in.
func TestMergeReportsSumsTheShards(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2024, 3, d, 0, 0, 0, 0, time.UTC) }
	facts := custody.ReportFacts{Matter: "m", Windows: []custody.Window{{Name: "w1"}, {Name: "w2"}}}
	one := custody.ReportData{
		ReportFacts: facts,
		Runs:        []record.Run{{RunID: "b", Started: day(2)}},
		Mailboxes:   []custody.MailboxSummary{{Address: "zed@x", Messages: 3, Bytes: 30, PerWindow: []int{3, 0}}},
		Months:      []string{"2024-03"}, Custodians: []string{"zed"},
		PerMonth:   map[string]map[string]int{"zed": {"2024-03": 3}},
		Totals:     custody.MailboxSummary{Messages: 3, Bytes: 30, PerWindow: []int{3, 0}, Failures: 1},
		Exceptions: []custody.Exception{{RunID: "b"}},
		Custody:    custody.Report{Lines: 3, Included: 3, Checkpoints: 1, NotChecked: []string{"signatures"}},
		Checkpoint: "collect/m/shard-1-of-2\n3\nroot1\n",
	}
	two := custody.ReportData{
		ReportFacts: facts,
		Runs:        []record.Run{{RunID: "a", Started: day(1)}},
		Mailboxes:   []custody.MailboxSummary{{Address: "amy@x", Messages: 2, Bytes: 20, PerWindow: []int{1, 1}, Outside: 1}},
		Months:      []string{"2024-02", "2024-03"}, Custodians: []string{"amy", "zed"},
		PerMonth: map[string]map[string]int{"amy": {"2024-02": 1}, "zed": {"2024-03": 1}},
		Totals:   custody.MailboxSummary{Messages: 2, Bytes: 20, PerWindow: []int{1, 1}, Outside: 1},
		Custody: custody.Report{Lines: 2, Included: 1, Uncovered: 1, Checkpoints: 1,
			Problems: []custody.Problem{{Where: "manifest.jsonl line 2", What: "changed"}}},
		Checkpoint: "collect/m/shard-2-of-2\n2\nroot2\n",
	}
	d := custody.MergeReports([]custody.ReportData{one, two}, []string{"1/2", "2/2"})

	if d.Totals.Messages != 5 || d.Totals.Bytes != 50 || d.Totals.Outside != 1 || d.Totals.Failures != 1 ||
		!slices.Equal(d.Totals.PerWindow, []int{4, 1}) {
		t.Errorf("totals %+v", d.Totals)
	}
	if len(d.Mailboxes) != 2 || d.Mailboxes[0].Address != "amy@x" || d.Mailboxes[1].Address != "zed@x" {
		t.Errorf("mailboxes %+v, want both, by address", d.Mailboxes)
	}
	if len(d.Runs) != 2 || d.Runs[0].RunID != "a" || d.Runs[1].RunID != "b" {
		t.Errorf("runs %+v, want both, by start", d.Runs)
	}
	if !slices.Equal(d.Months, []string{"2024-02", "2024-03"}) || !slices.Equal(d.Custodians, []string{"amy", "zed"}) {
		t.Errorf("months %v custodians %v", d.Months, d.Custodians)
	}
	if d.PerMonth["zed"]["2024-03"] != 4 || d.PerMonth["amy"]["2024-02"] != 1 {
		t.Errorf("per month %v", d.PerMonth)
	}
	if len(d.Exceptions) != 1 {
		t.Errorf("exceptions %+v", d.Exceptions)
	}
	c := d.Custody
	if c.Lines != 5 || c.Included != 4 || c.Uncovered != 1 || c.Checkpoints != 2 || c.OK() {
		t.Errorf("custody %+v: want the sums, and not OK since shard 2's log has a problem", c)
	}
	if len(c.Problems) != 1 || c.Problems[0].Where != "shard 2/2: manifest.jsonl line 2" {
		t.Errorf("problems %+v, want shard 2/2's, named by it", c.Problems)
	}
	if !slices.Equal(c.NotChecked, []string{"shard 1/2: signatures"}) {
		t.Errorf("not checked %v", c.NotChecked)
	}
	if d.Checkpoint != one.Checkpoint+"\n"+two.Checkpoint {
		t.Errorf("checkpoints %q, want each shard's", d.Checkpoint)
	}
	// The parts are left as they were.
	if one.Totals.Messages != 3 || len(one.Mailboxes) != 1 || one.PerMonth["zed"]["2024-03"] != 3 {
		t.Errorf("MergeReports changed a part: %+v", one)
	}
}

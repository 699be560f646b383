package plan_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/plan"
)

// reorderingSource holds each delta round until four are waiting (or
// every folder's round has started), then lets the last one to arrive go
// first: the answers come in another order than the folders'.
type reorderingSource struct {
	graph.Source
	t       *testing.T
	folders int
	seen    map[string]bool // folders whose round started

	mu          sync.Mutex
	waiting     []chan struct{}
	started     int
	inFlight    int
	maxInFlight int
}

func (s *reorderingSource) releaseLocked() {
	if n := len(s.waiting); n > 0 && (n == 4 || len(s.seen) == s.folders) {
		close(s.waiting[n-1])
		s.waiting = s.waiting[:n-1]
	}
}

func (s *reorderingSource) Delta(ctx context.Context, mb graph.Mailbox, f graph.Folder, cursor string, page func(graph.DeltaPage) error) (string, error) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.started++
	s.seen[f.ID] = true
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	s.waiting = append(s.waiting, gate)
	s.releaseLocked()
	s.mu.Unlock()
	select {
	case <-gate:
	case <-time.After(20 * time.Second):
		s.t.Errorf("the round of %s waited 20 s for others: the folders are not read at once", f.ID)
	}
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.releaseLocked()
		s.mu.Unlock()
	}()
	return s.Source.Delta(ctx, mb, f, cursor, page)
}

// TestFolderRoundsRunAtOnceWithTheSamePlan reads a mailbox's folders four
// at a time, answered out of order, after moves, deletions and new mail:
// the plan is the one the folders give in order.
func TestFolderRoundsRunAtOnceWithTheSamePlan(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.PopulateBetween(ann, "inbox", 30, day("2024-02-01"), day("2024-03-01"))
	w.PopulateBetween(ann, "sentitems", 12, day("2024-02-01"), day("2024-03-01"))
	w.Mkdir(ann, "inbox", "Projects")
	w.PopulateBetween(ann, "Inbox/Projects", 9, day("2024-02-01"), day("2024-03-01"))
	w.LoadMatter(febToApril + `
custodian "ann" {
  name    = "Ann"
  email   = "` + ann + `"
  windows = [window.w]
}
`)
	w.Apply(w.Plan())
	inbox, projects := w.All(ann, "inbox"), w.All(ann, "Inbox/Projects")
	for _, id := range inbox[:3] {
		if _, err := w.Tenant.Move(ann, id, w.Folder(ann, "archive")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Tenant.Move(ann, projects[0], w.Folder(ann, "sentitems")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{inbox[5], projects[2]} {
		if err := w.Tenant.Delete(ann, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"inbox", "Inbox/Projects", "drafts"} {
		if _, err := w.Tenant.Deliver(ann, w.Folder(ann, f), graphsim.MessageSpec{Subject: "new", Received: day("2024-03-10")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Tenant.ExpireDeltaTokens(ann); err != nil { // every round starts over once
		t.Fatal(err)
	}

	w.Src.Reset()
	want := w.Plan()
	mb := mailboxPlan(t, want, ann)
	counted, _ := w.Src.Reset()
	rounds := 0
	for _, n := range counted {
		rounds += n
	}
	if c := want.Counts(); c.ToCollect != 3 || c.Tombstones != 2 || c.Moves != 4 {
		t.Fatalf("the plan in folder order counts %+v, want 3 to collect, 2 tombstones, 4 moves", c)
	}

	ro := &reorderingSource{Source: w.Src.Source, t: t, folders: len(mb.Folders), seen: map[string]bool{}}
	db := w.OpenState(true)
	defer db.Close()
	got, err := plan.Make(context.Background(), w.Matter, db, ro, plan.Options{Clock: w.Clock, ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if ro.maxInFlight != 4 {
		t.Errorf("%d rounds of one mailbox at once, want 4 (the mailbox's requests in flight)", ro.maxInFlight)
	}
	if ro.started != rounds || rounds <= len(mb.Folders) {
		t.Errorf("%d rounds, %d in folder order, for %d folders: want the same, some starting over", ro.started, rounds, len(mb.Folders))
	}
	// The new cursors are the server's tokens, which number the rounds
	// it answered: they differ, the rest of the plan does not.
	for _, p := range []*plan.Plan{want, got} {
		for _, m := range p.Mailboxes {
			for _, f := range m.Folders {
				if f.NewCursor == "" {
					t.Errorf("folder %q has no new cursor", f.Path)
				}
				f.NewCursor = "set"
			}
		}
	}
	wantJSON, _ := json.MarshalIndent(want.Mailboxes, "", " ")
	gotJSON, _ := json.MarshalIndent(got.Mailboxes, "", " ")
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("answered out of order, the plan differs:\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

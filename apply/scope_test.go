package apply_test

import (
	"context"
	"testing"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
)

func TestUnreadableMailboxIsFailedScopeAndTheOthersAreCollected(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann, bob := w.User("ann"), w.User("bob")
	w.Populate(ann, "inbox", 5)
	w.Populate(bob, "inbox", 4)
	if err := w.Tenant.SetMailboxAccess(w.Tenant.Credentials().ClientID, bob, false); err != nil {
		t.Fatal(err)
	}
	w.LoadMatterOf(ann, bob)
	p := w.ApplyablePlan()
	if p.Complete() || len(p.FailedScope()) != 1 {
		t.Fatalf("plan: complete %v, failed scope %+v; want bob's mailbox failed", p.Complete(), p.FailedScope())
	}
	res := w.Apply(p)
	if res.Collected != 5 || res.Planned != 5 || res.Remaining != 0 || res.Complete || res.Status != record.StatusIncomplete || len(res.FailedScope) != 1 {
		t.Fatalf("result: %d of %d collected, complete %v, status %s, failed scope %+v; want ann's 5 and bob failed",
			res.Collected, res.Planned, res.Complete, res.Status, res.FailedScope)
	}
	want := record.Failure{Mailbox: bob, Scope: "custodian.c1.mailbox.primary", Code: "ErrorAccessDenied"}
	check := func(where string, got []record.Failure) {
		t.Helper()
		if len(got) != 1 || got[0].Mailbox != want.Mailbox || got[0].Scope != want.Scope || got[0].Code != want.Code || got[0].Message == "" {
			t.Errorf("%s: failed scope %+v, want %+v with a message", where, got, want)
		}
	}
	check("result", res.FailedScope)
	rec, err := w.Store().ReadRun(res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	check("runs/"+res.RunID+".json", rec.FailedScope)
	if rec.Complete {
		t.Error("the run record says complete")
	}
	db := w.OpenState(false)
	var run record.Run
	_ = db.View(func(r *state.ReadTx) error {
		run, _, err = r.Run(res.RunID)
		return err
	})
	db.Close()
	check("state run record", run.FailedScope)

	// Access granted: the next apply reads the mailbox from scratch.
	if err := w.Tenant.SetMailboxAccess(w.Tenant.Credentials().ClientID, bob, true); err != nil {
		t.Fatal(err)
	}
	res = w.Apply(w.ApplyablePlan())
	if res.Collected != 4 || !res.Complete || len(res.FailedScope) != 0 {
		t.Errorf("retry: %d collected, complete %v, failed scope %+v; want bob's 4", res.Collected, res.Complete, res.FailedScope)
	}
}

func TestUnusablePlanIsRefused(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 2)
	w.LoadMatterOf(ann)
	p := w.ApplyablePlan()
	p.Errors = append(p.Errors, plan.Problem{Addr: "mailbox.x", Summary: "Two addresses name the same mailbox"})
	res, err := w.ApplyWith(context.Background(), p, apply.Options{})
	if err == nil || res.Collected != 0 || len(w.Items()) != 0 {
		t.Errorf("an unusable plan was applied: %v, %d collected", err, res.Collected)
	}
}

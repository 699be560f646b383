package graphsim

import (
	"bytes"
	"testing"
)

// Prepared bodies are the bytes generation makes, served over $value and
// WriteMIME alike; a draft edited afterwards and a message too large to
// keep are generated as before.
func TestPrepareBodies(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 31}, 30)
	twin, mb2, inbox2 := mailTenant(t, Config{Seed: 31}, 30)
	for _, tn := range []*Tenant{s.tn, twin.tn} {
		if _, err := tn.Deliver(mb, inbox, MessageSpec{Size: 2 * MaxPreparedBody}); err != nil {
			t.Fatal(err)
		}
		if _, err := tn.Deliver(mb, inbox, MessageSpec{Draft: true}); err != nil {
			t.Fatal(err)
		}
	}
	n, size := s.tn.PrepareBodies()
	if n != 31 || size <= 0 {
		t.Fatalf("prepared %d bodies (%d bytes), want the 31 below %d bytes", n, size, MaxPreparedBody)
	}
	refs, _ := s.tn.Messages(mb, inbox)
	refs2, _ := twin.tn.Messages(mb2, inbox2)
	draft := refs[len(refs)-1]
	if _, err := s.tn.EditDraft(mb, draft.ImmutableID); err != nil {
		t.Fatal(err)
	}
	if _, err := twin.tn.EditDraft(mb2, refs2[len(refs2)-1].ImmutableID); err != nil {
		t.Fatal(err)
	}
	for i, r := range refs {
		want, err := twin.tn.MIME(mb2, refs2[i].ImmutableID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.tn.MIME(mb, r.ImmutableID)
		if err != nil {
			t.Fatal(err)
		}
		status, _, served := s.get("/v1.0/users/" + mb + "/messages/" + esc(r.ID) + "/$value")
		if status != 200 || !bytes.Equal(got, want) || !bytes.Equal(served, want) {
			t.Fatalf("message %d: WriteMIME %d bytes, $value %d (status %d), generated %d", i, len(got), len(served), status, len(want))
		}
	}
	before, err := s.tn.MIME(mb, draft.ImmutableID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.tn.EditDraft(mb, draft.ImmutableID); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.tn.MIME(mb, draft.ImmutableID); bytes.Equal(after, before) {
		t.Fatal("an edited draft still serves the bytes of its earlier version")
	}
}

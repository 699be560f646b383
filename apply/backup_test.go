package apply_test

import (
	"testing"

	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/testworld"
	"github.com/collect-ediscovery/collect/state"
)

// backupOf reads the serial and the number of collected items of the
// backup of the world's state.
func backupOf(w *testworld.World) (serial uint64, items int) {
	w.T.Helper()
	db, err := state.Open(state.BackupFilePath(w.Matter.State.Path), state.Options{ReadOnly: true})
	if err != nil {
		w.T.Fatalf("open the backup: %v", err)
	}
	defer db.Close()
	err = db.View(func(r *state.ReadTx) error {
		serial = r.Meta().Serial
		return r.ItemsSince(0, func(state.Item) error { items++; return nil })
	})
	if err != nil {
		w.T.Fatal(err)
	}
	return serial, items
}

func TestBackupIsTheStateBeforeEachApply(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", 7)
	w.LoadMatterOf(ann)
	w.Apply(w.ApplyablePlan())
	if serial, items := backupOf(w); serial != 0 || items != 0 {
		t.Fatalf("backup after the first apply: serial %d, %d items; want the state before it (0, 0)", serial, items)
	}
	w.Populate(ann, "inbox", 3)
	w.Apply(w.ApplyablePlan())
	if serial, items := backupOf(w); serial != 1 || items != 7 {
		t.Fatalf("backup after the second apply: serial %d, %d items; want (1, 7)", serial, items)
	}
	if got := len(w.Items()); got != 10 {
		t.Fatalf("state holds %d items, want 10", got)
	}
}

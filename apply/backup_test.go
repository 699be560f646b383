package apply_test

import (
	"testing"

	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/state"
)

// backupOf reads the serial and the number of collected items of the
// backup of the world's state.
func (w *world) backupOf() (serial uint64, items int) {
	w.t.Helper()
	db, err := state.Open(state.BackupFilePath(w.m.State.Path), state.Options{ReadOnly: true})
	if err != nil {
		w.t.Fatalf("open the backup: %v", err)
	}
	defer db.Close()
	err = db.View(func(r *state.ReadTx) error {
		serial = r.Meta().Serial
		return r.ItemsSince(0, func(state.Item) error { items++; return nil })
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return serial, items
}

func TestBackupIsTheStateBeforeEachApply(t *testing.T) {
	w := newWorld(t, graphsim.Config{})
	ann := w.user("ann")
	w.populate(ann, "inbox", 7)
	w.matter(ann)
	w.apply(w.plan())
	if serial, items := w.backupOf(); serial != 0 || items != 0 {
		t.Fatalf("backup after the first apply: serial %d, %d items; want the state before it (0, 0)", serial, items)
	}
	w.populate(ann, "inbox", 3)
	w.apply(w.plan())
	if serial, items := w.backupOf(); serial != 1 || items != 7 {
		t.Fatalf("backup after the second apply: serial %d, %d items; want (1, 7)", serial, items)
	}
	if got := len(w.items()); got != 10 {
		t.Fatalf("state holds %d items, want 10", got)
	}
}

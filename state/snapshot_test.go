package state

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
	"github.com/collect-ediscovery/collect/internal/record"
)

// putRunItems records a run that has not finished and n items it collected.
func putRunItems(t *testing.T, db *DB, c *clock.Fake, runID string, from, n int) {
	t.Helper()
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		if err := tx.PutRun(record.Run{RunID: runID, Operation: "apply", Started: c.Now(), Counts: record.Counts{Planned: 10}}); err != nil {
			return err
		}
		for i := from; i < from+n; i++ {
			it := collectedItem(i, c)
			it.RunID = runID
			if _, _, err := tx.PutItem(it); err != nil {
				return err
			}
		}
		return nil
	})
}

// A reader that asks for it reads the writer's snapshot, told who writes
// and how far its run is; a reader that does not, and a second writer,
// are refused as before.
func TestSnapshotWhileWriting(t *testing.T) {
	c := newClock()
	path := statePath(t)
	opts := testOptions(c)
	opts.SnapshotEvery = time.Minute
	w := mustOpen(t, path, opts)
	if _, err := os.Stat(SnapshotPath(path)); err != nil {
		t.Fatalf("a write open made no snapshot: %v", err)
	}
	putRunItems(t, w, c, "run-1", 0, 3) // the first commit: snapshot now

	readOpts := Options{ReadOnly: true, Snapshot: true}
	r, err := Open(path, readOpts)
	if err != nil {
		t.Fatalf("reader while an apply writes: %v", err)
	}
	wr := r.Writer()
	if wr == nil || wr.Holder.PID != os.Getpid() || wr.Holder.Operation != "apply" || wr.SnapshotAt.IsZero() {
		t.Fatalf("Writer() = %+v, want this process's apply", wr)
	}
	mustView(t, r, func(rt *ReadTx) error {
		p, ok, err := rt.RunInProgress()
		if err != nil || !ok || p.Run.RunID != "run-1" || p.Collected != 3 || p.Run.Planned != 10 {
			t.Errorf("RunInProgress = %+v %v %v, want run-1 with 3 collected of 10", p, ok, err)
		}
		return nil
	})
	if err := r.Update(func(*Tx) error { return nil }); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Update on a snapshot: %v, want ErrReadOnly", err)
	}
	r.Close()

	// Within SnapshotEvery, a commit is not copied; past it, it is.
	putRunItems(t, w, c, "run-1", 3, 2)
	if n := countCollected(t, path, readOpts); n != 3 {
		t.Errorf("snapshot within SnapshotEvery has %d items, want the 3 of the last snapshot", n)
	}
	c.Advance(time.Minute)
	putRunItems(t, w, c, "run-1", 5, 1)
	if n := countCollected(t, path, readOpts); n != 6 {
		t.Errorf("snapshot past SnapshotEvery has %d items, want 6", n)
	}

	var le *LockedError
	if _, err := Open(path, Options{ReadOnly: true}); !errors.As(err, &le) || le.Holder == nil {
		t.Errorf("reader without Snapshot: %v, want *LockedError naming the holder", err)
	}
	if _, err := Open(path, testOptions(c)); !errors.As(err, &le) || le.Holder == nil || le.Holder.PID != os.Getpid() {
		t.Errorf("second writer: %v, want *LockedError naming the holder", err)
	}

	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(SnapshotPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the snapshot is left after the writer closed: %v", err)
	}
	r, err = Open(path, readOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Writer() != nil {
		t.Errorf("with no writer, Writer() = %+v, want nil", r.Writer())
	}
}

// A snapshot left by a writer that died is never read as the state: the
// next writer removes it before it records itself, and without a live
// writer a reader reads the file.
func TestSnapshotLeftByDeadWriter(t *testing.T) {
	c := newClock()
	path := newStateFile(t)
	if err := os.WriteFile(SnapshotPath(path), []byte("left over"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, path, Options{ReadOnly: true, Snapshot: true})
	if r.Writer() != nil {
		t.Fatalf("read a left-over snapshot: %+v", r.Writer())
	}
	r.Close()
	w := mustOpen(t, path, testOptions(c))
	putRunItems(t, w, c, "run-2", 0, 1)
	if n := countCollected(t, path, Options{ReadOnly: true, Snapshot: true}); n != 1 {
		t.Errorf("snapshot has %d items, want 1", n)
	}
}

// The snapshot of another process's write lock is read the same way.
func TestSnapshotOfAnotherProcess(t *testing.T) {
	path := newStateFile(t)
	h := startHolder(t, path, false)
	r, err := Open(path, Options{ReadOnly: true, Snapshot: true})
	if err != nil {
		t.Fatalf("reader while another process writes: %v", err)
	}
	defer r.Close()
	if w := r.Writer(); w == nil || w.Holder.PID != h.pid || w.Holder.Tool != "v9.9.9" {
		t.Errorf("Writer() = %+v, want pid %d", w, h.pid)
	}
	mustView(t, r, func(rt *ReadTx) error {
		if !rt.Meta().Exists() {
			t.Error("the snapshot has no meta")
		}
		return nil
	})
}

func countCollected(t *testing.T, path string, opts Options) int {
	t.Helper()
	r, err := Open(path, opts)
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	defer r.Close()
	if r.Writer() == nil {
		t.Fatal("the reader did not read a snapshot")
	}
	n := 0
	mustView(t, r, func(rt *ReadTx) error {
		return rt.ItemsOfMailbox(testMailbox, func(Item) error { n++; return nil })
	})
	return n
}

// OnSnapshot hears of every snapshot with the last item it holds, and the
// file it names is the snapshot just written.
func TestOnSnapshotNamesEachSnapshotAndItsLastItem(t *testing.T) {
	c := newClock()
	path := statePath(t)
	opts := testOptions(c)
	opts.SnapshotEvery = -1
	var seqs []uint64
	opts.OnSnapshot = func(p string, lastSeq uint64) {
		if p != SnapshotPath(path) {
			t.Errorf("OnSnapshot named %s, want %s", p, SnapshotPath(path))
		}
		snap, err := Open(p, Options{ReadOnly: true})
		if err != nil {
			t.Errorf("open the snapshot: %v", err)
			return
		}
		mustView(t, snap, func(r *ReadTx) error {
			if r.LastSeq() != lastSeq {
				t.Errorf("the snapshot's last item is %d, OnSnapshot said %d", r.LastSeq(), lastSeq)
			}
			return nil
		})
		snap.Close()
		seqs = append(seqs, lastSeq)
	}
	w := mustOpen(t, path, opts)
	putRunItems(t, w, c, "run-1", 0, 3)
	putRunItems(t, w, c, "run-1", 3, 2)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(seqs) < 3 || seqs[0] != 0 || seqs[len(seqs)-1] != 5 {
		t.Fatalf("OnSnapshot heard last items %v, want 0 first (the open) and 5 last", seqs)
	}
}

package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/collect-ediscovery/collect/internal/durable"
	"github.com/collect-ediscovery/collect/internal/record"
	bolt "go.etcd.io/bbolt"
)

// SnapshotPath is the copy of the state file at path that a process holding
// the write lock keeps for readers (see the package documentation).
func SnapshotPath(path string) string { return path + ".snapshot" }

// Writer describes the process that held the write lock when a state was
// opened from its snapshot.
type Writer struct {
	Holder Holder
	// SnapshotAt is when the snapshot that was read was taken.
	SnapshotAt time.Time
}

// Writer is the process that holds the write lock when the state was read
// from the snapshot it keeps (Options.Snapshot); nil when the state file
// itself was read.
func (db *DB) Writer() *Writer { return db.writer }

// The snapshot is refreshed after a commit once snapshotEvery has passed
// since the last one, and never more often than snapshotCost times what
// the last one took, so that a large state costs a writer at most about a
// twentieth of its time.
const (
	snapshotEvery = 5 * time.Second
	snapshotCost  = 20
)

// snapshotDue reports whether a commit should refresh the snapshot.
func (db *DB) snapshotDue(now time.Time) bool {
	if db.snapshots == 0 || db.snapshots == 1 {
		// The first commit records the run that is starting: readers
		// should see it at once.
		return true
	}
	every := db.opts.SnapshotEvery
	switch {
	case every < 0:
		return true
	case every == 0:
		every = snapshotEvery
	}
	every = max(every, snapshotCost*db.snapshotTook)
	return now.Sub(db.snapshotAt) >= every
}

// writeSnapshot copies the committed state to SnapshotPath in one read
// transaction (bbolt's consistent hot copy), under a temporary name that
// is renamed into place once complete: a reader opens either the previous
// snapshot or this one, never a partial file. The snapshot is only a view
// for readers; nothing is lost if it is not written.
func (db *DB) writeSnapshot() error {
	start := time.Now()
	var lastSeq uint64
	err := durable.Write(SnapshotPath(db.path), 0o600, func(w io.Writer) error {
		return db.bolt.View(func(tx *bolt.Tx) error {
			lastSeq = (&ReadTx{tx: tx}).LastSeq()
			_, err := tx.WriteTo(w)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("write the snapshot of state file %s: %w", db.path, err)
	}
	db.snapshots++
	db.snapshotAt = db.opts.now()
	db.snapshotTook = time.Since(start)
	if db.opts.OnSnapshot != nil {
		db.opts.OnSnapshot(SnapshotPath(db.path), lastSeq)
	}
	return nil
}

// removeSnapshot removes the snapshot of the state at path, if any.
func removeSnapshot(path string) error {
	err := os.Remove(SnapshotPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// openSnapshot opens the snapshot kept by the writer h, checked whole as
// the state file itself would be. It returns nil, nil when there is no
// snapshot (the writer has not made it yet, or has just finished).
func openSnapshot(path string, h Holder, opts Options, sch schema, start time.Time) (*DB, error) {
	snap := SnapshotPath(path)
	fi, err := os.Stat(snap)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open the snapshot of state file %s: %w", path, err)
	}
	// The writer never opens the snapshot with bbolt and replaces it only by
	// renaming another file over it, so this lock is never contended.
	db, err := openChecked(snap, opts, sch, func() time.Duration { return time.Second }, start)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			ce.Path = path + " (the snapshot " + snap + " that the running " + h.Operation + " keeps)"
		}
		return nil, err
	}
	db.path = path
	db.writer = &Writer{Holder: h, SnapshotAt: fi.ModTime()}
	return db, nil
}

// RunProgress is how far a run still in progress had got in a snapshot.
type RunProgress struct {
	Run record.Run
	// Collected counts the items this run collected so far.
	Collected int64
}

// RunInProgress returns the last run record still marked running, with
// what it has collected so far. Read from a writer's snapshot, it is the
// run of the writer.
func (r *ReadTx) RunInProgress() (RunProgress, bool, error) {
	var last record.Run
	found := false
	if err := r.Runs(func(run record.Run) error {
		if run.Status == record.StatusRunning {
			last, found = run, true
		}
		return nil
	}); err != nil || !found {
		return RunProgress{}, false, err
	}
	p := RunProgress{Run: last}
	b := r.bucket(bBySeq)
	if b == nil {
		return p, true, nil
	}
	// The run's items have the highest sequence numbers: count back from
	// the last one until an item of another run.
	c := b.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		ref, ok := splitRef(v)
		if !ok {
			return p, true, fmt.Errorf("sequence index: bad entry for %x", k)
		}
		it, found, err := r.itemAtSeq(ref, binary.BigEndian.Uint64(k))
		if err != nil {
			return p, true, err
		}
		if !found {
			return p, true, fmt.Errorf("sequence index: item %s of mailbox %s (seq %d) is missing", ref.ID, ref.Mailbox, binary.BigEndian.Uint64(k))
		}
		if it.RunID != last.RunID {
			break
		}
		p.Collected++
	}
	return p, true, nil
}

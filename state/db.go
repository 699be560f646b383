package state

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
	"github.com/collect-ediscovery/collect/internal/durable"
	"github.com/google/uuid"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the version of the state file layout this collect
// writes. Files with an older version are upgraded (after a backup) when
// opened for writing; files with a newer one are refused.
const SchemaVersion = 1

// Options controls how a state file is opened.
type Options struct {
	// ReadOnly opens the file under a shared lock, as plan does; a file
	// that does not exist yet reads as an empty state and is not created.
	// Otherwise the file is opened (or created) under an exclusive lock.
	ReadOnly bool
	// LockTimeout is how long to wait for the lock; 0 fails at once.
	LockTimeout time.Duration
	// Operation names the command ("plan", "apply"), recorded in the lock
	// file so that a second command can say who holds the lock.
	Operation string
	// ToolVersion is the version of collect, recorded in the file.
	ToolVersion string
	// Clock stamps creation, lock holders and observations; nil means the
	// system clock.
	Clock clock.Clock
	// Rand is the source for the lineage UUID; nil means crypto/rand.
	Rand io.Reader
	// Snapshot lets a read-only open that finds the write lock held by a
	// running apply read the snapshot that apply keeps (see DB.Writer)
	// instead of failing with *LockedError. Commands that only show the
	// state set it; plan does not, as its plan would be stale at once.
	Snapshot bool
	// SnapshotEvery is how often a write open refreshes its snapshot, at
	// the first commit after that much time; 0 means every 5 seconds and
	// a negative value at every commit.
	SnapshotEvery time.Duration
	// Lineage is the lineage of a file this open creates, as a rebuild
	// keeps the lineage of the collection it rebuilds; empty means a new
	// one from Rand.
	Lineage string
	// OnSnapshot, if set, is called after a write open has refreshed its
	// snapshot, with the snapshot's path and the sequence number of the
	// last item it holds: a remote backend checkpoints the state from it.
	// It runs in the committing goroutine; it should open the file and
	// return, as the next refresh renames another file over it.
	OnSnapshot func(path string, lastSeq uint64)
}

// DB is an open state file.
type DB struct {
	path     string
	bolt     *bolt.DB // nil for the empty state of a file that does not exist
	readOnly bool
	opts     Options
	closed   atomic.Bool

	writer *Writer // set when the state was read from a writer's snapshot
	// The snapshot a write open keeps for readers.
	snapshots    int
	snapshotAt   time.Time
	snapshotTook time.Duration
	// updates counts commits, to release the mapped pages every few.
	updates atomic.Int64
}

// releaseEvery and releaseAbove say when a writer releases the mapped
// pages of its state file (releaseMapped): every releaseEvery commits once
// the file is larger than releaseAbove bytes.
var (
	releaseEvery       = 4
	releaseAbove int64 = 8 << 20
)

// Bucket names. Per mailbox, the mailboxes bucket holds a bucket keyed by
// the mailbox ID with the identity record and the folders, items,
// by-folder index and failures of that mailbox.
var (
	bMeta      = []byte("meta")
	bMailboxes = []byte("mailboxes")
	bRuns      = []byte("runs")
	bByIMID    = []byte("idx_internet_message_id")
	bBySHA256  = []byte("idx_sha256")
	bBySeq     = []byte("idx_seq")

	kIdentity = []byte("identity")
	bFolders  = []byte("folders")
	bItems    = []byte("items")
	bByFolder = []byte("idx_folder")
	bFailures = []byte("failures")

	kSchema      = []byte("schema_version")
	kLineage     = []byte("lineage")
	kSerial      = []byte("serial")
	kToolVersion = []byte("tool_version")
	kCreatedAt   = []byte("created_at")
)

// Open opens the state file at path. See Options for read-only and
// read-write opens and for locking.
func Open(path string, opts Options) (*DB, error) {
	db, err := open(path, opts, currentSchema())
	var ce *CorruptError
	if errors.As(err, &ce) {
		ce.Backup = existingBackup(path)
	}
	return db, err
}

func (o *Options) now() time.Time {
	if o.Clock != nil {
		return o.Clock.Now()
	}
	return time.Now()
}

// boltTimeout maps LockTimeout to bbolt's, where 0 means wait forever.
func boltTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Nanosecond
	}
	return d
}

func open(path string, opts Options, sch schema) (db *DB, err error) {
	start := time.Now()
	remaining := func() time.Duration {
		if opts.LockTimeout <= 0 {
			return 0
		}
		if r := opts.LockTimeout - time.Since(start); r > 0 {
			return r
		}
		return time.Nanosecond
	}
	_, statErr := os.Stat(path)
	switch {
	case errors.Is(statErr, fs.ErrNotExist):
		if opts.ReadOnly {
			return &DB{path: path, readOnly: true, opts: opts}, nil
		}
		if err := createFile(path, opts, sch); err != nil {
			return nil, err
		}
	case statErr != nil:
		return nil, fmt.Errorf("open state file: %w", statErr)
	}

	if opts.ReadOnly && opts.Snapshot {
		return openReader(path, opts, sch, remaining, start)
	}
	// An existing file is first opened read-only and checked whole, so
	// that a damaged file is refused before anything could write to it.
	ro, err := openChecked(path, opts, sch, remaining, start)
	if err != nil {
		return nil, err
	}
	if opts.ReadOnly {
		return ro, nil
	}
	ro.bolt.Close()
	return openWrite(path, opts, sch, remaining)
}

// boltOpen opens the file with bbolt, turning a panic on a damaged file
// and a lock timeout into this package's errors.
func boltOpen(path string, readOnly bool, timeout time.Duration, start time.Time) (b *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, &CorruptError{Path: path, Reason: "the file is damaged", Err: fmt.Errorf("%v", r)}
		}
	}()
	b, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: readOnly, Timeout: boltTimeout(timeout)})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, lockedError(path, readOnly, time.Since(start))
	}
	return b, err
}

func openChecked(path string, opts Options, sch schema, remaining func() time.Duration, start time.Time) (*DB, error) {
	// A state file is linked into place only once complete (createFile),
	// so an empty or short file is never one still being made.
	if err := preflight(path); err != nil {
		return nil, err
	}
	b, err := boltOpen(path, true, remaining(), start)
	if err != nil {
		var le *LockedError
		var ce *CorruptError
		if errors.As(err, &le) || errors.As(err, &ce) {
			return nil, err
		}
		return nil, &CorruptError{Path: path, Reason: "bbolt cannot open it", Err: err}
	}
	// Under the lock, the file can no longer change: check it again.
	if err := preflight(path); err != nil {
		b.Close()
		return nil, err
	}
	db := &DB{path: path, bolt: b, readOnly: true, opts: opts}
	if err := db.checkAll(sch, opts.ReadOnly); err != nil {
		b.Close()
		return nil, err
	}
	return db, nil
}

// checkAll checks every page of the file and that it is a state file of a
// schema this collect can read (or, for a write open, upgrade).
func (db *DB) checkAll(sch schema, readOnly bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &CorruptError{Path: db.path, Reason: "the file is damaged", Err: fmt.Errorf("%v", r)}
		}
	}()
	return db.bolt.View(func(tx *bolt.Tx) error {
		for cerr := range tx.Check() {
			if cerr != nil {
				return &CorruptError{Path: db.path, Reason: "the file is damaged", Err: cerr}
			}
		}
		_, err := db.schemaOf(tx, sch, readOnly)
		return err
	})
}

// schemaOf returns the schema version of the file, refusing a file that is
// not a state file or has a version this collect cannot handle.
func (db *DB) schemaOf(tx *bolt.Tx, sch schema, readOnly bool) (int, error) {
	meta := tx.Bucket(bMeta)
	if meta == nil {
		return 0, &CorruptError{Path: db.path, Reason: "it is a bbolt file but not a collect state file (no meta bucket)"}
	}
	v := meta.Get(kSchema)
	if len(v) != 8 {
		return 0, &CorruptError{Path: db.path, Reason: "its schema version is missing"}
	}
	found := int(binary.BigEndian.Uint64(v))
	if found > sch.version || (found < sch.version && readOnly) {
		return found, &SchemaError{Path: db.path, Found: found, Supported: sch.version, WrittenBy: string(meta.Get(kToolVersion))}
	}
	return found, nil
}

func openWrite(path string, opts Options, sch schema, remaining func() time.Duration) (*DB, error) {
	start := time.Now()
	b, err := boltOpen(path, false, remaining(), start)
	if err != nil {
		var le *LockedError
		var ce *CorruptError
		if errors.As(err, &le) || errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("open state file %s for writing: %w", path, err)
	}
	db := &DB{path: path, bolt: b, opts: opts}
	now := opts.now()
	// A snapshot left by a writer that died is older than the file.
	if err := removeSnapshot(path); err != nil {
		b.Close()
		return nil, fmt.Errorf("remove the old snapshot of state file %s: %w", path, err)
	}
	if err := writeLockFile(path, currentHolder(&opts, now)); err != nil {
		b.Close()
		return nil, err
	}
	if err := db.prepare(sch, now); err != nil {
		db.Close()
		return nil, err
	}
	// Readers find no snapshot only if it cannot be written: they then
	// wait for the lock, as they did before snapshots.
	_ = db.writeSnapshot()
	return db, nil
}

// openReader opens the state for a command that only shows it: the file
// itself when no apply holds the write lock, otherwise the snapshot that
// apply keeps. The lock is first tried without waiting, so that a running
// apply does not make the reader wait out its -lock-timeout.
func openReader(path string, opts Options, sch schema, remaining func() time.Duration, start time.Time) (*DB, error) {
	// The writer may finish between the lock and the snapshot: try again.
	for range 3 {
		db, err := openChecked(path, opts, sch, func() time.Duration { return time.Nanosecond }, start)
		var le *LockedError
		if !errors.As(err, &le) {
			return db, err
		}
		if le.Holder == nil || le.Stale {
			// No live writer to keep a snapshot: wait for the lock.
			return openChecked(path, opts, sch, remaining, start)
		}
		db, err = openSnapshot(path, *le.Holder, opts, sch, start)
		if db != nil || err != nil {
			return db, err
		}
	}
	return openChecked(path, opts, sch, remaining, start)
}

// prepare upgrades a file of an older schema.
func (db *DB) prepare(sch schema, now time.Time) error {
	var found int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		found, err = db.schemaOf(tx, sch, false)
		return err
	})
	if err != nil {
		return err
	}
	if found < sch.version {
		return db.migrate(sch, found, now)
	}
	return nil
}

// createFile makes a new state file at path with a new lineage. The file is
// built under a temporary name and linked into place only when complete, so
// a state file is never seen half made, and one that another process made
// in the meantime is kept.
func createFile(path string, opts Options, sch schema) error {
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	lineage, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return fmt.Errorf("make the lineage of a new state file: %w", err)
	}
	if opts.Lineage != "" {
		if lineage, err = uuid.Parse(opts.Lineage); err != nil {
			return fmt.Errorf("create state file %s: lineage %q is not a UUID", path, opts.Lineage)
		}
	}
	// The matter may put the state in a folder of its own.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the folder of state file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("create state file %s: %w", path, err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	b, err := bolt.Open(tmpPath, 0o600, &bolt.Options{Timeout: time.Nanosecond})
	if err != nil {
		return fmt.Errorf("create state file %s: %w", path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range sch.buckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		puts := []struct{ k, v []byte }{
			{kSchema, u64(uint64(sch.version))},
			{kLineage, []byte(lineage.String())},
			{kSerial, u64(0)},
			{kToolVersion, []byte(opts.ToolVersion)},
			{kCreatedAt, []byte(opts.now().UTC().Format(time.RFC3339Nano))},
		}
		for _, p := range puts {
			if err := meta.Put(p.k, p.v); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create state file %s: %w", path, err)
	}
	// A hard link does not replace an existing file, unlike a rename.
	if err := os.Link(tmpPath, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create state file %s: %w", path, err)
	}
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("create state file %s: %w", path, err)
	}
	return nil
}

func u64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, v)
}

// Path is the path of the state file.
func (db *DB) Path() string { return db.path }

// ReadOnly reports whether the state was opened read-only.
func (db *DB) ReadOnly() bool { return db.readOnly }

// Close releases the lock and closes the file. The lock file of a write
// open is removed before the lock is released, so that it never names a
// process that no longer holds the lock.
func (db *DB) Close() error {
	if !db.closed.CompareAndSwap(false, true) || db.bolt == nil {
		return nil
	}
	var lockErr error
	if !db.readOnly {
		lockErr = errors.Join(removeSnapshot(db.path), removeLockFile(db.path))
	}
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close state file %s: %w", db.path, err)
	}
	if lockErr != nil {
		return fmt.Errorf("remove the lock file of %s: %w", db.path, lockErr)
	}
	return nil
}

var errClosed = errors.New("the state file is closed")

// View runs fn in a read transaction: fn sees one consistent state.
func (db *DB) View(fn func(*ReadTx) error) error {
	if db.closed.Load() {
		return errClosed
	}
	if db.bolt == nil {
		// A file that does not exist yet: an empty state.
		return fn(&ReadTx{})
	}
	return db.bolt.View(func(tx *bolt.Tx) error {
		return fn(&ReadTx{tx: tx})
	})
}

// releaseDue releases the mapped pages of a large state file every few
// commits: the pages a batch of commits touched are then all the file
// holds in collect's resident memory.
func (db *DB) releaseDue() {
	if db.updates.Add(1)%int64(releaseEvery) != 0 {
		return
	}
	if fi, err := os.Stat(db.path); err == nil && fi.Size() > releaseAbove {
		releaseMapped(db.bolt)
	}
}

// Update runs fn in a write transaction: everything fn writes is committed
// together, durably, when fn returns nil, and nothing is when it returns an
// error. The version of collect is recorded as the last writer. Put many
// items in one Update: each commit costs a sync to disk. Do not call View
// or Update from inside fn.
func (db *DB) Update(fn func(*Tx) error) error {
	if db.closed.Load() {
		return errClosed
	}
	if db.readOnly {
		return fmt.Errorf("state file %s: %w", db.path, ErrReadOnly)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		t := &Tx{ReadTx: ReadTx{tx: tx}, now: db.opts.now}
		if err := fn(t); err != nil {
			return err
		}
		if db.opts.ToolVersion != "" {
			return tx.Bucket(bMeta).Put(kToolVersion, []byte(db.opts.ToolVersion))
		}
		return nil
	})
	if err == nil {
		db.releaseDue()
	}
	if err == nil && db.snapshotDue(db.opts.now()) {
		// A reader then sees the commit; if the snapshot cannot be
		// written, it sees the last one, which says when it was taken.
		_ = db.writeSnapshot()
	}
	return err
}

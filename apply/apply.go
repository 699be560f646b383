// Package apply carries out a plan: it fetches every planned message into
// the evidence store, and records it in the state only once its bytes are
// durable on disk.
package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// Options tune an apply.
type Options struct {
	RunID string
	// Parallelism is how many mailboxes are collected at once.
	Parallelism int
	// Concurrency is how many messages of one mailbox are fetched at once;
	// Graph allows 4 requests in flight per mailbox.
	Concurrency int
	// BatchSize is how many items one state transaction commits.
	BatchSize int
	// FetchAttempts bounds how often one message is fetched again after a
	// cut-short body or a transient failure the transport gave up on.
	FetchAttempts int
	// Backoff is the wait before fetching a message again; it doubles.
	Backoff time.Duration
	Now     func() time.Time
	// Progress, if set, receives counters while the apply runs.
	Progress *Progress

	ToolVersion, User, Host         string
	MatterHash, MatterGit, PlanHash string
	// Throttled reports the time spent waiting on Graph's throttling so
	// far, for the run record; nil when unknown.
	Throttled func() time.Duration
}

func (o *Options) defaults() {
	if o.Parallelism < 1 {
		o.Parallelism = 10
	}
	if o.Concurrency < 1 {
		o.Concurrency = 4
	}
	if o.BatchSize < 1 {
		o.BatchSize = 256
	}
	if o.FetchAttempts < 1 {
		o.FetchAttempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = &Progress{}
	}
}

// Counters count work as it goes; safe to read while it runs.
type Counters struct {
	Planned    atomic.Int64
	Collected  atomic.Int64
	Bytes      atomic.Int64
	Tombstoned atomic.Int64
	Failed     atomic.Int64
}

// Progress counts an apply's work in total and per mailbox.
type Progress struct {
	Counters
	mu        sync.Mutex
	mailboxes []*MailboxProgress
	byAddr    map[string]*MailboxProgress
}

// MailboxProgress is one mailbox's share of the work.
type MailboxProgress struct {
	Addr, ID string
	Counters
}

// Mailbox returns the counters of one mailbox, creating them.
func (p *Progress) Mailbox(addr, id string) *MailboxProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byAddr == nil {
		p.byAddr = map[string]*MailboxProgress{}
	}
	if m := p.byAddr[addr]; m != nil {
		return m
	}
	m := &MailboxProgress{Addr: addr, ID: id}
	p.byAddr[addr] = m
	p.mailboxes = append(p.mailboxes, m)
	return m
}

// Mailboxes lists the mailboxes in the order they were planned.
func (p *Progress) Mailboxes() []*MailboxProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*MailboxProgress(nil), p.mailboxes...)
}

// Result is what an apply did.
type Result struct {
	RunID        string
	Planned      int64
	Collected    int64 // new natives recorded
	Deduplicated int64 // of those, bytes already in the store
	Tombstoned   int64 // deleted before collection
	Observations int64 // removals and moves recorded
	Failed       int64
	Bytes        int64
	Cursors      int // folders whose delta cursor was stored
	Failures     []store.Failure
	// Interrupted is set when the run was stopped before the end; Remaining
	// counts the planned items neither collected nor failed.
	Interrupted bool
	Remaining   int64
	Throttled   time.Duration
	Started     time.Time
	Finished    time.Time
}

// Complete reports whether every planned item was collected or tombstoned.
func (r *Result) Complete() bool { return !r.Interrupted && r.Failed == 0 && r.Remaining == 0 }

// outcome is what happened to one planned item.
type outcome struct {
	mb     *plan.Mailbox
	folder *folderTrack
	item   plan.Item
	staged *store.Staged // bytes written and hashed, not yet durable
	native store.Native  // set once sealed
	err    error         // nil: collected
}

type folderTrack struct {
	plan        *plan.Folder
	outstanding int
	failed      bool
}

// Apply carries out p. The state db must be open for writing, and the
// caller must have checked that p is fresh. Failures of single items are
// in the result; the error is for what stopped the run (a full disk, a
// state that cannot be written, an interruption).
func Apply(ctx context.Context, p *plan.Plan, db *state.DB, st *store.Store, src graph.Source, opts Options) (*Result, error) {
	opts.defaults()
	res := &Result{RunID: opts.RunID, Started: opts.Now().UTC()}
	man, err := st.OpenManifest()
	if err != nil {
		return res, err
	}
	defer man.Close()
	if _, err := Reconcile(db, man); err != nil {
		return res, fmt.Errorf("bring the manifest up to date with the state: %w", err)
	}

	tracks := map[*plan.Folder]*folderTrack{}
	for _, mb := range p.Mailboxes {
		mp := opts.Progress.Mailbox(mb.Addr, mb.Resolved.ID)
		for _, f := range mb.Folders {
			tracks[f] = &folderTrack{plan: f, outstanding: len(f.Fetch)}
			res.Planned += int64(len(f.Fetch))
			mp.Planned.Add(int64(len(f.Fetch)))
		}
	}
	opts.Progress.Planned.Store(res.Planned)

	// The state as it was before this run is kept as the backup, once the
	// first commit has changed it.
	backup, err := db.Backup()
	if err != nil {
		return res, err
	}
	defer backup.Discard()
	// The first commit records identities, folders and observations, and
	// bumps the serial: from here on, the plan is stale whatever happens.
	if err := db.Update(func(tx *state.Tx) error {
		if _, err := tx.BumpSerial(); err != nil {
			return err
		}
		if err := tx.PutRun(stateRun(res, opts, nil)); err != nil {
			return err
		}
		for _, mb := range p.Mailboxes {
			if mb.Error != nil {
				continue
			}
			if err := putMailbox(tx, mb); err != nil {
				return err
			}
			for _, f := range mb.Folders {
				n, err := recordFolder(tx, mb, f, opts.RunID, opts.Now())
				if err != nil {
					return err
				}
				res.Observations += n
				if len(f.Fetch) == 0 {
					if err := storeCursor(tx, mb, f, opts.Now()); err != nil {
						return err
					}
					if f.NewCursor != "" {
						res.Cursors++
					}
				}
			}
		}
		return nil
	}); err != nil {
		return res, err
	}
	if err := backup.Keep(); err != nil {
		return res, err
	}

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	outcomes := make(chan outcome, opts.BatchSize)
	var fetchers sync.WaitGroup
	fetchers.Add(1)
	go func() {
		defer fetchers.Done()
		sem := make(chan struct{}, opts.Parallelism)
		var wg sync.WaitGroup
		for _, mb := range p.Mailboxes {
			if mb.Error != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-runCtx.Done():
					return
				}
				defer func() { <-sem }()
				fetchMailbox(runCtx, mb, tracks, st, src, opts, outcomes)
			}()
		}
		wg.Wait()
	}()
	go func() {
		fetchers.Wait()
		close(outcomes)
	}()

	commitErr := commit(db, st, man, outcomes, res, opts, func(err error) { stop(err) })
	// Drain whatever the fetchers still send after a failed commit.
	for o := range outcomes {
		if o.staged != nil {
			st.Discard(o.staged)
		}
	}
	res.Remaining = res.Planned - res.Collected - res.Tombstoned - res.Failed
	if opts.Throttled != nil {
		res.Throttled = opts.Throttled()
	}
	res.Finished = opts.Now().UTC()
	cause := context.Cause(runCtx)
	switch {
	case commitErr != nil:
		res.Interrupted = true
	case ctx.Err() != nil:
		res.Interrupted = true
		cause = ctx.Err()
	case cause != nil && !errors.Is(cause, context.Canceled):
		res.Interrupted = true
	default:
		cause = nil
	}
	runErr := commitErr
	if runErr == nil {
		runErr = cause
	}
	// The run record is written whatever happened, so the log of the
	// collection says how this run ended.
	recErr := db.Update(func(tx *state.Tx) error { return tx.PutRun(stateRun(res, opts, runErr)) })
	if err := st.WriteRun(storeRun(res, opts, runErr)); err != nil && recErr == nil {
		recErr = err
	}
	if runErr != nil {
		return res, runErr
	}
	return res, recErr
}

func putMailbox(tx *state.Tx, mb *plan.Mailbox) error {
	return tx.PutMailbox(state.Mailbox{
		ID:                mb.Resolved.ID,
		UserPrincipalName: mb.Resolved.UserPrincipalName,
		Address:           mb.Resolved.Address,
		DisplayName:       mb.Resolved.DisplayName,
		References:        []string{mb.Addr},
		Custodians:        mb.Custodians,
	})
}

// recordFolder records a folder of the plan and its observations: the
// tombstones and moves need no bytes, so they are recorded first.
func recordFolder(tx *state.Tx, mb *plan.Mailbox, f *plan.Folder, runID string, now time.Time) (int64, error) {
	sf, found, err := tx.Folder(mb.Resolved.ID, f.ID)
	if err != nil {
		return 0, err
	}
	if !found {
		sf = state.Folder{ID: f.ID}
	}
	sf.Path = f.Path
	if err := tx.PutFolder(mb.Resolved.ID, sf); err != nil {
		return 0, err
	}
	var n int64
	for _, t := range f.Tombstones {
		if err := tx.AddObservation(mb.Resolved.ID, t.ID, state.Observation{
			Kind: state.RemovedOnServer, At: now, RunID: runID, FromFolder: f.Path, Reason: t.Reason,
		}); err != nil {
			return n, err
		}
		n++
	}
	for _, mv := range f.Moves {
		if err := tx.AddObservation(mb.Resolved.ID, mv.ID, state.Observation{
			Kind: state.Moved, At: now, RunID: runID, FromFolder: mv.FromPath, ToFolder: f.Path,
		}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// storeCursor keeps the folder's new delta cursor, once every planned item
// of it is durable or tombstoned.
func storeCursor(tx *state.Tx, mb *plan.Mailbox, f *plan.Folder, now time.Time) error {
	if f.NewCursor == "" {
		return nil
	}
	sf, found, err := tx.Folder(mb.Resolved.ID, f.ID)
	if err != nil {
		return err
	}
	if !found {
		sf = state.Folder{ID: f.ID, Path: f.Path}
	}
	sf.Cursor, sf.CursorIDType, sf.LastCompleted, sf.Scope = f.NewCursor, state.IDTypeImmutable, now.UTC(), mb.Scope
	return tx.PutFolder(mb.Resolved.ID, sf)
}

// mailboxFatal are the kinds after which no other message of the mailbox
// can be fetched either: the rest fail at once with the same cause.
func mailboxFatal(k graph.Kind) bool {
	return k == graph.KindAccessDenied || k == graph.KindMailboxNotEnabled
}

// itemGone reports whether a fetch failed because the message itself is
// gone: a tombstone, not a failure. A mailbox gone since the plan (the
// user was deleted) is classified apart, as not enabled: a failure of
// every item of it, so that no cursor moves past them.
func itemGone(err error) bool {
	return graph.KindOf(err) == graph.KindNotFound
}

func fetchMailbox(ctx context.Context, mb *plan.Mailbox, tracks map[*plan.Folder]*folderTrack, st *store.Store, src graph.Source, opts Options, out chan<- outcome) {
	type job struct {
		track *folderTrack
		item  plan.Item
	}
	jobs := make(chan job)
	var fatal atomic.Pointer[error]
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				o := outcome{mb: mb, folder: j.track, item: j.item}
				if fe := fatal.Load(); fe != nil {
					o.err = *fe
				} else {
					o.staged, o.err = fetchOne(ctx, mb, j.item, st, src, opts)
					if o.err != nil && mailboxFatal(graph.KindOf(o.err)) {
						fatal.CompareAndSwap(nil, &o.err)
					}
				}
				if ctx.Err() != nil && o.err != nil {
					// Interrupted: the item stays planned, neither collected nor failed.
					continue
				}
				select {
				case out <- o:
				case <-ctx.Done():
					if o.staged != nil {
						// Nothing will seal it: it stays planned.
						st.Discard(o.staged)
					}
				}
			}
		}()
	}
feed:
	for _, f := range mb.Folders {
		for _, it := range f.Fetch {
			select {
			case jobs <- job{track: tracks[f], item: it}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
}

// fetchOne streams one message into a staged file of the store. The
// transport already retried throttling and server errors; a body cut
// short, or a transient error the transport gave up on, is fetched again
// here from the start.
func fetchOne(ctx context.Context, mb *plan.Mailbox, it plan.Item, st *store.Store, src graph.Source, opts Options) (*store.Staged, error) {
	wait := opts.Backoff
	var err error
	for attempt := 1; attempt <= opts.FetchAttempts; attempt++ {
		var staged *store.Staged
		staged, err = st.Stage(ctx, -1, func(w io.Writer) (int64, error) {
			return src.FetchMIME(ctx, mb.Resolved, it.ID, w)
		})
		if err == nil {
			return staged, nil
		}
		// A token refused twice in a row (revoked while requests were in
		// flight) is worth another attempt too: each one asks for a fresh token.
		k := graph.KindOf(err)
		if !(k.Retryable() || k == graph.KindTokenExpired) || attempt == opts.FetchAttempts || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
	return nil, err
}

// commit records outcomes in batches: natives first (they are already
// durable), then the manifest lines of what the batch collected, and a
// folder's new cursor in the batch that completes the folder. A full disk
// or a state that cannot be written stops the run through abort.
func commit(db *state.DB, st *store.Store, man *store.Manifest, outcomes <-chan outcome, res *Result, opts Options, abort func(error)) error {
	batch := make([]outcome, 0, opts.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := seal(st, batch); err != nil {
			return err
		}
		var entries []store.ManifestEntry
		var failures []store.Failure
		var collected, dedup, tomb, failed, bytes int64
		var cursors int
		now := opts.Now().UTC()
		err := db.Update(func(tx *state.Tx) error {
			entries, failures = entries[:0], failures[:0]
			collected, dedup, tomb, failed, bytes, cursors = 0, 0, 0, 0, 0, 0
			done := map[*folderTrack]int{}
			mailboxes := map[string]state.Mailbox{}
			for _, o := range batch {
				id := o.mb.Resolved.ID
				switch {
				case o.err == nil:
					already, found, err := tx.Item(id, o.item.ID)
					if err != nil {
						return err
					}
					seq, err := tx.PutItem(state.Item{
						Mailbox: id, ID: o.item.ID, InternetMessageID: o.item.InternetMessageID,
						FolderID: o.folder.plan.ID, FolderPath: o.folder.plan.Path,
						Received: o.item.Received, Sent: o.item.Sent,
						Subject: o.item.Subject, From: o.item.From,
						Size: o.native.Size, SHA256: o.native.SHA256, MD5: o.native.MD5, SHA1: o.native.SHA1,
						Native: o.native.Path, RunID: opts.RunID, CollectedAt: now, Custodians: o.mb.Custodians,
					})
					if err != nil {
						return err
					}
					if !(found && already.Collected()) {
						// The line is built from the record as stored, so
						// that it is the line verify expects from the state.
						it, _, err := tx.Item(id, o.item.ID)
						if err != nil {
							return err
						}
						smb, ok := mailboxes[id]
						if !ok {
							if smb, _, err = tx.Mailbox(id); err != nil {
								return err
							}
							mailboxes[id] = smb
						}
						it.Seq = seq
						entries = append(entries, Entry(smb, it))
						collected++
						bytes += o.native.Size
						if o.native.Deduplicated {
							dedup++
						}
					}
				case itemGone(o.err):
					if err := tx.AddObservation(id, o.item.ID, state.Observation{
						Kind: state.DeletedBeforeCollection, At: now, RunID: opts.RunID,
						FromFolder: o.folder.plan.Path, Reason: o.err.Error(),
					}); err != nil {
						return err
					}
					tomb++
				default:
					f := failureOf(o.mb, o.item.ID, o.err)
					if err := tx.RecordFailure(state.Failure{
						Mailbox: id, ItemID: o.item.ID, Code: f.Code, Message: f.Message,
						RequestID: f.RequestID, RunID: opts.RunID, At: now,
					}); err != nil {
						return err
					}
					failures = append(failures, f)
					failed++
				}
				done[o.folder]++
			}
			for t, n := range done {
				if o := batchFailedIn(batch, t); o {
					t.failed = true
				}
				if t.outstanding-n == 0 && !t.failed {
					mb := mailboxOf(batch, t)
					if err := storeCursor(tx, mb, t.plan, now); err != nil {
						return err
					}
					if t.plan.NewCursor != "" {
						cursors++
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("record collected items in the state (their natives are on disk; re-run apply): %w", err)
		}
		for _, o := range batch {
			o.folder.outstanding--
			mp := opts.Progress.Mailbox(o.mb.Addr, o.mb.Resolved.ID)
			switch {
			case o.err == nil:
				mp.Collected.Add(1)
				mp.Bytes.Add(o.native.Size)
			case itemGone(o.err):
				mp.Tombstoned.Add(1)
			default:
				mp.Failed.Add(1)
			}
		}
		res.Collected += collected
		res.Deduplicated += dedup
		res.Tombstoned += tomb
		res.Failed += failed
		res.Bytes += bytes
		res.Cursors += cursors
		res.Failures = append(res.Failures, failures...)
		opts.Progress.Collected.Add(collected)
		opts.Progress.Bytes.Add(bytes)
		opts.Progress.Tombstoned.Add(tomb)
		opts.Progress.Failed.Add(failed)
		batch = batch[:0]
		if err := man.Append(entries); err != nil {
			return fmt.Errorf("append to the manifest (the state holds the items; the next apply completes the manifest): %w", err)
		}
		return nil
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case o, ok := <-outcomes:
			if !ok {
				return flush()
			}
			if o.err != nil && errors.Is(o.err, store.ErrDiskFull) {
				// Stop fetching, and record what is already durable.
				abort(o.err)
				if err := flush(); err != nil {
					return err
				}
				return o.err
			}
			batch = append(batch, o)
			if len(batch) >= opts.BatchSize {
				if err := flush(); err != nil {
					abort(err)
					return err
				}
			}
		case <-tick.C:
			if err := flush(); err != nil {
				abort(err)
				return err
			}
		}
	}
}

// seal makes the batch's staged natives durable, all at once, before any
// of them is recorded. A message whose native could not be sealed becomes
// a failure of that message; a full disk stops the run.
func seal(st *store.Store, batch []outcome) error {
	var staged []*store.Staged
	var idx []int
	for i, o := range batch {
		if o.err == nil && o.staged != nil {
			staged = append(staged, o.staged)
			idx = append(idx, i)
		}
	}
	natives, errs := st.Seal(staged)
	var full error
	for k, i := range idx {
		batch[i].staged = nil
		batch[i].native, batch[i].err = natives[k], errs[k]
		if errs[k] != nil && errors.Is(errs[k], store.ErrDiskFull) {
			full = errs[k]
		}
	}
	return full
}

func batchFailedIn(batch []outcome, t *folderTrack) bool {
	for _, o := range batch {
		if o.folder == t && o.err != nil && !itemGone(o.err) {
			return true
		}
	}
	return false
}

func mailboxOf(batch []outcome, t *folderTrack) *plan.Mailbox {
	for _, o := range batch {
		if o.folder == t {
			return o.mb
		}
	}
	return nil
}

func failureOf(mb *plan.Mailbox, id string, err error) store.Failure {
	f := store.Failure{Mailbox: mb.Resolved.Address, GraphID: id, Code: graph.KindOf(err).String(), Message: err.Error()}
	var ge *graph.Error
	if errors.As(err, &ge) {
		if ge.Code != "" {
			f.Code = ge.Code
		}
		f.RequestID = ge.RequestID
	}
	return f
}

func counts(res *Result) map[string]int64 {
	return map[string]int64{
		"planned": res.Planned, "collected": res.Collected, "deduplicated": res.Deduplicated,
		"tombstoned": res.Tombstoned, "observations": res.Observations, "failed": res.Failed,
		"bytes": res.Bytes, "remaining": res.Remaining,
	}
}

func stateRun(res *Result, opts Options, runErr error) state.Run {
	r := state.Run{
		ID: opts.RunID, Operation: "apply", Started: res.Started, Finished: res.Finished,
		ToolVersion: opts.ToolVersion, User: opts.User, Host: opts.Host, Counts: counts(res),
	}
	if len(res.Failures) > 0 || runErr != nil {
		summary := struct {
			Error    string          `json:"error,omitempty"`
			Failures []store.Failure `json:"failures,omitempty"`
		}{Failures: res.Failures}
		if runErr != nil {
			summary.Error = runErr.Error()
		}
		r.Failures, _ = json.Marshal(summary)
	}
	return r
}

func storeRun(res *Result, opts Options, runErr error) store.RunRecord {
	failures := append([]store.Failure(nil), res.Failures...)
	if runErr != nil {
		failures = append(failures, store.Failure{Code: "run stopped", Message: runErr.Error()})
	}
	if failures == nil {
		failures = []store.Failure{}
	}
	return store.RunRecord{
		RunID: opts.RunID, Operation: "apply", User: opts.User, Host: opts.Host,
		Started: res.Started, Finished: res.Finished, ToolVersion: opts.ToolVersion,
		MatterHash: opts.MatterHash, MatterGitCommit: opts.MatterGit, PlanHash: opts.PlanHash,
		Counts: store.RunCounts{
			Planned: res.Planned, Collected: res.Collected, Deduplicated: res.Deduplicated,
			Tombstoned: res.Tombstoned, Failed: res.Failed, Bytes: res.Bytes,
		},
		ThrottledSeconds: res.Throttled.Seconds(),
		Failures:         failures,
		Complete:         res.Complete() && runErr == nil,
	}
}

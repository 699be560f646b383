// Package workspace keeps one shard of a collection whose home is a remote
// backend: a local working folder holding the shard's state file and its
// output folder, pulled from the backend when a command starts and pushed
// back while apply runs.
//
// The commands run on the working folder exactly as on a local
// collection. What makes it the backend's:
//
//   - Every native is uploaded once, content addressed, by the store's
//     Publish hook, before the state may record it: the backend's state
//     never names a native the backend does not hold.
//   - At the state's snapshots (after commits, at most every few seconds)
//     the snapshot is uploaded as the shard's state under its lease, then
//     the manifest lines it records as an immutable segment. A shard that
//     is killed loses what it did since its last checkpoint; its natives
//     are found already there when it runs again.
//   - When the run ends, the state file itself, the last manifest segment
//     and the run records and custody checkpoints are pushed; the lease is
//     released.
//
// The working folder is scratch: it is made anew from the backend each
// time, and a folder that is not a working folder is never emptied.
package workspace

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/backend"
	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/internal/durable"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// Names in the backend and in the working folder.
const (
	LayoutName  = "layout.json"
	marker      = ".collect-workspace"
	stateFile   = "state.db"
	outputDir   = "out"
	manifestDir = "manifest"
	runsDir     = "runs"
	custodyDir  = "custody"
	segmentExt  = ".jsonl"
	seqDigits   = 12
)

// ShardPrefix is the folder of a shard in the backend, "shards/2-of-4/".
func ShardPrefix(shard string) string { return "shards/" + shard + "/" }

// StateName is the name of a shard's state in the backend.
func StateName(shard string) string { return ShardPrefix(shard) + stateFile }

// Layout is the backend's record of how its collection is sharded,
// written once by the first apply.
type Layout struct {
	FormatVersion string    `json:"format_version"`
	Shards        int       `json:"shards"`
	Created       time.Time `json:"created"`
}

// ReshardError says that the backend's collection was made with another
// shard count: its mailboxes belong to other shards' states.
type ReshardError struct {
	Store      string
	Have, Want int
}

func (e *ReshardError) Error() string {
	return fmt.Sprintf("the collection in %s is kept in %d shards, not %d: a mailbox's items are in the state of the shard "+
		"its address falls in, so changing the count would collect them again into other states. Run with -shard=I/%d "+
		"(I from 1 to %d); resharding a collection is not supported", e.Store, e.Have, e.Want, e.Have, e.Have)
}

// Options say which shard a workspace keeps and how.
type Options struct {
	Store backend.Store
	// Shard names the shard ("2-of-4"); Count is its shard count.
	Shard string
	Count int
	// Dir is the local working folder.
	Dir string
	// Write takes the shard's lease, as apply does; without it the shard
	// is only read, as it was at its last checkpoint.
	Write bool
	// Lock says who takes the lease; LockTimeout is how long to wait for
	// another holder to give it up (0: fail at once).
	Lock        backend.LockInfo
	LockTimeout time.Duration
	// Now is the clock of lock info and waits; nil means time.Now.
	Now func() time.Time
}

// Workspace is one shard's working folder.
type Workspace struct {
	opts  Options
	store backend.Store
	lease backend.Lease
	dir   string

	mu          sync.Mutex
	pending     *snapshot     // the newest snapshot not yet uploaded
	wake        chan struct{} // the uploader's doorbell
	uploadedSeq uint64        // the last manifest line in the backend
	uploadedOff int64         // its end in the local manifest
	lastErr     error         // the last checkpoint that failed
	checkpoints int
	pushed      map[string]bool // run records and custody files in the backend
	done        chan struct{}
	stopped     chan struct{}
}

type snapshot struct {
	f       *os.File
	lastSeq uint64
}

// Open prepares the working folder of a shard from the backend: checks
// the shard count, takes the lease when opts.Write, and pulls the state,
// the manifest, the run records and the custody checkpoints.
func Open(ctx context.Context, opts Options) (*Workspace, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Workspace{opts: opts, store: opts.Store, dir: opts.Dir, pushed: map[string]bool{},
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	if err := w.checkLayout(ctx); err != nil {
		return nil, err
	}
	if opts.Write {
		lease, err := lockWaiting(ctx, opts)
		if err != nil {
			return nil, err
		}
		w.lease = lease
	}
	if err := w.pull(ctx); err != nil {
		w.release(ctx)
		return nil, err
	}
	if err := w.settle(); err != nil {
		w.release(ctx)
		return nil, fmt.Errorf("bring the manifest of shard %s up to date with its state: %w", opts.Shard, err)
	}
	if opts.Write {
		go w.uploader()
	} else {
		close(w.stopped)
	}
	return w, nil
}

// StatePath is the shard's state file in the working folder.
func (w *Workspace) StatePath() string { return filepath.Join(w.dir, stateFile) }

// OutputDir is the shard's output folder in the working folder.
func (w *Workspace) OutputDir() string { return filepath.Join(w.dir, outputDir) }

// Store is the backend.
func (w *Workspace) Store() backend.Store { return w.store }

func (w *Workspace) checkLayout(ctx context.Context) error {
	l, found, err := ReadLayout(ctx, w.store)
	if err != nil {
		return err
	}
	if !found {
		if !w.opts.Write {
			return nil
		}
		l = Layout{FormatVersion: "1.0", Shards: w.opts.Count, Created: w.opts.Now().UTC()}
		b, _ := json.MarshalIndent(l, "", "  ")
		b = append(b, '\n')
		err := putOnce(ctx, w.store, LayoutName, b, nil)
		if err == nil {
			return nil
		}
		if !errors.Is(err, backend.ErrExists) {
			return fmt.Errorf("record the shard count in %s: %w", w.store, err)
		}
		if l, _, err = ReadLayout(ctx, w.store); err != nil {
			return err
		}
	}
	if l.Shards != w.opts.Count {
		return &ReshardError{Store: w.store.String(), Have: l.Shards, Want: w.opts.Count}
	}
	return nil
}

// ReadLayout reads the backend's layout; found is false before the first
// apply.
func ReadLayout(ctx context.Context, st backend.Store) (l Layout, found bool, err error) {
	b, err := readAll(ctx, st, LayoutName)
	if errors.Is(err, backend.ErrNotFound) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("read %s in %s: %w", LayoutName, st, err)
	}
	if err := json.Unmarshal(b, &l); err != nil || l.Shards < 1 {
		return l, false, fmt.Errorf("%s in %s is damaged (%v); it must say how many shards the collection has", LayoutName, st, err)
	}
	return l, true, nil
}

// Shards lists the shards of the backend that hold a state, by name.
func Shards(ctx context.Context, st backend.Store) ([]string, error) {
	var names []string
	err := st.List(ctx, "shards/", func(in backend.Info) error {
		rest := strings.TrimPrefix(in.Name, "shards/")
		shard, file, ok := strings.Cut(rest, "/")
		if ok && file == stateFile && in.Size > 0 {
			names = append(names, shard)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the shards in %s: %w", st, err)
	}
	return names, nil
}

// lockWaiting takes the shard's lease, waiting up to LockTimeout for
// another holder.
func lockWaiting(ctx context.Context, opts Options) (backend.Lease, error) {
	info := opts.Lock
	info.Path = StateName(opts.Shard)
	deadline := opts.Now().Add(opts.LockTimeout)
	for {
		info.Created = opts.Now().UTC()
		lease, err := opts.Store.Lock(ctx, StateName(opts.Shard), info)
		var held *backend.HeldError
		if err == nil || !errors.As(err, &held) {
			return lease, err
		}
		if !opts.Now().Before(deadline) {
			return nil, fmt.Errorf("the state of shard %s is locked: %w. If that process still runs, let it finish; "+
				"if it was killed, its lease lapses within a minute: run again with -lock-timeout=90s to wait for it", opts.Shard, err)
		}
		wait := min(2*time.Second, deadline.Sub(opts.Now()))
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
	}
}

// pull makes the working folder anew from the backend.
func (w *Workspace) pull(ctx context.Context) error {
	if err := w.reset(); err != nil {
		return err
	}
	prefix := ShardPrefix(w.opts.Shard)
	// The state.
	err := download(ctx, w.store, StateName(w.opts.Shard), w.StatePath())
	switch {
	case errors.Is(err, backend.ErrNotFound):
	case err != nil:
		return fmt.Errorf("pull the state of shard %s: %w", w.opts.Shard, err)
	}
	if fi, err := os.Stat(w.StatePath()); err == nil && fi.Size() == 0 {
		// The empty object a first lease made: no state yet.
		os.Remove(w.StatePath())
	}
	// A reader takes the rest only as far as the state it pulled: an
	// apply that runs meanwhile may have pushed a newer state, then the
	// manifest lines, the run record and the checkpoint that go with it.
	// (Under the lease nothing is newer than the state.)
	var pulled *pulledState
	if !w.opts.Write {
		if pulled, err = readPulled(w.StatePath()); err != nil {
			return err
		}
	}
	// The manifest, from its segments in order.
	if err := w.pullManifest(ctx, prefix+manifestDir+"/", pulled); err != nil {
		return err
	}
	// Run records and custody checkpoints.
	for _, sub := range []string{runsDir, custodyDir} {
		err := w.store.List(ctx, prefix+sub+"/", func(in backend.Info) error {
			name := strings.TrimPrefix(in.Name, prefix)
			b, err := readAll(ctx, w.store, in.Name)
			if err != nil {
				return err
			}
			if pulled != nil && !pulled.holds(sub, b) {
				return nil
			}
			dst := filepath.Join(w.OutputDir(), filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return err
			}
			if err := durable.WriteFile(dst, b, 0o600); err != nil {
				return err
			}
			w.pushed[name] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("pull the %s of shard %s: %w", sub, w.opts.Shard, err)
		}
	}
	return nil
}

// pulledState is what a reader's pulled state holds: its last item and
// its runs.
type pulledState struct {
	lastSeq uint64
	runs    map[string]bool
}

func readPulled(path string) (*pulledState, error) {
	db, err := state.Open(path, state.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	p := &pulledState{runs: map[string]bool{}}
	err = db.View(func(r *state.ReadTx) error {
		p.lastSeq = r.LastSeq()
		return r.Runs(func(run record.Run) error { p.runs[run.RunID] = true; return nil })
	})
	return p, err
}

// holds says whether a run record or a custody checkpoint belongs to the
// pulled state: a run the state knows, a checkpoint of no more lines than
// the state holds.
func (p *pulledState) holds(sub string, b []byte) bool {
	if sub == runsDir {
		var run struct {
			RunID string `json:"run_id"`
		}
		return json.Unmarshal(b, &run) == nil && p.runs[run.RunID]
	}
	// A checkpoint's text: its origin, then the tree's size.
	lines := strings.SplitN(string(b), "\n", 3)
	if len(lines) < 2 {
		return false
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	return err == nil && size <= p.lastSeq
}

// reset empties the working folder, or makes it; a folder that is not
// empty and not a working folder is refused.
func (w *Workspace) reset() error {
	entries, err := os.ReadDir(w.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read the working folder %s: %w", w.dir, err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(w.dir, marker)); err != nil {
			return fmt.Errorf("the working folder %s is not empty and was not made by collect; "+
				"name an empty or new folder (COLLECT_WORKDIR)", w.dir)
		}
		if err := os.RemoveAll(w.dir); err != nil {
			return fmt.Errorf("empty the working folder %s: %w", w.dir, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(w.dir, outputDir), 0o700); err != nil {
		return fmt.Errorf("make the working folder %s: %w", w.dir, err)
	}
	return os.WriteFile(filepath.Join(w.dir, marker),
		[]byte("A working folder of collect: made anew from the backend by every command that uses it.\n"), 0o600)
}

// segment is one manifest segment in the backend.
type segment struct {
	name     string
	from, to uint64
}

func parseSegment(name string) (segment, bool) {
	base := strings.TrimSuffix(path.Base(name), segmentExt)
	a, b, ok := strings.Cut(base, "-")
	if !ok || !strings.HasSuffix(name, segmentExt) {
		return segment{}, false
	}
	from, err1 := strconv.ParseUint(a, 10, 64)
	to, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || from == 0 || to < from {
		return segment{}, false
	}
	return segment{name: name, from: from, to: to}, true
}

func segmentName(prefix string, from, to uint64) string {
	return fmt.Sprintf("%s%0*d-%0*d%s", prefix, seqDigits, from, seqDigits, to, segmentExt)
}

func (w *Workspace) pullManifest(ctx context.Context, prefix string, pulled *pulledState) error {
	var segs []segment
	err := w.store.List(ctx, prefix, func(in backend.Info) error {
		s, ok := parseSegment(in.Name)
		if !ok {
			return fmt.Errorf("%s is not a manifest segment (<from>-<to>.jsonl)", in.Name)
		}
		segs = append(segs, s)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the manifest of shard %s: %w", w.opts.Shard, err)
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].from < segs[j].from })
	if len(segs) == 0 {
		return nil
	}
	out, err := os.OpenFile(filepath.Join(w.OutputDir(), store.ManifestFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	next := uint64(1)
	var off int64
	for _, s := range segs {
		if s.from != next {
			return fmt.Errorf("the manifest of shard %s in %s is damaged: segment %s follows line %d", w.opts.Shard, w.store, s.name, next-1)
		}
		if pulled != nil && s.from > pulled.lastSeq {
			break
		}
		b, err := readAll(ctx, w.store, s.name)
		if err != nil {
			return fmt.Errorf("pull %s: %w", s.name, err)
		}
		if pulled != nil && s.to > pulled.lastSeq {
			b = linesUpTo(b, pulled.lastSeq)
		}
		n, err := out.Write(b)
		if err != nil {
			return fmt.Errorf("pull %s: %w", s.name, err)
		}
		off += int64(n)
		next = s.to + 1
	}
	w.uploadedSeq, w.uploadedOff = next-1, off
	return out.Sync()
}

// linesUpTo keeps the manifest lines of b up to line seq upTo.
func linesUpTo(b []byte, upTo uint64) []byte {
	end := 0
	for end < len(b) {
		nl := bytes.IndexByte(b[end:], '\n')
		if nl < 0 {
			break
		}
		var l struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(b[end:end+nl+1], &l) != nil || l.Seq > upTo {
			break
		}
		end += nl + 1
	}
	return b[:end]
}

// Checkpoint is the state's OnSnapshot hook: it opens the snapshot, which
// the uploader pushes with the manifest lines up to lastSeq.
func (w *Workspace) Checkpoint(path string, lastSeq uint64) {
	if w.lease == nil {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		w.fail(fmt.Errorf("open the state snapshot %s to checkpoint it: %w", path, err))
		return
	}
	w.mu.Lock()
	if w.pending != nil {
		w.pending.f.Close()
	}
	w.pending = &snapshot{f: f, lastSeq: lastSeq}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Workspace) fail(err error) {
	w.mu.Lock()
	w.lastErr = err
	w.mu.Unlock()
}

// uploader pushes the newest snapshot each time one is made.
func (w *Workspace) uploader() {
	defer close(w.stopped)
	for {
		select {
		case <-w.done:
			return
		case <-w.wake:
		}
		w.mu.Lock()
		snap := w.pending
		w.pending = nil
		w.mu.Unlock()
		if snap == nil {
			continue
		}
		err := w.push(context.Background(), snap.f, snap.lastSeq)
		snap.f.Close()
		w.mu.Lock()
		if err != nil {
			w.lastErr = err
		} else {
			w.checkpoints++
		}
		w.mu.Unlock()
	}
}

// push uploads a state (the snapshot, or the closed state file) under the
// lease, then the manifest lines up to lastSeq that it records (all of
// them when lastSeq is 0 and all is set).
func (w *Workspace) push(ctx context.Context, f *os.File, lastSeq uint64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	sum, err := md5Of(f)
	if err != nil {
		return fmt.Errorf("read the state to checkpoint it: %w", err)
	}
	if err := w.lease.Replace(ctx, f, fi.Size(), sum); err != nil {
		return fmt.Errorf("checkpoint the state of shard %s to %s: %w", w.opts.Shard, w.store, err)
	}
	return w.pushManifest(ctx, lastSeq)
}

// pushManifest uploads, as one segment, the local manifest's complete
// lines after the last one in the backend, up to line upTo (every
// complete line when upTo is 0).
func (w *Workspace) pushManifest(ctx context.Context, upTo uint64) error {
	f, err := os.Open(filepath.Join(w.OutputDir(), store.ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(w.uploadedOff, io.SeekStart); err != nil {
		return err
	}
	var buf bytes.Buffer
	first, last := uint64(0), w.uploadedSeq
	r := bufio.NewReaderSize(f, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			break // EOF, or a line still being written: the next segment takes it
		}
		var l struct {
			Seq uint64 `json:"seq"`
		}
		if json.Unmarshal(line, &l) != nil || l.Seq != last+1 {
			return fmt.Errorf("the local manifest line after %d is not line %d; the shard's manifest was not checkpointed", last, last+1)
		}
		if upTo != 0 && l.Seq > upTo {
			break
		}
		if first == 0 {
			first = l.Seq
		}
		last = l.Seq
		buf.Write(line)
	}
	if first == 0 {
		return nil
	}
	name := segmentName(ShardPrefix(w.opts.Shard)+manifestDir+"/", first, last)
	if err := putOnceChecked(ctx, w.store, name, buf.Bytes(), nil); err != nil {
		return fmt.Errorf("push the manifest of shard %s: %w", w.opts.Shard, err)
	}
	w.uploadedSeq, w.uploadedOff = last, w.uploadedOff+int64(buf.Len())
	return nil
}

// Guard is apply's guard: the lease must still be held before a commit.
func (w *Workspace) Guard() error {
	if w.lease == nil {
		return nil
	}
	if err := w.lease.Err(); err != nil {
		return fmt.Errorf("the lease on shard %s's state in %s: %w; another process may hold it now", w.opts.Shard, w.store, err)
	}
	return nil
}

// PublishNative is the store's Publish hook: it uploads a sealed native
// to the backend under the same name, or finds it there already with the
// same size and hash, and then removes the local copy: the working folder
// only passes natives through, so it needs room for a batch of them, not
// for a run's.
func (w *Workspace) PublishNative(n store.Native, file string) (already bool, err error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	// The MD5 the store computed while the bytes streamed, when the matter
	// asks for it; otherwise one more read of a file just written.
	sum, err := hex.DecodeString(n.MD5)
	if err != nil || len(sum) != md5.Size {
		if sum, err = md5Of(f); err != nil {
			return false, err
		}
	}
	ctx := context.Background()
	err = w.store.PutOnce(ctx, n.Path, f, n.Size, sum, map[string]string{"sha256": n.SHA256})
	switch {
	case err == nil:
	case errors.Is(err, backend.ErrExists):
		in, err := w.store.Stat(ctx, n.Path)
		if err != nil {
			return false, fmt.Errorf("check %s in %s: %w", n.Path, w.store, err)
		}
		md5Same, shaSame := in.MD5 != nil && bytes.Equal(in.MD5, sum), in.Metadata["sha256"] == n.SHA256
		md5Differs, shaDiffers := in.MD5 != nil && !md5Same, in.Metadata["sha256"] != "" && !shaSame
		// The bytes there count as these only when a hash says so: a size
		// alone could be another message's.
		if in.Size != n.Size || md5Differs || shaDiffers || !(md5Same || shaSame) {
			return false, fmt.Errorf("%s in %s is not the message its name says (size %d, want %d): the backend's copy was changed; "+
				"nothing was recorded for this message, run collect verify", n.Path, w.store, in.Size, n.Size)
		}
		already = true
	default:
		return false, fmt.Errorf("upload %s to %s: %w", n.Path, w.store, err)
	}
	// The backend holds it: the local copy is not needed by this run.
	f.Close()
	if err := os.Remove(file); err != nil {
		return false, fmt.Errorf("remove %s from the working folder once uploaded: %w", file, err)
	}
	return already, nil
}

// Close ends the workspace of an apply: stops the uploader, pushes the
// closed state file statePath (the caller closed it), the rest of the
// manifest and the new run records and custody files, and releases the
// lease. It returns what could not be pushed: the backend then holds the
// shard as at its last checkpoint, and running apply again collects the
// rest.
func (w *Workspace) Close(ctx context.Context) error {
	if w.lease == nil {
		return nil
	}
	close(w.done)
	<-w.stopped
	w.mu.Lock()
	if w.pending != nil {
		w.pending.f.Close()
		w.pending = nil
	}
	w.mu.Unlock()
	err := w.final(ctx)
	if rerr := w.release(ctx); err == nil {
		err = rerr
	}
	return err
}

func (w *Workspace) final(ctx context.Context) error {
	if err := w.Guard(); err != nil {
		return err
	}
	f, err := os.Open(w.StatePath())
	if err == nil {
		err = w.push(ctx, f, 0)
		f.Close()
	} else if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return err
	}
	prefix := ShardPrefix(w.opts.Shard)
	for _, sub := range []string{runsDir, custodyDir} {
		dir := filepath.Join(w.OutputDir(), sub)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := sub + "/" + e.Name()
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") || w.pushed[name] {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			if err := putOnceChecked(ctx, w.store, prefix+name, b, nil); err != nil {
				return fmt.Errorf("push %s of shard %s: %w", name, w.opts.Shard, err)
			}
			w.pushed[name] = true
		}
	}
	return nil
}

func (w *Workspace) release(ctx context.Context) error {
	if w.lease == nil {
		return nil
	}
	err := w.lease.Release(ctx)
	w.lease = nil
	return err
}

// Checkpoints counts the checkpoints pushed so far, and returns the last
// checkpoint's error, if the last one failed.
func (w *Workspace) Checkpoints() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.checkpoints, w.lastErr
}

// PullNatives downloads the natives named (paths relative to the output
// folder) into the working folder's output folder, a few at a time, for
// a command that reads their bytes (verify, export). A native the backend
// does not hold is left out: verify reports it missing.
func (w *Workspace) PullNatives(ctx context.Context, names []string) error {
	const inFlight = 8
	sem := make(chan struct{}, inFlight)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for _, name := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			dst := filepath.Join(w.OutputDir(), filepath.FromSlash(name))
			if _, err := os.Stat(dst); err == nil {
				return
			}
			err := download(ctx, w.store, name, dst)
			if err != nil && !errors.Is(err, backend.ErrNotFound) {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("pull %s from %s: %w", name, w.store, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// download copies an object to a new local file, durably.
func download(ctx context.Context, st backend.Store, name, dst string) error {
	r, err := st.Open(ctx, name)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return durable.Write(dst, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

func readAll(ctx context.Context, st backend.Store, name string) ([]byte, error) {
	r, err := st.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func putOnce(ctx context.Context, st backend.Store, name string, b []byte, meta map[string]string) error {
	sum := md5.Sum(b)
	return st.PutOnce(ctx, name, bytes.NewReader(b), int64(len(b)), sum[:], meta)
}

// putOnceChecked writes an immutable object, and accepts one already
// there with the same bytes (a push cut short after the write).
func putOnceChecked(ctx context.Context, st backend.Store, name string, b []byte, meta map[string]string) error {
	err := putOnce(ctx, st, name, b, meta)
	if !errors.Is(err, backend.ErrExists) {
		return err
	}
	have, rerr := readAll(ctx, st, name)
	if rerr != nil {
		return rerr
	}
	if !bytes.Equal(have, b) {
		return fmt.Errorf("%s in %s already holds other bytes; the backend's copy of this shard was changed by another process", name, st)
	}
	return nil
}

func md5Of(f *os.File) ([]byte, error) {
	h := md5.New()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// settle brings the pulled manifest up to date with the pulled state, as
// apply does after a crash: a checkpoint pushes the state before the
// manifest lines it records, so the last of them may not be in the
// backend. The custody log's stored tree is made again from the manifest
// as it follows it; only its checkpoints are the backend's.
func (w *Workspace) settle() error {
	db, err := state.Open(w.StatePath(), state.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := store.Open(w.OutputDir(), store.Options{})
	if err != nil {
		return err
	}
	man, err := st.OpenManifest()
	if err != nil {
		return err
	}
	defer man.Close()
	tree, err := custody.Open(st, man)
	if err != nil {
		return err
	}
	defer tree.Close()
	_, err = apply.Reconcile(db, man)
	return err
}

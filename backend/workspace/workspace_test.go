package workspace_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/backend"
	"github.com/collect-ediscovery/collect/backend/folder"
	"github.com/collect-ediscovery/collect/backend/workspace"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/testworld"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// shardWorld is a simulated tenant whose matter keeps its collection in a
// folder backend, through a workspace.
type shardWorld struct {
	*testworld.World
	backend backend.Store
	runs    int
}

func newShardWorld(t *testing.T, users, messages int) *shardWorld {
	t.Helper()
	w := testworld.New(t, graphsim.Config{}, 7, 10)
	var addrs []string
	for i := range users {
		a := w.User("user" + string(rune('a'+i)))
		w.Populate(a, "inbox", messages)
		addrs = append(addrs, a)
	}
	w.LoadMatterOf(addrs...)
	st, err := folder.Open(filepath.Join(t.TempDir(), "backend"))
	if err != nil {
		t.Fatal(err)
	}
	return &shardWorld{World: w, backend: st}
}

// open opens the shard's workspace in a new working folder and points the
// matter at it.
func (w *shardWorld) open(t *testing.T, st backend.Store, write bool) *workspace.Workspace {
	t.Helper()
	ws, err := workspace.Open(context.Background(), workspace.Options{
		Store: st, Shard: "1-of-1", Count: 1, Dir: filepath.Join(t.TempDir(), "work"), Write: write,
		Lock: backend.LockInfo{Operation: "apply", Who: "tester@host", Version: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Matter.State.Path, w.Matter.Output.Path = ws.StatePath(), ws.OutputDir()
	return ws
}

// apply collects the plan through the workspace, checkpointing at every
// commit, and closes it; guard is apply's guard (nil: the workspace's).
func (w *shardWorld) apply(t *testing.T, ws *workspace.Workspace, batch int, guard func() error) (*apply.Result, error) {
	t.Helper()
	p := w.ApplyablePlan()
	db, err := state.Open(w.Matter.State.Path, state.Options{Operation: "apply", ToolVersion: "test",
		SnapshotEvery: -1, OnSnapshot: ws.Checkpoint})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(w.Matter.Output.Path, store.Options{Hashes: w.Matter.Output.Hashes, Publish: ws.PublishNative})
	if err != nil {
		t.Fatal(err)
	}
	if guard == nil {
		guard = ws.Guard
	}
	w.runs++
	res, err := apply.Apply(context.Background(), p, db, st, w.Src, apply.Options{RunID: fmt.Sprintf("run-%d", w.runs), BatchSize: batch, Guard: guard})
	if cerr := db.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	return res, err
}

func readObject(t *testing.T, st backend.Store, name string) []byte {
	t.Helper()
	r, err := st.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestApplyThroughAWorkspaceLeavesTheWholeCollectionInTheBackend(t *testing.T) {
	w := newShardWorld(t, 2, 30)
	ws := w.open(t, w.backend, true)
	res, err := w.apply(t, ws, 7, nil)
	if err != nil || !res.Complete || res.Collected != 60 {
		t.Fatalf("apply: %v %+v", err, res)
	}
	local, err := os.ReadFile(filepath.Join(w.Matter.Output.Path, store.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, err := ws.Checkpoints(); n < 2 || err != nil {
		t.Fatalf("checkpoints during the run: %d, last error %v", n, err)
	}

	// The backend's manifest segments are the local manifest, in order.
	var segs bytes.Buffer
	ctx := context.Background()
	err = w.backend.List(ctx, "shards/1-of-1/manifest/", func(in backend.Info) error {
		segs.Write(readObject(t, w.backend, in.Name))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(segs.Bytes(), local) {
		t.Fatalf("the backend's manifest differs from the local one:\n%s\n---\n%s", segs.Bytes(), local)
	}
	// Every native is there with its bytes, and the run record too.
	items := w.Items()
	if len(items) != 60 {
		t.Fatalf("%d items in the state", len(items))
	}
	for _, it := range items {
		sum := sha256.Sum256(readObject(t, w.backend, it.Native))
		if hex.EncodeToString(sum[:]) != it.SHA256 {
			t.Fatalf("native %s in the backend is not the bytes the state recorded", it.Native)
		}
		// The working folder only passed it through.
		if _, err := os.Stat(filepath.Join(w.Matter.Output.Path, filepath.FromSlash(it.Native))); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("native %s is still in the working folder: %v", it.Native, err)
		}
	}
	if _, err := w.backend.Stat(ctx, "shards/1-of-1/runs/run-1.json"); err != nil {
		t.Fatalf("run record: %v", err)
	}

	// A reader's fresh working folder holds the same collection, and it verifies.
	r := w.open(t, w.backend, false)
	defer r.Close(ctx)
	if got := w.Items(); len(got) != 60 {
		t.Fatalf("pulled state holds %d items", len(got))
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Native)
	}
	if err := r.PullNatives(ctx, names); err != nil {
		t.Fatal(err)
	}
	if rep := w.Verify(); !rep.OK() || rep.Verified != 60 {
		t.Fatalf("verify of the pulled collection: %+v", rep)
	}
}

// checkingStore checks, at every state checkpoint, that each native the
// checkpointed state records is already in the backend.
type checkingStore struct {
	backend.Store
	t       *testing.T
	checked atomic.Int32
}

func (c *checkingStore) Lock(ctx context.Context, name string, info backend.LockInfo) (backend.Lease, error) {
	l, err := c.Store.Lock(ctx, name, info)
	if err != nil {
		return nil, err
	}
	return &checkingLease{Lease: l, c: c}, nil
}

type checkingLease struct {
	backend.Lease
	c *checkingStore
}

func (l *checkingLease) Replace(ctx context.Context, r io.ReadSeeker, size int64, md5 []byte) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	path := filepath.Join(l.c.t.TempDir(), "checkpoint.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	db, err := state.Open(path, state.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	err = db.View(func(r *state.ReadTx) error {
		return r.ItemsSince(0, func(it state.Item) error {
			if _, err := l.c.Store.Stat(ctx, it.Native); err != nil {
				l.c.t.Errorf("a checkpoint records %s, which the backend does not hold: %v", it.Native, err)
			}
			return nil
		})
	})
	db.Close()
	if err != nil {
		return err
	}
	l.c.checked.Add(1)
	return l.Lease.Replace(ctx, bytes.NewReader(b), size, md5)
}

func TestNoCheckpointRecordsANativeTheBackendDoesNotHold(t *testing.T) {
	w := newShardWorld(t, 3, 20)
	cs := &checkingStore{Store: w.backend, t: t}
	ws := w.open(t, cs, true)
	res, err := w.apply(t, ws, 5, nil)
	if err != nil || !res.Complete {
		t.Fatalf("apply: %v %+v", err, res)
	}
	if err := ws.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := cs.checked.Load(); n < 3 {
		t.Fatalf("only %d checkpoints were checked", n)
	}
}

// losingStore's lease is lost after a number of checks.
type losingStore struct {
	backend.Store
	lost atomic.Bool
}

func (s *losingStore) Lock(ctx context.Context, name string, info backend.LockInfo) (backend.Lease, error) {
	l, err := s.Store.Lock(ctx, name, info)
	if err != nil {
		return nil, err
	}
	return &losingLease{Lease: l, s: s}, nil
}

type losingLease struct {
	backend.Lease
	s *losingStore
}

func (l *losingLease) Err() error {
	if l.s.lost.Load() {
		return errors.Join(backend.ErrLeaseLost, errors.New("broken by another process"))
	}
	return l.Lease.Err()
}

func (l *losingLease) Replace(ctx context.Context, r io.ReadSeeker, size int64, md5 []byte) error {
	if err := l.Err(); err != nil {
		return err
	}
	return l.Lease.Replace(ctx, r, size, md5)
}

func TestALostLeaseStopsTheRunBeforeItsNextCommit(t *testing.T) {
	w := newShardWorld(t, 1, 40)
	ls := &losingStore{Store: w.backend}
	ws := w.open(t, ls, true)
	var commits atomic.Int32
	var once sync.Once
	guard := func() error {
		if commits.Add(1) == 3 {
			once.Do(func() { ls.lost.Store(true) })
		}
		return ws.Guard()
	}
	res, err := w.apply(t, ws, 5, guard)
	if !errors.Is(err, backend.ErrLeaseLost) {
		t.Fatalf("apply after the lease was lost: %v", err)
	}
	if res.Collected == 0 || res.Collected >= 40 {
		t.Fatalf("collected %d: only the commits before the loss should have been recorded", res.Collected)
	}
	if err := ws.Close(context.Background()); !errors.Is(err, backend.ErrLeaseLost) {
		t.Fatalf("close after the lease was lost: %v", err)
	}
	// What the backend holds is a consistent earlier checkpoint: a new
	// workspace reads it and collects the rest.
	ls.lost.Store(false)
	ws2 := w.open(t, w.backend, true)
	if got := len(w.Items()); got > 10 {
		t.Fatalf("the backend's state holds %d items, more than were committed before the loss", got)
	}
	res, err = w.apply(t, ws2, 5, nil)
	if err != nil || !res.Complete {
		t.Fatalf("second apply: %v %+v", err, res)
	}
	if err := ws2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(w.Items()); got != 40 {
		t.Fatalf("after the second apply the state holds %d items", got)
	}
}

func TestAnotherShardCountIsRefused(t *testing.T) {
	w := newShardWorld(t, 1, 1)
	ws := w.open(t, w.backend, true)
	if err := ws.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := workspace.Open(context.Background(), workspace.Options{
		Store: w.backend, Shard: "1-of-4", Count: 4, Dir: t.TempDir(), Write: true,
	})
	var re *workspace.ReshardError
	if !errors.As(err, &re) || re.Have != 1 || re.Want != 4 || !strings.Contains(err.Error(), "-shard=I/1") {
		t.Fatalf("reshard: %v", err)
	}
}

func TestAFolderThatIsNotAWorkingFolderIsNeverEmptied(t *testing.T) {
	w := newShardWorld(t, 1, 1)
	dir := t.TempDir()
	keep := filepath.Join(dir, "evidence.eml")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := workspace.Open(context.Background(), workspace.Options{Store: w.backend, Shard: "1-of-1", Count: 1, Dir: dir, Write: true})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("open on a foreign folder: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("the foreign folder's file is gone: %v", err)
	}
}

// A reader that pulls a state and then finds manifest segments pushed
// after it (an apply ran meanwhile) takes the manifest only as far as its
// state, and reads a collection that verifies.
func TestAReaderTakesTheManifestOnlyAsFarAsItsState(t *testing.T) {
	w := newShardWorld(t, 1, 20)
	ctx := context.Background()
	ws := w.open(t, w.backend, true)
	if res, err := w.apply(t, ws, 5, nil); err != nil || !res.Complete {
		t.Fatalf("apply: %v %+v", err, res)
	}
	if err := ws.Close(ctx); err != nil {
		t.Fatal(err)
	}
	older := readObject(t, w.backend, workspace.StateName("1-of-1"))

	w.Populate(w.Matter.Mailboxes[0].Email, "inbox", 7)
	ws = w.open(t, w.backend, true)
	if res, err := w.apply(t, ws, 5, nil); err != nil || !res.Complete || res.Collected != 7 {
		t.Fatalf("second apply: %v %+v", err, res)
	}
	if err := ws.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The state as a reader read it before the second apply's last push.
	lease, err := w.backend.Lock(ctx, workspace.StateName("1-of-1"), backend.LockInfo{Operation: "test"})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(older)
	if err := lease.Replace(ctx, bytes.NewReader(older), int64(len(older)), sum[:]); err != nil {
		t.Fatal(err)
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}

	r := w.open(t, w.backend, false)
	defer r.Close(ctx)
	items := w.Items()
	if len(items) != 20 {
		t.Fatalf("the older state holds %d items", len(items))
	}
	if got := len(w.Manifest()); got != 20 {
		t.Fatalf("the reader's manifest holds %d lines, want the older state's 20", got)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Native)
	}
	if err := r.PullNatives(ctx, names); err != nil {
		t.Fatal(err)
	}
	if rep := w.Verify(); !rep.OK() || rep.Verified != 20 {
		t.Fatalf("verify: %+v", rep)
	}
}

// hashlessStore describes its objects by size alone, as a store that
// kept no hash of them would.
type hashlessStore struct{ backend.Store }

func (s hashlessStore) Stat(ctx context.Context, name string) (backend.Info, error) {
	in, err := s.Store.Stat(ctx, name)
	in.MD5, in.Metadata = nil, nil
	return in, err
}

// A native found already in the backend is taken for these bytes only
// when a hash says so: the same size is not enough, and nothing is
// recorded for it.
func TestANativeAlreadyThereNeedsAHashThatMatches(t *testing.T) {
	w := newShardWorld(t, 1, 3)
	ctx := context.Background()
	ws := w.open(t, hashlessStore{w.backend}, true)
	defer ws.Close(ctx)
	file := filepath.Join(t.TempDir(), "native.eml")
	body := []byte("Subject: the message\r\n\r\nbody\r\n")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	n := store.Native{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body)), Path: store.NativePath(hex.EncodeToString(sum[:]))}
	// Other bytes of the same size under its name.
	other := bytes.Repeat([]byte("x"), len(body))
	osum := md5.Sum(other)
	if err := w.backend.PutOnce(ctx, n.Path, bytes.NewReader(other), int64(len(other)), osum[:], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.PublishNative(n, file); err == nil {
		t.Fatal("a native of the same size but unknown bytes was taken as already there")
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the local native was removed although the backend does not hold it: %v", err)
	}
}
